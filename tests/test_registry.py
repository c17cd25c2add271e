import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlwt
from shapely.geometry import Point, box

from audit.area import coords
from audit.area.floor_area import area_audit
from audit.area.registry import CANONICAL, normalise_header, registry_from_file, townships_from_file
from audit.errors import RegistryError
from tests.conftest import write_xlsx

ROWS = [
    ["371521100201", "王庄村", "城关镇", "示例县", "是", 1200, 520, 115.98, 36.45],
    ["371521100202", "李家村", "城关镇", "示例县", "否", 337, 101.1, 115.99, 36.46],
    ["371521100203", "张集村", "柳林镇", "示例县", "否", 500, 120, 116.01, 36.40],
]


@pytest.mark.parametrize(("header", "normalised"), [
    ("县（市、区）", "县市区"), ("乡镇（街道）", "乡镇街道"), ("服务中心面积（㎡）", "服务中心面积"),
    ("建筑面积（平方米）", "建筑面积"), ("Floor_Area (m2)", "floorarea"), (" 村 名 ", "村名"),
    ("户数（户）", "户数"), ("服务中心面积㎡", "服务中心面积"), ("ＬＯＮ", "lon"),
])
def test_normalise_header(header, normalised):
    assert normalise_header(header) == normalised


@pytest.mark.parametrize("headers", [
    ["村代码", "村名", "乡镇", "县（市、区）", "是否中心村", "户数", "党群服务中心面积", "经度", "纬度"],
    ["行政区划代码", "村庄名称", "乡镇（街道）", "区县", "村庄类型", "总户数", "服务中心面积（㎡）", "lon", "lat"],
    ["统计用区划代码", "行政村名称", "乡镇街道", "县市区", "是否中心村", "户籍户数", "服务中心面积（平方米）", "lng", "lat"],
    ["村代码", "行政村", "街道", "县", "是否中心村", "户数", "建筑面积（平方米）", "x", "y"],
    ["village_code", "village_name", "township", "county", "is_central", "households", "floor_area_m2",
     "longitude", "latitude"],
])
def test_header_aliases(sheet, rules, headers):
    reg = registry_from_file(sheet(ROWS, headers=headers), rules=rules)
    v = reg.villages
    assert list(v.columns[:len(CANONICAL)]) == CANONICAL[:-1] + ["village_type"]
    assert v["village_code"].tolist() == ["371521100201", "371521100202", "371521100203"]
    assert v["village_name"].tolist() == ["王庄村", "李家村", "张集村"]
    assert v["is_central"].tolist() == [True, False, False]
    assert v["floor_area_m2"].tolist() == [520, 101.1, 120]
    assert v.crs.to_epsg() == 4326
    assert v.geometry.iloc[0].coords[0] == pytest.approx((115.98, 36.45))
    assert reg.problems == []


def test_title_rows_and_total_row_are_handled(sheet, rules):
    rows = [*ROWS, ["合计", None, None, None, None, 2037, 741.1, None, None]]
    path = sheet(rows, title="示例县村级党群服务中心面积统计表")
    reg = registry_from_file(path, rules=rules)
    assert len(reg.villages) == 3
    assert reg.villages["excel_row"].tolist() == [3, 4, 5]   # title row 1, header row 2
    assert [p.row for p in reg.dropped] == [6]
    assert str(reg.dropped[0]) == "registry.xlsx 第6行：合计/小计行，不是村庄，已剔除"


def test_total_in_the_first_column_and_subtotals(tmp_path, rules):
    headers = ["序号", "村名", "户数", "面积"]
    rows = [[1, "王庄村", 100, 120], ["小计", None, 100, 120], [2, "李家村", 200, 130], ["总计（2个村）", None, 300, 250]]
    reg = registry_from_file(write_xlsx(tmp_path / "r.xlsx", rows, headers=headers), rules=rules)
    assert reg.villages["village_name"].tolist() == ["王庄村", "李家村"]
    assert [p.row for p in reg.dropped] == [3, 5]


def test_unknown_columns_are_kept(sheet, rules):
    headers = ["村代码", "村名", "乡镇", "县", "是否中心村", "户数", "面积", "经度", "纬度", "备注"]
    rows = [[*r, "新建"] for r in ROWS]
    v = registry_from_file(sheet(rows, headers=headers), rules=rules).villages
    assert v["备注"].tolist() == ["新建"] * 3


@pytest.mark.parametrize(("raw", "value"), [
    (120, 120.0), ("120㎡", 120.0), ("１２０", 120.0), ("1,200", 1200.0), ("120 平方米", 120.0),
    ("120.5m2", 120.5), (" 130 ", 130.0),
])
def test_number_forms(sheet, rules, raw, value):
    row = ["371521100201", "王庄村", "城关镇", "示例县", "否", 100, raw, 115.98, 36.45]
    v = registry_from_file(sheet([row]), rules=rules).villages
    assert v["floor_area_m2"].iloc[0] == value


@pytest.mark.parametrize(("raw", "message"), [
    ("—", "面积缺失"), ("", "面积缺失"), (None, "面积缺失"), ("约120", "面积不是有效数字"), (-5, "面积为负数"),
])
def test_bad_area_marks_the_row_unknown(sheet, rules, raw, message):
    rows = [ROWS[0], ["371521100209", "赵楼村", "城关镇", "示例县", "否", 300, raw, 115.98, 36.45]]
    reg = registry_from_file(sheet(rows, title="统计表"), rules=rules)
    assert len(reg.villages) == 2                                    # nothing dropped
    [p] = reg.problems
    assert (p.file, p.row, p.column) == ("registry.xlsx", 4, "党群服务中心面积")
    assert p.value == ("" if raw is None else str(raw))
    assert message in p.message
    assert str(p).startswith("registry.xlsx 第4行 列「党群服务中心面积」")
    out = area_audit(reg.villages, rules=rules)
    assert out["area_status"].tolist() == ["compliant", "unknown"]
    assert message in out["reason"].iloc[1]


