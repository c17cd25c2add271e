"""Style checks on a plaque's crop: white background, text colour (red for the party organisation, black for
the others), shape (vertical strip or 60 × 40 plaque), simplified characters.

Colours are judged relative to the plaque's own background (a von Kries white balance on the brightest
part of the crop), so that shade, dusk light and a phone's white balance do not turn white into "not white"
or black into red. What a photo cannot show — material, absolute size, and the typeface (we cannot yet tell
Song from Hei/Kai reliably) — is reported as ``not_checked``, never as passed. The two identity signs have
their own designs and are ``exempt`` from the background, text-colour, shape and typeface checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from audit.rules import PlaqueRule, Rules

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


def colours_of_crop(crop: np.ndarray, illuminant: np.ndarray | None = None) -> tuple[str, str, np.ndarray]:
    """(background, text colour, background RGB) of a plaque crop.

    ``illuminant`` (from :func:`illuminant_of` on the whole photo) corrects the light's colour first, so
    that a white plaque at dusk is still white.

    Background: the median of the brightest 45 % of pixels; ``white`` when nearly grey. Text: pixels clearly
    darker or more saturated than the background, after dividing each channel by the background colour;
    ``red`` when red dominates, ``black`` when dark and grey, otherwise ``other``.
    """
    px = _trim(crop).reshape(-1, 3).astype(np.float64)
    if illuminant is not None:
        px = px * (illuminant.max() / np.asarray(illuminant, dtype=np.float64))
    value = px.max(axis=1)
    bright = px[value >= np.quantile(value, 0.55)]
    bg = np.median(bright, axis=0)
    bg_sat = (bg.max() - bg.min()) / max(bg.max(), 1.0)
    background = "white" if bg_sat < 0.28 and bg.max() > 60 else "not_white"

    balanced = np.clip(px / np.maximum(bg, 1.0), 0, 1.5)  # the background becomes (1, 1, 1)
    b_value = balanced.max(axis=1)
    b_sat = (balanced.max(axis=1) - balanced.min(axis=1)) / np.maximum(b_value, 1e-6)
    ink = (b_value < 0.6) | (b_sat > 0.45)
    if ink.sum() < max(20, 0.01 * len(px)):
        return background, "none", bg
    text = np.median(balanced[ink], axis=0)
    r, g, b = text
    if r - max(g, b) > 0.22 and r > 0.35:
        colour = "red"
    elif text.max() < 0.55 and (text.max() - text.min()) < 0.3:
        colour = "black"
    else:
        colour = "other"
    return background, colour, bg


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
        if colour == "none" or (colour == "other" and not board):
            checks["text_colour"] = Check("not_checked", sev["text_colour"], "未能可靠分辨文字颜色")
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
        checks["typeface"] = Check("not_checked", sev["typeface"], f"照片无法可靠判断是否为{rules.plaque_style.typeface_zh}")
    checks["size"] = Check("not_checked", sev["size"], "照片无法测量实际尺寸")
    checks["material"] = Check("not_checked", "advisory", "照片无法判断材质")
    if traditional is None:
        checks["traditional_characters"] = Check("not_checked", sev["traditional_characters"], "未读出文字")
    else:
        checks["traditional_characters"] = Check("fail" if traditional else "pass", sev["traditional_characters"],
                                                 "含繁体字" if traditional else "简化字")
    return {k: asdict(v) for k, v in checks.items()}
