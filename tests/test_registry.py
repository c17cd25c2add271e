import zipfile

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
    path = sheet([["王庄村", 100]], headers=["村庄名字", "户数"])
    with pytest.raises(RegistryError) as err:
        registry_from_file(path, rules=rules)
    msg = str(err.value)
    assert "缺少必需的列" in msg and "村名（village_name）" in msg and "服务中心面积（floor_area_m2）" in msg
    assert "村庄名字、户数" in msg and "--column 村庄名字=village_name" in msg


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
