"""Randomised board designs (domain randomisation, issue 13).

The first generator drew every kind of board in one or two fixed designs, and the detector learned those designs:
honour plates of another make were missed, identity signboards were boxed without their emblem. Here a board's
look is drawn from wide distributions instead of a list: material (white, acrylic, brushed steel with
reflections, light or dark wood grain, red, gold, bronze, blue, green), frame (none, thin, thick, double, in
several metals and woods), rounded or square corners, screws or standoff caps, an emblem (none, beside the text,
above it, or on a disc standing out of any of the panel's edges, from half out to mostly clear of it, taller
than the panel or not), a colour band along any edge, up to a two-tone panel whose second colour takes more than
half of it, an inner border line, and the text colour the material calls for.

**Labelling policy** (one rule): a board's box is the whole physical board, frame, emblem and standoff caps
included, never its cast shadow. :func:`render_styled` draws the board as RGBA whose opaque pixels are exactly
the board, and always reaches all four edges of its ``w_m × h_m`` rectangle (rounded corners cut only the
corners; an emblem on a disc standing out of the panel reaches that edge of the rectangle, and the panel or the
disc reaches the other three), so the projected rectangle the
scene labels is the extent of the board's pixels. ``tests/test_synth.py`` checks both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .objects import Board, _emblem, _text_block
from .textures import low_noise

# materials a rigid board is made of: light ones carry dark text, coloured ones light (or dark) text
LIGHT_MATERIALS: tuple[str, ...] = ("white", "acrylic", "steel", "light_wood")
COLOURED_MATERIALS: tuple[str, ...] = ("red", "gold", "bronze", "dark_wood", "blue", "green")
_BASE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {  # colour range (low, high)
    "white": ((236, 236, 230), (252, 252, 250)),
    "acrylic": ((232, 238, 240), (250, 252, 254)),
    "steel": ((165, 168, 172), (215, 218, 222)),
    "light_wood": ((190, 140, 85), (228, 190, 140)),
    "red": ((160, 10, 15), (215, 45, 45)),
    "gold": ((190, 140, 45), (235, 195, 95)),
    "bronze": ((110, 72, 35), (165, 115, 60)),
    "dark_wood": ((85, 45, 20), (135, 85, 45)),
    "blue": ((20, 50, 120), (45, 90, 175)),
    "green": ((15, 90, 45), (40, 140, 80)),
}
_TEXT: dict[str, tuple[tuple[int, int, int], ...]] = {  # text colours that suit a material
    "white": ((20, 20, 22), (200, 22, 28)),
    "acrylic": ((20, 20, 22), (200, 22, 28)),
    "steel": ((20, 20, 22), (200, 22, 28), (60, 40, 20)),
    "light_wood": ((20, 20, 22), (90, 30, 10), (200, 22, 28)),
    "red": ((240, 200, 80), (250, 225, 70), (252, 252, 250)),
    "gold": ((200, 22, 28), (20, 20, 22), (110, 20, 20)),
    "bronze": ((240, 205, 120), (30, 20, 10), (250, 240, 220)),
    "dark_wood": ((240, 200, 90), (250, 245, 235)),
    "blue": ((252, 252, 250), (250, 220, 60)),
    "green": ((252, 252, 250), (250, 220, 60)),
}
_FRAME_COLOURS: tuple[tuple[int, int, int], ...] = (
    (150, 152, 156), (200, 202, 206), (170, 120, 40), (230, 190, 90), (110, 66, 34), (60, 40, 25),
    (30, 30, 32), (180, 30, 30), (120, 80, 40),
)
EMBLEMS: tuple[str, ...] = ("none", "left", "right", "top", "top_out", "left_out", "right_out", "bottom_out")
OUT_EMBLEMS: tuple[str, ...] = ("top_out", "left_out", "right_out", "bottom_out")  # on a disc out of the panel
BANDS: tuple[str, ...] = ("none", "top", "bottom", "left", "right")
_KINDS = ("official", "honour", "identity", "other")


@dataclass(frozen=True)
class Style:
    """How a board is made (see the module docstring); all drawn by :func:`random_style`."""

    material: str
    base: tuple[int, int, int]
    text_colour: tuple[int, int, int]
    frame: str  # none, thin, thick, double
    frame_colour: tuple[int, int, int]
    radius: float  # corner radius, share of the short side
    screws: int  # 0, 2, 4
    emblem: str  # one of EMBLEMS
    emblem_kind: str  # star, arcs
    inner_border: bool
    band: str  # one of BANDS
    band_colour: tuple[int, int, int]
    reflection: float  # strength of a specular streak (steel, acrylic, gold)
    shadow: float  # standoff: cast-shadow offset in metres (not part of the board)
    band_share: float = 0.18  # share of the panel the band takes (over 0.5: a two-tone panel)
    disc_out: float = 0.0  # an out emblem's disc: 0 centred on the panel's edge, 0.6 mostly clear of it
    disc_size: float = 0.0  # a disc beside the panel: its diameter / the board's height (>= 0.8: whole height)


def _colour(rng: np.random.Generator, lo: tuple[int, ...], hi: tuple[int, ...]) -> tuple[int, int, int]:
    t = float(rng.random())
    return tuple(int(a + (b - a) * t + rng.uniform(-6, 6)) for a, b in zip(lo, hi, strict=True))  # type: ignore[return-value]


def _pick(rng: np.random.Generator, items: tuple, weights: tuple[float, ...] | None = None):  # noqa: ANN202
    if weights is None:
        return items[int(rng.integers(len(items)))]
    p = np.asarray(weights, float)
    return items[int(rng.choice(len(items), p=p / p.sum()))]


def random_style(
    rng: np.random.Generator, kind: str, *, text_colour: tuple[int, int, int] | None = None,
    material: str | None = None,
) -> Style:
    """Draw a board design.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    kind : {"official", "honour", "identity", "other"}
        Official plaques keep a light material (white, acrylic, steel, light wood: the policy's white
        background in the makes it allows); honour plates are mostly red, gold or bronze; identity signboards
        nearly always carry an emblem; other boards draw from everything.
    text_colour : tuple, optional
        Force the text colour (an official plaque's red or black).
    material : str, optional
        Force the material.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    if material is None:
        if kind == "official":
            material = _pick(rng, LIGHT_MATERIALS, (0.45, 0.2, 0.25, 0.1))
        elif kind == "honour":
            material = _pick(rng, ("red", "gold", "bronze", "dark_wood", "white", "steel", "blue"),
                             (0.3, 0.2, 0.2, 0.1, 0.08, 0.07, 0.05))
        elif kind == "identity":
            material = _pick(rng, ("red", "white", "gold", "steel", "acrylic", "bronze"), (0.4, 0.25, 0.1, 0.1, 0.1, 0.05))
        else:
            material = _pick(rng, LIGHT_MATERIALS + COLOURED_MATERIALS)
    base = _colour(rng, *_BASE[material])
    tc = text_colour if text_colour is not None else _pick(rng, _TEXT[material])
    frame = _pick(rng, ("none", "thin", "thick", "double"), (0.35, 0.3, 0.2, 0.15))
    # (weights of the first five emblems as the first designs had them: other kinds draw the same designs)
    if kind == "identity":
        emblem = _pick(rng, EMBLEMS, (0.08, 0.25, 0.07, 0.1, 0.15, 0.15, 0.15, 0.05))
    elif kind == "honour":
        emblem = _pick(rng, EMBLEMS, (0.55, 0.1, 0.05, 0.2, 0.1, 0, 0, 0))
    elif kind == "official":
        emblem = "none"
    else:
        emblem = _pick(rng, EMBLEMS, (0.7, 0.1, 0.05, 0.1, 0.05, 0, 0, 0))
    band = "none"
    if kind in ("identity", "other", "honour") and rng.random() < 0.2:
        band = _pick(rng, ("top", "bottom"))
    extra = {}
    if kind == "identity":  # drawn last, so the other kinds' boards stay as they were
        if rng.random() < 0.3:  # a two-tone panel: a second colour along any edge, up to most of the panel
            band = _pick(rng, BANDS[1:])
            extra["band_share"] = float(rng.uniform(0.25, 0.65))
        extra["disc_out"] = float(rng.uniform(0.0, 0.6)) if emblem in OUT_EMBLEMS else 0.0
        extra["disc_size"] = float(rng.uniform(0.6, 1.0)) if emblem in ("left_out", "right_out") else 0.0
    return Style(
        material=material,
        base=base,
        text_colour=tuple(int(c) for c in tc),  # type: ignore[arg-type]
        frame=frame,
        frame_colour=_pick(rng, _FRAME_COLOURS),
        radius=float(_pick(rng, (0.0, 0.0, 0.03, 0.08, 0.15))),
        screws=int(_pick(rng, (0, 0, 0, 2, 4, 4))),
        emblem=emblem,
        emblem_kind=_pick(rng, ("star", "arcs")),
        inner_border=bool(rng.random() < (0.5 if kind == "honour" else 0.15)),
        band=band,
        band_colour=_pick(rng, ((200, 22, 28), (30, 70, 160), (214, 170, 80), (250, 250, 248))),
        reflection=float(rng.uniform(0.3, 1.0)) if material in ("steel", "acrylic", "gold", "bronze") else 0.0,
        shadow=float(rng.uniform(0.0, 0.03)),
        **extra,
    )


def random_aspect(rng: np.random.Generator, lo: float = 1 / 8, hi: float = 6.0) -> float:
    """Width / height, log-uniform between a tall strip (``lo``) and a wide plate (``hi``)."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _material(style: Style, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Base texture of the board face (float32 RGB)."""
    arr = np.empty((h, w, 3), np.float32)
    arr[:] = style.base
    m = style.material
    if m in ("light_wood", "dark_wood"):
        yy = np.arange(h, dtype=np.float32)[:, None]
        warp = low_noise(rng, h, w, 4) * rng.uniform(3, 12)
        period = max(2.0, min(h, w) * rng.uniform(0.04, 0.12))
        grain = np.sin((yy + warp) / period * 2 * math.pi) * 0.5 + low_noise(rng, h, w, 20) * 0.5
        arr *= (1 + 0.12 * grain)[..., None]
    elif m == "steel":  # brushed: streaks along the long side, blurred
        streak = rng.normal(0, 1, (h, 1) if w >= h else (1, w)).astype(np.float32)
        arr += (np.broadcast_to(streak, (h, w)) * 6)[..., None]
        arr += rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    elif m in ("gold", "bronze"):  # metallic gradient
        t = np.abs(np.linspace(-1, 1, w, dtype=np.float32))[None, :] ** 0.8
        arr *= (1.08 - 0.22 * t)[..., None]
    elif m == "acrylic":
        arr *= (1 - 0.03 * np.linspace(0, 1, h, dtype=np.float32))[:, None, None]
    else:
        arr *= (1 + 0.03 * low_noise(rng, h, w, 3))[..., None]
    if style.reflection > 0:  # a specular streak across the board (steel, acrylic, metal)
        yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        slope, off, width = rng.uniform(-1.5, 1.5), rng.uniform(-0.3, 1.3), rng.uniform(0.01, 0.06)
        streak = np.exp(-((xx + slope * yy - off) ** 2) / width)
        arr += 90 * style.reflection * streak[..., None]
    return arr


def _bevel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], width: int,
           colour: tuple[int, int, int], radius: int) -> None:
    """A frame as a stroke with a lighter top-left and a darker bottom-right."""
    x0, y0, x1, y1 = box
    light = tuple(min(255, int(c * 1.3) + 20) for c in colour)
    dark = tuple(int(c * 0.6) for c in colour)
    draw.rounded_rectangle((x0, y0, x1, y1), radius=radius, outline=colour, width=width)
    if width >= 3:
        edge = max(1, width // 3)
        draw.line((x0 + radius, y0, x1 - radius, y0), fill=light, width=edge)
        draw.line((x0, y0 + radius, x0, y1 - radius), fill=light, width=edge)
        draw.line((x0 + radius, y1, x1 - radius, y1), fill=dark, width=edge)
        draw.line((x1, y0 + radius, x1, y1 - radius), fill=dark, width=edge)


def _panel_and_disc(style: Style, w: int, h: int) -> tuple[tuple[int, int, int, int], tuple[float, float, float] | None]:
    """The panel's rectangle (inclusive pixels) within the board's ``w × h`` and the emblem disc standing out of
    it (centre x, y and radius), or None. Together they reach all four edges of the board: the disc the edge it
    stands out of (a disc beside the panel may be taller than the panel), the panel, or the disc, the others."""
    out = style.emblem
    if out in ("top_out", "bottom_out") and h > w * 0.25 and min(w, h) >= 8:
        r = max(3, int(min(w * 0.16, h * 0.22)))
        cut = int(r * (1 + style.disc_out))  # the panel starts this far in from the disc's side
        cx = w // 2
        if out == "top_out":
            return (0, cut, w - 1, h - 1), (cx, r, r)
        return (0, 0, w - 1, h - 1 - cut), (cx, h - 1 - r, r)
    if out in ("left_out", "right_out") and w > h * 1.2 and min(w, h) >= 8:
        size = style.disc_size or 0.7
        if size >= 0.8 and w * 0.2 >= h / 2:  # a disc the board's height beside a lower panel (50–80 % of it)
            r = (h - 1) / 2
            ph = int(h * (0.5 + 1.5 * (size - 0.8)))
        else:  # a disc within the panel's height
            r = max(3.0, min(h * size / 2, w * 0.2))
            ph = h
        ph = max(3, min(h, ph))
        y0 = (h - ph) // 2
        cy = (h - 1) / 2
        cut = int(r * (1 + style.disc_out))
        if out == "left_out":
            return (cut, y0, w - 1, y0 + ph - 1), (r, cy, min(r, (h - 1) / 2))
        return (0, y0, w - 1 - cut, y0 + ph - 1), (w - 1 - r, cy, min(r, (h - 1) / 2))
    return (0, 0, w - 1, h - 1), None


def render_styled(board: Board, style: Style, ppm: float, rng: np.random.Generator) -> Image.Image:
    """Draw a board of a randomised design at ``ppm`` pixels per metre.

    Returns
    -------
    PIL.Image.Image
        RGBA image of size ``round(w_m * ppm) × round(h_m * ppm)``: opaque exactly where the board is. Its
        opaque pixels reach all four edges (see the labelling policy in the module docstring).
    """
    w = max(3, int(round(board.w_m * ppm)))
    h = max(3, int(round(board.h_m * ppm)))
    short = min(w, h)
    (px0, py0, px1, py1), disc = _panel_and_disc(style, w, h)
    pw, ph = px1 - px0 + 1, py1 - py0 + 1
    radius = int(style.radius * min(pw, ph))
    alpha = Image.new("L", (w, h), 0)
    ad = ImageDraw.Draw(alpha)
    ad.rounded_rectangle((px0, py0, px1, py1), radius=radius, fill=255)
    if disc:
        cx, cy, r = disc
        ad.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    arr = _material(style, h, w, rng)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    tc = style.text_colour
    # frame
    fpx = 0
    small = min(pw, ph) < 16  # too small for decorations: material, frame line and text only
    if style.frame != "none":
        fpx = max(1, min(int(short * (0.02 if style.frame == "thin" else 0.05)), min(pw, ph) // 4))
        _bevel(draw, (px0, py0, px1, py1), fpx, style.frame_colour, radius)
        if style.frame == "double" and not small:
            gap = fpx + max(1, int(short * 0.02))
            draw.rounded_rectangle((px0 + gap, py0 + gap, px1 - gap, py1 - gap), radius=max(0, radius - gap),
                                   outline=style.frame_colour, width=max(1, fpx // 2))
            fpx = gap + max(1, fpx // 2)
    if disc:
        cx, cy, r = disc
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=style.frame_colour if style.frame != "none"
                     else style.base)
        ring = (cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85)
        draw.ellipse(ring, fill=style.band_colour if style.band_colour != style.base else (200, 22, 28))
        _emblem(draw, cx, cy, r * 0.7, (250, 215, 80), style.emblem_kind)
    ix0, iy0, ix1, iy1 = px0 + fpx, py0 + fpx, px1 + 1 - fpx, py1 + 1 - fpx
    if disc:  # the text keeps clear of the disc where it overlaps the panel
        cx, cy, r = disc
        if style.emblem == "left_out":
            ix0 = max(ix0, int(cx + r) + 1)
        elif style.emblem == "right_out":
            ix1 = min(ix1, int(cx - r))
        elif style.emblem == "top_out":
            iy0 = max(iy0, int(cy + r) + 1)
        else:
            iy1 = min(iy1, int(cy - r))
    if style.inner_border and not small:
        inset = max(1, int(short * 0.06))
        draw.rectangle((ix0 + inset, iy0 + inset, ix1 - inset, iy1 - inset), outline=tc,
                       width=max(1, inset // 4))
        ix0, iy0, ix1, iy1 = ix0 + inset, iy0 + inset, ix1 - inset, iy1 - inset
    iw, ih = max(1, ix1 - ix0), max(1, iy1 - iy0)
    # colour band along an edge (a two-tone panel when it is wide)
    if style.band != "none" and ih > 8 and iw > 4:
        if style.band in ("top", "bottom"):
            bh = max(2, int(ih * style.band_share))
            by0 = iy0 if style.band == "top" else iy1 - bh
            draw.rectangle((ix0, by0, ix1, by0 + bh), fill=style.band_colour)
            iy0, iy1 = (iy0 + bh, iy1) if style.band == "top" else (iy0, iy1 - bh)
        else:
            bw = max(2, int(iw * style.band_share))
            bx0 = ix0 if style.band == "left" else ix1 - bw
            draw.rectangle((bx0, iy0, bx0 + bw, iy1), fill=style.band_colour)
            ix0, ix1 = (ix0 + bw, ix1) if style.band == "left" else (ix0, ix1 - bw)
        iw, ih = max(1, ix1 - ix0), max(1, iy1 - iy0)
    # emblem beside or above the text
    if style.emblem in ("left", "right", "top") and not small:
        if style.emblem == "top" or board.vertical:
            r = min(iw, ih) * 0.22
            _emblem(draw, (ix0 + ix1) / 2, iy0 + r * 1.3, r, tc, style.emblem_kind)
            iy0 = int(iy0 + r * 2.6)
        else:
            r = min(ih * 0.34, iw * 0.15)
            cx = ix0 + r * 1.4 if style.emblem == "left" else ix1 - r * 1.4
            _emblem(draw, cx, (iy0 + iy1) / 2, r, tc, style.emblem_kind)
            if style.emblem == "left":
                ix0 = int(ix0 + r * 2.8)
            else:
                ix1 = int(ix1 - r * 2.8)
        iw, ih = max(1, ix1 - ix0), max(1, iy1 - iy0)
    # text: main lines (columns when vertical) and small sub-lines below
    n_sub = len(board.sub_lines)
    main_share = 0.72 if n_sub else 1.0
    if board.vertical:
        mx, my = iw * 0.1, ih * 0.05
        n = len(board.lines)
        for k, line in enumerate(board.lines):
            cx0 = ix0 + mx + (iw - 2 * mx) * k / n
            cx1 = ix0 + mx + (iw - 2 * mx) * (k + 1) / n
            _text_block(draw, line, (cx0, iy0 + my, cx1, iy0 + (ih - my) * main_share), board.face, tc, True)
    else:
        mx, my = iw * 0.07, ih * 0.12
        n = len(board.lines)
        top, bottom = iy0 + my, iy0 + my + (ih - 2 * my) * main_share
        for k, line in enumerate(board.lines):
            y0 = top + (bottom - top) * k / n
            y1 = top + (bottom - top) * (k + 1) / n
            _text_block(draw, line, (ix0 + mx, y0, ix1 - mx, y1), board.face, tc, False)
    if n_sub and not board.vertical:
        for k, line in enumerate(board.sub_lines):
            y0 = iy0 + ih * (0.74 + 0.12 * k)
            _text_block(draw, line, (ix0 + iw * 0.35, y0, ix1 - iw * 0.08, y0 + ih * 0.1), board.face, tc, False)
    # screws or standoff caps
    if style.screws and short >= 12:
        s = max(1, int(short * 0.035))
        inset = max(s + 1, int(short * 0.07)) + radius // 3
        pts = [(px0 + inset, py0 + inset), (px1 - inset, py1 - inset)]
        if style.screws == 4:
            pts += [(px1 - inset, py0 + inset), (px0 + inset, py1 - inset)]
        cap = (205, 207, 210) if style.material != "steel" else (235, 236, 238)
        for x, y in pts:
            draw.ellipse((x - s, y - s, x + s, y + s), fill=cap, outline=(90, 90, 95))
    out = img.convert("RGBA")
    out.putalpha(alpha)
    return out


def soft_shadow(alpha: np.ndarray, blur_px: float) -> np.ndarray:
    """A soft shadow mask in [0, 1] from a board's alpha (cast on the wall, never part of the board's box)."""
    a = alpha.astype(np.float32) / 255.0
    if blur_px >= 0.5:
        a = cv2.GaussianBlur(a, (0, 0), blur_px)
    return a
