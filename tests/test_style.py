"""Style checks on crafted plaques: red vs black text, white background, shape, identity signs exempt."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.signs.fonts import faces_for, font
from audit.signs.style import colours_of_crop, illuminant_of, shape_of_box, style_checks

WHITE, RED, BLACK, GOLD = (246, 246, 244), (196, 24, 28), (24, 24, 24), (212, 175, 55)


def strip(text="王庄村村民委员会", bg=WHITE, fg=BLACK, w=90, h=600) -> np.ndarray:
    """A vertical strip with its characters drawn top to bottom in a Song face."""
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    f = font(faces_for("song", False)[0], int(w * 0.68))
    step = (h - 30) / len(text)
    for i, ch in enumerate(text):
        draw.text((w * 0.16, 15 + i * step), ch, fill=fg, font=f)
    return np.asarray(img)


def in_scene(crop: np.ndarray, light=(1.0, 1.0, 1.0), gain=1.0) -> tuple[np.ndarray, np.ndarray]:
    """The crop on a brick-red wall with a white window frame, lit by ``light``; returns (crop, photo)."""
    h, w = crop.shape[:2]
    scene = np.zeros((h, w + 300, 3), float)
    scene[:, :w] = crop
    scene[:, w:] = (170, 80, 55)
    scene[: h // 4, w + 100:w + 200] = (250, 250, 250)
    lit = np.clip(scene * np.array(light) * gain, 0, 255).astype(np.uint8)
    return lit[:, :w], lit


@pytest.mark.parametrize(("light", "gain"), [((1, 1, 1), 1.0), ((1.0, 0.85, 0.65), 0.7), ((0.8, 0.9, 1.0), 0.5)])
@pytest.mark.parametrize(("fg", "expected"), [(RED, "red"), (BLACK, "black")])
def test_text_colour_under_daylight_dusk_and_shade(light, gain, fg, expected):
    crop, photo = in_scene(strip(fg=fg), light, gain)
    background, colour, _ = colours_of_crop(crop, illuminant_of(photo))
    assert (background, colour) == ("white", expected)


@pytest.mark.parametrize(("bg", "fg"), [(GOLD, BLACK), (RED, GOLD), ((40, 80, 170), WHITE)])
def test_non_white_backgrounds(bg, fg):
    crop, photo = in_scene(strip(bg=bg, fg=fg))
    assert colours_of_crop(crop, illuminant_of(photo))[0] == "not_white"


@pytest.mark.parametrize(("w", "h", "shape"), [(35, 215, "vertical_strip"), (30, 250, "vertical_strip"),
                                              (25, 215, "vertical_strip"), (60, 40, "plaque"), (52, 40, "plaque"),
                                              (100, 100, "other"), (200, 40, "other"), (30, 60, "other")])
def test_shape(w, h, shape):
    assert shape_of_box(w, h) == shape


def checks(rules, plaque_id, crop, box, **kw):
    _, photo = in_scene(crop)
    return style_checks(crop, box, rules.plaque(plaque_id) if plaque_id else None, rules,
                        illuminant=illuminant_of(photo), **kw)


def test_party_plaque_needs_red_text(rules):
    ok = checks(rules, "party_org", strip("中共王庄村支部委员会", fg=RED), (90, 600), traditional=False)
    assert ok["text_colour"]["status"] == "pass" and ok["background"]["status"] == "pass"
    bad = checks(rules, "party_org", strip("中共王庄村支部委员会", fg=BLACK), (90, 600), traditional=False)
    assert bad["text_colour"]["status"] == "fail" and bad["text_colour"]["severity"] == "must_fix"
    assert "应为红字，实为黑字" in bad["text_colour"]["detail"]


def test_other_plaques_need_black_text(rules):
    assert checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False)["text_colour"]["status"] == "pass"
    bad = checks(rules, "militia", strip("王庄村民兵连", fg=RED), (90, 600), traditional=False)
    assert bad["text_colour"]["status"] == "fail" and "应为黑字，实为红字" in bad["text_colour"]["detail"]


def test_wrong_shape_is_advisory(rules):
    result = checks(rules, "militia", strip("王庄村民兵连", w=300, h=300), (300, 300), traditional=False)
    assert result["shape"]["status"] == "fail" and result["shape"]["severity"] == "advisory"


def test_identity_signs_are_exempt(rules):
    sign = strip("党群服务中心", bg=RED, fg=GOLD, w=600, h=120)
    result = checks(rules, "service_centre_sign", sign, (600, 120), traditional=False)
    for key in ("background", "text_colour", "shape", "typeface"):
        assert result[key]["status"] == "exempt"


def test_what_a_photo_cannot_show_is_not_checked(rules):
    result = checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False)
    for key in ("typeface", "size", "material"):
        assert result[key]["status"] == "not_checked"
    # only those: what a photo does show is judged, and a good black-on-white militia strip passes it
    assert {k for k, c in result.items() if c["status"] == "not_checked"} == {"typeface", "size", "material"}
    assert {k: c["status"] for k, c in result.items() if k in ("background", "text_colour", "shape")} == {
        "background": "pass", "text_colour": "pass", "shape": "pass"}


def test_traditional_characters_advisory(rules):
    result = checks(rules, "militia", strip("王莊村民兵連"), (90, 600), traditional=True)
    assert result["traditional_characters"] == {"status": "fail", "severity": "advisory", "detail": "含繁体字"}


def test_text_only_location_does_not_judge_background_or_shape(rules):
    result = checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False, board=False)
    assert result["background"]["status"] == "not_checked" and result["shape"]["status"] == "not_checked"