def test_validation_messages(sheet, rules):
    rows = [
        ["371521100201", "王庄村", "城关镇", "示例县", "是", 1200, 520, 115.98, 36.45],
        ["371521100201", "李家村", "城关镇", "示例县", "否", "abc", 101.1, 115.99, 36.46],   # duplicate code, bad hh
        ["371521100203", None, "柳林镇", "示例县", "中心", -3, 120, 36.40, 116.01],          # blank name, swapped
        ["371521100204", "赵楼村", "柳林镇", "示例县", "社区", 200, 120, 2.35, 48.85],       # type, outside China
    ]
    reg = registry_from_file(sheet(rows), rules=rules)
    got = {(p.row, p.column, p.value): p.message for p in reg.problems}
    assert "村代码重复（第2、3行）" in got[(2, "村代码", "371521100201")]
    assert "村代码重复（第2、3行）" in got[(3, "村代码", "371521100201")]
    assert "户数不是有效数字" in got[(3, "户数", "abc")]
    assert "村名为空" in got[(4, "村名", "")]
    assert "户数为负数" in got[(4, "户数", "-3")]
    assert "经纬度可能填反" in got[(4, "经度/纬度", "36.4, 116.01")]
    assert "无法识别的村庄类型" in got[(5, "是否中心村", "社区")]
    assert "坐标不在中国境内" in got[(5, "经度/纬度", "2.35, 48.85")]
    v = reg.villages
    assert v.geometry.iloc[2].coords[0] == pytest.approx((116.01, 36.40))   # swapped back
    assert v.geometry.iloc[3] is None
    assert len(v["problems"].iloc[0]) == 1                          # the duplicate code
    assert len(v["problems"].iloc[2]) == 3


def test_missing_required_column_lists_headers_and_the_fix(sheet, rules):
    path = sheet([["王庄村", 100]], headers=["单位", "户数"])
    with pytest.raises(RegistryError) as err:
        registry_from_file(path, rules=rules)
    msg = str(err.value)
    assert "缺少必需的列" in msg and "村名（village_name）" in msg and "服务中心面积（floor_area_m2）" in msg
    assert "单位、户数" in msg and "--column 单位=village_name" in msg and "表头改为「村名」" in msg


def test_explicit_column_mapping(sheet, rules):
    path = sheet([["王庄村", 100, 150]], headers=["村庄名字", "户数", "用房面积"])
    reg = registry_from_file(path, rules=rules, columns={"村庄名字": "village_name", "用房面积": "floor_area_m2"})
    assert reg.villages[["village_name", "floor_area_m2"]].iloc[0].tolist() == ["王庄村", 150]
    with pytest.raises(RegistryError, match="没有表头「不存在」"):
        registry_from_file(path, rules=rules, columns={"不存在": "village_name"})
    with pytest.raises(RegistryError, match="'area' 不是可映射的字段"):
        registry_from_file(path, rules=rules, columns={"用房面积": "area"})


def test_no_header_found(sheet, rules):
    path = sheet([[1, 2]], headers=["甲", "乙"])
    with pytest.raises(RegistryError, match="找不到表头"):
        registry_from_file(path, rules=rules)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path, rules, encoding):
    text = "村代码,村名,乡镇,户数,服务中心面积（㎡）,是否中心村\n371521100201,王庄村,城关镇,337,101.1,否\n" \
           "371521100202,李家村,城关镇,\"1,200\",400,是\n"
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode(encoding))
    v = registry_from_file(path, rules=rules).villages
    assert v["village_name"].tolist() == ["王庄村", "李家村"]
    assert v["households"].tolist() == [337, 1200]
    assert v["excel_row"].tolist() == [2, 3]
    assert v["village_code"].tolist() == ["371521100201", "371521100202"]


