"""Style checks on crafted plaques: red vs black text in any light, abstention, the typeface, white background,
shape, identity signs exempt."""

import io
from dataclasses import replace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from audit.signs.fonts import available_faces, faces_for, font
from audit.signs.style import (
    Check,
    TextGeometry,
    _ink_colour,
    board_proportions,
    boards_light,
    colours_of_crop,
    illuminant_of,
    shape_of_box,
    shape_verdict,
    style_checks,
    text_colour_of_crop,
    text_geometry_of_crop,
    typeface_check,
)
from audit.signs.typeface import TypefaceReading

WHITE, RED, BLACK, GOLD = (246, 246, 244), (196, 24, 28), (24, 24, 24), (212, 175, 55)
BLACK_LIMIT = 0.72   # audit.signs.style.BLACK_MIN_SHARE, written out


def strip(text="王庄村村民委员会", bg=WHITE, fg=BLACK, w=90, h=600, face=None) -> np.ndarray:
    """A vertical strip with its characters drawn top to bottom in a Song face (or ``face``)."""
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    f = font(face or faces_for("song", False)[0], int(w * 0.68))
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


def board(lines=("王庄村", "民兵连"), w=600, h=400, bg=WHITE, fg=BLACK, em=110) -> np.ndarray:
    """A board with its lines written left to right in a Song face, centred."""
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    f = font(faces_for("song", False)[0], em)
    top = (h - len(lines) * em * 1.3) / 2
    for k, line in enumerate(lines):
        left = (w - len(line) * em * 1.1) / 2
        for i, ch in enumerate(line):
            draw.text((left + i * em * 1.1, top + k * em * 1.3), ch, fill=fg, font=f)
    return np.asarray(img)


