import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.area.floor_area import area_audit, county_summary, required_area, township_summary
from audit.rules import DEFAULT_RULES, load_rules


def frame(rows):
    return pd.DataFrame(rows, columns=["village_type", "households", "floor_area_m2"]).assign(
        township="甲镇", county="乙县", problems=[[] for _ in rows])


@pytest.mark.parametrize(("vtype", "households", "area", "required", "status", "basis"), [
    ("central", 1000, 500.0, 500.0, "compliant", "central_minimum"),       # exactly 500
    ("central", 1000, 499.99, 500.0, "non_compliant", "central_minimum"),
    ("central", 1666, 500.0, 500.0, "compliant", "central_minimum"),       # 499.8 < 500
    ("central", 1667, 500.0, 500.1, "non_compliant", "per_households"),
    ("ordinary", 0, 100.0, 100.0, "compliant", "base_minimum"),            # households 0
    ("ordinary", 0, 99.99, 100.0, "non_compliant", "base_minimum"),
    ("ordinary", 333, 100.0, 100.0, "compliant", "base_minimum"),          # 99.9 < 100
    ("ordinary", 334, 100.0, 100.2, "non_compliant", "per_households"),
    ("ordinary", 337, 101.1, 101.1, "compliant", "per_households"),        # 101.10000000000001 in floats
    ("ordinary", 337, 101.09, 101.1, "non_compliant", "per_households"),
    ("ordinary", 1000, 300.0, 300.0, "compliant", "per_households"),       # exactly 30 per 100
    ("central", 300, 120.0, 500.0, "non_compliant", "central_minimum"),    # central vs not
    ("ordinary", 300, 120.0, 100.0, "compliant", "base_minimum"),
])
def test_rule_at_its_boundaries(rules, vtype, households, area, required, status, basis):
    out = area_audit(frame([[vtype, households, area]]), rules=rules).iloc[0]
    assert out["required_m2"] == pytest.approx(required)
    assert out["area_status"] == status
    assert out["basis"] == basis
    assert out["gap_m2"] == pytest.approx(max(required - area, 0), abs=1e-9)
    assert out["reason"].startswith("达标" if status == "compliant" else "不达标")


@pytest.fixture(scope="module")
def per_started(tmp_path_factory):
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('rounding = "proportional"',
                                                              'rounding = "per_started_hundred"')
    path = Path(tmp_path_factory.mktemp("rules")) / "r.toml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


@pytest.mark.parametrize(("households", "required"), [(0, 100), (100, 100), (333, 120), (337, 120), (400, 120),
                                                       (401, 150), (1000, 300), (1001, 330)])
def test_per_started_hundred(per_started, households, required):
    out = area_audit(frame([["ordinary", households, 100.0]]), rules=per_started).iloc[0]
    assert out["required_m2"] == required


@pytest.mark.parametrize(("vtype", "households", "area", "problem"), [
    ("ordinary", 300, np.nan, "面积缺失"), ("ordinary", np.nan, 300, "户数缺失"), (None, 300, 300, "类型无法识别"),
])
def test_unknown_is_never_compliant(rules, vtype, households, area, problem):
    df = frame([[vtype, households, area]])
    df.at[0, "problems"] = [problem]
    out = area_audit(df, rules=rules).iloc[0]
    assert out["area_status"] == "unknown"
    assert math.isnan(out["gap_m2"])
    assert out["reason"] == f"无法判定：{problem}"
    summary = county_summary(area_audit(df, rules=rules)).iloc[0]
    assert (summary["compliant"], summary["unknown"]) == (0, 1)
    assert math.isnan(summary["compliance_rate"])


def test_input_is_not_changed(rules):
    df = frame([["ordinary", 337, 101.1]])
    before = df.copy()
    area_audit(df, rules=rules)
    pd.testing.assert_frame_equal(df, before)