def test_csv_with_codes_in_scientific_notation_is_reported(tmp_path, rules):
    path = tmp_path / "r.csv"
    path.write_text("村代码,村名,户数,面积\n3.71521E+11,王庄村,100,120\n", encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    assert "科学计数法" in reg.problems[0].message


def test_legacy_xls(tmp_path, rules):
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("村")
    ws.write(0, 0, "示例县统计表")
    for j, h in enumerate(["村代码", "村名", "户数", "服务中心面积", "村庄类型"]):
        ws.write(1, j, h)
    for i, row in enumerate([[371521100201, "王庄村", 337, 101.1, "中心村"], ["371521100202", "李家村", 50, 90, "一般村"]]):
        for j, value in enumerate(row):
            ws.write(2 + i, j, value)
    path = tmp_path / "old.xls"
    wb.save(str(path))
    v = registry_from_file(path, rules=rules).villages
    assert v["village_code"].tolist() == ["371521100201", "371521100202"]    # never 371521100201.0
    assert v["village_type"].tolist() == ["central", "ordinary"]
    assert v["excel_row"].tolist() == [3, 4]


def test_unreadable_and_unsupported_files(tmp_path, rules):
    bad = tmp_path / "broken.xlsx"
    bad.write_bytes(b"not a workbook")
    with pytest.raises(RegistryError, match="broken.xlsx: 无法读取文件"):
        registry_from_file(bad, rules=rules)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(RegistryError, match="不支持的文件类型"):
        registry_from_file(tmp_path / "x.pdf", rules=rules)
    with pytest.raises(RegistryError, match="文件不存在"):
        registry_from_file(tmp_path / "missing.xlsx", rules=rules)
    with pytest.raises(RegistryError, match="'crs' should be one of"):
        registry_from_file(bad, rules=rules, crs="epsg3857")


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_chinese_map_coordinates_are_converted(sheet, rules, crs):
    lon, lat = np.array([115.98]), np.array([36.45])
    forward = coords.wgs84_to_gcj02 if crs == "gcj02" else coords.wgs84_to_bd09
    mlon, mlat = forward(lon, lat)
    row = ["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, float(mlon[0]), float(mlat[0])]
    pt = registry_from_file(sheet([row]), rules=rules, crs=crs).villages.geometry.iloc[0]
    assert (pt.x, pt.y) == pytest.approx((115.98, 36.45), abs=1e-7)


def test_coordinate_system_column_per_row(sheet, rules):
    glon, glat = coords.wgs84_to_gcj02(np.array([115.98]), np.array([36.45]))
    headers = ["村名", "户数", "面积", "经度", "纬度", "坐标系"]
    rows = [["王庄村", 100, 120, float(glon[0]), float(glat[0]), "高德"], ["李家村", 100, 120, 115.98, 36.45, "WGS-84"],
            ["张集村", 100, 120, 115.98, 36.45, "北京54"]]
    reg = registry_from_file(sheet(rows, headers=headers), rules=rules)
    g = reg.villages.geometry
    assert (g.iloc[0].x, g.iloc[0].y) == pytest.approx((115.98, 36.45), abs=1e-7)
    assert (g.iloc[1].x, g.iloc[1].y) == pytest.approx((115.98, 36.45))
    assert g.iloc[2] is None
    [p] = [p for p in reg.problems if p.row is not None]
    assert (p.row, p.column, p.value) == (4, "坐标系", "北京54") and "无法识别的坐标系" in p.message
    assert [p.message for p in reg.problems if p.row is None] == [
        "没有村代码列：无法检查重复，导出中村代码为空", "没有「是否中心村/村庄类型」列：全部按「非中心村」核定"]


@pytest.fixture
def gis_villages():
    return gpd.GeoDataFrame({
        "村代码": ["371521100201", "371521100202"], "行政村名称": ["王庄村", "李家村"], "乡镇": ["城关镇", "柳林镇"],
        "是否中心村": ["是", "否"], "户数": [1200, 337], "服务中心面积": [520.0, 101.1], "备注": ["a", "b"]},
        geometry=[Point(115.98, 36.45), Point(116.01, 36.40)], crs="EPSG:4326")


@pytest.mark.parametrize(("driver", "suffix"), [("GeoJSON", ".geojson"), ("GPKG", ".gpkg"), ("ESRI Shapefile", ".zip")])
def test_gis_formats_round_trip(tmp_path, rules, gis_villages, driver, suffix):
    if suffix == ".zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        # DBF field names hold 10 bytes: real Chinese shapefiles use short names. Projected CGCS2000.
        short = gis_villages.rename(columns={"行政村名称": "村名", "是否中心村": "类型", "服务中心面积": "面积"})
        short.to_crs("EPSG:4549").to_file(folder / "villages.shp", encoding="utf-8")
        path = tmp_path / "villages.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in folder.iterdir():
                zf.write(f, f.name)
    else:
        path = tmp_path / f"villages{suffix}"
        gis_villages.to_file(path, driver=driver)
    reg = registry_from_file(path, rules=rules)
    v = reg.villages
    assert v["village_name"].tolist() == ["王庄村", "李家村"]
    assert v["village_code"].tolist() == ["371521100201", "371521100202"]
    assert v["is_central"].tolist() == [True, False]
    assert v.crs.to_epsg() == 4326
    got = np.array([(p.x, p.y) for p in v.geometry])
    assert got == pytest.approx(np.array([(115.98, 36.45), (116.01, 36.40)]), abs=1e-6)
    assert v["备注"].tolist() == ["a", "b"]
    assert reg.problems == []


def test_polygons_become_points_and_missing_crs_is_refused(tmp_path, rules, gis_villages):
    polys = gis_villages.copy()
    polys["geometry"] = [box(115.97, 36.44, 115.99, 36.46), box(116.0, 36.39, 116.02, 36.41)]
    path = tmp_path / "p.gpkg"
    polys.to_file(path)
    v = registry_from_file(path, rules=rules).villages
    assert v.geometry.iloc[0].within(polys.geometry.iloc[0])
    nocrs = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        polys.set_crs(None, allow_override=True).to_file(nocrs)
    with pytest.raises(RegistryError, match="没有坐标参考系"):
        registry_from_file(nocrs, rules=rules)


def test_township_boundaries(tmp_path, rules):
    towns = gpd.GeoDataFrame({"乡镇名称": ["城关镇", "柳林镇"]},
                             geometry=[box(115.9, 36.4, 116.0, 36.5), box(116.0, 36.3, 116.1, 36.4)], crs="EPSG:4326")
    path = tmp_path / "towns.geojson"
    towns.to_file(path, driver="GeoJSON")
    out = townships_from_file(path)
    assert out["township"].tolist() == ["城关镇", "柳林镇"] and out.crs.to_epsg() == 4326
    with pytest.raises(RegistryError, match="找不到乡镇名称列"):
        townships_from_file(path, name_column="名称")


def test_custom_village_type_from_rules(sheet, tmp_path):
    from audit.rules import DEFAULT_RULES, load_rules
    text = DEFAULT_RULES.read_text(encoding="utf-8") + (
        '\n[[area.types]]\nid = "community"\nname_zh = "社区"\nbase_m2 = 300\nvalues = ["社区", "城镇社区"]\n')
    (tmp_path / "county.toml").write_text(text, encoding="utf-8")
    county = load_rules(tmp_path / "county.toml")
    rows = [["371521100204", "赵楼社区", "柳林镇", "示例县", "城镇社区", 200, 250, 116.0, 36.4]]
    v = registry_from_file(sheet(rows), rules=county).villages
    out = area_audit(v, rules=county).iloc[0]
    assert (out["village_type"], out["required_m2"], out["area_status"]) == ("community", 300, "non_compliant")


def test_codes_stay_text_everywhere(sheet, rules):
    rows = [[371521100201, "王庄村", "城关镇", "示例县", "否", 100, 120, 115.98, 36.45]]   # a number cell
    v = registry_from_file(sheet(rows), rules=rules).villages
    assert v["village_code"].iloc[0] == "371521100201"
    assert isinstance(v["village_code"].iloc[0], str)
    assert pd.api.types.is_float_dtype(v["floor_area_m2"])


@pytest.mark.parametrize(("row", "column", "value", "message"), [
    (["371521100201", "王庄村", "城关镇", "示例县", None, 100, 120, 115.98, 36.45], "是否中心村", "",
     "村庄类型未填写，按「非中心村」核定"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, "东经115", 36.45], "经度", "东经115",
     "经度不是数字，该村不上图"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, 115.98, "abc"], "纬度", "abc",
     "纬度不是数字，该村不上图"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, 115.98, None], None, None,
     "经度或纬度只填了一个，该村不上图"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, None, None], None, None, "缺少经纬度，该村不上图"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", "约300", 120, 115.98, 36.45], "户数", "约300",
     "户数不是有效数字，面积无法判定"),
    (["371521100201", "王庄村", "城关镇", "示例县", "否", None, 120, 115.98, 36.45], "户数", "",
     "户数缺失，面积无法判定"),
])
def test_every_row_message(sheet, rules, row, column, value, message):
    reg = registry_from_file(sheet([row]), rules=rules)
    assert [(p.row, p.column, p.value, p.message) for p in reg.problems] == [(2, column, value, message)]
    assert len(reg.villages) == 1


