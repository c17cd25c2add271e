import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from audit.area.export import audit_to_json, audit_to_records, write_audit
from audit.area.floor_area import area_audit
from audit.area.registry import registry_from_file

ROWS = [
    ["371521100201", "=cmd()", "城关镇", "示例县", "是", 1200, 300, 115.98, 36.45],
    ["371521100202", "李家村", "城关镇", "示例县", "否", 337, 101.1, 115.99, 36.46],
    ["371521100203", "@SUM(A1)", "+柳林镇", "示例县", "否", 500, "约120", None, None],
]


@pytest.fixture
def audited(sheet, rules):
    reg = registry_from_file(sheet(ROWS, title="示例县统计表"), rules=rules)
    return reg, area_audit(reg.villages, rules=rules)


def test_xlsx_for_officials(tmp_path, rules, audited):
    reg, out = audited
    path = write_audit(out, tmp_path / "out.xlsx", rules=rules, source="registry.xlsx", problems=reg.problems,
                       dropped=reg.dropped)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["村级明细", "乡镇汇总", "县级汇总", "说明"]
    ws = wb["村级明细"]
    headers = [c.value for c in ws[1]]
    assert headers[:6] == ["村代码", "村名", "乡镇（街道）", "县（市、区）", "是否中心村", "村庄类型"]
    assert ws.freeze_panes == "A2"
    col = {h: i for i, h in enumerate(headers)}
    first = [c for c in ws[2]]
    assert first[col["村名"]].value == "=cmd()" and first[col["村名"]].data_type == "s"   # text, not a formula
    assert ws[4][col["村名"]].data_type == "s" and ws[4][col["乡镇（街道）"]].value == "+柳林镇"
    assert first[col["村代码"]].value == "371521100201" and first[col["村代码"]].data_type == "s"
    assert first[col["服务中心面积（㎡）"]].value == 300 and first[col["服务中心面积（㎡）"]].data_type == "n"
    assert first[col["面积核查结果"]].value == "不达标" and first[col["面积缺口（㎡）"]].value == 200
    assert ws[3][col["面积核查结果"]].value == "达标"
    assert ws[4][col["面积核查结果"]].value == "无法判定"
    assert "约120" in ws[4][col["数据问题"]].value
    rules_cf = [r for rng in ws.conditional_formatting for r in rng.rules]
    assert any('="不达标"' in r.formula[0] for r in rules_cf)                       # rows highlighted
    assert ws.column_dimensions["M"].width > 10                                      # readable widths
    town = wb["乡镇汇总"]
    assert [c.value for c in town[1]] == ["县（市、区）", "乡镇（街道）", "村庄数", "达标", "不达标", "无法判定",
                                          "达标率", "面积缺口合计（㎡）"]
    assert [c.value for c in town[2]][2:] == [2, 1, 1, 0, 0.5, 200]
    county = wb["县级汇总"]
    assert [c.value for c in county[2]] == ["示例县", 3, 1, 1, 1, 0.5, 200]
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
    assert notes["中心村最低面积（㎡）"] == "500" and notes["每百户最低面积（㎡）"] == "30"
    assert notes["源文件"] == "registry.xlsx" and notes["生成时间"]
    listed = [r[1].value for r in wb["说明"].iter_rows(min_row=2) if r[0].value == "数据问题"]
    assert any("第5行" in p and "约120" in p for p in listed) and len(listed) == len(reg.problems)


def test_csv_has_bom_chinese_headers_and_no_formulas(tmp_path, rules, audited):
    _, out = audited
    path = write_audit(out, tmp_path / "out.csv", rules=rules)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert df.columns[1] == "村名"
    assert df["村名"].tolist() == ["'=cmd()", "李家村", "'@SUM(A1)"]
    assert df["乡镇（街道）"].tolist()[2] == "'+柳林镇"
    assert df["村代码"].tolist()[0] == "371521100201"


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_gis_exports_round_trip(tmp_path, rules, audited, suffix):
    _, out = audited
    path = write_audit(out, tmp_path / f"out{suffix}", rules=rules)
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326
    assert back["village_code"].tolist() == ["371521100201", "371521100202", "371521100203"]
    assert back["area_status"].tolist() == ["non_compliant", "compliant", "unknown"]
    assert back.geometry.iloc[0].x == pytest.approx(115.98) and back.geometry.iloc[2] is None
    assert {"required_m2", "gap_m2", "basis", "reason", "excel_row", "problems", "lon", "lat"} <= set(back.columns)


def test_json_rows_have_no_nan(audited):
    _, out = audited
    rows = json.loads(audit_to_json(out))
    assert rows == audit_to_records(out)
    assert rows[2]["floor_area_m2"] is None and rows[2]["gap_m2"] is None and rows[2]["lon"] is None
    assert rows[0]["lon"] == pytest.approx(115.98) and rows[0]["excel_row"] == 3
    assert rows[2]["problems"] and "约120" in rows[2]["problems"][0]
    assert "NaN" not in audit_to_json(out)


def test_unknown_output_format(tmp_path, rules, audited):
    from audit.errors import AuditError
    with pytest.raises(AuditError, match="不支持的输出格式「.pdf」"):
        write_audit(audited[1], tmp_path / "x.pdf", rules=rules)
