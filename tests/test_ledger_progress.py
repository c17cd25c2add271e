"""Rectification progress: what a village fixed between two inspections."""

import datetime as dt

import pytest

from audit.errors import AuditError
from audit.records.inspections import submit_inspection
from audit.records.ledger import rectification_progress
from tests.test_store import jpeg_bytes, model_report, official


def test_fixed_still_open_and_new(fresh_store, rules):
    first = jpeg_bytes(1)
    report = model_report(first, rules)  # militia and collective economy missing, a 红白理事会 sign
    submit_inspection(fresh_store, report, [first], inspector="张三", village_code="001", village_name="王庄村",
                      township="城关镇", inspected_at=dt.datetime(2026, 10, 1, 9, 0))
    only_one = rectification_progress(fresh_store, "001")
    assert only_one["previous"] is None and only_one["fixed"] == [] and "缺少民兵连" in only_one["new"]

    second = jpeg_bytes(2)
    plaques = [official(t, rules) for t in ("party_org", "villagers_committee", "supervision_committee",
                                            "service_centre_sign", "civilisation_station_sign", "militia",
                                            "collective_economy")]
    plaques.append(official("collective_economy", rules, box_of="shop_sign"))   # now hung twice
    submit_inspection(fresh_store, model_report(second, rules, plaques=plaques), [second], inspector="张三",
                      village_code="001", village_name="王庄村", township="城关镇",
                      inspected_at=dt.datetime(2026, 11, 20, 9, 0))
    progress = rectification_progress(fresh_store, "001")
    assert progress["previous"] is not None and progress["latest_at"] > progress["previous_at"]
    assert {"缺少民兵连", "缺少村集体经济组织", "未列入清单：王庄村红白理事会"} <= set(progress["fixed"])
    assert progress["new"] == ["重复悬挂村集体经济组织"]
    assert progress["still_open"] == []


def test_no_inspection_yet(fresh_store):
    with pytest.raises(AuditError, match="还没有核查记录"):
        rectification_progress(fresh_store, "999")