def test_two_row_header_with_merged_group_titles(tmp_path, rules):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["示例县村级党群服务中心建设情况统计表"])
    ws.append(["序号", "乡镇", "村名", "基本情况", None, "党群服务中心", None])
    ws.append([None, None, None, "户数", "是否中心村", "面积（㎡）", "建成年份"])
    ws.merge_cells("D2:E2")
    ws.merge_cells("F2:G2")
    ws.append([1, "城关镇", "王庄村", 337, "否", 101.1, 2019])
    ws.append([2, "城关镇", "李家村", 1200, "是", 480, 2020])
    path = tmp_path / "two_rows.xlsx"
    wb.save(path)
    reg = registry_from_file(path, rules=rules)
    v = reg.villages
    assert v["village_name"].tolist() == ["王庄村", "李家村"]
    assert v["households"].tolist() == [337, 1200] and v["floor_area_m2"].tolist() == [101.1, 480]
    assert v["is_central"].tolist() == [False, True]
    assert v["excel_row"].tolist() == [4, 5]
    assert reg.columns["floor_area_m2"] == "党群服务中心面积（㎡）"
    assert "党群服务中心建成年份" in v.columns                      # an unknown column, kept


def test_the_sheet_with_the_registry_is_found(tmp_path, rules):
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["本表由乡镇填报，面积单位为平方米。"])
    ws = wb.create_sheet("村级阵地")
    ws.append(["村名", "户数", "服务中心面积"])
    ws.append(["王庄村", 337, 101.1])
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    reg = registry_from_file(path, rules=rules)
    assert reg.villages["village_name"].tolist() == ["王庄村"]
    assert reg.problems[0].message == "读取的是工作表「村级阵地」（表头最完整的一张）"


@pytest.mark.parametrize(("lon", "lat"), [("115°58′48″", "36°27′"), ("115度58分48秒", "36度27分0秒"),
                                          ("115°58'48\"E", "36°27'00\"N"), (115.98, 36.45)])
def test_degrees_minutes_seconds(sheet, rules, lon, lat):
    row = ["371521100201", "王庄村", "城关镇", "示例县", "否", 100, 120, lon, lat]
    reg = registry_from_file(sheet([row]), rules=rules)
    assert reg.problems == []
    assert reg.villages.geometry.iloc[0].coords[0] == pytest.approx((115.98, 36.45), abs=1e-9)


# --- Bad input (issue 14): limits before work, unrepresentable numbers per row, no reader left to abort ---------

def patched_xlsx(src, dst, *, sheet_xml=None, dimension=None):
    """A copy of a real workbook whose first worksheet's XML is rewritten: ``sheet_xml`` maps the text to new text,
    ``dimension`` replaces the declared <dimension ref>."""
    import re

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                if dimension is not None:
                    text = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', text)
                if sheet_xml is not None:
                    text = sheet_xml(text)
                data = text.encode("utf-8")
            zout.writestr(info, data)
    return dst


@pytest.mark.parametrize(("value", "shown"), [
    ("inf", "inf"), ("Infinity", "Infinity"), ("1e309", "1e309"), ("9" * 400, "9" * 40 + "…"),
    ("-1e309", "-1e309"), (1e308, "1.00000e+308"), (1_000_001, "1000001"),
])
def test_unrepresentable_households_are_refused_per_row(sheet, rules, value, shown):
    rows = [list(r) for r in ROWS]
    rows[1][5] = value
    reg = registry_from_file(sheet(rows), rules=rules)
    [p] = [p for p in reg.problems if p.column == "户数"]
    assert (p.file, p.row, p.value) == ("registry.xlsx", 3, shown)
    assert "户数超出可处理的范围（绝对值上限 1,000,000），面积无法判定" in p.message
    assert np.isnan(reg.villages["households"].iloc[1])
    out = area_audit(reg.villages, rules=rules)
    assert out["area_status"].tolist() == ["compliant", "unknown", "non_compliant"]


@pytest.mark.parametrize("literal", ["1e309", "-1e309", "1E400"])
def test_a_workbook_number_beyond_float_is_text_everywhere(tmp_path, rules, literal):
    """calamine reads <v>1e309</v> as inf: as 户数 it is refused per row, in another column it stays its text,
    and the JSON and the XLSX export both succeed (they failed on a non-compliant float before)."""
    from audit.area.export import audit_to_json, audit_to_xlsx

    headers = [*HEADERS_9, "备注"]
    src = write_xlsx(tmp_path / "src.xlsx", [[*r, 7] for r in ROWS], headers=headers)
    path = patched_xlsx(src, tmp_path / "r.xlsx", sheet_xml=lambda x: x.replace(
        '<c r="F3" t="n"><v>337</v></c>', f'<c r="F3" t="n"><v>{literal}</v></c>').replace(
        '<c r="J4" t="n"><v>7</v></c>', f'<c r="J4" t="n"><v>{literal}</v></c>'))
    reg = registry_from_file(path, rules=rules)
    [p] = [p for p in reg.problems if p.column == "户数"]
    assert p.row == 3 and p.value in ("inf", "-inf") and "超出可处理的范围" in p.message
    assert reg.villages["备注"].tolist()[2] in ("inf", "-inf")
    out = area_audit(reg.villages, rules=rules)
    audit_to_json(out)
    audit_to_xlsx(out, tmp_path / "out.xlsx", rules=rules, source=str(path), problems=reg.problems)


HEADERS_9 = ["村代码", "村名", "乡镇", "县（市、区）", "是否中心村", "户数", "党群服务中心面积", "经度", "纬度"]


