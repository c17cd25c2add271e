"""Physical boards drawn flat (wall-plane pixels): plaques, identity signboards, honours, posters, banners."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from audit.signs.fonts import FontFace, font, has_bitmap_strike

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 22, 28),
    "black": (20, 20, 22),
    "gold": (226, 178, 60),
    "white": (250, 250, 248),
    "blue": (24, 60, 150),
    "yellow": (250, 220, 60),
    "green": (20, 110, 60),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (246, 246, 242),
    "pale_yellow": (240, 226, 170),
    "pale_blue": (200, 220, 240),
    "wood": (196, 150, 100),
    "red": (184, 20, 26),
    "gold": (214, 170, 80),
    "blue": (30, 70, 160),
    "green": (30, 120, 70),
}
FRAMES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "wood": ((110, 66, 34), (150, 98, 56)),
    "stainless": ((150, 152, 156), (228, 230, 232)),
    "gold": ((170, 120, 40), (246, 214, 120)),
}


@dataclass
class Board:
    """A rigid board to draw.

    Attributes
    ----------
    w_m, h_m : float
        Physical size in metres (frame included).
    background : str
        Key of ``BACKGROUNDS``.
    lines : list of str
        Text lines (one line per column when ``vertical``).
    text_colour : str
        Key of ``COLOURS``.
    face : FontFace
        Font face of the main text.
    vertical : bool
        Characters stacked top to bottom.
    frame : str
        ``"none"`` or a key of ``FRAMES``.
    design : str
        ``"plain"``, ``"service_centre"``, ``"civilisation"``, ``"honour"``, ``"doorplate"``.
    sub_lines : list of str
        Small lines at the bottom (honour issuer and year) or the top (village name of identity signs).
    style : designs.Style, optional
        A randomised design (material, frame, emblem, screws...); ``None`` for the fixed designs above.
    """

    w_m: float
    h_m: float
    background: str
    lines: list[str]
    text_colour: str
    face: FontFace
    vertical: bool = False
    frame: str = "none"
    design: str = "plain"
    sub_lines: tuple[str, ...] = ()
    style: object | None = None  # a randomised design (``designs.Style``), drawn by ``designs.render_styled``


def _gradient(
    w: int, h: int, c0: tuple[int, int, int], c1: tuple[int, int, int], vertical: bool
) -> np.ndarray:
    n = h if vertical else w
    t = np.abs(np.linspace(-1, 1, max(n, 1), dtype=np.float32)) ** 0.7
    col = np.asarray(c1, np.float32)[None] * (1 - t[:, None]) + np.asarray(c0, np.float32)[None] * t[:, None]
    if vertical:
        return np.broadcast_to(col[:, None, :], (h, w, 3))
    return np.broadcast_to(col[None, :, :], (h, w, 3))


def _text_block(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: tuple[float, float, float, float],
    face: FontFace,
    fill: tuple[int, int, int],
    vertical: bool,
    max_size: float | None = None,
) -> None:
    """Draw one line (or one column) of text centred in a box, evenly spaced."""
    x0, y0, x1, y1 = box
    n = max(1, len(text))
    bw, bh = max(1.0, x1 - x0), max(1.0, y1 - y0)
    if vertical:
        size = min(bw * 0.78, bh / n * 0.92)
    else:
        size = min(bh * 0.8, bw / n * 0.95)
    if max_size is not None:
        size = min(size, max_size)
    size = int(max(4, size))
    f = font(face, size)
    # a size the font holds a screen bitmap for is drawn four times larger and shrunk, as a camera sees a board
    big = font(face, 4 * size) if has_bitmap_strike(face, size) else None
    pitch = (bh if vertical else bw) / n
    if not vertical:  # horizontal text is set solid (1.12 em), centred
        pitch = min(pitch, size * 1.12)
        x0 = (x0 + x1) / 2 - pitch * n / 2
    for i, ch in enumerate(text):
        if vertical:
            cx, cy = (x0 + x1) / 2, y0 + pitch * (i + 0.5)
        else:
            cx, cy = x0 + pitch * (i + 0.5), (y0 + y1) / 2
        if big is None:
            draw.text((cx, cy), ch, font=f, fill=fill, anchor="mm")
            continue
        mask = Image.new("L", (8 * size, 8 * size), 0)
        ImageDraw.Draw(mask).text((4 * size, 4 * size), ch, font=big, fill=255, anchor="mm")
        draw.bitmap((round(cx - size), round(cy - size)), mask.resize((2 * size, 2 * size), Image.BOX), fill=fill)


def _emblem(
    draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, colour: tuple[int, int, int], kind: str
) -> None:
    """A procedural emblem (not any official artwork): rings with a star or arcs."""
    width = max(1, int(r * 0.12))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=width)
    if kind == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = r * (0.62 if k % 2 == 0 else 0.26)
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        draw.polygon(pts, fill=colour)
    else:
        for k in range(3):
            rr = r * (0.35 + 0.18 * k)
            draw.arc(
                (cx - rr, cy - rr * 0.8, cx + rr, cy + rr * 0.8),
                200 + 20 * k,
                340 - 10 * k,
                fill=colour,
                width=width,
            )
        draw.ellipse((cx - r * 0.15, cy + r * 0.2, cx + r * 0.15, cy + r * 0.5), fill=colour)


def render_board(board: Board, ppm: float, rng: np.random.Generator) -> Image.Image:
    """Draw a board at ``ppm`` pixels per metre.

    Parameters
    ----------
    board : Board
        What to draw.
    ppm : float
        Pixels per metre of the wall plane.
    rng : numpy.random.Generator
        Source of randomness (wear, sheen).

    Returns
    -------
    PIL.Image.Image
        RGB image of size ``round(w_m * ppm) × round(h_m * ppm)``.
    """
    w = max(3, int(round(board.w_m * ppm)))
    h = max(3, int(round(board.h_m * ppm)))
    bg = np.asarray(BACKGROUNDS[board.background], np.float32)
    arr = np.empty((h, w, 3), np.float32)
    arr[:] = bg
    if board.background in ("gold",):
        arr[:] = _gradient(w, h, (170, 128, 50), (236, 200, 110), vertical=False)
    # sheen: a soft diagonal highlight
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    sheen = np.exp(-((xx + yy * rng.uniform(0.3, 1.0) - rng.uniform(0.2, 1.2)) ** 2) / 0.05)
    arr = arr * (1 - 0.04 * rng.random()) + 12 * rng.random() * sheen[..., None]
    fpx = 0
    if board.frame != "none":
        fpx = max(1, int(round(rng.uniform(0.012, 0.03) * ppm)))
        c0, c1 = FRAMES[board.frame]
        side = _gradient(w, h, c0, c1, vertical=True)
        top = _gradient(w, h, c0, c1, vertical=False)
        arr[:fpx] = top[:fpx]
        arr[-fpx:] = top[-fpx:]
        arr[:, :fpx] = side[:, :fpx]
        arr[:, -fpx:] = side[:, -fpx:]
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    tc = COLOURS[board.text_colour]
    ix0, iy0, ix1, iy1 = fpx, fpx, w - fpx, h - fpx
    iw, ih = ix1 - ix0, iy1 - iy0
    if board.design in ("service_centre", "civilisation"):
        r = ih * 0.32
        kind = "star" if board.design == "service_centre" else "arcs"
        _emblem(draw, ix0 + ih * 0.5, (iy0 + iy1) / 2, r, tc, kind)
        tx0 = ix0 + ih * 0.95
        if board.sub_lines:
            _text_block(
                draw,
                board.sub_lines[0],
                (tx0, iy0 + ih * 0.08, ix1 - iw * 0.05, iy0 + ih * 0.32),
                board.face,
                tc,
                False,
                max_size=ih * 0.2,
            )
            _text_block(
                draw,
                board.lines[0],
                (tx0, iy0 + ih * 0.34, ix1 - iw * 0.04, iy1 - ih * 0.1),
                board.face,
                tc,
                False,
            )
        else:
            _text_block(
                draw,
                board.lines[0],
                (tx0, iy0 + ih * 0.15, ix1 - iw * 0.04, iy1 - ih * 0.15),
                board.face,
                tc,
                False,
            )
        return img
    if board.design == "honour":
        inset = max(1, int(min(iw, ih) * 0.05))
        draw.rectangle(
            (ix0 + inset, iy0 + inset, ix1 - inset, iy1 - inset), outline=tc, width=max(1, inset // 3)
        )
        main_bottom = iy0 + ih * (0.66 if board.sub_lines else 0.85)
        n = len(board.lines)
        for k, line in enumerate(board.lines):
            y0 = iy0 + ih * 0.15 + (main_bottom - iy0 - ih * 0.15) * k / n
            y1 = iy0 + ih * 0.15 + (main_bottom - iy0 - ih * 0.15) * (k + 1) / n
            _text_block(draw, line, (ix0 + iw * 0.1, y0, ix1 - iw * 0.1, y1), board.face, tc, False)
        for k, line in enumerate(board.sub_lines):
            y0 = main_bottom + ih * 0.02 + k * ih * 0.1
            _text_block(
                draw, line, (ix0 + iw * 0.45, y0, ix1 - iw * 0.1, y0 + ih * 0.09), board.face, tc, False
            )
        return img
    # plain plaques, strips and door plates
    if board.vertical:
        mx, my = iw * 0.12, ih * 0.06
        ncol = len(board.lines)
        for k, line in enumerate(board.lines):
            cx0 = ix0 + mx + (iw - 2 * mx) * k / ncol
            cx1 = ix0 + mx + (iw - 2 * mx) * (k + 1) / ncol
            _text_block(draw, line, (cx0, iy0 + my, cx1, iy1 - my), board.face, tc, True)
    else:
        mx, my = iw * 0.08, ih * 0.14
        nl = len(board.lines)
        for k, line in enumerate(board.lines):
            y0 = iy0 + my + (ih - 2 * my) * k / nl
            y1 = iy0 + my + (ih - 2 * my) * (k + 1) / nl
            _text_block(draw, line, (ix0 + mx, y0, ix1 - mx, y1), board.face, tc, False)
    return img


def render_banner(w: int, h: int, text: str, face: FontFace, rng: np.random.Generator) -> Image.Image:
    """A red cloth banner with yellow/white text and folds (never labelled)."""
    arr = np.empty((h, w, 3), np.float32)
    arr[:] = (rng.uniform(170, 210), rng.uniform(10, 40), rng.uniform(20, 40))
    xs = np.linspace(0, rng.uniform(6, 14) * math.pi, w, dtype=np.float32)
    folds = 1 + 0.12 * np.sin(xs + rng.uniform(0, 6))[None, :, None] * np.linspace(1, 0.3, h)[:, None, None]
    arr = arr * folds
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    colour = COLOURS["yellow"] if rng.random() < 0.6 else COLOURS["white"]
    _text_block(d, text, (w * 0.05, h * 0.1, w * 0.95, h * 0.9), face, colour, False)
    return img


def render_poster(w: int, h: int, text: str, face: FontFace, rng: np.random.Generator) -> Image.Image:
    """A paper poster: colour blocks, a title and lines of small text (never labelled)."""
    base = rng.uniform(150, 255, 3)
    img = Image.new("RGB", (max(2, w), max(2, h)), tuple(int(c) for c in base))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        d.rectangle(
            (x0, y0, x0 + rng.uniform(0.2, 0.8) * w, y0 + rng.uniform(0.1, 0.4) * h),
            fill=tuple(int(c) for c in rng.uniform(0, 255, 3)),
        )
    _text_block(d, text[:8], (w * 0.05, h * 0.05, w * 0.95, h * 0.22), face, COLOURS["red"], False)
    for k in range(int(rng.integers(3, 9))):
        y = h * (0.3 + 0.07 * k)
        if y < h * 0.95:
            d.line((w * 0.1, y, w * rng.uniform(0.5, 0.9), y), fill=(40, 40, 40), width=max(1, h // 80))
    return img


def render_notice_board(w: int, h: int, title: str, face: FontFace, rng: np.random.Generator) -> Image.Image:
    """A glass-fronted notice board with papers pinned inside and a reflection (never labelled)."""
    img = Image.new("RGB", (max(2, w), max(2, h)), (160, 164, 170))
    d = ImageDraw.Draw(img)
    f = max(2, int(min(w, h) * 0.04))
    inner_col = tuple(int(c) for c in rng.choice([[30, 60, 140], [170, 30, 30], [230, 230, 225]]))
    d.rectangle((f, f, w - f, h - f), fill=inner_col)
    _text_block(
        d,
        title,
        (w * 0.2, f, w * 0.8, h * 0.16),
        face,
        COLOURS["yellow"] if inner_col[0] < 200 else COLOURS["red"],
        False,
    )
    for _ in range(int(rng.integers(3, 8))):
        pw, ph = rng.uniform(0.12, 0.22) * w, rng.uniform(0.25, 0.4) * h
        x0, y0 = (
            rng.uniform(f * 2, max(f * 2 + 1, w - pw - f * 2)),
            rng.uniform(h * 0.2, max(h * 0.2 + 1, h - ph - f)),
        )
        d.rectangle((x0, y0, x0 + pw, y0 + ph), fill=(245, 245, 240))
        for k in range(int(ph // max(3, ph / 12))):
            y = y0 + 4 + k * ph / 12
            if y < y0 + ph - 3:
                d.line((x0 + pw * 0.1, y, x0 + pw * 0.9, y), fill=(60, 60, 60), width=1)
    arr = np.asarray(img, np.float32)
    xx = np.linspace(0, 1, arr.shape[1], dtype=np.float32)[None, :]
    yy = np.linspace(0, 1, arr.shape[0], dtype=np.float32)[:, None]
    refl = np.exp(-((xx - yy * 0.5 - rng.uniform(0, 1)) ** 2) / 0.02)
    arr = arr * 0.85 + 60 * refl[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
