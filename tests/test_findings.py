"""Every finding the policy defines, end to end through the inventory, each with its expected value written here
(not taken from the engine): severities and the verdict (符合规范 / 待复核 / 需要整改 / 未核查), style violations from
real crops, honours, unauthorised signs, misplaced and duplicated plaques, undecided and unread boards, a photo
set that is entirely refused, and the batch's refusal path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from audit.rules import load_rules
from audit.signs.engine import Engine, PhotoInput, PhotoResult, PlaqueResult, Provenance, audit_signage, inventory_from_photos
from audit.signs.fonts import available_faces, font
from audit.signs.style import style_checks

EXTERNAL = ["party_org", "villagers_committee", "collective_economy", "supervision_committee", "militia",
            "service_centre_sign", "civilisation_station_sign"]
INTERNAL = ["governance_centre", "veterans_station"]
NAMES_ZH = {"party_org": "村党组织", "villagers_committee": "村民委员会", "collective_economy": "村集体经济组织",
            "supervision_committee": "村务监督委员会", "militia": "民兵连", "governance_centre": "综治中心",
            "veterans_station": "退役军人服务站"}


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _passing_style(**fails: str) -> dict:
    """Style results: every check passes except those given as ``check=severity`` (which fail)."""
    out = {k: {"status": "pass", "severity": "advisory", "detail": "ok"}
           for k in ("background", "text_colour", "shape", "typeface", "traditional_characters")}
    for check, severity in fails.items():
        out[check] = {"status": "fail", "severity": severity, "detail": f"{check} 不符合"}
    return out


def plaque(ptype: str, *, kind: str = "official", x: float = 0, side_ok: bool = True, style: dict | None = None,
           text: str = "王庄村…") -> PlaqueResult:
    return PlaqueResult(type=ptype if kind == "official" else "other_sign", name_zh="—", text=text, confidence=0.9,
                        bbox=[x, 0, x + 40, 200], authorised=side_ok if kind == "official" else None, kind=kind,
                        source="detector+ocr", style=style if style is not None else _passing_style())


def photo(plaques: list[PlaqueResult], side: str = "external", name: str = "门口.jpg") -> PhotoResult:
    return PhotoResult(photo=name, side=side, sha256="0" * 64, size=[1000, 800], plaques=plaques,
                       provenance=Provenance())


def full_front() -> list[PlaqueResult]:
    return [plaque(t, x=50 * i) for i, t in enumerate(EXTERNAL)]


def inside() -> PhotoResult:
    """The inside of the centre in order: both internal plaques."""
    return photo([plaque(t, x=50 * i) for i, t in enumerate(INTERNAL)], side="internal", name="室内.jpg")


def test_both_sides_in_order_are_compliant(rules):
    s = inventory_from_photos([photo(full_front()), inside()], rules)
    assert (s.verdict, s.verdict_zh) == ("compliant", "符合规范")
    assert s.missing == [] and s.duplicates == [] and s.misplaced == [] and s.unauthorised == []
    assert s.not_checked == [] and s.reasons == []
    assert s.present == EXTERNAL + INTERNAL


def test_a_side_not_photographed_keeps_the_village_at_needs_review(rules):
    s = inventory_from_photos([photo(full_front())], rules)
    assert (s.verdict, s.verdict_zh) == ("needs_review", "待复核")
    assert s.not_checked == INTERNAL and s.missing == []
    assert s.reasons == ["未拍摄内部照片，未核查：综治中心、退役军人服务站"]
    s = inventory_from_photos([inside()], rules)
    assert s.verdict == "needs_review" and s.not_checked == EXTERNAL
    assert s.reasons == ["未拍摄外部照片，未核查：村党组织、村民委员会、村集体经济组织、村务监督委员会、民兵连、"
                         "村党群服务中心（标识）、新时代文明实践站（标识）"]
    advisory = rules.model_copy(update={"severity": {**rules.severity, "side_not_photographed": "advisory"}})
    assert inventory_from_photos([photo(full_front())], advisory).verdict == "compliant"
    must = rules.model_copy(update={"severity": {**rules.severity, "side_not_photographed": "must_fix"}})
    assert inventory_from_photos([photo(full_front())], must).verdict == "needs_rectification"


@pytest.mark.parametrize("check", ["shape", "size", "typeface", "traditional_characters"])
def test_advisory_style_findings_are_listed_but_keep_the_verdict(rules, check):
    plaques = full_front()
    plaques[1] = plaque("villagers_committee", x=50, style=_passing_style(**{check: "advisory"}))
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert s.verdict == "compliant"
    assert [(v.type, v.check, v.severity) for v in s.style_violations] == [("villagers_committee", check, "advisory")]
    assert s.reasons == [f"式样（建议整改）：村民委员会 {check} 不符合"]


def test_a_must_fix_style_finding_needs_rectification(rules):
    plaques = full_front()
    plaques[0] = plaque("party_org", style=_passing_style(text_colour="must_fix"))
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert (s.verdict, s.verdict_zh) == ("needs_rectification", "需要整改")
    assert s.reasons == ["式样（必须整改）：村党组织 text_colour 不符合"]


def _strip(bg: tuple[int, int, int], ink: tuple[int, int, int], text: str = "王庄村民兵连") -> np.ndarray:
    face = available_faces()["serif"]
    img = Image.new("RGB", (90, 520), bg)
    draw = ImageDraw.Draw(img)
    for i, ch in enumerate(text):
        draw.text((15, 20 + i * 80), ch, font=font(face, 60), fill=ink)
    return np.asarray(img)


@pytest.mark.parametrize(("bg", "ink", "failing"), [
    ((250, 250, 250), (20, 20, 20), []),                              # white, black Song: in order
    ((250, 250, 250), (200, 20, 20), ["text_colour"]),                # red text on the militia's plaque
    ((225, 190, 120), (20, 20, 20), ["background"]),                  # an off-white (wood) board
])
def test_style_of_a_real_militia_crop_reaches_the_inventory(rules, bg, ink, failing):
    crop = _strip(bg, ink)
    style = style_checks(crop, (90, 520), rules.plaque("militia"), rules, traditional=False)
    plaques = full_front()
    plaques[4] = plaque("militia", x=200, style=style)
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert sorted(v.check for v in s.style_violations if v.type == "militia") == failing
    assert s.verdict == ("needs_rectification" if failing else "compliant")
    for v in s.style_violations:
        assert v.severity == "must_fix"


def test_honours_and_unauthorised_signs_are_must_fix_with_their_text(rules):
    plaques = full_front() + [plaque("", kind="honour", text="全国文明村", x=400),
                              plaque("", kind="unauthorised_sign", text="王庄村老年人协会", x=450)]
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert s.verdict == "needs_rectification"
    assert [(u.kind, u.text, u.photo) for u in s.unauthorised] == [("honour", "全国文明村", "门口.jpg"),
                                                                   ("unauthorised_sign", "王庄村老年人协会", "门口.jpg")]
    assert s.reasons == ["未列入清单的牌子，应摘除：王庄村老年人协会", "荣誉类牌子应集中展陈：全国文明村"]


def test_an_inside_plaque_hung_outside_is_misplaced_and_missing_inside(rules):
    plaques = full_front() + [plaque("governance_centre", x=400, side_ok=False)]
    inside = photo([plaque("veterans_station")], side="internal", name="大厅.jpg")
    s = inventory_from_photos([photo(plaques), inside], rules)
    assert s.misplaced == ["governance_centre"] and s.missing == ["governance_centre"]
    assert s.verdict == "needs_rectification"
    assert "错挂（内外位置不符）：综治中心" in s.reasons and "缺少：综治中心" in s.reasons


def test_a_plaque_twice_on_one_photo_is_a_duplicate_but_two_photos_of_one_door_are_not(rules):
    twice = full_front() + [plaque("militia", x=500)]
    assert inventory_from_photos([photo(twice), inside()], rules).duplicates == ["militia"]
    again = inventory_from_photos([photo(full_front()), photo(full_front(), name="门口2.jpg"), inside()], rules)
    assert again.duplicates == [] and again.verdict == "compliant"


def test_a_missing_plaque_names_it(rules):
    s = inventory_from_photos([photo([p for p in full_front() if p.type != "supervision_committee"]), inside()], rules)
    assert s.missing == ["supervision_committee"] and s.reasons == ["缺少：村务监督委员会"]
    assert s.verdict == "needs_rectification"


@pytest.mark.parametrize("kind", ["undecided", "unreadable"])
def test_a_board_left_to_the_inspector_makes_the_verdict_wait(rules, kind):
    s = inventory_from_photos([photo(full_front() + [plaque("", kind=kind, x=500, text="中浦中树")]), inside()], rules)
    assert (s.verdict, s.verdict_zh) == ("needs_review", "待复核")
    assert getattr(s, kind) == 1
    # a sure must-fix finding still decides: 需要整改, whatever the undecided board turns out to be
    worse = full_front()[1:] + [plaque("", kind=kind, x=500, text="中浦中树")]
    assert inventory_from_photos([photo(worse), inside()], rules).verdict == "needs_rectification"


def test_background_and_allowed_signs_are_not_findings(rules):
    plaques = full_front() + [plaque("", kind="background", text="便民超市", x=500),
                              plaque("", kind="allowed", text="服务指引", x=550)]
    s = inventory_from_photos([photo(plaques), inside()], rules)
    assert s.verdict == "compliant" and s.unauthorised == []


def test_when_every_photo_is_refused_the_village_is_not_audited(rules):
    engine = Engine.load(use_detector=False, rules=rules)
    report = audit_signage([PhotoInput(b"not a photo", "a.jpg"), PhotoInput(b"\xff\xd8\xff\xe0broken", "b.jpg")],
                           engine, village_name="王庄村")
    assert [e.photo for e in report.errors] == ["a.jpg", "b.jpg"] and report.photos == []
    assert (report.summary.verdict, report.summary.verdict_zh) == ("not_audited", "未核查")
    assert report.summary.missing == [] and report.summary.not_checked == EXTERNAL + INTERNAL


def test_the_batch_reports_a_refused_photo_and_audits_the_rest(tmp_path):
    from audit.cli.main import app

    village = tmp_path / "photos" / "371599101201"
    village.mkdir(parents=True)
    (village / "坏照片.jpg").write_bytes(b"\xff\xd8\xffnot really a jpeg")
    Image.new("RGB", (800, 600), (200, 200, 200)).save(village / "门口.jpg", quality=90)
    out = tmp_path / "reports.jsonl"
    result = CliRunner().invoke(app, ["signs-batch", str(tmp_path / "photos"), "-o", str(out), "--no-detector"])
    assert result.exit_code == 2, result.output
    (line,) = out.read_text(encoding="utf-8").splitlines()
    report = json.loads(line)
    assert [e["photo"] for e in report["errors"]] == ["坏照片.jpg"]
    assert [p["photo"] for p in report["photos"]] == ["门口.jpg"]
    assert report["summary"]["verdict"] == "needs_rectification"  # a bare wall: the external plaques are missing
    assert report["summary"]["missing"] == EXTERNAL