def on_wall(img: np.ndarray, *, narrow=1.0, keystone=0.0, lean_deg=0.0, frame=0, wall=(150, 140, 130)):
    """``img`` hung on a wall and photographed: framed by ``frame`` px of wood, narrowed to ``narrow`` of its
    width with its far edge ``keystone`` shorter (a wall seen at an angle), leaning ``lean_deg``; returns the
    crop in its box (the box a detector draws around the warped board) and the box's (width, height)."""
    if frame:
        img = cv2.copyMakeBorder(img, frame, frame, frame, frame, cv2.BORDER_CONSTANT, value=(140, 90, 50))
    h, w = img.shape[:2]
    pad = max(h, w)
    canvas = np.empty((h + 2 * pad, w + 2 * pad, 3), np.uint8)
    canvas[:] = wall
    canvas[pad:pad + h, pad:pad + w] = img
    src = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
    cx, cy = pad + w / 2, pad + h / 2
    nw, dk = w * narrow, h * keystone / 2
    dst = np.float32([[cx - nw / 2, pad], [cx + nw / 2, pad + dk], [cx + nw / 2, pad + h - dk], [cx - nw / 2, pad + h]])
    t = np.deg2rad(lean_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    dst = ((dst - [cx, cy]) @ rot.T + [cx, cy]).astype(np.float32)
    photo = cv2.warpPerspective(canvas, cv2.getPerspectiveTransform(src, dst), canvas.shape[1::-1],
                                flags=cv2.INTER_AREA, borderValue=wall)
    x0, y0 = np.floor(dst.min(axis=0)).astype(int)
    x1, y1 = np.ceil(dst.max(axis=0)).astype(int)
    return photo[y0:y1, x0:x1], (int(x1 - x0), int(y1 - y0))


def test_a_square_board_facing_the_camera_is_the_wrong_shape(rules):
    crop, box = on_wall(board(("王庄村", "民兵连"), w=420, h=420, em=100))
    result = checks(rules, "militia", crop, box, traditional=False)
    assert result["shape"] == {"status": "fail", "severity": "advisory",
                               "detail": "比例不符合竖牌（30–40×180–250 cm）或匾牌（60×40 cm）"}
    assert result["background"]["status"] == "pass" and result["text_colour"]["status"] == "pass"


def main_and_short_line(w=420, h=420, *, align="left", em=44, small=26) -> np.ndarray:
    """A board with a main line and, below it, a line half as long in smaller characters, aligned with the main
    line's left (or right) end: all its ink together has an axis 6–8° off level though the board is level."""
    img = Image.new("RGB", (w, h), WHITE)
    draw = ImageDraw.Draw(img)
    main, short = "王庄村村民委员会", "王庄村监督"
    left = (w - len(main) * em * 1.05) / 2
    start = left if align == "left" else left + len(main) * em * 1.05 - len(short) * small * 1.05
    for i, ch in enumerate(main):
        draw.text((left + i * em * 1.05, h * 0.35), ch, fill=BLACK, font=font(faces_for("song", False)[0], em))
    for i, ch in enumerate(short):
        draw.text((start + i * small * 1.05, h * 0.35 + em * 1.5), ch, fill=BLACK,
                  font=font(faces_for("song", False)[0], small))
    return np.asarray(img)


@pytest.mark.parametrize("align", ["left", "right"])
def test_a_square_board_with_a_main_line_and_a_short_one_facing_the_camera_is_the_wrong_shape(rules, align):
    """The lean is measured per line: the two lines' ink together would lean about 7° (the board would not be
    taken to face the camera, and its shape would not be judged)."""
    crop, box = on_wall(main_and_short_line(align=align))
    g = text_geometry_of_crop(crop)
    assert abs(g.lean_deg) < 1.0 and g.facing() and 40 <= g.line_px <= 50   # the main line, drawn at 44 px
    assert checks(rules, "militia", crop, box, traditional=False)["shape"]["status"] == "fail"


@pytest.mark.parametrize("lean", [-8.0, 8.0])
def test_a_board_of_two_unequal_lines_leaning_is_measured_per_line(lean):
    crop, _ = on_wall(main_and_short_line(w=600, h=400), lean_deg=lean)
    assert text_geometry_of_crop(crop).lean_deg == pytest.approx(lean, abs=1.5)


def test_a_frames_edge_beside_a_line_does_not_tilt_the_lean():
    """Two level lines of six 'characters' (squares), and a frame's edge slanting up from the first line's
    corner (about 9°, touching it): the run holding both has an axis 3.5° off level and is left out; the
    lean is the second line's."""
    from audit.signs.style import _lean_of
    ink = np.zeros((160, 300), np.uint8)
    for top in (40, 95):
        for k in range(6):
            ink[top:top + 25, 40 + 35 * k:65 + 35 * k] = 1
    cv2.line(ink, (30, 39), (280, 0), 1, 8)
    assert _lean_of(ink.astype(bool), False) == pytest.approx(0.0, abs=0.5)


def test_a_board_wider_than_a_plaque_is_the_wrong_shape_from_any_angle(rules):
    crop, box = on_wall(board(("王庄村民兵连",), w=1000, h=220, em=110), narrow=0.8)  # a banner, seen at an angle
    assert checks(rules, "militia", crop, box, traditional=False)["shape"]["status"] == "fail"


@pytest.mark.parametrize("narrow", [0.55, 0.7])
def test_a_plaque_seen_at_an_angle_is_not_flagged(rules, narrow):
    """A 60 × 40 plaque whose box is about square because the wall is seen at 45–57°: its narrowed characters
    say so, and its shape passes (the box alone, 0.67 / 0.55, would be 'other')."""
    crop, box = on_wall(board(), narrow=narrow, keystone=0.08, frame=12)
    assert box[1] / box[0] > 1 / 1.1  # outside the plaque's box proportions
    result = checks(rules, "militia", crop, box, traditional=False)
    assert result["shape"]["status"] == "pass" and result["shape"]["detail"] == "匾牌"
    assert result["background"]["status"] == "pass" and result["text_colour"]["status"] == "pass"


def test_a_plaque_seen_at_an_angle_with_unreadable_characters_is_not_judged(rules):
    crop, box = on_wall(board(), narrow=0.6, keystone=0.08)
    small = cv2.resize(crop, (crop.shape[1] // 6, crop.shape[0] // 6), interpolation=cv2.INTER_AREA)
    result = checks(rules, "militia", small, (small.shape[1], small.shape[0]), traditional=False)
    assert result["shape"]["status"] == "not_checked" and "斜对镜头" in result["shape"]["detail"]


@pytest.mark.parametrize("lean", [-10.0, 12.0])
def test_a_leaning_strip_with_a_frame_is_not_flagged(rules, lean):
    """A strip leaning 10–12° (a phone tilted, or the wall's verticals converging at the photo's edge) in a wooden
    frame: its box is about 3 × as tall as wide, below a strip's proportions; the text's lean explains it."""
    crop, box = on_wall(strip("王庄村村民委员会"), lean_deg=lean, frame=8)
    assert box[1] / box[0] < 3.2
    result = checks(rules, "villagers_committee", crop, box, traditional=False)
    assert result["shape"]["status"] == "pass" and result["shape"]["detail"] == "长条形竖牌"
    assert result["background"]["status"] == "pass" and result["text_colour"]["status"] == "pass"


def test_identity_signs_are_exempt(rules):
    sign = strip("党群服务中心", bg=RED, fg=GOLD, w=600, h=120)
    result = checks(rules, "service_centre_sign", sign, (600, 120), traditional=False)
    for key in ("background", "text_colour", "shape", "typeface"):
        assert result[key]["status"] == "exempt"


def test_what_a_photo_cannot_show_is_not_checked(rules):
    result = checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False)
    for key in ("size", "material"):
        assert result[key]["status"] == "not_checked"
    # only those: what a photo does show is judged, and a good black-on-white Song militia strip passes it
    assert {k for k, c in result.items() if c["status"] == "not_checked"} == {"size", "material"}
    assert {k: c["status"] for k, c in result.items() if k in ("background", "text_colour", "shape", "typeface")} == {
        "background": "pass", "text_colour": "pass", "shape": "pass", "typeface": "pass"}


def test_a_hei_plaque_is_an_advisory_typeface_finding_with_its_confidence(rules):
    hei = strip("中共王庄村支部委员会", fg=RED, face=available_faces()["simhei"])
    result = checks(rules, "party_org", hei, (90, 600), traditional=False)
    assert result["typeface"]["status"] == "fail" and result["typeface"]["severity"] == "advisory"
    assert result["typeface"]["detail"].startswith("疑似黑体，应为宋体（模型判断，宋体可能性仅 0.")
    assert result["text_colour"]["status"] == "pass"  # the colour is right; only the typeface is not


def test_small_text_leaves_the_typeface_unchecked(rules):
    result = checks(rules, "militia", strip("王庄村民兵连", w=20, h=140), (20, 140), traditional=False)
    assert result["typeface"]["status"] == "not_checked" and "无法判断字体" in result["typeface"]["detail"]


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def glare(crop: np.ndarray, strength: float) -> np.ndarray:
    """A specular patch: white light added on top of the upper half of the board."""
    h, w = crop.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    blob = np.exp(-(((xx - w / 2) / w) ** 2 + ((yy - h / 3) / (h / 4)) ** 2))
    return np.clip(crop + strength * blob[..., None], 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("fg", "expected"), [(RED, "red"), (BLACK, "black")])
@pytest.mark.parametrize("photo", ["small_jpeg", "dusk_noise", "glare", "shade_blur"])
def test_text_colour_survives_blur_jpeg_glare_and_dim_noisy_light(fg, expected, photo):
    rng = np.random.default_rng(3)
    board = strip("中共王庄村支部委员会", fg=fg, w=60, h=420)  # strokes of 1–3 px
    if photo == "small_jpeg":
        board = jpeg(board, 40)  # colour at half resolution: thin red strokes turn greyish
    elif photo == "dusk_noise":
        dim = board * np.array([0.55, 0.33, 0.18]) + rng.normal(0, 4, board.shape)
        board = jpeg(np.clip(dim, 0, 255).astype(np.uint8), 70)
    elif photo == "glare":
        board = glare(board, 110)
    else:
        board = cv2.GaussianBlur((board * np.array([0.45, 0.5, 0.6])).astype(np.uint8), (0, 0), 1.5)
    assert text_colour_of_crop(board).colour == expected


def test_too_dark_or_washed_out_boards_are_not_judged(rules):
    dark = (strip(fg=RED) * 0.12).astype(np.uint8)  # a white of about 30: night
    assert text_colour_of_crop(dark).colour == "dark"
    faded = strip(fg=(226, 222, 222))  # ink barely darker than the board
    assert text_colour_of_crop(faded).colour == "washed_out"
    result = style_checks(dark, (90, 600), rules.plaque("party_org"), rules, traditional=False)
    assert result["text_colour"] == {"status": "not_checked", "severity": "must_fix",
                                     "detail": "牌子太暗，无法判断文字颜色（请在光线充足时重拍）"}


def test_ink_between_red_and_black_is_not_guessed():
    assert text_colour_of_crop(strip(fg=(110, 40, 40))).colour == "unsure"  # a dark brownish red
    assert text_colour_of_crop(strip(fg=(30, 60, 200))).colour == "other"  # blue is clearly neither


def test_traditional_characters_advisory(rules):
    result = checks(rules, "militia", strip("王莊村民兵連"), (90, 600), traditional=True)
    assert result["traditional_characters"] == {"status": "fail", "severity": "advisory", "detail": "含繁体字"}


def test_text_only_location_does_not_judge_background_or_shape(rules):
    result = checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False, board=False)
    assert result["background"]["status"] == "not_checked" and result["shape"]["status"] == "not_checked"


def sunlit_with_sky(crop: np.ndarray) -> np.ndarray:
    """A photo mostly of blue sky, with a brick wall, a white window frame and the board in neutral sunlight."""
    h, w = crop.shape[:2]
    photo = np.empty((h * 8, w * 12, 3), np.uint8)
    photo[:] = (142, 182, 241)  # sky: far brighter in blue than anything else
    photo[h * 7:, :] = (170, 80, 55)
    photo[h * 7:, w * 5:w * 7] = (244, 244, 241)
    photo[h * 7 + 20:, w * 5 + 20:w * 7 - 20] = (40, 50, 60)
    photo[h * 7:, w * 3:w * 4] = crop  # the white surfaces: under 2 % of the photo
    return photo


@pytest.mark.parametrize(("bg", "expected"), [(WHITE, "pass"), ((250, 238, 180), "fail"), ((200, 220, 250), "fail")])
def test_the_background_under_a_blue_sky(rules, bg, expected):
    """The light's colour comes from the photo's whitest surface, not each channel's maximum: a blue sky does not
    turn a sunlit white board orange, and pale yellow and pale blue boards are still not white. (A photo whose
    only white-ish surface is the board itself cannot show its tint: it is then its own white.)"""
    crop = strip(bg=bg, w=60, h=400)
    result = style_checks(crop, (60, 400), rules.plaque("militia"), rules, traditional=False,
                          illuminant=illuminant_of(sunlit_with_sky(crop)))
    assert result["background"]["status"] == expected


def test_a_faint_tint_is_not_judged_white_or_not(rules):
    tinted = strip(bg=(246, 236, 206))  # saturation 0.16: a cream board, or a white one in a cast
    _, photo = in_scene(strip())
    result = style_checks(tinted, (90, 600), rules.plaque("militia"), rules, traditional=False,
                          illuminant=illuminant_of(photo))
    assert result["background"] == {"status": "not_checked", "severity": "must_fix",
                                     "detail": "底色略带颜色，照片无法确定是否为白底（可能是光线偏色），请人工确认"}


@pytest.mark.parametrize(("w", "h", "status"), [(90, 600, "fail"), (24, 160, "fail"), (16, 110, "not_checked")])
def test_another_colour_is_believed_only_on_characters_large_enough(rules, w, h, status):
    """Blue ink is another colour (a must-fix on a black-text plaque); on lines under 12 px, where a JPEG's colour
    is coarser than the strokes and red or black ink reads as "other", the check abstains instead."""
    board_ = strip("王庄村民兵连", fg=(30, 60, 200), w=w, h=h)
    result = checks(rules, "militia", board_, (w, h), traditional=False)
    assert result["text_colour"]["status"] == status
    assert result["text_colour"]["detail"] == {"fail": "应为黑字，实为其他颜色",
                                               "not_checked": "字太小，无法可靠判断是否为其他颜色"}[status]


# ------------------------------------------------------------------ decisions, each with its expected value written out
# (the survivors of bench/mutation.py on audit/signs/style.py: what no test above pinned down)


@pytest.mark.parametrize(("share", "saturated", "expected"), [
    ((1.0, 1.0, 1.0), False, "black"),
    ((0.72, 0.72, 0.72), False, "black"),     # every channel at the black limit
    ((0.71, 0.9, 0.9), False, "unsure"),      # red a little short: neither black, red nor another colour
    ((1.0, 0.71, 1.0), False, "unsure"),      # green a little short
    ((0.66, 0.66, 0.66), False, "unsure"),
    ((0.66, 0.66, 0.66), True, "black"),      # burnt-out paper keeps a cast: black may look brown
    ((0.65, 0.65, 0.65), True, "black"),
    ((0.6, 0.8, 0.8), False, "red"),          # red at both of its limits
    ((0.2, 0.8, 1.0), False, "red"),
    ((0.61, 0.9, 0.9), False, "unsure"),
    ((0.5, 0.79, 0.9), False, "other"),       # green absorbed too little for red: orange
    ((1.0, 0.6, 1.0), False, "other"),        # green passes: magenta
    ((0.6, 1.0, 0.7), False, "other"),
    ((1.0, 0.55, 1.0), False, "other"),
    ((1.0, 0.55, 1.0), True, "unsure"),       # with a cast only a clearly coloured ink is another colour
    ((1.0, 0.5, 1.0), True, "other"),
])
def test_ink_colour_from_the_absorption_shares(share, saturated, expected):
    assert _ink_colour(np.array(share), saturated=saturated) == expected


def test_ink_colour_is_judged_without_a_cast_unless_told():
    assert _ink_colour(np.array((0.66, 0.66, 0.66))) == "unsure"


def test_a_burnt_out_board_keeps_its_black_text_black():
    # Paper at 255 in sunlight: the black ink keeps a warm cast (absorbs blue more than red). Against the
    # unsaturated limits it would be "unsure"; the saturated ones call it black.
    crop = strip("王庄村民兵连", bg=(255, 255, 255), fg=(110, 80, 45))
    colour = text_colour_of_crop(crop)
    assert min(colour.ink) < BLACK_LIMIT and colour.colour == "black"


def small_sunlit_plaque(fg, seed: int) -> np.ndarray:
    """A 60 × 40 plaque about 60 px wide (characters about 9 px) cut out with 6 px of a grey wall around it, in
    hard sun (everything × 1.15, the board burnt out to 255), smeared by a 9-px diagonal motion blur, noised and
    saved as JPEG: the sunlit plaques of bench/style_eval.py --scenes."""
    b = cv2.resize(board(("王庄村村务", "监督委员会"), w=600, h=400, fg=fg, em=90), (60, 40),
                   interpolation=cv2.INTER_AREA)
    x = np.pad(b, ((6, 6), (6, 6), (0, 0)), constant_values=150).astype(np.float32) * 1.15
    kernel = np.eye(9, dtype=np.float32) / 9
    x = cv2.filter2D(x, -1, kernel) + np.random.default_rng(seed).normal(0, 3, x.shape)
    return jpeg(np.clip(x, 0, 255).astype(np.uint8), 85)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("fg", "expected"), [(RED, "red"), (BLACK, "black"), ((30, 60, 200), "other")])
