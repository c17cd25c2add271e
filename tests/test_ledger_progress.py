"""Rectification progress: what a village fixed between two inspections."""

import datetime as dt

import pytest

from audit.errors import AccessError, AuditError
from audit.records.access import SYSTEM, User
from audit.records.accounts import add_user
from audit.records.inspections import submit_inspection
from audit.records.ledger import rectification_progress
from tests.test_store import AUDITED, jpeg_bytes, model_report, official, registry_of


@pytest.fixture
def zhang(fresh_store, monkeypatch):
    """The inspector of 城关镇 (an account of the store; cheap bcrypt)."""
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    return add_user(fresh_store, "张三", "zhang-password", role="inspector", townships=["城关镇"], by=SYSTEM)


def test_fixed_still_open_and_new(fresh_store, rules, zhang):
    first = jpeg_bytes(1)
    report = model_report(first, rules)  # militia and collective economy missing, a 红白理事会 sign
    submit_inspection(fresh_store, report, [first], user=zhang, registry=registry_of(), audited=AUDITED,
                      village_code="001", inspected_at=dt.datetime(2026, 10, 1, 9, 0))
    only_one = rectification_progress(fresh_store, "001", user=zhang)
    assert only_one["previous"] is None and only_one["fixed"] == [] and "缺少民兵连" in only_one["new"]

    second = jpeg_bytes(2)
    plaques = [official(t, rules) for t in ("party_org", "villagers_committee", "supervision_committee",
                                            "service_centre_sign", "civilisation_station_sign", "militia",
                                            "collective_economy")]
    plaques.append(official("collective_economy", rules, box_of="shop_sign"))   # now hung twice
    submit_inspection(fresh_store, model_report(second, rules, plaques=plaques), [second], user=zhang,
                      registry=registry_of(), audited=AUDITED, village_code="001",
                      inspected_at=dt.datetime(2026, 11, 20, 9, 0))
    progress = rectification_progress(fresh_store, "001", user=zhang)
    assert progress["previous"] is not None and progress["latest_at"] > progress["previous_at"]
    assert {"缺少民兵连", "缺少村集体经济组织", "未列入清单：王庄村红白理事会"} <= set(progress["fixed"])
    assert progress["new"] == ["重复悬挂村集体经济组织"]
    assert progress["still_open"] == []
    # another township's inspector sees no inspection of this village at all
    li = add_user(fresh_store, "李四", "lisi-password", role="inspector", townships=["柳林镇"], by=SYSTEM)
    with pytest.raises(AuditError, match="村代码「001」还没有核查记录"):
        rectification_progress(fresh_store, "001", user=li)


def test_no_inspection_yet(fresh_store):
    with pytest.raises(AuditError, match="还没有核查记录"):
        rectification_progress(fresh_store, "999", user=SYSTEM)
    with pytest.raises(AccessError, match="没有账户"):
        rectification_progress(fresh_store, "999", user=User("ghost", role="admin"))


def test_the_record_opened_is_compared_with_the_one_before_it(fresh_store, rules, zhang):
    """Three inspections of one village: opening the second compares it with the first, not the latest two."""
    ids = []
    kept = ("party_org", "villagers_committee", "supervision_committee", "service_centre_sign",
            "civilisation_station_sign")
    for seed, extra, day in ((1, (), 1), (2, ("militia",), 2), (3, ("militia", "collective_economy"), 3)):
        data = jpeg_bytes(seed)
        plaques = [official(t, rules) for t in kept + extra]
        ids.append(submit_inspection(fresh_store, model_report(data, rules, plaques=plaques), [data], user=zhang,
                                     registry=registry_of(), audited=AUDITED, village_code="001",
                                     inspected_at=dt.datetime(2026, 11, day, 9, 0)))
    second = rectification_progress(fresh_store, "001", user=zhang, inspection_id=ids[1])
    assert (second["latest"], second["previous"]) == (ids[1], ids[0])
    assert second["fixed"] == ["缺少民兵连"] and second["still_open"] == ["缺少村集体经济组织"] and second["new"] == []
    first = rectification_progress(fresh_store, "001", user=zhang, inspection_id=ids[0])
    assert first["previous"] is None and first["new"] == ["缺少村集体经济组织", "缺少民兵连"]
    latest = rectification_progress(fresh_store, "001", user=zhang)
    assert (latest["latest"], latest["previous"], latest["fixed"]) == (ids[2], ids[1], ["缺少村集体经济组织"])
    with pytest.raises(AuditError, match="没有编号为 nope 的核查记录"):
        rectification_progress(fresh_store, "001", user=zhang, inspection_id="nope")
