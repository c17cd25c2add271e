"""The registry's header grammar (audit/area/headers.toml): a county's own headers read without a mapping, and
headers of something else in the same unit never taken for the audited field."""

from pathlib import Path

import pytest

from audit.area.headers import field_of_header, match_headers
from audit.area.registry import registry_from_file
from audit.errors import RegistryError

# Headers as county registries and statistical tables write them, with the field each one holds. Written from the
# forms counties publish (村（社区）, 乡镇（街道）, 县（市、区）, 行政区划代码, the plan's 村级党群服务中心 and 村级综合服务
# 设施), not from the grammar file: a header here that the grammar does not read is a gap in the grammar.
HEADERS = [
    ("村（社区）名称", "village_name"), ("社区名称", "village_name"), ("村（社区）", "village_name"),
    ("村居委会名称", "village_name"), ("行政村（社区）名", "village_name"), ("村庄名字", "village_name"),
    ("乡镇(街道)名称", "township"), ("镇（街道）", "township"), ("街道办事处", "township"),
    ("所属县（市、区）", "county"), ("县(区)名称", "county"),
    ("行政区划代码（12位）", "village_code"), ("村（社区）代码", "village_code"),
    ("是否为中心村", "village_type"), ("中心村（是/否）", "village_type"), ("是否属于中心村", "village_type"),
    ("村庄类别", "village_type"), ("村庄分类（中心村/一般村）", "village_type"),
    ("户籍户数（户）", "households"), ("户籍总户数", "households"), ("农户数", "households"),
    ("村级党群服务中心面积（平方米）", "floor_area_m2"), ("村党群服务中心建筑面积(㎡)", "floor_area_m2"),
    ("村级综合服务设施用房面积", "floor_area_m2"), ("村级组织活动场所面积（m²）", "floor_area_m2"),
    ("服务中心使用面积", "floor_area_m2"),
    ("经度（°）", "lon"), ("东经", "lon"), ("纬度（°）", "lat"), ("北纬", "lat"),
]
# Headers of something else: counted in the same unit, a part of the village, a person, or the wrong level.
NOT_THE_FIELD = ["占地面积", "土地面积", "户均面积", "人均面积", "标准面积", "缺口面积", "需新增面积", "室外活动场地面积",
                 "脱贫户数", "低保户数", "户均人口", "村民小组", "村党组织书记", "乡镇代码", "统一社会信用代码", "所属市",
                 "经纬度", "序号", "备注", "联系电话"]


@pytest.mark.parametrize(("header", "field"), HEADERS)
def test_county_headers_are_read(header, field):
    assert field_of_header(header) == field


@pytest.mark.parametrize("header", NOT_THE_FIELD)
def test_headers_of_something_else_are_no_field(header):
    assert field_of_header(header) is None


def test_aliases_win_over_patterns_and_each_header_is_taken_once():
    got = match_headers(["户籍户数", "户数", "村名", "社区名称"])
    assert got.fields["households"] == "户数"          # an alias before a header the patterns fit
    assert got.fields["village_name"] == "村名"
    assert not got.guesses


def test_among_several_fitting_headers_the_preferred_one_is_taken_and_the_others_named():
    got = match_headers(["村名", "户数", "办公用房面积", "村级党群服务中心用房面积"])
    assert got.fields["floor_area_m2"] == "村级党群服务中心用房面积"
    (guess,) = got.guesses
    assert guess.others == ("办公用房面积",)


def test_a_header_two_fields_fit_is_taken_for_neither():
    got = match_headers(["村名", "中心村户数面积"])
    assert "floor_area_m2" not in got.fields and "households" not in got.fields
    assert got.ambiguous == (("中心村户数面积", ("households", "floor_area_m2")),)


