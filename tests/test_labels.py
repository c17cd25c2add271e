"""audit.labels: a label for every code the library produces (read from its models and tables, so that a new
code without a label fails here), and times, numbers and empties written for people."""

from __future__ import annotations

import datetime as dt
import typing

import numpy as np
import pandas as pd
import pytest

from audit import labels
from audit.area.floor_area import area_audit
from audit.records.access import ROLES
from audit.records.accounts import SIGN_IN_REASONS
from audit.records.db import PlaqueStatus
from audit.signs import report
from audit.signs.style import Status, style_checks


def literal(model, field: str) -> set[str]:
    """The values a pydantic field's Literal (or list of Literal) allows."""
    annotation = model.model_fields[field].annotation
    while typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    return set(typing.get_args(annotation))


def test_every_code_of_the_report_has_a_label():
    assert set(labels.KIND_ZH) == literal(report.PlaqueResult, "kind")
    assert set(labels.SOURCE_ZH) == literal(report.PlaqueResult, "source")
    assert set(labels.SIDE_ZH) == set(typing.get_args(report.Side))
    assert set(labels.VERDICT_ZH) == literal(report.Summary, "verdict")
    assert labels.VERDICT_ZH == report.VERDICT_ZH            # the engine's own words for its verdicts agree
    assert set(labels.PHOTO_FLAG_ZH) == literal(report.Provenance, "flags") | literal(report.Quality, "flags")
    assert set(labels.PLAQUE_STATUS_ZH) == set(typing.get_args(PlaqueStatus))
    assert set(labels.ROLE_ZH) == set(ROLES) and set(labels.SIGN_IN_REASON_ZH) == set(SIGN_IN_REASONS)


@pytest.mark.parametrize("plaque", [None, "party_org", "service_centre_sign"])
def test_every_style_check_status_and_severity_has_a_label(rules, plaque):
    crop = np.full((200, 60, 3), 245, dtype=np.uint8)
    crop[40:160, 20:40] = (200, 30, 30)
    checks = style_checks(crop, (60, 200), rules.plaque(plaque) if plaque else None, rules, traditional=True)
    assert checks and set(checks) <= set(labels.CHECK_ZH)
    assert {c["status"] for c in checks.values()} <= set(labels.CHECK_STATUS_ZH)
    assert set(labels.CHECK_STATUS_ZH) == set(typing.get_args(Status))
    assert set(rules.severity.values()) <= set(labels.SEVERITY_ZH)


def test_every_area_status_and_basis_has_a_label(rules):
    from pathlib import Path

    from audit.area.registry import registry_from_file

    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "demo_county.xlsx"
    out = area_audit(registry_from_file(demo, rules=rules, crs="gcj02").villages, rules=rules)
    assert list(out["area_status"].cat.categories) == list(labels.AREA_STATUS_ZH)
    assert list(out["basis"].cat.categories) == list(labels.BASIS_ZH)
    assert set(out["area_status"].dropna()) == set(labels.AREA_STATUS_ZH)  # the demo holds every status
    assert set(out["basis"].dropna()) == set(labels.BASIS_ZH)


def test_plaque_types_read_from_the_rules(rules):
    assert [labels.plaque_type_zh(p.id, rules) for p in rules.plaques] == [p.name_zh for p in rules.plaques]
    assert labels.plaque_type_zh("other_sign", rules) == "清单外的牌子"
    assert labels.plaque_type_zh("a_plaque_of_other_rules", rules) == "其他规则中的牌子"   # never the id


@pytest.mark.parametrize(("value", "shown"), [
    (dt.datetime(2026, 1, 1, 16, 30), "2026-01-02 00:30"),                       # naive: UTC as the store keeps it
    (dt.datetime(2026, 1, 1, 16, 30, tzinfo=dt.UTC), "2026-01-02 00:30"),
    (pd.Timestamp("2026-06-30 23:59", tz="UTC"), "2026-07-01 07:59"),
    (pd.Timestamp("2026-06-30 08:00", tz="Asia/Shanghai"), "2026-06-30 08:00"),
    (None, "—"), (pd.NaT, "—"), (float("nan"), "—"),
])
def test_times_are_written_in_beijing_time(value, shown):
    assert labels.local_time(value) == shown


@pytest.mark.parametrize(("value", "kwargs", "shown"), [
    (547.0, {}, "547"), (547.25, {"digits": 2}, "547.25"), (1234.5678, {"digits": 2}, "1,234.57"),
    (0.1 + 0.2, {"digits": 2}, "0.3"), (300, {"digits": 0, "unit": " 户"}, "300 户"), (float("nan"), {}, "—"),
    (None, {"empty": ""}, ""), (np.float64(12.0), {}, "12"),
])
def test_numbers_for_people(value, kwargs, shown):
    assert labels.number(value, **kwargs) == shown


def test_booleans_empties_and_unknown_codes():
    assert [labels.yes_no(v) for v in (True, False, np.bool_(True), None, pd.NA)] == ["是", "否", "是", "—", "—"]
    assert labels.label(labels.VERDICT_ZH, "compliant") == "符合规范"
    assert labels.label(labels.VERDICT_ZH, "a_new_verdict") == "未知"            # never the code
    assert labels.label(labels.VERDICT_ZH, None, empty="") == ""
    assert [labels.text(v) for v in (["甲", None, "乙"], True, 547.0, "", None, pd.NA, "王庄村")] == [
        "甲、乙", "是", "547", "—", "—", "—", "王庄村"]