def test_small_blurred_text_on_a_sunlit_board_is_measured_past_the_wall(fg, expected, seed):
    """The wall in the crop absorbs more than the blurred strokes: the text is found with a threshold taken
    from the ink away from the crop's edge (it was "no text" for the red plaque of seed 2 and the blue ones
    of seeds 0 and 2)."""
    assert text_colour_of_crop(small_sunlit_plaque(fg, seed)).colour == expected


def test_a_small_sunlit_plaque_in_the_wrong_colour_is_caught(rules):
    black_party = small_sunlit_plaque(BLACK, 2)
    red_committee = small_sunlit_plaque(RED, 2)
    assert checks(rules, "party_org", black_party, (72, 52), traditional=False)["text_colour"] == {
        "status": "fail", "severity": "must_fix", "detail": "应为红字，实为黑字"}
    assert checks(rules, "villagers_committee", red_committee, (72, 52), traditional=False)["text_colour"] == {
        "status": "fail", "severity": "must_fix", "detail": "应为黑字，实为红字"}


@pytest.mark.parametrize(("box", "shape"), [((0, 100), "other"), ((100, 0), "other"), ((1, 5), "vertical_strip"),
                                            ((0.25, 1), "vertical_strip"), ((60, 40), "plaque"), ((40, 40), "other")])