def test_a_registry_with_a_countys_own_headers_is_audited_without_a_mapping(sheet, rules):
    headers = ["序号", "所属乡镇（街道）", "村（社区）名称", "是否为中心村", "户籍户数（户）", "占地面积（平方米）",
               "村级党群服务中心面积（平方米）"]
    rows = [[1, "城关镇", "名山村", "是", 1200, 3000, 520], [2, "柳林镇", "李家社区", "否", 337, 800, 101.1]]
    reg = registry_from_file(sheet(rows, headers=headers, title="示例县村级党群服务中心面积统计表"), rules=rules)
    v = reg.villages
    assert v["village_name"].tolist() == ["名山村", "李家社区"]
    assert v["township"].tolist() == ["城关镇", "柳林镇"]
    assert v["is_central"].tolist() == [True, False]        # read, not defaulted to "non-central"
    assert v["households"].tolist() == [1200, 337]
    assert v["floor_area_m2"].tolist() == [520, 101.1]      # the centre, not the site (占地面积)
    said = {p.column: p.message for p in reg.problems}
    assert said["村级党群服务中心面积（平方米）"].startswith("按表头用词识别为「服务中心面积」")
    assert said["是否为中心村"] == "按表头用词识别为「村庄类型/是否中心村」"
    assert "占地面积（平方米）" not in said


def test_a_csv_whose_headers_only_the_patterns_read(tmp_path: Path, rules):
    path = tmp_path / "r.csv"
    path.write_text("乡镇(街道)名称,村（社区）名称,中心村（是/否）,农户数,村级综合服务设施用房面积\n"
                    "城关镇,王庄村,中心村,1200,520\n柳林镇,名山村,一般村,337,101.1\n", encoding="utf-8")
    v = registry_from_file(path, rules=rules).villages
    assert v["village_name"].tolist() == ["王庄村", "名山村"]
    assert v["excel_row"].tolist() == [2, 3]


def test_a_missing_column_names_the_headers_left_alone(sheet, rules):
    with pytest.raises(RegistryError) as err:
        registry_from_file(sheet([["王庄村", 100, 150]], headers=["村名", "户数", "中心村户数面积"]), rules=rules)
    assert "列「中心村户数面积」：表头看不出是「户数」还是「服务中心面积」" in str(err.value)


def test_a_csv_row_split_by_an_unquoted_thousands_comma_is_not_audited(tmp_path: Path, rules):
    path = tmp_path / "r.csv"
    path.write_text("村名,户数,服务中心面积,是否中心村\n王庄村,300,500,是\n李家村,120,1,200,否\n", encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    v = reg.villages
    assert v["floor_area_m2"].iloc[0] == 500
    assert v["floor_area_m2"].isna().iloc[1] and v["households"].isna().iloc[1]   # not 1 m²
    assert any(p.row == 3 and "字段比表头多" in p.message for p in reg.problems)


def test_check_marks_say_whether_a_village_is_central(tmp_path: Path, rules):
    path = tmp_path / "r.csv"
    path.write_text("村名,户数,服务中心面积,是否为中心村\n王庄村,300,500,√\n李家村,120,150,✓\n张集村,200,150,×\n"
                    "刘庄村,200,150,✗\n", encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    assert reg.villages["is_central"].tolist() == [True, True, False, False]


def test_a_type_column_of_something_else_is_not_the_village_type(tmp_path: Path, rules):
    # 村庄分类 holding the planning classes (集聚提升类 …) says nothing about 中心村: not taken, said once, every
    # village audited as the default type — not every row left 无法判定
    path = tmp_path / "r.csv"
    path.write_text("村名,户数,服务中心面积,村庄分类\n王庄村,300,500,集聚提升类\n李家村,120,150,城郊融合类\n",
                    encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    assert reg.villages["village_type"].tolist() == ["ordinary", "ordinary"]
    (note,) = [p for p in reg.problems if "村庄分类" in p.message]
    assert "集聚提升类、城郊融合类" in note.message and note.row is None
    # one value the rules know: the column is the type, and the others are the rows' problems
    path.write_text("村名,户数,服务中心面积,村庄分类\n王庄村,300,500,中心村\n李家村,120,150,城郊融合类\n",
                    encoding="utf-8")
    reg = registry_from_file(path, rules=rules)
    assert reg.villages["village_type"].tolist() == ["central", None]
    assert any(p.row == 3 and "无法识别的村庄类型" in p.message for p in reg.problems)