@pytest.mark.parametrize("area", ["1e309", "Infinity", "1e308", "-inf"])
def test_unrepresentable_area_in_a_csv(tmp_path, rules, area):
    from audit.area.export import audit_to_json

    path = tmp_path / "r.csv"
    path.write_text("村代码,村名,户数,服务中心面积\n1,王庄村,100,120\n2,李家村,100," + area + "\n", encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    [p] = [p for p in reg.problems if p.column == "服务中心面积"]
    assert (p.row, p.value) == (3, area)
    assert "面积超出可处理的范围（绝对值上限 1,000,000）" in p.message
    audit_to_json(area_audit(reg.villages, rules=rules))


def test_many_copies_of_a_code_name_a_few_rows(sheet, rules):
    rows = [["371521100201", f"村{i}", "城关镇", "示例县", "否", 100, 120, 115.98, 36.45] for i in range(12)]
    reg = registry_from_file(sheet(rows), rules=rules)
    messages = {p.message for p in reg.problems if p.column == "村代码"}
    assert messages == {"村代码重复（第2、3、4、5、6行等，共 12 行）"}
    assert sum(p.column == "村代码" for p in reg.problems) == 12


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_header_without_data_rows_is_refused(tmp_path, rules, suffix):
    path = tmp_path / f"r{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, [], title="示例县统计表")
        message = r"r.xlsx: 表头（第2行）下面没有数据行"
    else:
        path.write_text(",".join(HEADERS_9) + "\n\n\n", encoding="utf-8")
        message = r"r.csv: 表头（第1行）下面没有数据行"
    with pytest.raises(RegistryError, match=message):
        registry_from_file(path, rules=rules)


def test_only_a_total_row_is_refused(sheet, rules):
    with pytest.raises(RegistryError, match="除合计/小计行外没有村庄数据行"):
        registry_from_file(sheet([["合计", None, None, None, None, 10, 10, None, None]]), rules=rules)


@pytest.mark.parametrize(("dimension", "extra_cell", "message"), [
    # the 30 kB file with one value in XFD1048576: calamine asked for 512 GiB and aborted the process
    ("A1:XFD1048576", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
     r"声明的范围延伸到第 1,048,576 行、第 16,384 列（XFD1048576）"),
    # the same cell under an honest-looking dimension: the scan of the cells finds it
    (None, '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
     r"的数据延伸到第 1,048,576 行、第 16,384 列（XFD1048576）"),
    # one value in XFD1 (16,384 columns added one at a time, past 150 s)
    (None, 'ROW1:<c r="XFD1" t="inlineStr"><is><t>x</t></is></c>', r"的数据延伸到第 \d 行、第 16,384 列（XFD\d）"),
    (None, 'ROW1:<c r=\'XFD1\' t="inlineStr"><is><t>x</t></is></c>', r"第 16,384 列"),            # single quotes
    (None, 'ROW1:<c t="inlineStr" r="xfd1"><is><t>x</t></is></c>', r"第 16,384 列"),             # r not first
    (None, '<x:row r="600000"><x:c r="A600000"><x:v>1</x:v></x:c></x:row>', r"第 600,000 行"),  # a prefix
    (None, '<row r="5000"><c r="GS5000"><v>1</v></c></row>', r"第 5,000 行、第 201 列"),         # over 200 cols
    (None, '<row r="30000"><c r="GR30000"><v>1</v></c></row>', r"第 30,000 行、第 200 列.*5,000,000 个单元格"),
])
def test_xlsx_extent_is_checked_before_the_reader_allocates(tmp_path, rules, sheet, dimension, extra_cell, message):
    from audit.area._sheet_extent import check_xlsx
    from audit.area.registry import _SHEET_LIMITS, MAX_COLUMNS

    def edit(xml):
        if extra_cell.startswith("ROW1:"):
            return xml.replace("</row>", extra_cell[5:] + "</row>", 1)
        return xml.replace("</sheetData>", extra_cell + "</sheetData>")

    path = patched_xlsx(sheet(ROWS), tmp_path / "big.xlsx", sheet_xml=edit, dimension=dimension)
    assert path.stat().st_size < 30_000 and MAX_COLUMNS == 200
    with pytest.raises(RegistryError, match=rf"big.xlsx: 工作表「Sheet」.*{message}") as caught:
        check_xlsx(path, _SHEET_LIMITS)      # pure Python: safe to run here even if the limit were broken
    assert "超出上限（最多 500,000 行、200 列、5,000,000 个单元格）" in str(caught.value)


def test_cells_without_positions_are_followed(tmp_path, sheet):
    """Cells without r="…" sit after the previous one (calamine places them so): 250 of them reach column 250."""
    import re

    from audit.area._sheet_extent import SheetLimits, check_xlsx

    def edit(xml):
        xml = re.sub(r' r="[A-Z]+\d+"', "", xml)
        return xml.replace("</row>", "<c><v>1</v></c>" * 250 + "</row>", 1)

    path = patched_xlsx(sheet(ROWS), tmp_path / "implicit.xlsx", sheet_xml=edit)
    with pytest.raises(RegistryError, match="第 1 行、第 201 列（GS1）"):   # stops at the first cell beyond
        check_xlsx(path, SheetLimits(rows=100, columns=200, cells=10_000, uncompressed_bytes=10**9))
    check_xlsx(path, SheetLimits(rows=100, columns=300, cells=10_000, uncompressed_bytes=10**9))


def test_xlsx_beyond_the_limits_is_refused_end_to_end(tmp_path, sheet):
    """Through the CLI, in a child process: the file that aborted the process now exits 2 with the limit."""
    import subprocess
    import sys

    path = patched_xlsx(sheet(ROWS), tmp_path / "xfd.xlsx", dimension="A1:I3", sheet_xml=lambda x: x.replace(
        "</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    run = subprocess.run([sys.executable, "-m", "audit.cli.main", "area", str(path)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "xfd.xlsx: 工作表「Sheet」的数据延伸到第 1,048,576 行" in run.stderr


def test_honest_workbooks_pass_the_extent_check(tmp_path, sheet):
    from audit.area._sheet_extent import check_xlsx
    from audit.area.registry import _SHEET_LIMITS

    check_xlsx(sheet(ROWS), _SHEET_LIMITS)
    check_xlsx(Path(__file__).parent.parent / "data" / "demo" / "demo_county.xlsx", _SHEET_LIMITS)


def xls_book(path, cells, *, blank=None):
    """A real legacy XLS: a header row, ``cells`` {(row, col): value}, and optionally a formatted empty cell."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("村")
    for j, h in enumerate(["村代码", "村名", "户数", "服务中心面积"]):
        ws.write(0, j, h)
    for (r, c), value in cells.items():
        ws.write(r, c, value)
    if blank:
        ws.write(*blank, None, xlwt.easyxf("pattern: pattern solid, fore_colour red;"))
    wb.save(str(path))
    return path


def biff_edited(path, edit):
    """The XLS at ``path`` with its BIFF records rewritten by ``edit(type, body) -> body`` (repackaged whole)."""
    import io
    import struct

    from xlwt.CompoundDoc import XlsDoc

    from audit.area._sheet_extent import _cfb_streams

    [stream] = _cfb_streams(path.read_bytes(), ("workbook",))
    out, at = b"", 0
    while at + 4 <= len(stream):
        rtype, length = struct.unpack_from("<HH", stream, at)
        out += stream[at:at + 4] + edit(rtype, stream[at + 4:at + 4 + length])
        at += 4 + length
    buf = io.BytesIO()
    XlsDoc().save(buf, out)
    path.write_bytes(buf.getvalue())
    return path


ROW_OF_VILLAGE = {(1, 1): "王庄村", (1, 2): 100, (1, 3): 120}


def test_legacy_xls_extent_is_checked(tmp_path, rules):
    path = xls_book(tmp_path / "corner.xls", {**ROW_OF_VILLAGE, (65535, 255): "x"})   # calamine: a 1 GB grid
    with pytest.raises(RegistryError, match=r"corner.xls: 工作表「村」声明的范围延伸到第 65,536 行、第 256 列（IV65536）"):
        registry_from_file(path, rules=rules)


def test_legacy_xls_cells_beyond_an_honest_dimension_are_found(tmp_path, rules):
    import struct

    def far(rtype, body):   # the village's name moved to the format's last cell; DIMENSIONS left as it was
        if rtype == 0x0204 or (rtype == 0x00FD and struct.unpack_from("<HH", body) == (1, 1)):
            return struct.pack("<HH", 65535, 255) + body[4:]
        return body

    path = biff_edited(xls_book(tmp_path / "far.xls", ROW_OF_VILLAGE), far)
    with pytest.raises(RegistryError, match=r"far.xls: 工作表「村」的数据延伸到第 65,536 行、第 256 列"):
        registry_from_file(path, rules=rules)


@pytest.mark.parametrize(("dimensions", "message"), [
    ((0, 0xFFFFFFF0, 0, 4), r"声明的范围延伸到第 4,294,967,280 行"),            # calamine aborted reserving it
    ((0xFFFF, 3, 0, 4), r"声明的范围无效（首行 65,535 在末行 3 之后"),          # its size wrapped around
])
def test_legacy_xls_declared_dimensions(tmp_path, rules, dimensions, message):
    import struct

    def lie(rtype, body):
        return struct.pack("<IIHH", *dimensions) + body[12:] if rtype == 0x0200 else body

    path = biff_edited(xls_book(tmp_path / "dims.xls", ROW_OF_VILLAGE), lie)
    with pytest.raises(RegistryError, match=rf"dims.xls: 工作表「村」{message}"):
        registry_from_file(path, rules=rules)


def test_legacy_xls_blank_cells_do_not_count(tmp_path, rules):
    """A formatted empty cell is no value: calamine leaves it out, and so does the scan of the cells."""
    import struct

    from audit.area._sheet_extent import SheetLimits, check_xls

    def honest(rtype, body):   # DIMENSIONS as if the formatting were not there
        return struct.pack("<IIHH", 0, 2, 0, 4) + body[12:] if rtype == 0x0200 else body

    path = biff_edited(xls_book(tmp_path / "styled.xls", ROW_OF_VILLAGE, blank=(60000, 150)), honest)
    check_xls(path, SheetLimits(rows=10, columns=10, cells=100, uncompressed_bytes=10**9))
    assert registry_from_file(path, rules=rules).villages["village_name"].tolist() == ["王庄村"]


def test_ods_workbook(tmp_path, rules):
    """LibreOffice's and WPS's OpenDocument workbook, written by odfpy through pandas: a title row above the header,
    rows numbered as the office suite shows them."""
    rows = [["示例县村级阵地统计表", None, None, None],
            ["村（社区）名称", "户籍户数", "党群服务中心面积（㎡）", "是否中心村"],
            ["王庄村", 337, 101.1, "中心村"], ["李家村", 50, 90, "一般村"]]
    path = tmp_path / "名册.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(rows).to_excel(writer, sheet_name="村", index=False, header=False)
    v = registry_from_file(path, rules=rules).villages
    assert v["village_name"].tolist() == ["王庄村", "李家村"]
    assert v["floor_area_m2"].tolist() == [101.1, 90.0]
    assert v["village_type"].tolist() == ["central", "ordinary"]
    assert v["excel_row"].tolist() == [3, 4]


def ods_book(path, rows_xml, *, manifest_extra=""):
    """A hand-written ODS: one sheet 村 whose ``table:table`` holds ``rows_xml`` after a header row and a village."""
    cell = '<table:table-cell office:value-type="{t}"{v}><text:p>{x}</text:p></table:table-cell>'
    row = "<table:table-row>{}</table:table-row>".format
    head = row("".join(cell.format(t="string", v="", x=h) for h in ["村名", "户数", "服务中心面积"]))
    village = row(cell.format(t="string", v="", x="王庄村") + "".join(
        cell.format(t="float", v=f' office:value="{n}"', x=n) for n in (337, 120)))
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               f'<office:spreadsheet><table:table table:name="村">{head}{village}{rows_xml}</table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry '
                f'manifest:full-path="content.xml" manifest:media-type="text/xml">{manifest_extra}'
                '</manifest:file-entry></manifest:manifest>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml", manifest)
        zf.writestr("content.xml", content)
    return path


def test_ods_empty_filler_rows_and_columns_are_no_cells(tmp_path, rules):
    """LibreOffice ends a sheet with its empty rows and columns as one repeated element (1,048,574 rows of 16,384
    cells): the reader skips them, and so does the scan."""
    filler = ('<table:table-row table:number-rows-repeated="1048574"><table:table-cell '
              'table:number-columns-repeated="16384"/></table:table-row>')
    path = ods_book(tmp_path / "filler.ods", filler)
    assert registry_from_file(path, rules=rules).villages["village_name"].tolist() == ["王庄村"]


@pytest.mark.parametrize(("rows_xml", "where"), [
    # one value repeated over 20,000 rows × 1,000 columns: calamine builds all 20 million cells (2.2 GB)
    ('<table:table-row table:number-rows-repeated="20000"><table:table-cell table:number-columns-repeated="1000" '
     'office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>',
     "第 20,002 行、第 1,000 列（ALL20002）"),
    # one value far down, after empty rows, and text without a value type
    ('<table:table-row table:number-rows-repeated="600000"><table:table-cell/></table:table-row>'
     '<table:table-row><table:table-cell><text:p>x</text:p></table:table-cell></table:table-row>',
     "第 600,003 行、第 3 列（C600003）"),
])
def test_ods_cells_beyond_the_limits_are_refused_before_the_reader(tmp_path, rules, rows_xml, where):
    path = ods_book(tmp_path / "far.ods", rows_xml)
    with pytest.raises(RegistryError, match=rf"far.ods: 工作表「村」的数据延伸到{where}，超出上限"):
        registry_from_file(path, rules=rules)


def test_ods_that_cannot_be_measured_is_refused(tmp_path, rules):
    bomb = ods_book(tmp_path / "dtd.ods", "")
    with zipfile.ZipFile(bomb) as zf:
        content = zf.read("content.xml").decode()
    with zipfile.ZipFile(bomb, "w") as zf:   # entities could grow a small file into a huge one
        zf.writestr("content.xml", content.replace("?>", '?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1))
    with pytest.raises(RegistryError, match="dtd.ods: 无法读取文件（ODS 工作簿内容已损坏"):
        registry_from_file(bomb, rules=rules)
    locked = ods_book(tmp_path / "locked.ods", "", manifest_extra="<manifest:encryption-data/>")
    with pytest.raises(RegistryError, match="locked.ods: 工作簿设置了密码"):
        registry_from_file(locked, rules=rules)
    empty = tmp_path / "empty.ods"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(RegistryError, match="empty.ods: 无法读取文件（不是有效的 ODS 工作簿：缺少 content.xml）"):
        registry_from_file(empty, rules=rules)
    (tmp_path / "text.ods").write_text("村名,户数\n")
    with pytest.raises(RegistryError, match="text.ods: 无法读取文件（不是有效的 ODS 工作簿"):
        registry_from_file(tmp_path / "text.ods", rules=rules)


def test_a_rust_panic_in_the_reader_is_a_registry_error(sheet, rules, monkeypatch):
    """calamine's panics reach Python as pyo3's PanicException, a BaseException: still an unreadable file."""
    class PanicException(BaseException):
        pass

    def panic(*args, **kwargs):
        raise PanicException("range start index 4294967280 out of range for slice of length 8192")

    monkeypatch.setattr(pd, "read_excel", panic)
    with pytest.raises(RegistryError, match=r"registry.xlsx: 无法读取文件（PanicException: range start index"):
        registry_from_file(sheet(ROWS), rules=rules)


def test_a_sheet_outside_the_file_is_refused(tmp_path, rules):
    import struct

    def away(rtype, body):   # BOUNDSHEET: where the sheet begins (calamine panicked slicing past the end)
        return struct.pack("<I", 0xFFFFFFF0) + body[4:] if rtype == 0x0085 else body

    path = biff_edited(xls_book(tmp_path / "away.xls", ROW_OF_VILLAGE), away)
    with pytest.raises(RegistryError, match=r"away.xls: 文件已损坏（工作表「村」的位置超出了文件）"):
        registry_from_file(path, rules=rules)


def test_shared_strings_declared_beyond_the_cells_are_refused(tmp_path, rules):
    """calamine reserves room for uniqueCount strings before reading one: 4,294,967,295 aborted the process."""
    import re

    import xlsxwriter

    src = tmp_path / "excel.xlsx"
    with xlsxwriter.Workbook(str(src)) as wb:
        ws = wb.add_worksheet("s")
        ws.write_row(0, 0, ["村名", "户数", "面积"])
        ws.write_row(1, 0, ["王庄村", 100, 120])
    path = tmp_path / "sst.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/sharedStrings.xml":
                data = re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4294967295"', data)
            zout.writestr(info, data)
    assert registry_from_file(src, rules=rules).villages["village_name"].tolist() == ["王庄村"]
    with pytest.raises(RegistryError, match=r"sst.xlsx: 共享字符串表声明了 4,294,967,295 个字符串，超出上限 5,000,000 个"):
        registry_from_file(path, rules=rules)


@pytest.mark.parametrize("junk", [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600,
                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000])
def test_a_broken_compound_file_is_refused(tmp_path, rules, junk):
    path = tmp_path / "broken.xls"
    path.write_bytes(junk)
    with pytest.raises(RegistryError, match="broken.xls: "):
        registry_from_file(path, rules=rules)


def test_a_csv_with_a_10_mb_first_line_is_refused_quickly(tmp_path, rules):
    import time

    path = tmp_path / "line.csv"
    path.write_bytes(b'",' * 5_000_000 + b"\n")
    start = time.perf_counter()
    with pytest.raises(RegistryError, match=r"line.csv: 第 1 行长 10,000,000 字节，超出每行上限 200,000 字节"):
        registry_from_file(path, rules=rules)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(("body", "message"), [
    ('村名,户数,面积\n王庄村,100,"' + "长" * 40_000 + '"\n', r"第 2 行有超过 32,767 个字符的单元格"),
    ('村名,户数,面积\n"' + "x\n" * 20_000 + '",1,2\n', r"第 2 行有超过 32,767 个字符的单元格"),   # across lines
    ("村名,户数,面积\n" + ",".join(["1"] * 201) + "\n", r"第 2 行有 201 列，超出上限 200 列"),
])
def test_csv_fields_and_columns_are_bounded(tmp_path, rules, body, message):
    path = tmp_path / "r.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError, match=message):
        registry_from_file(path, rules=rules)


def test_row_and_size_limits(tmp_path, rules, monkeypatch):
    import audit.area.registry as registry

    path = tmp_path / "r.csv"
    path.write_text("村名,户数,面积\n" + "王庄村,100,120\n" * 30, encoding="utf-8")
    monkeypatch.setattr(registry, "MAX_ROWS", 20)
    with pytest.raises(RegistryError, match=r"r.csv: 共 31 行以上，超出上限 20 行"):
        registry_from_file(path, rules=rules)
    monkeypatch.setattr(registry, "MAX_ROWS", 500_000)
    monkeypatch.setattr(registry, "MAX_FILE_BYTES", 100)
    with pytest.raises(RegistryError, match=rf"r.csv: 文件大小 {path.stat().st_size:,} 字节，超出上限 100 字节"):
        registry_from_file(path, rules=rules)


def test_a_zip_bomb_is_refused_by_its_declared_size(tmp_path, rules, monkeypatch):
    import audit.area.registry as registry

    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("villages.shp", b"\0" * 2_000_000)
    monkeypatch.setattr(registry, "MAX_UNCOMPRESSED_BYTES", 1_000_000)
    with pytest.raises(RegistryError, match=r"bomb.zip: 解压后共 2,000,000 字节，超出上限 1,000,000 字节"):
        registry_from_file(path, rules=rules)


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04" + b"\0" * 40])
def test_a_broken_zip_is_refused(tmp_path, rules, content):
    path = tmp_path / "v.zip"
    path.write_bytes(content)
    with pytest.raises(RegistryError, match="v.zip: "):
        registry_from_file(path, rules=rules)
    with pytest.raises(RegistryError, match="v.zip: "):
        townships_from_file(path)


def test_gis_layer_with_no_features_or_infinite_values(tmp_path, rules, gis_villages):
    empty = tmp_path / "empty.geojson"
    gis_villages.iloc[:0].to_file(empty, driver="GeoJSON")
    with pytest.raises(RegistryError, match="empty.geojson: 文件中没有任何要素"):
        registry_from_file(empty, rules=rules)
    bad = gis_villages.copy()
    bad["户数"] = [np.inf, 337.0]
    bad["备注"] = [-np.inf, 1.0]
    bad["geometry"] = [Point(np.inf, 36.45), Point(116.01, 36.40)]
    path = tmp_path / "inf.gpkg"
    bad.to_file(path)
    reg = registry_from_file(path, rules=rules)
    messages = {(p.row, p.column): p.message for p in reg.problems}
    assert "超出可处理的范围" in messages[(2, "户数")]
    assert "要素坐标无效" in messages[(2, None)]
    assert reg.villages["备注"].tolist() == ["-inf", 1.0]
    from audit.area.export import audit_to_json
    audit_to_json(area_audit(reg.villages, rules=rules))


def test_gis_layer_feature_limit(tmp_path, rules, gis_villages, monkeypatch):
    import audit.area.registry as registry

    path = tmp_path / "v.gpkg"
    gis_villages.to_file(path)
    monkeypatch.setattr(registry, "MAX_ROWS", 1)
    with pytest.raises(RegistryError, match=r"v.gpkg: 图层有 2 个要素、\d+ 个字段，超出上限（最多 1 个要素"):
        registry_from_file(path, rules=rules)


def test_an_extra_column_named_like_ours_keeps_its_values(sheet, rules):
    headers = [*HEADERS_9, "problems"]
    reg = registry_from_file(sheet([[*r, "x"] for r in ROWS], headers=headers), rules=rules)
    assert reg.villages["problems（原表）"].tolist() == ["x"] * 3
    assert reg.villages["problems"].tolist() == [[], [], []]


@pytest.mark.slow
def test_200000_rows_import_under_2_gib(tmp_path):
    """A province's registry (the demo county's 400 villages 500 times, every code repeated 500 times: 200,000
    duplicate-code warnings) through `audit area` in a child process whose data segment is capped at 2 GiB
    (RLIMIT_DATA: heap and private mappings; the address space is no measure, the libraries reserve 1.5 GiB)."""
    import subprocess
    import sys

    demo = pd.read_excel(Path(__file__).parent.parent / "data" / "demo" / "demo_county.xlsx", header=None,
                         engine="calamine")
    header, body = demo.iloc[1].tolist(), demo.iloc[2:]
    body = body[~body[0].astype(str).str.startswith("合计")]
    big = pd.concat([body] * 500, ignore_index=True)
    big.columns = header
    path = tmp_path / "province.csv"
    big.to_csv(path, index=False)
    cap = ("import resource, sys; resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30)); "
           "sys.argv = ['audit', 'area', sys.argv[1]]; from audit.cli.main import app; app()")
    run = subprocess.run([sys.executable, "-c", cap, str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"村庄 {len(big)} 个" in run.stdout


def towns_layer(geometries):
    return gpd.GeoDataFrame({"乡镇名称": [f"镇{i}" for i in range(len(geometries))]}, geometry=geometries,
                            crs="EPSG:4326")


@pytest.mark.parametrize(("geometry", "message"), [
    (box(116.0, 36.3, 116.1, 1e21), r"第 2 个要素的坐标（116.1, 1e\+21）不是有效的经纬度"),
    (box(116.0, 36.3, 1e308, 36.4), r"第 2 个要素的坐标（1e\+308, 36.3）不是有效的经纬度"),
    (Point(116.0, 36.3), r"第 2 个要素是点，不是面"),
])
def test_township_layers_are_checked_on_entry(tmp_path, geometry, message):
    path = tmp_path / "towns.gpkg"
    towns_layer([box(115.9, 36.4, 116.0, 36.5), geometry]).to_file(path)
    with pytest.raises(RegistryError, match=rf"towns.gpkg: {message}"):
        townships_from_file(path)


def test_a_township_ring_crossing_itself_is_repaired_and_mapped(tmp_path, sheet, rules):
    """A bow-tie ring (GEOS's TopologyException in the map's set_precision before) is made valid on entry."""
    from shapely.geometry import Polygon

    from audit.area.mapping import script_json, township_features

    bow_tie = Polygon([(115.9, 36.4), (116.0, 36.5), (116.0, 36.4), (115.9, 36.5), (115.9, 36.4)])
    assert not bow_tie.is_valid
    path = tmp_path / "towns.geojson"
    towns_layer([bow_tie, box(116.0, 36.3, 116.1, 36.4)]).to_file(path, driver="GeoJSON")
    towns = townships_from_file(path)
    assert towns.geometry.is_valid.all()
    assert towns.geometry.iloc[0].area == pytest.approx(0.005)          # both triangles of the bow tie
    audited = area_audit(registry_from_file(sheet(ROWS), rules=rules).villages, rules=rules)
    assert '"type":"FeatureCollection"' in script_json(township_features(towns, audited))


def test_registry_polygons_that_cross_themselves_still_give_a_point(tmp_path, rules, gis_villages):
    from shapely.geometry import Polygon

    polys = gis_villages.copy()
    polys["geometry"] = [Polygon([(115.97, 36.44), (115.99, 36.46), (115.99, 36.44), (115.97, 36.46)]),
                         box(116.0, 36.39, 116.02, 36.41)]
    path = tmp_path / "p.gpkg"
    polys.to_file(path)
    v = registry_from_file(path, rules=rules).villages
    assert v.geometry.notna().all()
    assert 115.97 <= v.geometry.iloc[0].x <= 115.99
