"""The decision modules' details, each with its expected value written here: the words of every finding and
check, severities taken from the rules, accumulations across photos, boundaries of the shape rule and the text
colour, the light's colour, and the reasons of the floor-area rule. (Written against the survivors of
``make mutation``: each test fails when one such detail changes.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.area.floor_area import area_audit, county_summary, township_summary
from audit.rules import load_rules
from audit.signs.inventory import inventory_from_photos
from audit.signs.names import gazetteer_from_names, type_from_text
from audit.signs.style import colours_of_crop, shape_of_box, style_checks
from tests.test_findings import full_front, inside, photo, plaque


@pytest.fixture(scope="module")
def rules():
    return load_rules()


# ---------------------------------------------------------------------------------------- inventory and verdict
@pytest.mark.parametrize(("finding", "severity_key"), [("duplicate", "duplicate"), ("misplaced", "misplaced"),
                                                       ("unauthorised", "unauthorised"), ("honour", "honour")])
def test_each_finding_alone_follows_its_severity(rules, finding, severity_key):
    plaques = full_front()
    if finding == "duplicate":
        plaques.append(plaque("militia", x=500))
    elif finding == "misplaced":
        plaques.append(plaque("veterans_station", x=500, side_ok=False))
    else:
        plaques.append(plaque("", kind="unauthorised_sign" if finding == "unauthorised" else "honour", x=500,
                              text="王庄村老年人协会"))
    assert inventory_from_photos([photo(plaques), inside()], rules).verdict == "needs_rectification"
    advisory = rules.model_copy(update={"severity": {**rules.severity, severity_key: "advisory"}})
    assert inventory_from_photos([photo(plaques), inside()], advisory).verdict == "compliant"


def test_duplicates_add_up_over_photos_and_reasons_name_each(rules):
    first = full_front() + [plaque("militia", x=500)]
    second = full_front() + [plaque("party_org", x=500)]
    s = inventory_from_photos([photo(first), photo(second, name="门口2.jpg"), inside()], rules)
    assert s.duplicates == ["militia", "party_org"]
    assert s.reasons == ["重复悬挂：民兵连、村党组织"]


def test_reasons_join_several_items(rules):
    plaques = [p for p in full_front() if p.type not in ("militia", "party_org")]
    plaques += [plaque("", kind="honour", text="全国文明村", x=600), plaque("", kind="honour", text="省级卫生村", x=650)]
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert s.reasons == ["缺少：村党组织、民兵连", "荣誉类牌子应集中展陈：全国文明村、省级卫生村"]


def test_a_style_finding_of_another_sign_is_named_by_its_text(rules):
    sign = plaque("", kind="unauthorised_sign", text="王莊村老年人協會", x=600,
                  style={"traditional_characters": {"status": "fail", "severity": "advisory", "detail": "含繁体字"}})
    s = inventory_from_photos([photo(full_front() + [sign]), inside()], rules)
    assert "式样（建议整改）：王莊村老年人協會 含繁体字" in s.reasons


def test_a_blurred_photo_is_listed_for_a_retake(rules):
    from audit.signs.report import Quality

    blurred = photo(full_front()).model_copy(update={"quality": Quality(sharpness=5.0, flags=["blurry"])})
    s = inventory_from_photos([blurred, inside()], rules)
    assert s.retake == ["门口.jpg"] and s.reasons == ["照片不清晰，结果可能不全，请重拍：门口.jpg"]
    assert s.verdict == "compliant"  # a retake request is advice, not a finding


# ------------------------------------------------------------------------------------------------ style checks
def test_other_signs_are_not_style_checked_with_the_rules_severities(rules):
    crop = np.full((100, 30, 3), 250, np.uint8)
    checks = style_checks(crop, (30, 100), None, rules, traditional=None)
    for key in ("background", "text_colour", "shape"):
        assert checks[key] == {"status": "not_checked", "severity": rules.severity[key], "detail": "非标准牌子，不检查式样"}
    assert checks["size"] == {"status": "not_checked", "severity": "advisory", "detail": "照片无法测量实际尺寸"}
    assert checks["material"] == {"status": "not_checked", "severity": "advisory", "detail": "照片无法判断材质"}
    assert checks["traditional_characters"] == {"status": "not_checked", "severity": "advisory", "detail": "未读出文字"}


def test_a_blank_board_and_a_text_line_leave_colour_and_outline_unchecked(rules):
    blank = np.full((400, 80, 3), 250, np.uint8)
    checks = style_checks(blank, (80, 400), rules.plaque("militia"), rules, traditional=False)
    assert checks["text_colour"] == {"status": "not_checked", "severity": "must_fix", "detail": "未能可靠分辨文字颜色"}
    blue = np.full((60, 300, 3), 250, np.uint8)
    blue[20:40, 20:280] = (30, 60, 200)  # text of another colour, located only as a text line
    line = style_checks(blue, (300, 60), rules.plaque("militia"), rules, traditional=False, board=False)
    assert line["background"] == {"status": "not_checked", "severity": "must_fix",
                                  "detail": "只定位到文字行，未定位到牌子边框"}
    assert line["text_colour"]["status"] == "not_checked"
    assert line["shape"]["detail"] == "只定位到文字行，无法判断牌子形状"


def test_a_board_of_no_standard_shape_says_which_shapes_are(rules):
    square = np.full((100, 100, 3), 250, np.uint8)
    square[30:70, 30:70] = 20
    checks = style_checks(square, (100, 100), rules.plaque("militia"), rules, traditional=False)
    assert checks["shape"] == {"status": "fail", "severity": "advisory",
                               "detail": "比例不符合竖牌（30–40×180–250 cm）或匾牌（60×40 cm）"}


def test_the_light_colour_is_divided_out_before_judging_white(rules):
    dusk = np.empty((300, 60, 3), np.uint8)
    dusk[:] = (240, 180, 120)  # a white board under warm light
    dusk[100:200, 20:40] = (40, 30, 20)
    light = np.array([240.0, 180.0, 120.0])
    assert style_checks(dusk, (60, 300), rules.plaque("militia"), rules, traditional=False,
                        illuminant=light)["background"]["status"] == "pass"
    assert style_checks(dusk, (60, 300), rules.plaque("militia"), rules, traditional=False)["background"]["status"] \
        == "fail"


@pytest.mark.parametrize(("w", "h", "shape"), [(10, 110, "vertical_strip"), (10, 32, "vertical_strip"),
                                               (10, 111, "other"), (21, 10, "plaque"), (11, 10, "plaque"),
                                               (0, 10, "other"), (10, 0, "other")])
def test_shape_boundaries(w, h, shape):
    assert shape_of_box(w, h) == shape


def test_text_of_another_colour_is_other_and_a_tiny_crop_is_read_whole():
    board = np.full((200, 60, 3), 250, np.uint8)
    board[40:160, 15:45] = (30, 60, 200)
    assert colours_of_crop(board)[:2] == ("white", "other")
    tiny = np.full((3, 3, 3), 250, np.uint8)
    assert colours_of_crop(tiny)[0] == "white"


# ------------------------------------------------------------------------------------------------------ names
def test_each_outcome_carries_its_reason(rules):
    g = gazetteer_from_names(villages=["王庄村", "李庄村"], townships=["城关镇"], rules=rules)
    other = type_from_text("李庄村村民委员会", rules, village="王庄村", gazetteer=g)
    assert (other.kind, other.closest, other.reason) == ("undecided", "villagers_committee",
                                                         "牌子上是「李庄村」，不是本村：请确认照片是否为本村")
    sign = type_from_text("王庄村便民服务中心", rules, village="王庄村")
    assert (sign.kind, sign.type, sign.closest) == ("unauthorised_sign", "other_sign", "service_centre_sign")
    fragment = type_from_text("王庄村某某", rules, village="王庄村")
    assert (fragment.kind, fragment.type, fragment.reason) == ("unreadable", "other_sign",
                                                               "读作「王庄村某某」，看不出是什么机构的牌子")
    bare = type_from_text("王庄", rules, village="王庄村")
    assert (bare.kind, bare.reason) == ("unreadable", "只读出村名，其余被遮挡或未读出")
    # one character dropped from a long body is still that body, not a shorter one that also ends 委员会
    dropped = type_from_text("王庄村村务监委员会", rules, village="王庄村")
    assert (dropped.kind, dropped.type) == ("official", "supervision_committee")


def test_one_character_misread_inside_a_long_body_needs_the_villages_name_before_it(rules):
    assert type_from_text("王庄村经甲合作社", rules, village="王庄村").type == "collective_economy"
    assert type_from_text("经甲合作社", rules).kind == "undecided"
    assert type_from_text("王庄村经济合作甲", rules, village="王庄村").kind != "official"  # the last character


def test_floor_area_reasons_and_rounding(rules):
    df = pd.DataFrame({"village_type": ["ordinary", "ordinary", "ordinary"], "households": [1000, 200, 341],
                       "floor_area_m2": [400.0, 150.0, 100.004], "township": ["甲镇", "乙镇", "甲镇"],
                       "problems": [[], [], []]})
    out = area_audit(df, rules=rules)
    assert list(out["reason"]) == ["达标：面积不低于按户数核定（每百户 30 ㎡）的要求",
                                   "达标：面积不低于非中心村最低 100 ㎡的要求",
                                   "不达标：面积低于按户数核定（每百户 30 ㎡）的要求"]
    towns = township_summary(out)
    assert list(towns["township"]) == ["甲镇", "乙镇"]  # in the registry's order (sorted would put 乙 first)
    assert county_summary(out)["shortfall_m2"].tolist() == [2.3]  # 102.3 - 100.004, to the centimetre


def test_other_organisations_and_misread_places(rules):
    youth = type_from_text("共青团王庄村支部委员会", rules, village="王庄村")
    assert (youth.kind, youth.reason) == ("unauthorised_sign", "其他组织（非村党组织）的牌子，不在挂牌清单内")
    assert type_from_text("共青王庄村支部委员会", rules, village="王庄村").kind == "unauthorised_sign"  # 团 cut off
    g = gazetteer_from_names(villages=["和平社区"], townships=["城关镇"], rules=rules)
    misread = type_from_text("和平区党群服务中心", rules, village="和平社区", gazetteer=g)  # 社 lost: not a district
    assert (misread.kind, misread.type, misread.place) == ("official", "service_centre_sign", "和平区")
    unknown = type_from_text("胜利N民兵连", rules)
    assert (unknown.kind, unknown.closest, unknown.reason) == ("undecided", "militia", "读出「民兵连」，但村名「胜利N」不能确认")
    assert type_from_text("某督委员会", rules).type == "supervision_committee"  # the start cut and half read
    official = type_from_text("王庄村民兵连", rules, village="王庄村")
    assert (official.place, official.reason) == ("王庄村", "名称为「王庄村」+「民兵连」")
    assert type_from_text("服务指引", rules, side="internal").reason == "允许悬挂的标识"
    assert type_from_text("扫黑除恶保平安", rules).reason == "标语或提示，未指明任何机构"


def test_dark_coloured_text_is_other_not_black():
    board = np.full((200, 60, 3), 250, np.uint8)
    board[40:160, 15:45] = (20, 20, 120)  # dark blue: dark, but not grey
    assert colours_of_crop(board)[1] == "other"


def test_several_unauthorised_signs_are_named_in_one_reason(rules):
    signs = [plaque("", kind="unauthorised_sign", text="王庄村老年人协会", x=600),
             plaque("", kind="unauthorised_sign", text="王庄村红白理事会", x=650)]
    s = inventory_from_photos([photo(full_front() + signs), inside()], rules)
    assert s.reasons == ["未列入清单的牌子，应摘除：王庄村老年人协会、王庄村红白理事会"]


@pytest.mark.parametrize("text", ["红旗党支部"])
def test_an_honour_title_before_a_party_body_is_an_honour(rules, text):
    m = type_from_text(text, rules, village="王庄村")
    assert (m.type, m.kind) == ("other_sign", "honour")
    assert m.reason == f"「{text[:2]}」是荣誉称号，应集中展陈"


# ------------------------------------------------------- survivors of the full mutation run (bench/mutation.py)
def test_two_misplaced_plaques_are_named_in_one_reason(rules):
    plaques = full_front() + [plaque("governance_centre", x=500, side_ok=False),
                              plaque("veterans_station", x=550, side_ok=False)]
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert "错挂（内外位置不符）：综治中心、退役军人服务站" in s.reasons


def test_the_gazetteer_of_a_registry_has_its_three_levels(rules):
    from audit.signs.names import gazetteer_from_registry

    registry = pd.DataFrame({"village_name": ["王庄村", "李村", None], "township": ["城关镇", "城关镇", np.nan],
                             "county": ["平原县", None, "平原县"], "households": [100, 200, 300]})
    g = gazetteer_from_registry(registry, rules)
    assert {n: g.level(n) for n in ("王庄村", "王庄", "李村", "城关镇", "城关", "平原县", "平原")} == {
        "王庄村": "village", "王庄": "village", "李村": "village", "城关镇": "township", "城关": "township",
        "平原县": "higher", "平原": "higher"}
    assert g.villages == frozenset({"王庄"})   # 李 alone is too short to be a village's name
    without = gazetteer_from_registry(registry[["village_name"]], rules)   # no township or county column
    assert without.level("城关镇") is None and without.level("王庄村") == "village"


def test_an_audit_is_of_the_external_side_unless_told(rules):
    # 服务大厅 (a service hall's direction sign) is allowed inside the centre, not on its facade
    assert type_from_text("服务大厅", rules, side="internal").kind == "allowed"
    assert type_from_text("服务大厅", rules).kind == type_from_text("服务大厅", rules, side="external").kind != "allowed"


def test_floor_area_reasons_of_villages_that_cannot_be_judged(rules):
    df = pd.DataFrame({"village_type": ["ordinary", "ordinary", "ordinary"], "households": [np.nan, np.nan, 300],
                       "floor_area_m2": [np.nan, 120.0, 300.0], "township": "甲镇",
                       "problems": [["面积缺失", "户数缺失"], [], []]})
    out = area_audit(df, rules=rules)
    assert list(out["reason"][:2]) == ["无法判定：面积缺失；户数缺失", "无法判定：面积、户数或村庄类型缺失"]
    assert list(area_audit(df.drop(columns="problems"), rules=rules)["reason"][:2]) == [
        "无法判定：面积、户数或村庄类型缺失"] * 2


def test_compliance_rates_are_kept_to_four_decimals(rules):
    df = pd.DataFrame({"village_type": "ordinary", "households": [100, 100, 100], "floor_area_m2": [120.0, 90.0, 80.0],
                       "township": "甲镇", "county": "乙县", "problems": [[], [], []]})
    out = area_audit(df, rules=rules)
    assert township_summary(out)["compliance_rate"].tolist() == [0.3333]
    assert county_summary(out)["compliance_rate"].tolist() == [0.3333]


@pytest.mark.parametrize(("text", "kind", "closest"), [
    ("合作社区老年协会", "unauthorised_sign", None),          # the sign's body is after the community's name …
    ("合作社区欢迎您", "unreadable", None),                   # … so 合作社 inside the name marks no body
    ("王庄村村民议事会", "unauthorised_sign", "villagers_committee"),   # shown to the inspector beside the official
    ("王庄村土地股份合作社", "unauthorised_sign", "collective_economy"),  # plaque it may be taken for
    ("王庄村老年人协会", "unauthorised_sign", None),          # like no official plaque
])
def test_an_unauthorised_signs_body_follows_the_place_and_names_its_closest_official(rules, text, kind, closest):
    m = type_from_text(text, rules)
    assert (m.kind, m.closest) == (kind, closest)