def test_shape_of_box_at_its_edges(box, shape):
    assert shape_of_box(*box) == shape


FRONTAL = TextGeometry(True, 0.0, 1.0, (0.9, 1.1), 40.0)


@pytest.mark.parametrize(("box", "geometry", "expected"), [
    ((35, 215), None, ("pass", "vertical_strip")),
    ((60, 40), None, ("pass", "plaque")),
    ((0, 100), None, ("fail", "other")),
    ((0.5, 0.5), None, ("cannot_tell", "other")),       # a square box could be a plaque seen at an angle
    ((40, 40), None, ("cannot_tell", "other")),
    ((40, 40), FRONTAL, ("fail", "other")),              # … unless the characters show it faces the camera
    ((100, 40), None, ("fail", "other")),                # wider than a plaque: no angle widens a board
    ((1, 44), None, ("cannot_tell", "other")),           # a strip seen at 75° from its normal is this thin
    ((1, 45), None, ("fail", "other")),                  # thinner than any angle explains
    # a strip seen at an angle: its characters narrowed to 0.4 say its box is 0.4 of its width
    ((14, 215), TextGeometry(True, 0.0, 0.4, (0.35, 0.45), 10.0), ("pass", "vertical_strip")),
    # characters at 0.8-0.9 are square enough: no narrowing to explain the box, and the board faces the camera
    ((20, 230), TextGeometry(True, 0.0, 0.9, (0.85, 0.95), 18.0), ("fail", "other")),
    ((20, 230), TextGeometry(True, 0.0, 0.8, (0.8, 0.85), 18.0), ("fail", "other")),
    ((20, 230), TextGeometry(True, 0.0, 0.79, (0.7, 0.85), 18.0), ("pass", "vertical_strip")),
    # narrowed so much that even its characters' width cannot make it a standard board: cannot tell
    ((20, 230), TextGeometry(True, 0.0, 0.1, (0.05, 0.15), 18.0), ("cannot_tell", "other")),
    # a 35 x 215 strip leaning 10°: its box is 71.8 x 217.8 (too wide for a strip); the lean explains it
    ((71.8, 217.8), TextGeometry(True, 10.0), ("pass", "vertical_strip")),
])
def test_shape_verdict(box, geometry, expected):
    assert shape_verdict(box, geometry) == expected


