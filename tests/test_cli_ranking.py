"""``audit ranking``: where to build first on the command line, on the demo county and on small real registries."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from typer.testing import CliRunner

from audit.area.floor_area import area_audit
from audit.area.ranking import build_ranking
from audit.area.registry import registry_from_file
from audit.cli.main import app

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "demo_county.xlsx"
runner = CliRunner()


def test_ranking_prints_the_first_villages_and_writes_the_workbook(tmp_path):
    out = tmp_path / "rank.xlsx"
    result = runner.invoke(app, ["ranking", str(DEMO), "--crs", "gcj02", "--by", "shortfall", "--xlsx", str(out)])
    assert result.exit_code == 0, result.output
    expected = build_ranking(area_audit(registry_from_file(DEMO, crs="gcj02").villages))
    first = expected.villages.iloc[0]
    assert f"不达标 {len(expected.villages)} 个村" in result.stdout and "按面积缺口（㎡）从大到小" in result.stdout
    assert f"无法判定 {len(expected.undecided)} 个村" in result.stdout
    lines = [line for line in result.stdout.splitlines() if re.match(r"\s+\d+ ", line)]
    assert len(lines) == 10 and first["village_name"] in lines[0] and f"缺口 {first['gap_m2']:,.2f} ㎡" in lines[0]
    assert "警告：demo_county.xlsx 第" in result.stderr and f"已写出：{out}" in result.stderr
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames[0] == "建设优先排序"
    rows = list(wb["建设优先排序"].values)
    assert rows[0][:4] == ("全县排序", "乡镇内排序", "村代码", "村名")
    assert len(rows) == len(expected.villages) + 1 and rows[1][3] == first["village_name"]


def test_per_household_within_one_township_named_by_scope_and_date(tmp_path):
    audited = area_audit(registry_from_file(DEMO, crs="gcj02").villages)
    town = "城关街道"
    expected = build_ranking(audited[audited["township"] == town], order="per_household")
    before = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    result = runner.invoke(app, ["ranking", str(DEMO), "--crs", "gcj02", "--by", "per_household", "--township", town,
                                 "--top", "3", "--xlsx", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{town}：不达标 {len(expected.villages)} 个村")
    assert "按户均缺口（㎡/户）从大到小" in result.stdout
    lines = [line for line in result.stdout.splitlines() if re.match(r"\s+\d+ ", line)]
    assert len(lines) == 3 and all(f"{town}（第 {k} 名）" in line for k, line in enumerate(lines, start=1))
    assert expected.villages.iloc[0]["village_name"] in lines[0]
    after = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m%d")
    [written] = tmp_path.glob("*.xlsx")  # named by the township and the day in Beijing (which may turn during the run)
    assert written.name in {f"{town}_建设优先排序_{day}.xlsx" for day in (before, after)}
    rows = list(openpyxl.load_workbook(written, read_only=True)["建设优先排序"].values)
    assert {r[4] for r in rows[1:]} == {town} and len(rows) == len(expected.villages) + 1


def test_investment_estimate_from_the_rules_file(tmp_path, sheet):
    from audit.rules import DEFAULT_RULES

    rules = tmp_path / "county.toml"
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('[investment]\nnote = ""',
                                                             '[investment]\nnote = "测试"\nunit_cost_yuan_per_m2 = 2500')
    assert "unit_cost_yuan_per_m2 = 2500" in text
    rules.write_text(text, encoding="utf-8")
    # 500 households need 150 ㎡ (30 per 100): 90 ㎡ is 60 ㎡ short, 150 000 yuan at 2 500 yuan per ㎡
    path = sheet([["371521100201", "李庄村", "东镇", "示例县", "否", 500, 90, 116.02, 36.41],
                  ["371521100202", "王庄村", "东镇", "示例县", "否", 300, 150, 116.00, 36.40]])
    result = runner.invoke(app, ["ranking", str(path), "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "不达标 1 个村，面积缺口合计 60.00 ㎡；投资估算 150,000 元（2,500 元/㎡）" in result.stdout
    assert "李庄村  缺口 60.00 ㎡  户均 0.120 ㎡/户" in result.stdout and "王庄村" not in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--township", "不存在镇"], "名册「demo_county.xlsx」中没有乡镇（街道）「不存在镇」；名册中的乡镇有："),
    (["--by", "cost"], "cost"),
])
def test_bad_arguments_exit_2(args, message):
    result = runner.invoke(app, ["ranking", str(DEMO), "--crs", "gcj02", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_registry_is_one_line():
    result = runner.invoke(app, ["ranking", "missing.xlsx"])
    assert result.exit_code == 2 and "文件不存在" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
