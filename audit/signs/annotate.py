"""The annotated photo: each plaque's box coloured by verdict, with a Chinese label drawn in a CJK font
shipped by a pip package (mplfonts' Noto Sans CJK SC; for a .ttc the Simplified Chinese face is picked)."""

from __future__ import annotations

from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from audit.signs.engine import PhotoResult, PlaqueResult

COLOURS = {"ok": (22, 163, 74), "style": (234, 179, 8), "bad": (220, 38, 38), "honour": (37, 99, 235),
           "review": (148, 163, 184)}


def verdict_colour(p: PlaqueResult) -> tuple[int, int, int]:
    """Green: official and in order; yellow: a style problem; red: unauthorised or misplaced; blue: an
    honour (to the collective display); grey: unread, for review, or a shop's sign or slogan (not counted)."""
    if p.kind in ("unreadable", "undecided", "background"):
        return COLOURS["review"]
    if p.kind == "honour":
        return COLOURS["honour"]
    if p.authorised is False:
        return COLOURS["bad"]
    if any(c.get("status") == "fail" for c in p.style.values()):
        return COLOURS["style"]
    return COLOURS["ok"]


@lru_cache(maxsize=8)
def label_font(size: int) -> ImageFont.FreeTypeFont:
    """A Simplified Chinese sans font from mplfonts at ``size`` pixels."""
    from audit.signs.fonts import available_faces, font

    faces = available_faces()
    face = faces.get("sans") or faces.get("simhei") or next(iter(faces.values()))
    return font(face, size)


def annotate(image: Image.Image, result: PhotoResult, *, scale: float = 1.0) -> Image.Image:
    """Draw the plaques of ``result`` on ``image`` (boxes are divided by ``scale``: the photo's full-size
    boxes onto a smaller image)."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    size = max(14, round(max(out.size) / 60))
    fnt = label_font(size)
    width = max(2, size // 6)
    for p in result.plaques:
        x1, y1, x2, y2 = (v / scale for v in p.bbox)
        colour = verdict_colour(p)
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=width)
        label = p.name_zh if p.kind == "official" else f"{p.name_zh}：{p.text}" if p.text else p.name_zh
        if p.kind == "official" and p.authorised is False:
            label += "（错挂）"
        tx, ty = x1, max(0, y1 - size - 4)
        box = draw.textbbox((tx, ty), label, font=fnt)
        draw.rectangle((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2), fill=colour)
        draw.text((tx, ty), label, fill=(255, 255, 255), font=fnt)
    return out