def _leaning_box(w0: float, h0: float, deg: float) -> tuple[float, float]:
    t = np.deg2rad(abs(deg))
    return w0 * np.cos(t) + h0 * np.sin(t), w0 * np.sin(t) + h0 * np.cos(t)


@pytest.mark.parametrize(("w0", "h0", "deg"), [(35, 215, 10.0), (35, 215, -10.0), (60, 40, 25.0), (0.5, 215, 10.0),
                                               (35, 0.5, 10.0)])
def test_board_proportions_undo_the_lean(w0, h0, deg):
    w, h = board_proportions(_leaning_box(w0, h0, deg), TextGeometry(True, deg))
    assert (w, h) == (pytest.approx(w0, abs=1e-6), pytest.approx(h0, abs=1e-6))


def test_board_proportions_keep_the_box_when_the_lean_cannot_explain_it():
    assert board_proportions((10, 200), TextGeometry(True, 20.0)) == (10, 200)   # a thin box leaning 20°: impossible
    assert board_proportions((10, 200), TextGeometry(True, None)) == (10, 200)
    assert board_proportions((10, 200), None) == (10, 200)


@pytest.mark.parametrize(("lean", "quartiles", "facing"), [
    (0.0, (0.8, 1.35), True), (None, (0.8, 1.35), True), (3.0, (1.0, 1.0), True), (-3.0, (1.0, 1.0), True),
    (3.1, (1.0, 1.0), False), (0.0, (0.79, 1.0), False), (0.0, (1.0, 1.36), False), (0.0, (0.5, 1.0), False),
    (0.0, (1.0, 1.6), False), (0.0, None, False)])
def test_facing_the_camera(lean, quartiles, facing):
    assert TextGeometry(True, lean, 1.0, quartiles, 40.0).facing() is facing


def _reading(song: float, hei: float, kai: float) -> TypefaceReading:
    probabilities = {"song": song, "hei": hei, "kai": kai}
    best = max(probabilities, key=probabilities.get)
    return TypefaceReading(best, probabilities[best], 40.0, 12, "", probabilities)


@pytest.mark.parametrize(("reading", "status", "detail"), [
    (None, "not_checked", "未安装字体识别模型，未判断是否为宋体"),
    (TypefaceReading("unknown", 0.0, 9.6, 0, "small"), "not_checked", "字太小（约 10 像素），无法判断字体"),
    (TypefaceReading("unknown", 0.0, 40.0, 0, "blurred"), "not_checked", "文字模糊，无法判断字体"),
    (TypefaceReading("unknown", 0.0, 40.0, 0, "no_text"), "not_checked", "未找到足够的文字，无法判断字体"),
    (_reading(0.2, 0.5, 0.3), "not_checked", "无法确定是否为宋体（宋体可能性 0.20）"),
    (_reading(0.5, 0.3, 0.2), "pass", "宋体（模型判断，宋体可能性 0.50）"),
    (_reading(0.1, 0.7, 0.2), "fail", "疑似黑体，应为宋体（模型判断，宋体可能性仅 0.10，请人工确认）"),
    (_reading(0.1, 0.2, 0.7), "fail", "疑似楷体，应为宋体（模型判断，宋体可能性仅 0.10，请人工确认）"),
    (replace(_reading(0.6, 0.3, 0.1), stretched=1.6), "pass", "宋体（模型判断，宋体可能性 0.60，牌子斜拍，字形已按比例校正）"),
])
def test_typeface_check(rules, reading, status, detail):
    county = rules.model_copy(update={"severity": {**rules.severity, "typeface": "needs_review"}})
    assert typeface_check(reading, county) == Check(status, "needs_review", detail)


def test_typeface_check_names_a_typeface_the_classifier_does_not_know(rules):
    style = rules.plaque_style.model_copy(update={"typeface": "lishu", "typeface_zh": "隶书"})
    county = rules.model_copy(update={"plaque_style": style})
    assert typeface_check(_reading(0.5, 0.3, 0.2), county) == Check(
        "not_checked", "advisory", "字体识别只分辨宋体、黑体、楷体，无法判断是否为隶书")


def _county(rules, **severity):
    return rules.model_copy(update={"severity": {**rules.severity, **severity}})


