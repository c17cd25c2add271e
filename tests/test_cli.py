import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from audit.cli.main import app

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo" / "demo_county.xlsx"
runner = CliRunner()


def test_area_prints_a_summary_and_writes_the_workbook(tmp_path):
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["area", str(DEMO), "--crs", "gcj02", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "村庄 400 个" in result.stdout and "达标率" in result.stdout and "面积缺口合计" in result.stdout
    assert "警告：demo_county.xlsx 第" in result.stderr and "已剔除" in result.stderr
    assert openpyxl.load_workbook(out).sheetnames == ["村级明细", "乡镇汇总", "县级汇总", "说明"]


def test_json_mode_keeps_stdout_pure(sheet):
    path = sheet([["371521100201", "王庄村", "城关镇", "示例县", "否", 337, "约120", 115.98, 36.45]])
    result = runner.invoke(app, ["area", str(path), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows[0]["area_status"] == "unknown" and rows[0]["excel_row"] == 2 and rows[0]["floor_area_m2"] is None
    assert "警告：registry.xlsx 第2行" in result.stderr and "村庄 1 个" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["area", "missing.xlsx"], "文件不存在"),
    (["area", "{bad_rules_sheet}", "--rules", "{bad_rules}"], "key 'area.rounding'"),
    (["area", "{sheet}", "--column", "村名"], "--column 应写成 表头=字段"),
    (["area", "{sheet}", "-o", "out.pdf"], "不支持的输出格式"),
    (["area", "{no_area}"], "缺少必需的列"),
])
def test_exit_code_2_with_one_line(tmp_path, sheet, args, message):
    good = sheet([["王庄村", 100, 120]], headers=["村名", "户数", "面积"], name="good.xlsx")
    no_area = sheet([["王庄村", 100]], headers=["村名", "户数"], name="no_area.xlsx")
    bad_rules = tmp_path / "r.toml"
    from audit.rules import DEFAULT_RULES
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('rounding = "proportional"', 'rounding = "x"')
    bad_rules.write_text(text, encoding="utf-8")
    subs = {"{sheet}": str(good), "{bad_rules_sheet}": str(good), "{bad_rules}": str(bad_rules),
            "{no_area}": str(no_area), "out.pdf": str(tmp_path / "out.pdf")}
    result = runner.invoke(app, [subs.get(a, a) for a in args])
    assert result.exit_code == 2
    assert result.stderr.startswith("错误：") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_bad_crs_option_is_a_usage_error(sheet):
    result = runner.invoke(app, ["area", str(sheet([["王庄村", 100, 120]], headers=["村名", "户数", "面积"])),
                                 "--crs", "epsg3857"])
    assert result.exit_code == 2


def test_console_script_runs_as_a_process(tmp_path):
    exe = Path(sys.executable).with_name("audit")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    ok = subprocess.run([str(exe), "area", str(DEMO), "--crs", "gcj02", "--json"], capture_output=True, text=True,
                        env=env, timeout=120)
    assert ok.returncode == 0
    assert len(json.loads(ok.stdout)) == 400
    bad = subprocess.run([str(exe), "area", str(tmp_path / "nope.xlsx")], capture_output=True, text=True, env=env,
                         timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("错误：")


def test_ledger_and_export_dataset_commands(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    out = tmp_path / "ledger.xlsx"
    result = runner.invoke(app, ["ledger", str(DEMO), "--crs", "gcj02", "-o", str(out), "--db", db])
    assert result.exit_code == 0, result.stderr
    assert "村庄 400 个，本轮未核查 400 个" in result.stdout          # no inspection yet
    assert openpyxl.load_workbook(out).sheetnames == ["挂牌台账", "本轮未核查"]
    ds = runner.invoke(app, ["export-dataset", str(tmp_path / "ds"), "--db", db])
    assert ds.exit_code == 0 and (tmp_path / "ds" / "data.yaml").exists()
