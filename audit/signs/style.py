"""Style checks on a plaque's crop: white background, text colour (red for the party organisation, black for
the others), shape (vertical strip or 60 × 40 plaque), simplified characters.

The background is judged after dividing out the light's colour (the photo's illuminant). The text colour is
judged from the characters' own pixels against the board's own local white (:func:`text_colour_of_crop`), so
that shade, dusk, a phone's white balance, glare and blur do not turn red into black; a board too dark or too
washed out, or ink between colours, is ``not_checked`` rather than guessed. The typeface comes from a small
classifier (:mod:`audit.signs.typeface`): advisory, with its confidence, ``not_checked`` when it cannot tell.
What a photo cannot show — material, absolute size — is reported as ``not_checked``, never as passed. The two
identity signs have their own designs and are ``exempt`` from the background, text-colour, shape and typeface
checks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import cv2
import numpy as np

from audit.rules import PlaqueRule, Rules
from audit.signs.typeface import TypefaceReading, local_white, matches, text_mask, typeface_of_crop

Status = Literal["pass", "fail", "not_checked", "exempt"]


@dataclass(frozen=True)
class Check:
    status: Status
    severity: str
    detail: str = ""


def _trim(crop: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    h, w = crop.shape[:2]
    dy, dx = int(h * fraction), int(w * fraction)
    inner = crop[dy:h - dy or h, dx:w - dx or w]
    return inner if inner.size else crop


def illuminant_of(image: np.ndarray) -> np.ndarray:
    """The photo's light colour (white-patch estimate: each channel's 98th percentile), as RGB."""
    px = np.asarray(image)[::4, ::4].reshape(-1, 3).astype(np.float64)
    return np.maximum(np.quantile(px, 0.98, axis=0), 1.0)


# Text colour, measured on generated boards (bench/style_eval.py): the board's own white must be bright enough
# to judge against, the ink must stand out from it, and its hue must be clearly red, grey or another colour.
DARK_WHITE = 40.0  # the board's white (brightest channel, 0–255) below this: too dark to judge
MIN_INK_CONTRAST = 0.12  # the ink's absorption against the local white below this: washed out (thin, blurred
# strokes of small characters reach 0.15–0.2 and still show their colour)
FAINT_INK = 0.05  # the strongest absorption in the crop below this: no text at all
BLACK_MIN_SHARE = 0.72  # every channel absorbs at least this share of the strongest: black (grey)
RED_MAX_SHARE = 0.6  # red passes: its absorption at most this share of the strongest …
RED_MIN_SHARE = 0.8  # … while green and blue both absorb at least this share
OTHER_MAX_SHARE = 0.6  # some channel at most this share, and not red: another colour
PAPER_MAX_INK = 0.12  # a pixel darker than its local white by more than this is not paper
COLOUR_PIXELS = 40_000  # larger crops are reduced to about this many pixels first
# Paper burnt out to 255 (sun, glare) no longer shows the light's colour, so the ink keeps a cast: there black
# may look brown, and only a clearly coloured ink is another colour.
SATURATED = 253.0
SATURATED_BLACK_MIN_SHARE = 0.65
SATURATED_OTHER_MAX_SHARE = 0.5


@dataclass(frozen=True)
class TextColour:
    """The text colour of a board, judged against the board's own white.

    Attributes
    ----------
    colour : str
        ``red``, ``black``, ``other``; or why it was not judged: ``none`` (no text found), ``dark`` (the board
        too dark), ``washed_out`` (the ink barely stands out: glare, fading), ``unsure`` (between colours).
    ink : tuple of float
        Absorption of the ink in R, G, B, as shares of the strongest channel (black ≈ (1, 1, 1), red ≈ (0.2, 1, 1)).
    contrast : float
        Absorption of the strongest ink (0 paper, 1 black).
    """

    colour: str
    ink: tuple[float, float, float] = (0.0, 0.0, 0.0)
    contrast: float = 0.0


def _ink_colour(share: np.ndarray, *, saturated: bool = False) -> str:
    r, g, b = (float(v) for v in share)
    if min(r, g, b) >= (SATURATED_BLACK_MIN_SHARE if saturated else BLACK_MIN_SHARE):
        return "black"
    if r <= RED_MAX_SHARE and min(g, b) >= RED_MIN_SHARE:
        return "red"
    if min(r, g, b) <= (SATURATED_OTHER_MAX_SHARE if saturated else OTHER_MAX_SHARE):
        return "other"
    return "unsure"


def _paper(img: np.ndarray, ink: np.ndarray, faint: np.ndarray, size: int, fallback: np.ndarray) -> np.ndarray:
    """The board's paper colour around each pixel: the local mean of the pixels that are neither near ink nor
    faintly inked themselves (a mean, not a maximum: noise must not make the paper brighter than it is)."""
    k = max(3, int(size) | 1)
    near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    free = (~near & ~faint).astype(np.float32)
    num = cv2.blur(img * free[..., None], (k, k))
    den = cv2.blur(free, (k, k))[..., None]
    if free.mean() < 0.05:  # no paper to speak of: the local white will do
        return fallback
    whole = img[free > 0].mean(axis=0)
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), whole)


def text_colour_of_crop(crop: np.ndarray) -> TextColour:
    """The text colour of a board's crop, against the board's own white.

    Each channel is divided by the paper around it (the local mean of the pixels away from the strokes: the
    board's white under shade, glare or a colour cast), so each pixel's ink is its absorption per channel. The
    absorption is summed, unclipped, over the characters' strokes and a few pixels around them: mixing an ink
    with the paper (blur, thin strokes, resampling) scales its absorption in every channel alike, so the sum's
    proportions are the ink's own, the colour a JPEG spreads beyond a stroke is still inside the sum, and noise
    cancels. (Camera values, not linear light: JPEG and resampling mix them, and the dark end of linear light
    is dominated by noise.) Red ink lets red through and absorbs green and blue; black absorbs all three
    alike.
    """
    rgb = _trim(np.asarray(crop), 0.08)
    h, w = rgb.shape[:2]
    if h * w > COLOUR_PIXELS:  # averaging neighbours keeps the ink's proportions; it only saves time
        f = math.sqrt(COLOUR_PIXELS / (h * w))
        h, w = max(1, int(h * f)), max(1, int(w * f))
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    img = rgb.astype(np.float32)
    value = img.max(axis=2)
    board_white = np.median(img[value >= np.quantile(value, 0.55)], axis=0)
    if board_white.max() < DARK_WHITE:
        return TextColour("dark")
    if min(h, w) < 8:
        return TextColour("none")
    size = max(5, int(0.6 * min(h, w)))
    # the white from a median-filtered copy: the maximum of noise is not the board's white
    white = np.maximum(local_white(cv2.medianBlur(np.ascontiguousarray(rgb), 5).astype(np.float32), size), 1.0)
    first = np.clip(1.0 - img / white, 0.0, 1.0).max(axis=2)
    peak = float(np.quantile(first, 0.995))
    if FAINT_INK <= peak < MIN_INK_CONTRAST:
        return TextColour("washed_out", contrast=round(peak, 3))
    ink = text_mask(first)
    faint = 1.0 - img.sum(axis=2) / white.sum(axis=2) > PAPER_MAX_INK  # channels averaged: less noise
    if ink.sum() < max(20, 0.002 * ink.size):
        return TextColour("none")
    val = img / 255.0
    paper = np.maximum(_paper(val, ink, faint, size, white / 255.0), 1e-4)
    absorbed = 1.0 - val / paper  # not clipped: noise and spread colour must cancel in the sum
    strongest = np.clip(absorbed.max(axis=2), 0.0, 1.0)
    contrast = float(np.quantile(strongest[ink], 0.9))
    near = cv2.dilate(ink.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    around = near & ~cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    saturated = bool(around.any() and np.median(rgb[around].max(axis=1)) >= SATURATED)
    total = absorbed[near].sum(axis=0)
    if float(total.max()) <= 0.0:
        return TextColour("washed_out", contrast=round(contrast, 3))
    share = np.clip(total / float(total.max()), -1.0, 1.0)
    ink_share = tuple(round(float(v), 3) for v in share)
    if contrast < MIN_INK_CONTRAST:
        return TextColour("washed_out", ink_share, round(contrast, 3))  # type: ignore[arg-type]
    return TextColour(_ink_colour(share, saturated=saturated), ink_share, round(contrast, 3))  # type: ignore[arg-type]


def colours_of_crop(crop: np.ndarray, illuminant: np.ndarray | None = None) -> tuple[str, str, np.ndarray]:
    """(background, text colour, background RGB) of a plaque crop.

    ``illuminant`` (from :func:`illuminant_of` on the whole photo) corrects the light's colour first, so
    that a white plaque at dusk is still white. Background: the median of the brightest 45 % of pixels;
    ``white`` when nearly grey. Text colour: :func:`text_colour_of_crop` (which needs no illuminant: it judges
    against the board's own white).
    """
    inner = _trim(crop)
    step = max(1, int(math.sqrt(inner.shape[0] * inner.shape[1] / COLOUR_PIXELS)))
    px = inner[::step, ::step].reshape(-1, 3).astype(np.float64)
    if illuminant is not None:
        px = px * (illuminant.max() / np.asarray(illuminant, dtype=np.float64))
    value = px.max(axis=1)
    bright = px[value >= np.quantile(value, 0.55)]
    bg = np.median(bright, axis=0)
    bg_sat = (bg.max() - bg.min()) / max(bg.max(), 1.0)
    background = "white" if bg_sat < 0.28 and bg.max() > 60 else "not_white"
    return background, text_colour_of_crop(crop).colour, bg


def shape_of_box(width: float, height: float) -> str:
    """``vertical_strip``, ``plaque`` (about 60 × 40) or ``other``, from the box's proportions with a
    tolerance for perspective (yaw shortens widths, pitch heights)."""
    if width <= 0 or height <= 0:
        return "other"
    ratio = height / width
    if 3.2 <= ratio <= 11.0:
        return "vertical_strip"
    if 1 / 2.1 <= ratio <= 1 / 1.1:
        return "plaque"
    return "other"


_NO_COLOUR = "未能可靠分辨文字颜色"
_COLOUR_ABSTAIN = {
    "none": _NO_COLOUR,
    "dark": "牌子太暗，无法判断文字颜色（请在光线充足时重拍）",
    "washed_out": "文字与底色反差太小（反光或褪色），无法判断文字颜色",
    "unsure": "文字颜色介于红、黑之间，无法可靠判断",
}
TYPEFACE_ZH = {"song": "宋体", "hei": "黑体", "kai": "楷体"}


def typeface_check(reading: TypefaceReading | None, rules: Rules) -> Check:
    """The typeface check from the classifier's reading: advisory, with its confidence; ``not_checked`` when
    the classifier cannot tell (small or blurred characters, doubt) or is not installed."""
    sev = rules.severity["typeface"]
    want, want_zh = rules.plaque_style.typeface, rules.plaque_style.typeface_zh
    if reading is None:
        return Check("not_checked", sev, f"未安装字体识别模型，未判断是否为{want_zh}")
    if want not in TYPEFACE_ZH:
        return Check("not_checked", sev, f"字体识别只分辨宋体、黑体、楷体，无法判断是否为{want_zh}")
    if reading.typeface == "unknown":
        why = {
            "small": f"字太小（约 {reading.char_px:.0f} 像素），无法判断字体",
            "blurred": "文字模糊，无法判断字体",
        }.get(reading.reason, "未找到足够的文字，无法判断字体")
        return Check("not_checked", sev, why)
    p = reading.probabilities[want]
    verdict = matches(reading, want)
    if verdict is None:
        return Check("not_checked", sev, f"无法确定是否为{want_zh}（{want_zh}可能性 {p:.2f}）")
    if verdict:
        return Check("pass", sev, f"{want_zh}（模型判断，{want_zh}可能性 {p:.2f}）")
    seen = max((c for c in reading.probabilities if c != want), key=reading.probabilities.get)
    return Check("fail", sev, f"疑似{TYPEFACE_ZH[seen]}，应为{want_zh}（模型判断，{want_zh}可能性仅 {p:.2f}，请人工确认）")


def style_checks(crop: np.ndarray, box_wh: tuple[float, float], plaque: PlaqueRule | None, rules: Rules, *,
                 traditional: bool | None, illuminant: np.ndarray | None = None,
                 board: bool = True) -> dict[str, dict[str, str]]:
    """The style checks of one plaque, each ``{"status", "severity", "detail"}``.

    ``plaque`` is the official plaque the text names (None for other signs: only the characters are checked).
    ``board`` is False when only the text line was located (OCR without a detector box): the crop then
    shows no background margin and no outline, so background and shape are not checked.
    """
    sev = rules.severity
    checks: dict[str, Check] = {}
    identity = plaque is not None and plaque.identity_sign
    if plaque is None:
        for key in ("background", "text_colour", "shape"):
            checks[key] = Check("not_checked", sev.get(key, "advisory"), "非标准牌子，不检查式样")
    elif identity:
        for key in ("background", "text_colour", "shape", "typeface"):
            checks[key] = Check("exempt", sev.get(key, "advisory"), "标识牌有专门式样，不适用此项")
    else:
        background, colour, bg = colours_of_crop(crop, illuminant)
        if not board:
            checks["background"] = Check("not_checked", sev["background"], "只定位到文字行，未定位到牌子边框")
        else:
            detail = "白底" if background == "white" else f"底色不是白色（约 RGB{tuple(int(v) for v in bg)}）"
            checks["background"] = Check("pass" if background == "white" else "fail", sev["background"], detail)
        want = plaque.text_colour
        names = {"red": "红字", "black": "黑字", "other": "其他颜色", "none": "未能分辨"}
        if colour in _COLOUR_ABSTAIN or (colour == "other" and not board):
            checks["text_colour"] = Check("not_checked", sev["text_colour"], _COLOUR_ABSTAIN.get(colour, _NO_COLOUR))
        else:
            ok = colour == want
            checks["text_colour"] = Check("pass" if ok else "fail", sev["text_colour"],
                                          f"应为{names[want]}，实为{names[colour]}")
        shape = shape_of_box(*box_wh)
        names_shape = {k: v.name_zh for k, v in rules.plaque_style.shapes.items()}
        if not board:
            checks["shape"] = Check("not_checked", sev["shape"], "只定位到文字行，无法判断牌子形状")
        else:
            checks["shape"] = Check("pass" if shape in rules.plaque_style.shapes else "fail", sev["shape"],
                                    names_shape.get(shape, "比例不符合竖牌（30–40×180–250 cm）或匾牌（60×40 cm）"))
        checks["typeface"] = typeface_check(typeface_of_crop(crop), rules)
    checks["size"] = Check("not_checked", sev["size"], "照片无法测量实际尺寸")
    checks["material"] = Check("not_checked", "advisory", "照片无法判断材质")
    if traditional is None:
        checks["traditional_characters"] = Check("not_checked", sev["traditional_characters"], "未读出文字")
    else:
        checks["traditional_characters"] = Check("fail" if traditional else "pass", sev["traditional_characters"],
                                                 "含繁体字" if traditional else "简化字")
    return {k: asdict(v) for k, v in checks.items()}
