"""Where to build first: ranking by shortfall and per household, townships, the undecided apart, XLSX, names."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from audit.area.export import download_name, ranking_to_xlsx, scope_name
from audit.area.floor_area import area_audit
from audit.area.ranking import build_ranking, unit_cost_of
from audit.area.registry import registry_from_file
from audit.rules import DEFAULT_RULES, load_rules

ROWS = [
    # code, name, township, county, central, households, area, lon, lat
    ["1", "甲村", "东镇", "示范县", "否", 200, 40, 116.0, 36.0],     # short 60 m², 0.3 m²/household
    ["2", "乙村", "东镇", "示范县", "否", 1000, 200, 116.01, 36.0],  # needs 300: short 100 m², 0.1
    ["3", "丙村", "西镇", "示范县", "是", 100, 450, 116.02, 36.0],   # central 500: short 50 m², 0.5
    ["4", "丁村", "西镇", "示范县", "否", 100, 150, 116.03, 36.0],   # compliant
    ["5", "戊村", "西镇", "示范县", "否", None, 80, 116.04, 36.0],   # 无法判定: households missing
    ["6", "己村", "南镇", "示范县", "否", 300, None, 116.05, 36.0],  # 无法判定: area missing
]


@pytest.fixture
def audited(sheet, rules):
    return area_audit(registry_from_file(sheet(ROWS), rules=rules).villages, rules=rules)


def test_villages_ranked_by_shortfall_then_grouped_by_township(audited, rules):
    r = build_ranking(audited, rules=rules)
    assert list(r.villages["village_name"]) == ["乙村", "甲村", "丙村"]
    assert list(r.villages["rank"]) == [1, 2, 3] and list(r.villages["township_rank"]) == [1, 2, 1]
    assert list(r.villages["gap_m2"]) == [100.0, 60.0, 50.0]
    assert list(r.villages["gap_per_household_m2"]) == [0.1, 0.3, 0.5]
    assert list(r.villages["village_type"]) == ["非中心村", "非中心村", "中心村"]
    t = r.townships
    assert list(t["township"]) == ["东镇", "西镇", "南镇"] and list(t["shortfall_m2"]) == [160.0, 50.0, 0.0]
    assert list(t["short_villages"]) == [2, 1, 0] and list(t["undecided"]) == [0, 1, 1]
    assert list(t["top_village"])[:2] == ["乙村", "丙村"]
    assert r.unit_cost is None and r.villages["cost_yuan"].isna().all() and r.total_cost_yuan is None


def test_per_household_order(audited, rules):
    r = build_ranking(audited, rules=rules, order="per_household")
    assert list(r.villages["village_name"]) == ["丙村", "甲村", "乙村"]


def test_undecided_villages_are_listed_apart_with_what_is_missing(audited, rules):
    r = build_ranking(audited, rules=rules)
    assert list(r.undecided["village_name"]) == ["己村", "戊村"]  # by township: 南镇, 西镇
    assert all(isinstance(x, str) and x and not x.startswith("无法判定") for x in r.undecided["reason"])
    assert "己村" not in set(r.villages["village_name"])


def test_unit_cost_from_the_rules_file_gives_an_investment_estimate(audited, tmp_path):
    cost = '[investment]\nunit_cost_yuan_per_m2 = 2500\nnote = "县住建局 2026 年造价"'
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('[investment]\nnote = ""', cost)
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    county = load_rules(path)
    assert unit_cost_of(county) == 2500
    r = build_ranking(audited, rules=county)
    assert list(r.villages["cost_yuan"]) == [250000.0, 150000.0, 125000.0] and r.total_cost_yuan == 525000.0
    assert list(r.townships["cost_yuan"])[:2] == [400000.0, 125000.0]


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_a_bad_unit_cost_is_refused(audited, rules, bad):
    with pytest.raises(ValueError, match="'unit_cost' should be a positive number"):
        build_ranking(audited, rules=rules, unit_cost=bad)


def test_a_bad_unit_cost_in_the_rules_file_is_refused(tmp_path):
    from audit.errors import RulesError

    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('[investment]\nnote = ""',
                                                               "[investment]\nunit_cost_yuan_per_m2 = -1")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError, match="unit_cost_yuan_per_m2"):
        load_rules(path)


def test_ranking_workbook(audited, rules, tmp_path):
    r = build_ranking(audited, rules=rules, unit_cost=3000)
    path = ranking_to_xlsx(r, tmp_path / "r.xlsx", rules=rules, scope="示范县", source="名册.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["建设优先排序", "乡镇汇总", "待补数据（无法判定）", "说明"]
    rows = list(wb["建设优先排序"].values)
    assert rows[0][:4] == ("全县排序", "乡镇内排序", "村代码", "村名") and rows[0][-1] == "投资估算（元）"
    assert rows[1][3] == "乙村" and rows[1][9] == 100 and rows[1][-1] == 300000
    assert [row[1] for row in list(wb["待补数据（无法判定）"].values)[1:]] == ["己村", "戊村"]
    notes = dict(list(wb["说明"].values)[1:])
    assert notes["范围"] == "示范县" and notes["投资估算合计（元）"] == "630,000" and notes["源文件"] == "名册.xlsx"
    # without a unit cost there is no empty cost column
    path = ranking_to_xlsx(build_ranking(audited, rules=rules), tmp_path / "n.xlsx", rules=rules, scope="东镇")
    assert "投资估算（元）" not in next(openpyxl.load_workbook(path)["建设优先排序"].values)


def test_download_names_carry_the_scope_and_the_date(audited):
    day = dt.date(2026, 12, 1)
    assert download_name("城关街道", "建设优先排序", "xlsx", today=day) == "城关街道_建设优先排序_20261201.xlsx"
    assert download_name("a/b:c", "面积核查", ".csv", today=day) == "a_b_c_面积核查_20261201.csv"
    assert scope_name(audited) == "示范县" and scope_name(audited, "东镇") == "东镇"
    assert scope_name(audited.drop(columns="county")) == "全县"


def test_area_page_shows_the_ranking_and_its_download(tmp_path, monkeypatch):
    """AppTest on the demo county: the ranking tables, the undecided villages apart, the XLSX named by scope and
    date; a township chosen in the sidebar narrows all of it."""
    import io
    from zoneinfo import ZoneInfo

    from audit.labels import TIMEZONE
    from tests.test_app import accounts_for_app, open_page

    accounts_for_app(tmp_path, monkeypatch)
    at = open_page("app/pages/area.py")
    assert not at.exception
    tables = [d.value for d in at.dataframe]
    ranked = next(t for t in tables if "全县排序" in t.columns)
    assert list(ranked["全县排序"][:3]) == [1, 2, 3] and ranked["面积缺口（㎡）"].is_monotonic_decreasing
    assert "投资估算（元）" not in ranked.columns  # the default rules give no unit cost
    undecided = next(t for t in tables if "无法判定的原因（须先补数据）" in t.columns)
    assert {m.label: m.value for m in at.metric}["无法判定（须先补数据）"] == str(len(undecided))
    assert [b for b in at.get("download_button") if b.proto.label == "下载建设优先排序（XLSX）"]
    today = dt.datetime.now(ZoneInfo(TIMEZONE)).strftime("%Y%m%d")
    name, data = at.session_state["rank_xlsx"]
    assert name == f"示范县_建设优先排序_{today}.xlsx" or name.endswith(f"_建设优先排序_{today}.xlsx")
    at.radio(key="rank_order").set_value("per_household").run()
    ranked = next(d.value for d in at.dataframe if "全县排序" in d.value.columns)
    assert ranked["户均缺口（㎡/户）"].dropna().is_monotonic_decreasing
    at.sidebar.selectbox(key="township").select("柳林镇").run()
    ranked = next(d.value for d in at.dataframe if "全县排序" in d.value.columns)
    assert set(ranked["乡镇（街道）"]) == {"柳林镇"}
    name, data = at.session_state["rank_xlsx"]
    assert name == f"柳林镇_建设优先排序_{today}.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert dict(list(wb["说明"].values)[1:])["范围"] == "柳林镇"