def test_checks_carry_the_countys_severities_and_their_reasons(rules):
    county = _county(rules, shape="needs_review", background="advisory", text_colour="advisory")
    sign = style_checks(strip("王庄村老年人协会"), (90, 600), None, county, traditional=False)
    assert {k: (v["status"], v["severity"], v["detail"]) for k, v in sign.items() if k in ("background", "text_colour",
                                                                                             "shape")} == {
        "background": ("not_checked", "advisory", "非标准牌子，不检查式样"),
        "text_colour": ("not_checked", "advisory", "非标准牌子，不检查式样"),
        "shape": ("not_checked", "needs_review", "非标准牌子，不检查式样")}
    identity = style_checks(board(("党群服务中心",)), (600, 400), county.plaque("service_centre_sign"), county,
                            traditional=False)
    assert {k: (v["status"], v["severity"], v["detail"]) for k, v in identity.items() if v["status"] == "exempt"} == {
        "background": ("exempt", "advisory", "标识牌有专门式样，不适用此项"),
        "text_colour": ("exempt", "advisory", "标识牌有专门式样，不适用此项"),
        "shape": ("exempt", "needs_review", "标识牌有专门式样，不适用此项"),
        "typeface": ("exempt", "advisory", "标识牌有专门式样，不适用此项")}
    assert sign["traditional_characters"] == {"status": "pass", "severity": "advisory", "detail": "简化字"}
    old = style_checks(strip("王莊村老年人協會"), (90, 600), None, county, traditional=True)
    assert old["traditional_characters"] == {"status": "fail", "severity": "advisory", "detail": "含繁体字"}


def test_a_white_board_and_a_tinted_one_are_named_in_the_background_check(rules):
    ok = checks(rules, "militia", strip("王庄村民兵连"), (90, 600), traditional=False)
    assert ok["background"] == {"status": "pass", "severity": "must_fix", "detail": "白底"}
    # a pink board in a red light: divided by the light, its red channel exceeds 255 and is named as 255
    crop = strip("王庄村民兵连", bg=(250, 200, 200))
    result = style_checks(crop, (90, 600), rules.plaque("militia"), rules, traditional=False,
                          illuminant=np.array([125.0, 250.0, 250.0]))
    assert result["background"]["status"] == "fail"
    assert result["background"]["detail"].startswith("底色不是白色（约 RGB(255, 200, 200)")


def test_another_colour_on_a_text_line_alone_is_not_judged(rules):
    blue = strip("王庄村民兵连", fg=(30, 60, 200))
    on_board = style_checks(blue, (90, 600), rules.plaque("militia"), rules, traditional=False)
    assert on_board["text_colour"] == {"status": "fail", "severity": "must_fix", "detail": "应为黑字，实为其他颜色"}
    alone = style_checks(blue, (90, 600), rules.plaque("militia"), rules, traditional=False, board=False)
    assert alone["text_colour"] == {"status": "not_checked", "severity": "must_fix", "detail": "未能可靠分辨文字颜色"}
    assert alone["shape"] == {"status": "not_checked", "severity": "advisory", "detail": "只定位到文字行，无法判断牌子形状"}
    black = style_checks(strip("王庄村民兵连"), (90, 600), rules.plaque("militia"), rules, traditional=False, board=False)
    assert black["text_colour"]["status"] == "pass"   # black is judged on a text line alone


def test_a_board_seen_at_an_angle_names_why_its_shape_is_not_judged(rules):
    crop, box = on_wall(board((), w=600, h=400), narrow=0.55)   # no characters to tell the angle by
    county = _county(rules, shape="needs_review")
    result = style_checks(crop, box, county.plaque("militia"), county, traditional=False)
    assert result["shape"] == {"status": "not_checked", "severity": "needs_review",
                               "detail": "牌子斜对镜头，无法从照片判断比例（请正对牌子重拍）"}
    narrowed, box = on_wall(board(("王庄村", "民兵连"), w=600, h=400, em=110), narrow=0.55)
    assert style_checks(narrowed, box, county.plaque("militia"), county, traditional=False)["shape"] == {
        "status": "pass", "severity": "needs_review", "detail": "匾牌"}   # its characters narrowed as much explain it


# ------------------------------------------------------------------ measurements against what was drawn


def test_the_geometry_of_a_strip_facing_the_camera():
    g = text_geometry_of_crop(strip("王庄村村民委员会", w=90, h=600))
    assert g.vertical and (g.lean_deg is None or abs(g.lean_deg) < 1.0)
    assert 0.85 <= g.char_aspect <= 1.2 and g.facing()
    assert 40 <= g.line_px <= 65        # characters drawn 61 px wide (0.68 of the strip)


def test_the_geometry_of_a_short_strip_and_of_a_small_leaning_one():
    assert text_geometry_of_crop(strip("民兵", w=100, h=190)).vertical   # two characters: twice as tall as wide
    crop, _ = on_wall(strip("王庄村村民委员会", w=30, h=200), lean_deg=8.0)
    g = text_geometry_of_crop(crop)   # characters ~20 px: too small to measure, the lean and line width still are
    assert g.vertical and g.char_aspect is None and g.char_aspect_quartiles is None
    assert g.lean_deg == pytest.approx(8.0, abs=1.5) and 14 <= g.line_px <= 26


def test_the_geometry_of_a_one_line_plate():
    g = text_geometry_of_crop(board(("王庄村民兵连",), w=900, h=300, em=110))
    assert not g.vertical and (g.lean_deg is None or abs(g.lean_deg) < 1.0)
    assert 0.85 <= g.char_aspect <= 1.2 and 85 <= g.line_px <= 115