def test_summaries(rules):
    df = pd.DataFrame({
        "village_type": ["central", "ordinary", "ordinary", "ordinary"],
        "households": [100, 500, 200, 200], "floor_area_m2": [450, 100, 120, np.nan],
        "township": ["东镇", "东镇", "西镇", "西镇"], "county": "示例县", "problems": [[], [], [], ["面积缺失"]]})
    out = area_audit(df, rules=rules)
    towns = township_summary(out).set_index("township")
    assert towns.loc["东镇", ["villages", "compliant", "non_compliant", "unknown"]].tolist() == [2, 0, 2, 0]
    assert towns.loc["东镇", "shortfall_m2"] == pytest.approx(50 + 50)
    assert towns.loc["西镇", "compliance_rate"] == 1.0 and towns.loc["西镇", "unknown"] == 1
    county = county_summary(out).iloc[0]
    assert county["compliance_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert county["shortfall_m2"] == pytest.approx(100)


SUMMARY_COLUMNS = ["villages", "compliant", "non_compliant", "unknown", "compliance_rate", "shortfall_m2"]


def test_summaries_of_a_registry_without_townships_or_counties(rules):
    """Columns, counts as integers, and one group each when the registry has no township or county column."""
    df = pd.DataFrame({"village_type": ["ordinary", "ordinary", "central"], "households": [100, 100, 100],
                       "floor_area_m2": [150, 50, np.nan], "problems": [[], [], ["面积缺失"]]})
    out = area_audit(df, rules=rules)
    towns = township_summary(out)
    assert list(towns.columns) == ["county", "township"] + SUMMARY_COLUMNS
    assert towns[["county", "township"]].values.tolist() == [["", "（未填乡镇）"]]
    assert towns[["villages", "compliant", "non_compliant", "unknown"]].values.tolist() == [[3, 1, 1, 1]]
    assert all(pd.api.types.is_integer_dtype(towns[c]) for c in ["villages", "compliant", "non_compliant", "unknown"])
    county = county_summary(out)
    assert list(county.columns) == ["county"] + SUMMARY_COLUMNS and county["county"].tolist() == [""]
    assert (county["compliance_rate"].tolist(), county["shortfall_m2"].tolist()) == ([0.5], [50.0])


def test_summaries_group_blank_townships_and_counties_apart(rules):
    df = pd.DataFrame({"village_type": "ordinary", "households": 100, "floor_area_m2": [150, 50, 120, 90],
                       "township": ["东镇", None, None, "东镇"], "county": ["甲县", "甲县", None, "乙县"],
                       "problems": [[], [], [], []]})
    out = area_audit(df, rules=rules)
    towns = township_summary(out)
    assert sorted(map(tuple, towns[["county", "township", "villages"]].values.tolist())) == [
        ("", "（未填乡镇）", 1), ("乙县", "东镇", 1), ("甲县", "东镇", 1), ("甲县", "（未填乡镇）", 1)]
    counties = county_summary(out).set_index("county")
    assert counties["villages"].to_dict() == {"甲县": 2, "": 1, "乙县": 1}
    assert counties.loc["甲县", "compliance_rate"] == 0.5 and counties.loc["乙县", "shortfall_m2"] == 10.0


types = st.sampled_from(["central", "ordinary"])
households = st.integers(min_value=0, max_value=100_000)


@settings(deadline=None, max_examples=200)
@given(vtype=types, h=households, extra=st.integers(min_value=0, max_value=5000),
       area=st.floats(min_value=0, max_value=1e5, allow_nan=False))
def test_properties(rules, vtype, h, extra, area):
    out = area_audit(frame([[vtype, h, area], [vtype, h + extra, area]]), rules=rules)
    base = rules.area.type_by_id(vtype).base_m2
    assert (out["required_m2"] >= base).all()                      # required ≥ base
    assert out["required_m2"].iloc[1] >= out["required_m2"].iloc[0]  # monotone in households
    assert (out["gap_m2"] >= 0).all()                               # gap ≥ 0
    assert ((out["gap_m2"] == 0) == (out["area_status"] == "compliant")).all()


@settings(deadline=None, max_examples=100)
@given(h=st.lists(households, min_size=1, max_size=50))
def test_required_area_matches_the_formula(rules, h):
    required, _ = required_area(np.array(h), np.full(len(h), 100.0), rules)
    expected = [max(100, round(x * 30 / 100, 2)) for x in h]
    assert required.tolist() == pytest.approx(expected)
