from pathlib import Path

import pytest

from audit.errors import RulesError
from audit.rules import DEFAULT_RULES, load_rules

EXPECTED_PLAQUES = {
    "party_org": "external", "villagers_committee": "external", "collective_economy": "external",
    "supervision_committee": "external", "militia": "external", "service_centre_sign": "external",
    "civilisation_station_sign": "external", "governance_centre": "internal", "veterans_station": "internal",
}


def test_default_rules_hold_the_policy(rules):
    assert rules.version
    assert {t.id: t.base_m2 for t in rules.area.types} == {"central": 500, "ordinary": 100}
    assert rules.area.per_hundred_households_m2 == 30
    assert rules.area.rounding == "proportional"
    assert {p.id: p.placement for p in rules.plaques} == EXPECTED_PLAQUES
    assert rules.plaque("party_org").text_colour == "red"
    assert {p.text_colour for p in rules.plaques if not p.identity_sign and p.id != "party_org"} == {"black"}
    assert {p.id for p in rules.plaques if p.identity_sign} == {"service_centre_sign", "civilisation_station_sign"}
    assert rules.plaque_style.background == "white" and rules.plaque_style.typeface == "song"
    strip = rules.plaque_style.shapes["vertical_strip"]
    assert strip.width_cm == (30, 40) and strip.height_cm == (180, 250)


@pytest.mark.parametrize(("plaque", "text"), [
    ("party_org", "中共王庄村支部委员会"), ("party_org", "中共王庄村总支部委员会"), ("party_org", "中共王庄村委员会"),
    ("villagers_committee", "王庄村村民委员会"), ("collective_economy", "王庄村股份经济合作社"),
    ("collective_economy", "王庄村经济合作社"), ("supervision_committee", "李家村村务监督委员会"),
    ("militia", "张集村民兵连"), ("veterans_station", "张集村退役军人服务站"),
])
def test_patterns_match_names_with_any_village(rules, plaque, text):
    assert rules.plaque(plaque).regex.fullmatch(text)


def test_names_for_fills_the_village_slot(rules):
    assert rules.plaque("villagers_committee").names_for("王庄村") == ["王庄村村民委员会"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "county.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_with(old: str, new: str) -> str:
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("base_m2 = 500", 'base_m2 = "五百"', r"key 'area\.types\[1\]\.base_m2'.*'五百'"),
    ("base_m2 = 100", "base_m2 = -5", r"key 'area\.types\[2\]\.base_m2'"),
    ('rounding = "proportional"', 'rounding = "nearest"', r"key 'area\.rounding'.*'nearest'"),
    ("per_hundred_households_m2 = 30", "per_hundred_households_m2 = 30\nper_hundred = 30",
     r"key 'area\.per_hundred'.*Extra inputs"),
    ('default_type = "ordinary"', 'default_type = "village"', r"key 'area'.*default_type.*'village'"),
    ('placement = "internal"', 'placement = "inside"', r"key 'plaques\[8\]\.placement'"),
    ('text_colour = "red"\n', "", r"key 'plaques\[1\]'.*text_colour is required"),
    ('version = "2026.1"\n', "", r"key 'version'.*Field required"),
    ('unauthorised = "must_fix"', 'unauthorised = "urgent"', r"key 'severity\.unauthorised'"),
    ('misplaced = "must_fix"\n', "", r"key 'severity'.*no severity for misplaced"),
    ('misplaced = "must_fix"', 'misplaced = "must_fix"\nmisplace = "advisory"', r"key 'severity'.*unknown finding misplace"),
])
def test_malformed_rules_name_the_key(tmp_path, old, new, message):
    with pytest.raises(RulesError, match=message):
        load_rules(_write(tmp_path, _default_with(old, new)))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(RulesError, match="county.toml.*not valid TOML"):
        load_rules(_write(tmp_path, "version = \n"))
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "nope.toml")


def test_county_rules_add_a_type_and_change_rounding(tmp_path):
    text = _default_with('rounding = "proportional"', 'rounding = "per_started_hundred"')
    text += '\n[[area.types]]\nid = "community"\nname_zh = "社区"\nbase_m2 = 300\nvalues = ["社区"]\n'
    rules = load_rules(_write(tmp_path, text))
    assert rules.area.rounding == "per_started_hundred"
    assert rules.area.type_by_id("community").base_m2 == 300
    assert ("社区最低面积（㎡）", "300") in rules.summary_rows()