@pytest.mark.parametrize("lean", [-8.0, 8.0])
def test_the_lean_of_a_leaning_strip_is_measured(lean):
    crop, _ = on_wall(strip("王庄村村民委员会", w=90, h=600), lean_deg=lean)
    g = text_geometry_of_crop(crop)
    assert g.vertical and g.lean_deg == pytest.approx(lean, abs=1.5)   # both clockwise in the image (y down)
    assert 0.8 <= g.char_aspect <= 1.25     # the characters measured once levelled


@pytest.mark.parametrize("narrow", [0.5, 0.65])
@pytest.mark.parametrize("vertical", [False, True])
def test_narrowed_characters_say_how_much_a_board_is_narrowed(narrow, vertical):
    drawn = strip("王庄村村民委员会", w=120, h=900) if vertical else board(("王庄村民兵连",), w=900, h=300, em=110)
    crop, _ = on_wall(drawn, narrow=narrow)
    g = text_geometry_of_crop(crop)
    assert g.vertical is vertical and g.char_aspect == pytest.approx(narrow, abs=0.1) and not g.facing()


@pytest.mark.parametrize(("bg", "expected"), [((60, 60, 60), "dark"), ((61, 61, 61), "white"),
                                              ((250, 250, 220), "white"),      # saturation 0.12: still white
                                              ((250, 250, 215), "unsure"),
                                              ((250, 250, 200), "not_white")])  # 0.2: not white
def test_background_at_its_limits(bg, expected):
    assert colours_of_crop(np.full((200, 60, 3), bg, np.uint8))[0] == expected


def test_no_geometry_without_characters():
    assert text_geometry_of_crop(np.full((300, 90, 3), 246, np.uint8)) is None
    assert text_geometry_of_crop(np.full((7, 90, 3), 246, np.uint8)) is None
    assert text_geometry_of_crop(np.full((300, 90), 246, np.uint8)) is None    # not a colour crop


@pytest.mark.parametrize(("fg", "share", "contrast"), [
    # absorption of each channel against the board's white (246, 246, 244), as shares of the strongest
    (RED, (1 - 196 / 246, 1 - 24 / 246, 1 - 28 / 244), 1 - 24 / 246),
    (BLACK, (1 - 24 / 246, 1 - 24 / 246, 1 - 24 / 244), 1 - 24 / 246),
    ((30, 60, 200), (1 - 30 / 246, 1 - 60 / 246, 1 - 200 / 244), 1 - 30 / 246),
])
def test_the_inks_absorption_is_measured_against_the_boards_white(fg, share, contrast):
    colour = text_colour_of_crop(strip("王庄村村民委员会", fg=fg))
    expected = np.array(share) / max(share)
    assert colour.ink == pytest.approx(tuple(expected), abs=0.06)
    assert colour.contrast == pytest.approx(contrast, abs=0.06)


def test_why_a_text_colour_is_not_judged():
    assert text_colour_of_crop(strip(bg=(30, 30, 30), fg=(10, 10, 10))).colour == "dark"
    assert text_colour_of_crop(strip(w=40, h=7)).colour == "none"
    assert text_colour_of_crop(np.full((600, 90, 3), 246, np.uint8)).colour == "none"   # no text at all
    faded = text_colour_of_crop(strip(fg=(225, 225, 225)))
    assert faded.colour == "washed_out" and faded.contrast == pytest.approx(1 - 225 / 246, abs=0.03)


def test_the_light_is_read_from_the_whitest_surfaces():
    crop = strip("王庄村民兵连")
    _, photo = in_scene(crop, light=(1.0, 0.85, 0.65), gain=0.9)
    photo = photo.copy()
    photo[:40, -40:] = 255             # a burnt-out highlight carries no colour
    light = illuminant_of(photo)
    assert light / light[0] == pytest.approx([1.0, 0.85, 0.65 * 244 / 246], abs=0.02)
    assert light[0] == pytest.approx(246 * 0.9, abs=4)


def test_the_background_colour_is_the_boards_own():
    background, _, rgb = colours_of_crop(strip("王庄村民兵连", bg=(240, 235, 180)))
    assert background == "not_white" and rgb == pytest.approx([240, 235, 180], abs=3)
    background, _, rgb = colours_of_crop(strip("王庄村民兵连"))
    assert background == "white" and rgb == pytest.approx([246, 246, 244], abs=3)
    assert colours_of_crop(strip("王庄村民兵连", bg=(50, 50, 50), fg=(20, 20, 20)))[0] == "dark"


@pytest.mark.parametrize(("box", "cut"), [
    ((10, 10, 90, 190), False), ((2, 10, 90, 190), True), ((3, 3, 97, 197), False), ((10, 10, 98, 190), True),
    ((10, 10, 90, 198.5), True), ((10, 2.0, 90, 190), True), ((0, 0, 100, 200), True), ((10, 10, 90, 198), True),
])
def test_a_box_at_the_photos_edge_is_cut(box, cut):
    from audit.signs.style import box_cut_by_photo
    assert box_cut_by_photo(box, (200, 100, 3)) is cut


def test_a_board_cut_by_the_photos_edge_has_no_shape_verdict(rules):
    """The top third of a strip (the photo ends there) boxes about 1 × 2, a wrong shape if it were whole;
    background, colour and typeface are still judged on what shows."""
    crop = strip("王庄村村民委员会", w=90, h=600)[:200]
    whole = checks(rules, "villagers_committee", crop, (90, 200), traditional=False)
    assert whole["shape"]["status"] == "fail"
    result = checks(rules, "villagers_committee", crop, (90, 200), traditional=False, cut=True)
    assert result["shape"] == {"status": "not_checked", "severity": "advisory",
                               "detail": "牌子被照片边缘截断，无法判断比例（请把整块牌子拍进照片）"}
    assert result["background"]["status"] == "pass" and result["text_colour"]["status"] == "pass"


# The characters' pixels when the strongest ink is the wall or a frame at the crop's edge (style._ink_of_text), on
# absorption maps drawn here: faint text (0.3) in four 6 × 4 blobs, a band of strong ink (0.9) along one side.
_TEXT_BLOBS = [(20, 30), (20, 45), (32, 30), (32, 45)]  # (row, column) of each blob's top-left pixel


def _absorption(side: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((60, 100), np.float32)
    text = np.zeros(a.shape, bool)
    for r, c in _TEXT_BLOBS:
        a[r:r + 6, c:c + 4] = 0.3
        text[r:r + 6, c:c + 4] = True
    # each band touches its own edge only (a frame's side, the wall beside the board)
    band = {"top": np.s_[0:4, 10:90], "bottom": np.s_[56:60, 10:90], "left": np.s_[10:50, 0:4],
            "right": np.s_[10:50, 96:100]}
    a[band[side]] = 0.9
    return a, text


@pytest.mark.parametrize("side", ["top", "bottom", "left", "right"])
def test_faint_text_is_found_past_strong_ink_at_any_edge_of_the_crop(side):
    from audit.signs.style import _ink_of_text
    from audit.signs.typeface import text_mask

    a, text = _absorption(side)
    assert not text_mask(a).any()  # the band sets the bar over the text, and is dropped for touching the edge
    assert np.array_equal(_ink_of_text(a), text)


def test_strong_ink_away_from_the_edge_is_text_and_no_second_threshold_is_taken():
    from audit.signs.style import _ink_of_text

    a, text = _absorption("top")
    a[25:31, 60:65] = 0.9  # a strong blob inside (30 px): the first threshold finds it, nothing fainter is text
    assert np.array_equal(_ink_of_text(a), np.pad(np.ones((6, 5), bool), ((25, 29), (60, 35))))
    dark = np.full((30, 40), 0.9, np.float32)  # all edge: nothing to take a second threshold from
    assert not _ink_of_text(dark).any()
    # A small crop: a band along the top, a faint blob (0.3) and a small strong blob (0.9, 16 px: under the 20 px
    # the first threshold asks for) inside. The strongest ink away from the edge is as strong as the band, so no
    # second threshold is taken: the strong blob alone is the ink.
    small = np.zeros((30, 40), np.float32)
    small[0:3, 5:35] = 0.9
    small[12:18, 8:12] = 0.3
    small[15:19, 25:29] = 0.9
    assert np.array_equal(_ink_of_text(small), np.pad(np.ones((4, 4), bool), ((15, 11), (25, 11))))


def test_the_lean_of_a_line_of_twenty_ink_pixels_is_measured_and_of_nineteen_is_not():
    from audit.signs.style import _lean_of

    ink = np.zeros((10, 30), bool)
    ink[4:6, 5:15] = True  # a level line, 2 × 10 = 20 pixels: the fewest the lean is measured on
    assert _lean_of(ink, False) == pytest.approx(0.0, abs=1e-6)
    ink[4, 5] = False
    assert _lean_of(ink, False) is None


def _under_a_lamp(backgrounds) -> tuple[list[np.ndarray], np.ndarray]:
    """Strips of ``backgrounds`` under a warm lamp at dusk, on a photo whose whitest surface (a pale wall lit by
    the sky) is neutral: the photo's light is not the boards' (seed 33000045 of bench/style_eval.py --scenes)."""
    warm = np.array([1.0, 0.74, 0.5])
    crops = [np.clip(strip(bg=bg, w=60, h=400) * warm, 0, 255).astype(np.uint8) for bg in backgrounds]
    photo = np.empty((600, 200 + 100 * len(crops), 3), np.uint8)
    photo[:] = (205, 205, 200)
    for k, c in enumerate(crops):
        photo[100:500, 100 + 100 * k:160 + 100 * k] = c
    return crops, photo


def test_white_boards_under_a_lamp_the_photos_light_misses_are_not_called_coloured(rules):
    crops, photo = _under_a_lamp([WHITE] * 3)
    light = boards_light(crops)
    for crop in crops:
        alone = style_checks(crop, (60, 400), rules.plaque("militia"), rules, traditional=False,
                             illuminant=illuminant_of(photo))
        assert alone["background"]["status"] == "fail"   # against the photo's light alone: orange
        shared = style_checks(crop, (60, 400), rules.plaque("militia"), rules, traditional=False,
                              illuminant=illuminant_of(photo), shared_light=light)
        assert shared["background"]["status"] == "not_checked" and "其他牌子同样偏色" in shared["background"]["detail"]
    assert boards_light(crops[:2]) is None   # two boards: too few to tell the light from the boards' colour


@pytest.mark.parametrize("tint", [(250, 238, 180), (200, 220, 250), (212, 175, 55)])
def test_one_coloured_board_among_white_ones_is_still_caught_under_a_lamp(rules, tint):
    crops, photo = _under_a_lamp([WHITE, WHITE, tint, WHITE])
    light = boards_light(crops)
    result = style_checks(crops[2], (60, 400), rules.plaque("militia"), rules, traditional=False,
                          illuminant=illuminant_of(photo), shared_light=light)
    assert result["background"]["status"] == "fail"
