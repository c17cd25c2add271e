"""Scene composition: a facade (or a hall wall) in metric wall-plane coordinates, seen by a phone camera.

The wall plane is drawn flat on a canvas (pixels per metre chosen from the camera), then warped with the
camera homography; people, vehicles and trees are drawn in image space in front of it. Every rigid board
hung on the centre is projected through the same homography, which gives the boxes of the labels.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

from audit.signs.detect import CLASS_NAMES
from audit.signs.fonts import FontFace, faces_for

from . import catalogue as cat
from . import designs as ds
from .objects import Board, render_banner, render_board, render_notice_board, render_poster
from .textures import HELD_OUT_WALLS, TRAIN_WALLS, foliage, low_noise, wall

WHITE_LIKE = ("white", "pale_yellow", "pale_blue", "wood")
MIN_VISIBLE = 0.3  # a board less visible than this (cut by the border or hidden) is not labelled
MIN_BOX_PX = 4.0
ASPECTS = ((4, 3), (16, 9), (3, 2), (20, 9))


@dataclass
class Placed:
    """A board (or distractor) placed on the wall plane; ``x, y`` are the bottom-left corner in metres."""

    x: float
    y: float
    w: float
    h: float
    board: Board | None = None
    truth: dict[str, Any] = field(default_factory=dict)
    image: Image.Image | None = None  # pre-rendered distractor


@dataclass
class Scene:
    """A generated photo with its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        ``H × W × 3`` uint8 RGB (before JPEG compression).
    truth : dict
        JSON-serialisable ground truth (see :func:`generate_scene`).
    """

    image: np.ndarray
    truth: dict[str, Any]
    masks: np.ndarray | None = None  # board index + 1 per pixel (``with_masks=True``), 0 elsewhere

    @property
    def jpeg_quality(self) -> int:
        """JPEG quality the scene is saved with."""
        return int(self.truth["jpeg_quality"])

    def jpeg_bytes(self) -> bytes:
        """The photo as JPEG bytes (deterministic)."""
        buf = io.BytesIO()
        Image.fromarray(self.image).save(buf, format="JPEG", quality=self.jpeg_quality, optimize=False)
        return buf.getvalue()

    def yolo_lines(self) -> list[str]:
        """YOLO label lines ``cls cx cy w h`` (normalised) for the labelled boards."""
        w, h = self.truth["image"]["width"], self.truth["image"]["height"]
        out = []
        for p in self.truth["plaques"]:
            if not p["labelled"]:
                continue
            x1, y1, x2, y2 = p["box"]
            out.append(
                f"{p['yolo_class']} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} "
                f"{(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
            )
        return out


def write_scene(
    scene: Scene,
    out_dir: Path | str,
    stem: str,
    *,
    label_dir: Path | str | None = None,
    json_dir: Path | str | None = None,
) -> tuple[Path, Path, Path]:
    """Write ``stem.jpg``, ``stem.txt`` (YOLO labels) and ``stem.json`` (ground truth).

    Parameters
    ----------
    scene : Scene
        Generated scene.
    out_dir : path
        Folder of the JPEG (and of the other files unless given).
    stem : str
        File name without extension.
    label_dir, json_dir : path, optional
        Folders of the label and JSON files.

    Returns
    -------
    (jpg, txt, json) paths
    """
    out_dir = Path(out_dir)
    label_dir = Path(label_dir) if label_dir is not None else out_dir
    json_dir = Path(json_dir) if json_dir is not None else out_dir
    for d in (out_dir, label_dir, json_dir):
        d.mkdir(parents=True, exist_ok=True)
    jpg, txt, js = out_dir / f"{stem}.jpg", label_dir / f"{stem}.txt", json_dir / f"{stem}.json"
    jpg.write_bytes(scene.jpeg_bytes())
    lines = scene.yolo_lines()
    txt.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    js.write_text(json.dumps(scene.truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return jpg, txt, js


# ----------------------------------------------------------------------------------------------- helpers
def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _chance(rng: np.random.Generator, p: float) -> bool:
    return bool(rng.random() < p)


def _split_lines(text: str, max_len: int) -> list[str]:
    if len(text) <= max_len:
        return [text]
    k = math.ceil(len(text) / 2)
    return [text[:k], text[k:]]


def _visual_class(board: Board) -> int:
    if board.design in ("service_centre", "civilisation"):
        return 2
    style = board.style
    if isinstance(style, ds.Style):  # randomised design: light material -> strip/plaque by shape, else honour
        if board.design == "honour" or style.material not in ds.LIGHT_MATERIALS:
            return 3
        return 0 if board.vertical and board.h_m >= 2.5 * board.w_m else 1
    if board.design == "honour" or board.background not in WHITE_LIKE:
        return 3
    if board.vertical and board.h_m >= 2.5 * board.w_m:
        return 0
    return 1


def _shape_name(board: Board) -> str:
    if board.design in ("service_centre", "civilisation"):
        return "signboard"
    if board.vertical and board.h_m >= 2.5 * board.w_m:
        return "vertical_strip"
    if abs(board.w_m - 0.6) < 0.03 and abs(board.h_m - 0.4) < 0.03:
        return "plaque"
    return "other"


class _Layout:
    """Occupied rectangles of the wall plane, for placing things without overlap."""

    def __init__(self) -> None:
        self.rects: list[tuple[float, float, float, float]] = []

    def free(self, x: float, y: float, w: float, h: float, pad: float = 0.1) -> bool:
        return all(
            x + w + pad <= a or a + c + pad <= x or y + h + pad <= b or b + d + pad <= y
            for a, b, c, d in self.rects
        )

    def add(self, x: float, y: float, w: float, h: float) -> None:
        self.rects.append((x, y, w, h))

    def place(
        self,
        rng: np.random.Generator,
        w: float,
        h: float,
        xr: tuple[float, float],
        yr: tuple[float, float],
        tries: int = 12,
    ) -> tuple[float, float] | None:
        for _ in range(tries):
            if xr[1] - w <= xr[0] or yr[1] < yr[0]:
                return None
            x, y = _u(rng, xr[0], xr[1] - w), _u(rng, yr[0], yr[1])
            if self.free(x, y, w, h):
                self.add(x, y, w, h)
                return x, y
        return None


# ------------------------------------------------------------------------------------------ the boards
@dataclass
class _Ctx:
    rng: np.random.Generator
    village: str
    held_out: bool
    side: str
    township: str = "城关镇"
    randomise: bool = False

    def face(self, typeface: str) -> FontFace:
        return cat.pick(self.rng, faces_for(typeface, self.held_out))


def _frame(rng: np.random.Generator) -> str:
    return cat.pick(rng, ("none", "wood", "stainless", "stainless", "gold", "gold"))


def _official_board(ctx: _Ctx, spec: cat.PlaqueSpec, mode: str, misplaced: bool) -> tuple[Board, dict]:
    """A plaque of the rules list in the scene's style, with occasional style violations."""
    rng = ctx.rng
    pattern = spec.patterns[0] if _chance(rng, 0.6) else cat.pick(rng, spec.patterns)
    text = cat.fill(pattern, ctx.village, ctx.township)
    colour = spec.text_colour or "black"
    typeface, background = "song", "white"
    violations: list[str] = ["misplaced"] if misplaced else []
    if mode == "strip":
        w, h, vertical = _u(rng, 0.30, 0.40), _u(rng, 1.8, 2.5), True
    else:
        w, h, vertical = 0.6, 0.4, False
    if _chance(rng, 0.3):
        kinds = ["text_colour", "typeface", "background", "size", "shape"]
        for v in rng.choice(kinds, size=int(rng.integers(1, 3)), replace=False).tolist():
            violations.append(str(v))
            if v == "text_colour":
                colour = "black" if colour == "red" else cat.pick(rng, ("red", "red", "blue"))
            elif v == "typeface":
                typeface = "hei"
            elif v == "background":
                background = cat.pick(rng, ("pale_yellow", "pale_blue", "wood"))
            elif v == "size":
                if mode == "strip":
                    w, h = (
                        (_u(rng, 0.2, 0.26), _u(rng, 1.2, 1.6))
                        if _chance(rng, 0.5)
                        else (_u(rng, 0.45, 0.55), _u(rng, 2.7, 3.0))
                    )
                else:
                    w, h = (0.45, 0.3) if _chance(rng, 0.5) else (0.9, 0.6)
            elif v == "shape":
                if mode == "strip":
                    w, h, vertical = (_u(rng, 0.7, 1.0), _u(rng, 0.45, 0.6), False)
                else:
                    w, h, vertical = _u(rng, 0.3, 0.4), _u(rng, 1.8, 2.2), True
    lines = [text] if vertical else _split_lines(text, 7)
    board = Board(w, h, background, lines, colour, ctx.face(typeface), vertical, _frame(rng))
    if ctx.randomise:
        _restyle_official(ctx, board, text, background)
    return board, {
        "type": spec.id,
        "text": text,
        "text_colour": colour,
        "typeface": typeface,
        "background": background,
        "violations": violations,
    }


def _identity_board(ctx: _Ctx, spec: cat.PlaqueSpec) -> tuple[Board, dict]:
    rng = ctx.rng
    pattern = cat.pick(rng, spec.patterns)
    text = cat.fill(pattern, ctx.village, ctx.township)
    main = text.replace(ctx.village, "")
    sub = (ctx.village,) if ctx.village in text else ()
    if ctx.randomise:
        return _random_identity(ctx, spec, text, main, sub)
    if spec.id == "service_centre_sign":
        design, bg, colour = "service_centre", "red", cat.pick(rng, ("gold", "yellow", "white"))
    else:
        design = "civilisation"
        bg, colour = ("white", "red") if _chance(rng, 0.5) else ("red", "yellow")
    w = _u(rng, 2.4, 4.6)
    h = min(_u(rng, 0.45, 0.85), w / 3.2)
    board = Board(
        w,
        h,
        bg,
        [main],
        colour,
        ctx.face("song" if _chance(rng, 0.5) else "hei"),
        False,
        cat.pick(rng, ("none", "stainless", "gold")),
        design,
        sub,
    )
    return board, {
        "type": spec.id,
        "text": text,
        "text_colour": colour,
        "typeface": "n/a",
        "background": bg,
        "violations": [],
    }


def _unauthorised_board(ctx: _Ctx, mode: str) -> tuple[Board, dict]:
    rng = ctx.rng
    text = cat.fill(cat.pick(rng, cat.UNAUTHORISED_TEMPLATES), ctx.village)
    if _chance(rng, 0.3):  # coloured board
        bg = cat.pick(rng, ("blue", "green", "red", "wood"))
        colour = "yellow" if bg == "red" else ("white" if bg != "wood" else "black")
        w, h = _u(rng, 0.6, 1.2), _u(rng, 0.4, 0.8)
        board = Board(
            w,
            h,
            bg,
            _split_lines(text, 8),
            colour,
            ctx.face(cat.pick(rng, ("song", "hei"))),
            False,
            _frame(rng),
        )
    else:
        colour = cat.pick(rng, ("black", "black", "red"))
        if mode == "strip":
            board = Board(
                _u(rng, 0.28, 0.42),
                _u(rng, 1.6, 2.5),
                "white",
                [text],
                colour,
                ctx.face(cat.pick(rng, ("song", "song", "hei"))),
                True,
                _frame(rng),
            )
        else:
            board = Board(
                0.6,
                0.4,
                "white",
                _split_lines(text, 7),
                colour,
                ctx.face(cat.pick(rng, ("song", "song", "hei"))),
                False,
                _frame(rng),
            )
    if ctx.randomise and _chance(rng, 0.6):
        _restyle_other(ctx, board, text)
    return board, {
        "type": "other_sign",
        "text": text,
        "text_colour": colour,
        "typeface": board.face.typeface,
        "background": board.background,
        "violations": ["unauthorised"],
    }


def _honour_board(ctx: _Ctx, w: float, h: float, violation: bool) -> tuple[Board, dict]:
    rng = ctx.rng
    title = cat.pick(rng, cat.HONOUR_TEXTS)
    issuer = cat.pick(rng, cat.HONOUR_ISSUERS)
    year = cat.pick(rng, cat.HONOUR_YEARS)
    bg, colour = cat.pick(
        rng,
        (
            ("red", "gold"),
            ("red", "yellow"),
            ("gold", "red"),
            ("gold", "black"),
            ("wood", "gold"),
            ("white", "red"),
        ),
    )
    board = Board(
        w,
        h,
        bg,
        _split_lines(title, 6),
        colour,
        ctx.face(cat.pick(rng, ("song", "hei"))),
        False,
        cat.pick(rng, ("gold", "wood", "none")),
        "honour",
        (issuer, year),
    )
    if ctx.randomise:
        _restyle_honour(ctx, board, title)
    text = f"{title} {issuer} {year}"
    return board, {
        "type": "other_sign",
        "text": text,
        "text_colour": colour,
        "typeface": board.face.typeface,
        "background": bg,
        "violations": ["honour"] if violation else [],
    }


def _allowed_internal_board(ctx: _Ctx) -> tuple[Board, dict]:
    rng = ctx.rng
    text = cat.pick(rng, cat.ALLOWED_INTERNAL_SIGNS)
    if text.endswith("室"):
        bg, colour = cat.pick(rng, (("white", "black"), ("blue", "white"), ("wood", "black")))
        board = Board(
            _u(rng, 0.3, 0.45),
            _u(rng, 0.1, 0.16),
            bg,
            [text],
            colour,
            ctx.face("hei"),
            False,
            cat.pick(rng, ("none", "stainless")),
            "doorplate",
        )
    else:
        bg, colour = cat.pick(rng, (("red", "yellow"), ("blue", "white"), ("red", "white")))
        w = _u(rng, 0.8, 1.5)
        board = Board(
            w,
            w * _u(rng, 1.1, 1.5),
            bg,
            [text],
            colour,
            ctx.face("hei"),
            False,
            cat.pick(rng, ("none", "stainless")),
            "honour",
            (),
        )
    if ctx.randomise and _chance(rng, 0.5):
        _restyle_other(ctx, board, text)
    return board, {
        "type": "other_sign",
        "text": text,
        "text_colour": colour,
        "typeface": board.face.typeface,
        "background": bg,
        "violations": [],
    }



# ------------------------------------------------------------------- randomised designs (issue 13)
def _lines(rng: np.random.Generator, text: str, max_lines: int = 3) -> list[str]:
    """Split a text into 1..max_lines lines of about equal length."""
    n = min(max_lines, max(1, len(text) // 2), int(rng.integers(1, max_lines + 1)))
    k = math.ceil(len(text) / n)
    return [text[i : i + k] for i in range(0, len(text), k)] or [text]


def _restyle_official(ctx: _Ctx, board: Board, text: str, background: str) -> None:
    """An official plaque in one of the makes the policy allows (white, acrylic, steel, light wood)."""
    from dataclasses import replace

    from .objects import BACKGROUNDS, COLOURS

    rng = ctx.rng
    style = ds.random_style(rng, "official", text_colour=COLOURS[board.text_colour])
    if background != "white":  # a background violation keeps its colour
        style = replace(style, material="white", base=BACKGROUNDS[background], reflection=0.0)
    board.style = style
    if board.vertical:
        board.lines = [text] if len(text) < 8 or _chance(rng, 0.8) else _lines(rng, text, 2)
    else:
        board.lines = _lines(rng, text, 3)


def _random_identity(ctx: _Ctx, spec: cat.PlaqueSpec, text: str, main: str, sub: tuple[str, ...]) -> tuple[Board, dict]:
    """An identity signboard of a randomised design: emblem and frame nearly always, any proportion."""
    rng = ctx.rng
    design = "service_centre" if spec.id == "service_centre_sign" else "civilisation"
    style = ds.random_style(rng, "identity")
    face = ctx.face("song" if _chance(rng, 0.5) else "hei")
    if _chance(rng, 0.2):  # a vertical identity sign beside the door
        w = _u(rng, 0.45, 0.9)
        h = w * _u(rng, 3.0, 6.0)
        board = Board(w, h, "red", [text], "gold", face, True, "none", design, (), style)
    else:
        w = _u(rng, 1.2, 6.0)
        h = max(0.3, w / _u(rng, 2.5, 9.0))
        if style.emblem in ("top_out", "bottom_out"):
            h *= 1.25  # the emblem's disc stands above or below the panel
        elif style.emblem in ("left_out", "right_out"):
            w += h * style.disc_size  # the disc stands beside the panel
        lines = [text] if _chance(rng, 0.3) else [main]
        board = Board(w, h, "red", lines, "gold", face, False, "none", design,
                      sub if lines == [main] else (), style)
    return board, {
        "type": spec.id,
        "text": text,
        "text_colour": "n/a",
        "typeface": "n/a",
        "background": style.material,
        "violations": [],
    }


def _restyle_honour(ctx: _Ctx, board: Board, title: str) -> None:
    """An honour plate of a randomised design (gold on red or bronze, frames, emblems, proportions)."""
    rng = ctx.rng
    board.style = ds.random_style(rng, "honour")
    board.vertical = board.h_m > 1.6 * board.w_m
    board.lines = [title] if board.vertical else _lines(rng, title, 3)
    if board.vertical or _chance(rng, 0.3):
        board.sub_lines = ()


def _restyle_other(ctx: _Ctx, board: Board, text: str) -> None:
    """Another rigid board (an unauthorised sign, an allowed notice) of any design."""
    rng = ctx.rng
    board.style = ds.random_style(rng, "other")
    board.lines = [text] if board.vertical else _lines(rng, text, 3)


def _free_board(ctx: _Ctx) -> tuple[Board, dict]:
    """A rigid board of any proportion and design hung anywhere (labelled: every rigid board on the centre is)."""
    rng = ctx.rng
    honour = _chance(rng, 0.5)
    text = cat.pick(rng, cat.HONOUR_TEXTS) if honour else cat.fill(cat.pick(rng, cat.UNAUTHORISED_TEMPLATES), ctx.village)
    aspect = ds.random_aspect(rng)
    area = math.exp(_u(rng, math.log(0.08), math.log(1.5)))
    w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
    style = ds.random_style(rng, "honour" if honour else "other")
    vertical = h > 1.6 * w
    face = ctx.face(cat.pick(rng, ("song", "hei")))
    lines = [text] if vertical else _lines(rng, text, 3)
    board = Board(w, h, "white", lines, "black", face, vertical, "none", "honour" if honour else "plain", (), style)
    return board, {
        "type": "other_sign",
        "text": text,
        "text_colour": "n/a",
        "typeface": face.typeface,
        "background": style.material,
        "violations": ["honour"] if honour else ["unauthorised"],
    }


def _painted_slogan(w: int, h: int, text: str, face: FontFace, rng: np.random.Generator) -> Image.Image:
    """Characters painted straight on the wall (no board: never labelled), RGBA."""
    img = Image.new("RGBA", (max(2, w), max(2, h)), (0, 0, 0, 0))
    colour = cat.pick(rng, ((200, 22, 28), (30, 30, 30), (30, 70, 160)))
    from .objects import _text_block

    _text_block(ImageDraw.Draw(img), text, (0, 0, w, h), face, (*colour, 255), False)  # type: ignore[arg-type]
    return img


def _random_negatives(ctx: _Ctx, layout: _Layout, distractors: list[Placed], width: float, top: float) -> None:
    """More unlabelled look-alikes: posters, vertical banners, notice boards, painted slogans."""
    rng = ctx.rng
    face = ctx.face("hei")
    for _ in range(int(rng.integers(0, 4))):
        kind = cat.pick(rng, ("poster", "poster", "banner_v", "notice_board", "slogan"))
        if kind == "poster":
            w, h = _u(rng, 0.4, 1.2), _u(rng, 0.5, 1.4)
            img_fn = lambda w, h: render_poster(int(w * 100), int(h * 100), cat.pick(rng, cat.BANNER_TEXTS), face, rng)  # noqa: E731
        elif kind == "banner_v":
            w, h = _u(rng, 0.5, 0.9), _u(rng, 2.0, 3.5)
            img_fn = lambda w, h: render_banner(int(h * 60), int(w * 60), cat.pick(rng, cat.BANNER_TEXTS), face,  # noqa: E731
                                                rng).rotate(90, expand=True)
        elif kind == "notice_board":
            w, h = _u(rng, 1.0, 2.6), _u(rng, 0.8, 1.4)
            img_fn = lambda w, h: render_notice_board(int(w * 60), int(h * 60), "村务公开栏", face, rng)  # noqa: E731
        else:
            text = cat.pick(rng, cat.BANNER_TEXTS)
            h = _u(rng, 0.3, 0.7)
            w = h * len(text) * 1.1
            img_fn = lambda w, h, text=text: _painted_slogan(int(w * 80), int(h * 80), text, face, rng)  # noqa: E731
        spot = layout.place(rng, w, h, (0.1, width - 0.1), (0.3, max(0.31, top - h)))
        if spot:
            distractors.append(Placed(*spot, w, h, truth={"kind": kind}, image=img_fn(w, h)))

# --------------------------------------------------------------------------------------------- layout
def _row_beside_door(
    ctx: _Ctx, layout: _Layout, items: list[tuple[Board, dict]], door_x0: float, door_x1: float, mode: str
) -> list[Placed]:
    """Hang boards in a row (strips) or stacked columns (60×40 plaques) on both sides of a door."""
    rng = ctx.rng
    placed: list[Placed] = []
    one_side = len(items) <= 2 or _chance(rng, 0.35)
    left_side = _chance(rng, 0.5)
    sides = {True: [], False: []}
    for i, it in enumerate(items):
        sides[left_side if one_side else (i % 2 == 0)].append(it)
    for is_left, its in sides.items():
        if not its:
            continue
        gap = _u(rng, 0.06, 0.3)
        edge = door_x0 - _u(rng, 0.25, 0.6) if is_left else door_x1 + _u(rng, 0.25, 0.6)
        if mode == "strip":
            base = _u(rng, 0.35, 0.9)
            for b, t in its:
                x = edge - b.w_m if is_left else edge
                y = base + _u(rng, -0.02, 0.02) if b.vertical else base + _u(rng, 0.8, 1.2)
                placed.append(Placed(x, y, b.w_m, b.h_m, b, t))
                layout.add(x, y, b.w_m, b.h_m)
                edge = x - gap if is_left else x + b.w_m + gap
        else:
            per_col = int(rng.integers(2, 4))
            top = _u(rng, 2.2, 2.7)
            for k in range(0, len(its), per_col):
                col = its[k : k + per_col]
                cw = max(b.w_m for b, _ in col)
                yy = top
                for b, t in col:
                    x = (edge - cw + (cw - b.w_m) / 2) if is_left else edge + (cw - b.w_m) / 2
                    y = yy - b.h_m
                    placed.append(Placed(x, y, b.w_m, b.h_m, b, t))
                    layout.add(x, y, b.w_m, b.h_m)
                    yy = y - _u(rng, 0.08, 0.2)
                edge = edge - cw - gap if is_left else edge + cw + gap
    return placed


def _honour_cluster(
    ctx: _Ctx, layout: _Layout, n: int, xr: tuple[float, float], yr: tuple[float, float], violation: bool
) -> list[Placed]:
    rng = ctx.rng
    w, h = (0.6, 0.4) if _chance(rng, 0.6) else (_u(rng, 0.7, 0.9), _u(rng, 0.45, 0.6))
    if ctx.randomise and _chance(rng, 0.6):  # any proportion, from a tall honour strip to a wide plate
        aspect = ds.random_aspect(rng, 0.2, 3.5)
        area = _u(rng, 0.1, 0.7)
        w, h = math.sqrt(area * aspect), math.sqrt(area / aspect)
    cols = min(n, int(rng.integers(1, 4)))
    rows = math.ceil(n / cols)
    gx, gy = _u(rng, 0.05, 0.2), _u(rng, 0.05, 0.2)
    spot = layout.place(rng, cols * (w + gx), rows * (h + gy), xr, yr)
    if spot is None:
        return []
    out = []
    for k in range(n):
        r, c = divmod(k, cols)
        b, t = _honour_board(ctx, w, h, violation)
        out.append(Placed(spot[0] + c * (w + gx), spot[1] + (rows - 1 - r) * (h + gy), w, h, b, t))
    return out


# ---------------------------------------------------------------------------------------------- camera
@dataclass
class _Camera:
    width: int
    height: int
    f: float
    yaw: float
    pitch: float
    roll: float
    dist: float
    tx: float
    ty: float

    def world_h(self) -> np.ndarray:
        """Homography from wall-plane metres (x right, y up) to image pixels."""
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        cp, sp = math.cos(self.pitch), math.sin(self.pitch)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
        r = rz @ rx @ ry
        m = np.stack([r[:, 0], r[:, 1], np.array([0.0, 0.0, self.dist])], axis=1)
        k = np.array([[self.f, 0, self.width / 2], [0, self.f, self.height / 2], [0, 0, 1]])
        # wall (x, y) -> camera-centred plane coordinates (x - tx, -(y - ty))
        a = np.array([[1.0, 0, -self.tx], [0, -1.0, self.ty], [0, 0, 1]])
        return k @ m @ a


def _project(hm: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.c_[pts, np.ones(len(pts))] @ hm.T
    return p[:, :2] / p[:, 2:3]


# ----------------------------------------------------------------------------------------------- scene
def generate_scene(
    seed: int,
    *,
    long_side: int = 640,
    held_out: bool = False,
    side: str | None = None,
    vocabulary_path: Path | None = None,
    with_masks: bool = False,
    randomise: bool = False,
) -> Scene:
    """Generate one synthetic photo of a service centre's facade (or of a hall inside it).

    Parameters
    ----------
    seed : int
        Seed; the same seed and arguments give the same image bytes and truth.
    long_side : int
        Long side of the photo in pixels (640 for training, 4000 for a 12-MP benchmark).
    held_out : bool
        Use the held-out village names, wall textures and fonts (never used with ``held_out=False``).
    side : {"external", "internal"}, optional
        Force the side; by default 80 % external.
    vocabulary_path : Path, optional
        The generator's vocabulary of official names (default ``audit/model/synth/vocabulary.toml``).
    with_masks : bool
        Also return ``Scene.masks``: the projected region of each board (index in ``truth["plaques"]``
        plus one), before occluders; for tests of the boxes.
    randomise : bool
        Domain randomisation (:mod:`audit.model.synth.designs`): boards of randomised designs (materials,
        frames, emblems, screws, proportions, 1–3 lines), honour plates and identity signboards of many
        makes, boards hung anywhere, more unlabelled look-alikes (posters, vertical banners, notice boards,
        painted slogans), soft standoff shadows, poles and cables in front. ``False`` gives the first
        generator's scenes, byte for byte.

    Returns
    -------
    Scene
        Image and truth. ``truth["plaques"]`` lists every rigid board hung on the centre with ``type`` (rules
        id or ``other_sign``), ``text``, ``text_colour``, ``typeface``, ``font``, ``shape``, ``size_cm``,
        ``violations``, ``box`` ``[x1, y1, x2, y2]`` (pixels, clipped to the image), ``yolo_class``,
        ``class_name``, ``visible`` (fraction) and ``labelled``.
    """
    rng = np.random.default_rng(seed)
    specs, townships = cat.load_catalogue(vocabulary_path)
    if side is None:
        side = "internal" if _chance(rng, 0.2) else "external"
    if side not in ("external", "internal"):
        raise ValueError(f"side must be 'external' or 'internal', not {side!r}")
    village = cat.pick(rng, cat.HELD_OUT_VILLAGES if held_out else cat.TRAIN_VILLAGES)
    ctx = _Ctx(rng, village, held_out, side, randomise=randomise)
    # the township from the village's name, not the random stream: a scene's other draws stay as they were
    ctx.township = townships[sum(map(ord, village)) % len(townships)]
    walls = HELD_OUT_WALLS if held_out else TRAIN_WALLS

    # photo geometry
    aw, ah = cat.pick(rng, ASPECTS)
    portrait = _chance(rng, 0.5)
    short = int(round(long_side * ah / aw))
    width, height = (short, long_side) if portrait else (long_side, short)

    layout = _Layout()
    placed: list[Placed] = []
    distractors: list[Placed] = []
    if side == "external":
        scene = _external(ctx, specs, layout, placed, distractors, walls)
    else:
        scene = _internal(ctx, specs, layout, placed, distractors, walls)

    # camera: aim at the boards
    boards = [
        p for p in placed if p.truth.get("type") not in ("service_centre_sign", "civilisation_station_sign")
    ]
    focus = boards or placed
    gx0 = min(p.x for p in focus)
    gx1 = max(p.x + p.w for p in focus)
    gy0 = min(p.y for p in focus)
    gy1 = max(p.y + p.h for p in focus)
    hfov = math.radians(_u(rng, 62, 78))
    f = (max(width, height) / 2) / math.tan(hfov / 2)
    if _chance(rng, 0.5):
        view = (gx1 - gx0 + 0.6) * _u(rng, 1.0, 1.7)
        tx = (gx0 + gx1) / 2 + _u(rng, -0.15, 0.15) * view
    else:
        view = math.exp(_u(rng, math.log(2.5), math.log(14.0)))
        tx = _u(rng, gx0, gx1)
    view = max(view, 1.5)
    ty = _u(rng, gy0, gy1) if _chance(rng, 0.7) else _u(rng, 0.8, 3.0)
    dist = view * f / width
    yaw = math.radians(float(np.clip(rng.normal(0, 18), -40, 40)))
    pitch = math.radians(_u(rng, -6, 14))
    roll = math.radians(_u(rng, -3, 3))
    cam = _Camera(width, height, f, yaw, pitch, roll, dist, tx, ty)
    hw = cam.world_h()

    # the wall-plane region the photo sees
    corners = _project(np.linalg.inv(hw), np.array([[0, 0], [width, 0], [0, height], [width, height]], float))
    span = max(view, 2.0)
    x0 = float(np.clip(corners[:, 0].min(), tx - 5 * span, tx)) - 0.2
    x1 = float(np.clip(corners[:, 0].max(), tx, tx + 5 * span)) + 0.2
    y0 = float(np.clip(corners[:, 1].min(), ty - 4 * span, ty)) - 0.2
    y1 = float(np.clip(corners[:, 1].max(), ty, ty + 4 * span)) + 0.2
    ppm = 1.25 * f / dist
    cap = 3.0 * width * height
    ppm = min(ppm, math.sqrt(cap / ((x1 - x0) * (y1 - y0))))
    cw, ch = max(8, int(math.ceil((x1 - x0) * ppm))), max(8, int(math.ceil((y1 - y0) * ppm)))
    canvas = scene(x0, y1, ppm, cw, ch)

    def to_px(x: float, y: float) -> tuple[int, int]:
        return int(round((x - x0) * ppm)), int(round((y1 - y) * ppm))

    # shadows under boards, then the boards and distractors
    sun = (_u(rng, -0.5, 0.5), _u(rng, 0.2, 0.6))
    light = cat.pick(rng, ("sun", "sun", "overcast", "overcast", "dusk")) if side == "external" else "indoor"
    for p in distractors + placed:
        u0, v0 = to_px(p.x, p.y + p.h)
        u1, v1 = to_px(p.x + p.w, p.y)
        if u1 - u0 < 1 or v1 - v0 < 1:
            continue
        style = p.board.style if p.board is not None else None
        if p.board is not None and isinstance(style, ds.Style):
            img = ds.render_styled(p.board, style, ppm, rng)
            img = img.resize((u1 - u0, v1 - v0)) if img.size != (u1 - u0, v1 - v0) else img
            alpha = np.asarray(img.getchannel("A"))
            k = 0.72 if light == "sun" else _u(rng, 0.75, 0.92)
            off = style.shadow * ppm * (1.5 if light == "sun" else 1.0)
            du, dv = int(round(off * (sun[0] if light == "sun" else 0.3))), int(round(off))
            _shadow(canvas, alpha, u0 + du, v0 + dv, k, blur=max(0.5, off * 0.5))
            p.truth["_alpha"] = alpha
        elif p.board is not None:
            if light == "sun":
                du, dv = int(sun[0] * 0.04 * ppm), int(sun[1] * 0.04 * ppm)
                _paste_mul(canvas, u0 + du, v0 + dv, u1 - u0, v1 - v0, 0.72)
            img = render_board(p.board, ppm, rng)
        else:
            img = p.image
        _paste(canvas, img.resize((u1 - u0, v1 - v0)) if img.size != (u1 - u0, v1 - v0) else img, u0, v0)
        p.truth["_canvas"] = (u0, v0, u1, v1)

    if light == "sun":
        _sun_shadows(canvas, rng, to_px, scene.eave_y, ppm)

    # camera warp: canvas pixels -> wall metres -> image
    a = np.array([[1 / ppm, 0, x0], [0, -1 / ppm, y1], [0, 0, 1]])
    hc = hw @ a
    img = cv2.warpPerspective(
        canvas, hc, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    img = img.astype(np.float32)
    masks = None
    if with_masks:
        ids = np.zeros((ch, cw), np.uint16)
        for k, p in enumerate(placed):
            u0, v0, u1, v1 = p.truth.get("_canvas", (0, 0, 0, 0))
            alpha = p.truth.get("_alpha")
            if alpha is None:
                ids[max(0, v0) : max(0, v1), max(0, u0) : max(0, u1)] = k + 1
                continue
            a0, b0 = max(0, v0), max(0, u0)
            a1, b1 = min(ch, v1), min(cw, u1)
            if a1 > a0 and b1 > b0:
                region = ids[a0:a1, b0:b1]
                region[alpha[a0 - v0 : a1 - v0, b0 - u0 : b1 - u0] > 0] = k + 1
        masks = cv2.warpPerspective(
            ids, hc, (width, height), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
    occl = np.zeros((height, width), bool)
    occluders = _occluders(img, occl, rng, cam, hw, side, ctx)

    img = _lighting(img, rng, light)
    img = _camera_effects(img, rng, long_side)

    # truth
    truths = []
    for p in placed:
        u0, v0, u1, v1 = p.truth.pop("_canvas", (0, 0, 0, 0))
        alpha = p.truth.pop("_alpha", None)
        quad = _project(hc, np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]], float))
        if alpha is not None and (alpha > 0).any():  # the board's own outline (rounded corners, emblem disc)
            quad = _project(hc, _outline(alpha) + [u0, v0])
        bx1, by1 = quad.min(axis=0)
        bx2, by2 = quad.max(axis=0)
        full = max(1e-6, (bx2 - bx1) * (by2 - by1))
        cx1, cy1 = float(np.clip(bx1, 0, width)), float(np.clip(by1, 0, height))
        cx2, cy2 = float(np.clip(bx2, 0, width)), float(np.clip(by2, 0, height))
        cx1, cy1, cx2, cy2 = (round(v, 2) for v in (cx1, cy1, cx2, cy2))
        area = max(0.0, cx2 - cx1) * max(0.0, cy2 - cy1)
        hidden = 0.0
        if area > 0:
            sub = occl[int(cy1) : int(math.ceil(cy2)), int(cx1) : int(math.ceil(cx2))]
            hidden = float(sub.mean()) if sub.size else 0.0
        visible = area / full * (1 - hidden)
        labelled = bool(visible >= MIN_VISIBLE and cx2 - cx1 >= MIN_BOX_PX and cy2 - cy1 >= MIN_BOX_PX)
        b = p.board
        assert b is not None
        cls = _visual_class(b)
        t = dict(p.truth)
        t.update(
            {
                "font": b.face.name,
                "shape": _shape_name(b),
                "size_cm": [round(b.w_m * 100, 1), round(b.h_m * 100, 1)],
                "frame": b.frame,
                **({"design": _design_truth(b.style)} if isinstance(b.style, ds.Style) else {}),
                "box": [cx1, cy1, cx2, cy2],
                "yolo_class": cls,
                "class_name": CLASS_NAMES[cls],
                "visible": round(visible, 3),
                "labelled": labelled,
            }
        )
        truths.append(t)
    truth = {
        "seed": int(seed),
        "generator": "audit.model.synth v2 (randomised)" if randomise else "audit.model.synth v1",
        "split": "held_out" if held_out else "train",
        "side": side,
        "village": village,
        "township": ctx.township,
        "wall": scene.wall_kind,
        "lighting": light,
        "image": {"width": width, "height": height},
        "camera": {
            "yaw_deg": round(math.degrees(yaw), 2),
            "pitch_deg": round(math.degrees(pitch), 2),
            "roll_deg": round(math.degrees(roll), 2),
            "distance_m": round(dist, 2),
            "view_width_m": round(view, 2),
        },
        "jpeg_quality": int(rng.integers(40, 96)),
        "classes": list(CLASS_NAMES),
        "plaques": truths,
        "unlabelled_objects": [p.truth.get("kind", "") for p in distractors] + occluders,
    }
    return Scene(np.clip(img, 0, 255).astype(np.uint8), truth, masks)


# ---------------------------------------------------------------------------------------- canvas ops
def _paste(canvas: np.ndarray, img: Image.Image, u0: int, v0: int) -> None:
    rgba = img.mode == "RGBA"
    arr = np.asarray(img.convert("RGBA") if rgba else img.convert("RGB"))
    h, w = arr.shape[:2]
    ch, cw = canvas.shape[:2]
    a0, b0 = max(0, v0), max(0, u0)
    a1, b1 = min(ch, v0 + h), min(cw, u0 + w)
    if a1 <= a0 or b1 <= b0:
        return
    src = arr[a0 - v0 : a1 - v0, b0 - u0 : b1 - u0]
    if rgba:
        a = src[..., 3:4].astype(np.float32) / 255.0
        dst = canvas[a0:a1, b0:b1].astype(np.float32)
        canvas[a0:a1, b0:b1] = (src[..., :3] * a + dst * (1 - a)).astype(canvas.dtype)
    else:
        canvas[a0:a1, b0:b1] = src


def _shadow(canvas: np.ndarray, alpha: np.ndarray, u0: int, v0: int, k: float, blur: float) -> None:
    """Darken the wall under a board's soft cast shadow (its alpha, offset and blurred)."""
    pad = int(math.ceil(blur * 2))
    a = np.pad(alpha, pad)
    m = ds.soft_shadow(a, blur)
    u0, v0 = u0 - pad, v0 - pad
    h, w = m.shape
    ch, cw = canvas.shape[:2]
    a0, b0, a1, b1 = max(0, v0), max(0, u0), min(ch, v0 + h), min(cw, u0 + w)
    if a1 > a0 and b1 > b0:
        sub = m[a0 - v0 : a1 - v0, b0 - u0 : b1 - u0, None]
        canvas[a0:a1, b0:b1] = (canvas[a0:a1, b0:b1] * (1 - (1 - k) * sub)).astype(canvas.dtype)


def _outline(alpha: np.ndarray) -> np.ndarray:
    """Corners of the boundary pixels of a board's opaque region (pixel-edge coordinates)."""
    cnts, _ = cv2.findContours((alpha > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    pts = np.concatenate([c.reshape(-1, 2) for c in cnts]).astype(float)
    return np.concatenate([pts, pts + [1, 0], pts + [0, 1], pts + [1, 1]])


def _design_truth(style: ds.Style) -> dict[str, Any]:
    return {"material": style.material, "frame": style.frame, "emblem": style.emblem, "screws": style.screws,
            "band": style.band, "corner_radius": style.radius}


def _paste_mul(canvas: np.ndarray, u0: int, v0: int, w: int, h: int, k: float) -> None:
    ch, cw = canvas.shape[:2]
    a0, b0, a1, b1 = max(0, v0), max(0, u0), min(ch, v0 + h), min(cw, u0 + w)
    if a1 > a0 and b1 > b0:
        canvas[a0:a1, b0:b1] = (canvas[a0:a1, b0:b1] * k).astype(canvas.dtype)


def _fill(canvas: np.ndarray, to_px: Any, x0: float, y0: float, x1: float, y1: float, colour: Any) -> None:
    u0, v0 = to_px(x0, y1)
    u1, v1 = to_px(x1, y0)
    ch, cw = canvas.shape[:2]
    a0, b0, a1, b1 = max(0, v0), max(0, u0), min(ch, v1), min(cw, u1)
    if a1 > a0 and b1 > b0:
        if isinstance(colour, np.ndarray) and colour.ndim == 3:
            canvas[a0:a1, b0:b1] = colour[: a1 - a0, : b1 - b0]
        else:
            canvas[a0:a1, b0:b1] = colour


def _sun_shadows(canvas: np.ndarray, rng: np.random.Generator, to_px: Any, eave_y: float, ppm: float) -> None:
    """Hard-sun shadows: a slanted eave shadow and dappled tree shadows."""
    ch, cw = canvas.shape[:2]
    _, v_eave = to_px(0, eave_y)
    depth = _u(rng, 0.2, 1.5) * ppm
    slope = _u(rng, -0.6, 0.6)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    mask = (yy > v_eave) & (yy < v_eave + depth + slope * (xx - cw / 2))
    if _chance(rng, 0.4):
        n = low_noise(rng, ch, cw, 14)
        blob = (n > 0.45) & (xx > _u(rng, 0, cw)) & (xx < _u(rng, 0, cw) + cw * 0.5)
        mask |= blob
    canvas[mask] = (canvas[mask] * _u(rng, 0.5, 0.7)).astype(canvas.dtype)


class _SceneFn:
    """Callable that draws the static wall plane once the camera region is known."""

    def __init__(self, draw: Any, wall_kind: str, eave_y: float) -> None:
        self.draw = draw
        self.wall_kind = wall_kind
        self.eave_y = eave_y

    def __call__(self, x0: float, y1: float, ppm: float, cw: int, ch: int) -> np.ndarray:
        return self.draw(x0, y1, ppm, cw, ch)


def _external(
    ctx: _Ctx,
    specs: tuple[cat.PlaqueSpec, ...],
    layout: _Layout,
    placed: list[Placed],
    distractors: list[Placed],
    walls: tuple[str, ...],
) -> _SceneFn:
    rng = ctx.rng
    wall_kind = cat.pick(rng, walls)
    storeys = 1 if _chance(rng, 0.6) else 2
    storey_h = _u(rng, 3.2, 3.9)
    eave = storeys * storey_h
    door_w, door_h = _u(rng, 1.6, 3.0), _u(rng, 2.4, 2.8)
    mode = "strip" if _chance(rng, 0.72) else "plaque"

    items: list[tuple[Board, dict]] = []
    external = [s for s in specs if s.placement == "external" and not s.identity_sign]
    for s in external:
        if _chance(rng, 0.85):
            items.append(_official_board(ctx, s, mode, False))
    internal = [s for s in specs if s.placement == "internal" and not s.identity_sign]
    if internal and _chance(rng, 0.1):
        items.append(_official_board(ctx, cat.pick(rng, internal), mode, True))
    for _ in range(cat.pick(rng, (0, 0, 1, 1, 2, 3))):
        items.append(_unauthorised_board(ctx, mode))
    if len(items) > 1:
        order = rng.permutation(len(items)) if _chance(rng, 0.5) else np.arange(len(items))
        items = [items[int(i)] for i in order]
    row_w = sum(b.w_m for b, _ in items) + 0.3 * len(items)
    door_x0 = row_w + 1.0 + _u(rng, 0.0, 5.0)
    width = door_x0 + door_w + row_w + 1.0 + _u(rng, 0.0, 5.0)
    door_x1 = door_x0 + door_w
    layout.add(door_x0 - 0.1, 0, door_w + 0.2, door_h + 0.1)
    placed += _row_beside_door(ctx, layout, items, door_x0, door_x1, mode)

    # identity signboards above the door / elsewhere on the facade
    ids = {s.id: s for s in specs if s.identity_sign}
    sign_top = eave - 0.15
    for key, p_have in (("service_centre_sign", 0.85), ("civilisation_station_sign", 0.55)):
        if key in ids and _chance(rng, p_have):
            b, t = _identity_board(ctx, ids[key])
            yr = (door_h + 0.1, max(door_h + 0.1, sign_top - b.h_m))
            cx = (door_x0 + door_x1) / 2
            spot = None
            if layout.free(cx - b.w_m / 2, yr[0], b.w_m, b.h_m):
                spot = (cx - b.w_m / 2, _u(rng, *yr))
                layout.add(spot[0], spot[1], b.w_m, b.h_m)
            else:
                spot = layout.place(rng, b.w_m, b.h_m, (0.2, width - 0.2), (door_h - 0.6, yr[1]))
            if spot is not None:
                placed.append(Placed(spot[0], spot[1], b.w_m, b.h_m, b, t))
    n_h = cat.pick(rng, (0, 0, 0, 1, 2, 3, 4))
    if n_h:
        placed += _honour_cluster(ctx, layout, n_h, (0.2, width - 0.2), (1.0, min(eave - 1.2, 2.4)), True)
    if ctx.randomise:
        for _ in range(int(rng.integers(0, 3))):
            b, t = _free_board(ctx)
            spot = layout.place(rng, b.w_m, b.h_m, (0.2, width - 0.2), (0.4, max(0.41, eave - b.h_m - 0.2)))
            if spot:
                placed.append(Placed(*spot, b.w_m, b.h_m, b, t))

    # distractors: notice board, posters, banner
    face_any = ctx.face("hei")
    if _chance(rng, 0.4):
        w, h = _u(rng, 1.5, 2.6), _u(rng, 1.0, 1.3)
        spot = layout.place(rng, w, h, (0.2, width - 0.2), (0.7, 1.0))
        if spot:
            distractors.append(
                Placed(
                    *spot,
                    w,
                    h,
                    truth={"kind": "notice_board"},
                    image=render_notice_board(int(w * 60), int(h * 60), "村务公开栏", face_any, rng),
                )
            )
    for _ in range(int(rng.integers(0, 3))):
        w, h = _u(rng, 0.4, 0.6), _u(rng, 0.6, 0.9)
        spot = layout.place(rng, w, h, (0.2, width - 0.2), (0.8, 1.4))
        if spot:
            distractors.append(
                Placed(
                    *spot,
                    w,
                    h,
                    truth={"kind": "poster"},
                    image=render_poster(
                        int(w * 120), int(h * 120), cat.pick(rng, cat.BANNER_TEXTS), face_any, rng
                    ),
                )
            )
    if _chance(rng, 0.35):
        w, h = _u(rng, 3.0, 8.0), _u(rng, 0.5, 0.9)
        spot = layout.place(rng, w, h, (0.1, width - 0.1), (door_h + 0.1, max(door_h + 0.2, eave - h - 0.2)))
        if spot:
            distractors.append(
                Placed(
                    *spot,
                    w,
                    h,
                    truth={"kind": "banner"},
                    image=render_banner(
                        int(w * 60), int(h * 60), cat.pick(rng, cat.BANNER_TEXTS), face_any, rng
                    ),
                )
            )
    if ctx.randomise:
        _random_negatives(ctx, layout, distractors, width, eave - 0.2)
    # windows in the free spots of the ground floor, and on upper floors
    windows: list[tuple[float, float, float, float]] = []
    for _ in range(6):
        w, h = _u(rng, 1.0, 2.2), _u(rng, 1.2, 1.7)
        spot = layout.place(rng, w, h, (0.3, width - 0.3), (0.85, 1.0), tries=4)
        if spot:
            windows.append((spot[0], spot[1], w, h))
    for s in range(1, storeys):
        n = int(width // 3)
        for k in range(n):
            windows.append((0.6 + k * (width - 0.6) / n, s * storey_h + 0.9, _u(rng, 1.2, 1.8), 1.5))

    # neighbours and ground
    nb_kind = cat.pick(rng, TRAIN_WALLS + HELD_OUT_WALLS if False else walls)
    nb_h = [_u(rng, 3.0, 8.0), _u(rng, 3.0, 8.0)]
    shop = [None, None]
    for i in range(2):
        if _chance(rng, 0.6):
            w, h = _u(rng, 2.5, 5.0), _u(rng, 0.6, 1.0)
            bg = cat.pick(rng, ((200, 30, 30), (30, 70, 170), (250, 250, 245), (240, 200, 40), (20, 130, 70)))
            shop[i] = (w, h, bg, cat.pick(rng, cat.SHOP_TEXTS))
    gap = [_u(rng, 0.0, 2.0), _u(rng, 0.0, 2.0)]
    roof_col = np.asarray(
        cat.pick(rng, ((90, 90, 95), (140, 60, 40), (60, 70, 80), (200, 200, 195))), np.float32
    )
    fascia = _u(rng, 0.25, 0.6)
    steps = int(rng.integers(0, 4))
    sky = cat.pick(rng, ("blue", "grey", "dusk"))
    frame_col = np.asarray(cat.pick(rng, ((60, 60, 64), (180, 180, 184), (120, 80, 50))), np.float32)
    door_col = np.asarray(cat.pick(rng, ((40, 50, 60), (120, 80, 50), (90, 110, 120))), np.float32)
    draw_seed = int(rng.integers(2**31))

    def draw(x0: float, y1: float, ppm: float, cw: int, ch: int) -> np.ndarray:
        r = np.random.default_rng(draw_seed)
        canvas = np.empty((ch, cw, 3), np.uint8)

        def to_px(x: float, y: float) -> tuple[int, int]:
            return int(round((x - x0) * ppm)), int(round((y1 - y) * ppm))

        t = np.linspace(0, 1, ch, dtype=np.float32)[:, None, None]
        top, bot = {
            "blue": ((90, 140, 210), (200, 220, 240)),
            "grey": ((170, 175, 180), (215, 215, 215)),
            "dusk": ((70, 80, 130), (240, 170, 110)),
        }[sky]
        canvas[:] = (np.asarray(top) * (1 - t) + np.asarray(bot) * t).astype(np.uint8)
        y0w = y1 - ch / ppm
        x1w = x0 + cw / ppm
        # neighbours
        for i, (nx0, nx1) in enumerate(((x0 - 1, -gap[0]), (width + gap[1], x1w + 1))):
            if nx1 <= nx0:
                continue
            _fill(canvas, to_px, nx0, 0, nx1, nb_h[i], (150, 150, 150))
            u0, v0 = to_px(nx0, nb_h[i])
            u1, v1 = to_px(nx1, 0)
            u0, v0, u1, v1 = max(0, u0), max(0, v0), min(cw, u1), min(ch, v1)
            if u1 > u0 and v1 > v0:
                tex = wall(nb_kind if i == 0 else cat.pick(r, walls), v1 - v0, u1 - u0, ppm, r)
                canvas[v0:v1, u0:u1] = (tex * _u(r, 0.75, 1.05)).clip(0, 255).astype(np.uint8)
            if shop[i] is not None:
                w, h, bg, text = shop[i]
                sx = nx1 - w - 0.3 if i == 0 else nx0 + 0.3
                sb = Board(w, h, "white", [text], "black", face_any)
                img = render_board(sb, ppm, r)
                arr = np.asarray(img, np.float32)
                arr = np.where(arr.mean(axis=2, keepdims=True) > 200, np.asarray(bg, np.float32), arr)
                if bg[0] < 240 or bg[1] < 240:
                    arr = np.where(arr.mean(axis=2, keepdims=True) < 60, 250.0, arr)
                pu, pv = to_px(sx, min(nb_h[i] - 0.3, 3.2) + h)
                _paste(canvas, Image.fromarray(arr.astype(np.uint8)), pu, pv)
                su0, sv0 = to_px(sx + 0.5, 2.6)
                su1, sv1 = to_px(sx + w - 0.5, 0)
                if _chance(r, 0.6):  # rolling shutter
                    _fill(canvas, to_px, sx + 0.3, 0, sx + w - 0.3, 2.6, (120, 124, 128))
        # the centre's wall
        u0, v0 = to_px(0, eave)
        u1, v1 = to_px(width, 0)
        a0, b0, a1, b1 = max(0, v0), max(0, u0), min(ch, v1), min(cw, u1)
        if a1 > a0 and b1 > b0:
            canvas[a0:a1, b0:b1] = wall(wall_kind, a1 - a0, b1 - b0, ppm, r).astype(np.uint8)
        _fill(canvas, to_px, -0.2, eave - fascia, width + 0.2, eave, roof_col * 0.8)
        _fill(canvas, to_px, -0.3, eave, width + 0.3, eave + _u(r, 0.3, 1.2), roof_col)
        # windows, door, steps, ground
        for wx, wy, ww, wh in windows:
            _fill(canvas, to_px, wx, wy, wx + ww, wy + wh, frame_col)
            ins = 0.06
            glass = np.asarray(r.uniform([50, 70, 80], [110, 140, 150]), np.float32)
            _fill(canvas, to_px, wx + ins, wy + ins, wx + ww - ins, wy + wh - ins, glass)
            _fill(canvas, to_px, wx + ww / 2 - 0.03, wy, wx + ww / 2 + 0.03, wy + wh, frame_col)
        _fill(canvas, to_px, door_x0 - 0.1, 0, door_x1 + 0.1, door_h + 0.1, frame_col)
        _fill(canvas, to_px, door_x0, 0, door_x1, door_h, door_col)
        _fill(
            canvas,
            to_px,
            (door_x0 + door_x1) / 2 - 0.02,
            0,
            (door_x0 + door_x1) / 2 + 0.02,
            door_h,
            frame_col,
        )
        _fill(canvas, to_px, y0w * 0 + x0 - 1, y0w - 1, x1w + 1, 0, (150, 148, 142))
        gu0, gv0 = to_px(x0, 0)
        if gv0 < ch:
            g = wall("render", ch - max(0, gv0), cw, ppm, r) * 0.7
            canvas[max(0, gv0) :] = g.astype(np.uint8)
        for k in range(steps):
            _fill(
                canvas,
                to_px,
                door_x0 - 0.6 - 0.2 * k,
                -0.15 * (k + 1),
                door_x1 + 0.6 + 0.2 * k,
                -0.15 * k,
                (190 - 15 * k, 188 - 15 * k, 182 - 15 * k),
            )
        return canvas

    return _SceneFn(draw, wall_kind, eave)


def _internal(
    ctx: _Ctx,
    specs: tuple[cat.PlaqueSpec, ...],
    layout: _Layout,
    placed: list[Placed],
    distractors: list[Placed],
    walls: tuple[str, ...],
) -> _SceneFn:
    rng = ctx.rng
    inner_walls = tuple(w for w in walls if w not in ("brick", "glass")) or walls
    wall_kind = cat.pick(rng, inner_walls)
    ceil_h = _u(rng, 2.9, 3.6)
    width = _u(rng, 8, 16)
    mode = "strip" if _chance(rng, 0.5) else "plaque"
    doors: list[tuple[float, float]] = []
    for _ in range(int(rng.integers(1, 4))):
        dw = _u(rng, 0.9, 1.6)
        spot = layout.place(rng, dw, 2.2, (0.3, width - 0.3), (0.0, 0.0))
        if spot:
            doors.append((spot[0], dw))
    items: list[tuple[Board, dict]] = []
    for s in specs:
        if s.placement == "internal" and not s.identity_sign and _chance(rng, 0.8):
            items.append(_official_board(ctx, s, mode, False))
    ext = [s for s in specs if s.placement == "external" and not s.identity_sign]
    if ext and _chance(rng, 0.1):
        items.append(_official_board(ctx, cat.pick(rng, ext), mode, True))
    if _chance(rng, 0.25):
        items.append(_unauthorised_board(ctx, mode))
    if items:
        if doors:
            dx, dw = doors[0]
            placed += _row_beside_door(ctx, layout, items, dx, dx + dw, mode)
        else:
            placed += _row_beside_door(ctx, layout, items, width / 2 - 0.5, width / 2 + 0.5, mode)
    for dx, dw in doors:  # door plates and allowed signs
        if _chance(rng, 0.6):
            b, t = _allowed_internal_board(ctx)
            if b.design == "doorplate":
                x, y = dx + dw / 2 - b.w_m / 2, 2.3
                if layout.free(x, y, b.w_m, b.h_m, pad=0.02):
                    layout.add(x, y, b.w_m, b.h_m)
                    placed.append(Placed(x, y, b.w_m, b.h_m, b, t))
    for _ in range(int(rng.integers(0, 3))):
        b, t = _allowed_internal_board(ctx)
        if b.design != "doorplate":
            spot = layout.place(rng, b.w_m, b.h_m, (0.2, width - 0.2), (0.9, max(0.9, ceil_h - b.h_m - 0.2)))
            if spot:
                placed.append(Placed(*spot, b.w_m, b.h_m, b, t))
    n_h = cat.pick(rng, (0, 0, 2, 4, 6))
    if n_h:
        placed += _honour_cluster(ctx, layout, n_h, (0.2, width - 0.2), (0.9, max(0.9, ceil_h - 1.6)), False)
    if ctx.randomise:
        for _ in range(int(rng.integers(0, 3))):
            b, t = _free_board(ctx)
            spot = layout.place(rng, b.w_m, b.h_m, (0.2, width - 0.2), (0.4, max(0.41, ceil_h - b.h_m - 0.2)))
            if spot:
                placed.append(Placed(*spot, b.w_m, b.h_m, b, t))
        _random_negatives(ctx, layout, distractors, width, ceil_h - 0.2)
    if not placed:  # every scene shows at least one board
        b, t = _official_board(
            ctx, cat.pick(rng, [s for s in specs if s.placement == "internal"]), mode, False
        )
        placed.append(Placed(width / 2, 1.0, b.w_m, b.h_m, b, t))
    face_any = ctx.face("hei")
    for _ in range(int(rng.integers(0, 3))):
        w, h = _u(rng, 0.5, 0.9), _u(rng, 0.7, 1.1)
        spot = layout.place(rng, w, h, (0.2, width - 0.2), (0.9, 1.5))
        if spot:
            distractors.append(
                Placed(
                    *spot,
                    w,
                    h,
                    truth={"kind": "poster"},
                    image=render_poster(
                        int(w * 120), int(h * 120), cat.pick(rng, cat.BANNER_TEXTS), face_any, rng
                    ),
                )
            )
    floor_col = np.asarray(rng.uniform([150, 140, 120], [220, 215, 205]), np.float32)
    door_col = np.asarray(cat.pick(rng, ((120, 80, 50), (200, 200, 200), (150, 110, 70))), np.float32)
    draw_seed = int(rng.integers(2**31))

    def draw(x0: float, y1: float, ppm: float, cw: int, ch: int) -> np.ndarray:
        r = np.random.default_rng(draw_seed)

        def to_px(x: float, y: float) -> tuple[int, int]:
            return int(round((x - x0) * ppm)), int(round((y1 - y) * ppm))

        canvas = wall(wall_kind, ch, cw, ppm, r).astype(np.uint8)
        # side walls beyond the hall: darker
        _fill(canvas, to_px, x0 - 1, -5, 0, 50, (canvas.mean() * 0.6,) * 3)
        _fill(canvas, to_px, width, -5, x0 + cw / ppm + 1, 50, (canvas.mean() * 0.7,) * 3)
        _fill(canvas, to_px, x0 - 1, ceil_h, x0 + cw / ppm + 1, 50, (236, 236, 232))
        for k in range(int(width // 2.5)):
            lx = 0.8 + k * 2.5
            _fill(canvas, to_px, lx, ceil_h + 0.3, lx + 0.6, ceil_h + 0.45, (255, 255, 250))
        _fill(canvas, to_px, x0 - 1, -50, x0 + cw / ppm + 1, 0, floor_col)
        _fill(canvas, to_px, 0, 0, width, 0.1, floor_col * 0.7)
        for dx, dw in doors:
            _fill(canvas, to_px, dx - 0.06, 0, dx + dw + 0.06, 2.26, door_col * 0.7)
            _fill(canvas, to_px, dx, 0, dx + dw, 2.2, door_col)
        return canvas

    return _SceneFn(draw, wall_kind, ceil_h)


# ------------------------------------------------------------------------------------- image space
def _occluders(
    img: np.ndarray,
    occl: np.ndarray,
    rng: np.random.Generator,
    cam: _Camera,
    hw: np.ndarray,
    side: str,
    ctx: _Ctx,
) -> list[str]:
    """People, vehicles and trees in front of the wall (drawn in place, mask in ``occl``)."""
    h, w = occl.shape
    kinds: list[str] = []
    n = cat.pick(rng, (0, 0, 1, 1, 2)) if side == "external" else cat.pick(rng, (0, 1))
    for _ in range(n):
        kind = cat.pick(rng, ("person", "person", "vehicle", "tree")) if side == "external" else "person"
        wx = _u(rng, cam.tx - 4, cam.tx + 4)
        base = _project(hw, np.array([[wx, 0.0], [wx, 1.0]]))
        scale = float(np.linalg.norm(base[1] - base[0])) * _u(rng, 1.0, 1.6)  # pixels per metre, closer
        bx, by = base[0][0], base[0][1] + _u(rng, 0, 0.4) * scale
        mask = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(mask)
        colour = rng.uniform(20, 200, 3)
        if kind == "person":
            ph = _u(rng, 1.55, 1.85) * scale
            pw = ph * 0.27
            d.rounded_rectangle((bx - pw / 2, by - ph * 0.82, bx + pw / 2, by), radius=pw * 0.3, fill=255)
            d.ellipse((bx - pw * 0.28, by - ph, bx + pw * 0.28, by - ph * 0.8), fill=255)
        elif kind == "vehicle":
            vw, vh = (
                (_u(rng, 3.8, 4.6) * scale, _u(rng, 1.3, 1.6) * scale)
                if _chance(rng, 0.5)
                else (_u(rng, 1.5, 1.9) * scale, _u(rng, 1.0, 1.2) * scale)
            )
            d.rounded_rectangle(
                (bx - vw / 2, by - vh, bx + vw / 2, by - vh * 0.15), radius=vh * 0.2, fill=255
            )
            for cx in (bx - vw * 0.32, bx + vw * 0.32):
                d.ellipse((cx - vh * 0.2, by - vh * 0.4, cx + vh * 0.2, by), fill=255)
        else:
            th = _u(rng, 2.5, 5.0) * scale
            d.rectangle((bx - 0.08 * scale, by - th * 0.5, bx + 0.08 * scale, by), fill=255)
            d.ellipse((bx - th * 0.3, by - th, bx + th * 0.3, by - th * 0.4), fill=255)
        m = np.asarray(mask) > 0
        if not m.any():
            continue
        if kind == "tree":
            ys, xs = np.nonzero(m)
            y0, x0 = ys.min(), xs.min()
            tex = foliage(ys.max() - y0 + 1, xs.max() - x0 + 1, rng)
            sub = img[y0 : ys.max() + 1, x0 : xs.max() + 1]
            mm = m[y0 : ys.max() + 1, x0 : xs.max() + 1]
            holes = low_noise(rng, *mm.shape, 10) > 0.55
            mm = mm & ~holes
            sub[mm] = tex[mm]
            m[y0 : ys.max() + 1, x0 : xs.max() + 1] = mm
        else:
            shade = np.linspace(1.1, 0.7, h, dtype=np.float32)[:, None]
            img[m] = colour[None, :] * shade.repeat(w, axis=1)[m][:, None]
        occl |= m
        kinds.append(kind)
    if ctx.randomise and _chance(rng, 0.35):  # a pole or a cable across the view (partial occlusion)
        mask = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(mask)
        if _chance(rng, 0.5):
            x = _u(rng, 0, w)
            thick = _u(rng, 0.01, 0.04) * w
            d.polygon([(x, 0), (x + thick, 0), (x + thick + _u(rng, -0.05, 0.05) * w, h),
                       (x + _u(rng, -0.05, 0.05) * w, h)], fill=255)
            kind = "pole"
        else:
            y0, y1 = _u(rng, 0, h), _u(rng, 0, h)
            d.line((0, y0, w, y1), fill=255, width=max(1, int(_u(rng, 0.002, 0.008) * w)))
            kind = "cable"
        m = np.asarray(mask) > 0
        img[m] = rng.uniform(20, 120, 3)[None, :]
        occl |= m
        kinds.append(kind)
    return kinds


def _lighting(img: np.ndarray, rng: np.random.Generator, light: str) -> np.ndarray:
    h, w = img.shape[:2]
    grad = 1 + _u(rng, -0.15, 0.15) * np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    if light == "sun":
        img = img * _u(rng, 1.0, 1.15) * grad
    elif light == "overcast":
        m = img.mean()
        img = (img - m) * _u(rng, 0.7, 0.9) + m * _u(rng, 0.9, 1.05)
        img = img * grad
    elif light == "dusk":
        img = (
            img * np.asarray([_u(rng, 0.8, 0.95), _u(rng, 0.6, 0.75), _u(rng, 0.45, 0.6)], np.float32) * grad
        )
    else:  # indoor: warm or cool lamps, vignetting
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        vig = 1 - 0.35 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
        tint = np.asarray([1.0, _u(rng, 0.95, 1.02), _u(rng, 0.85, 1.05)], np.float32)
        img = img * vig[..., None] * tint * _u(rng, 0.75, 1.05)
    return img


def _camera_effects(img: np.ndarray, rng: np.random.Generator, long_side: int) -> np.ndarray:
    s = long_side / 640
    if _chance(rng, 0.25):
        k = max(3, int(_u(rng, 3, 9) * s) | 1)
        kern = np.zeros((k, k), np.float32)
        a = _u(rng, 0, math.pi)
        c = k // 2
        for t in np.linspace(-c, c, 2 * k):
            kern[int(round(c + t * math.sin(a))), int(round(c + t * math.cos(a)))] = 1
        img = cv2.filter2D(img, -1, kern / kern.sum())
    elif _chance(rng, 0.2):
        img = cv2.GaussianBlur(img, (0, 0), _u(rng, 0.5, 1.5) * s)
    sigma = _u(rng, 1.0, 8.0)
    img = img + rng.normal(0, sigma, img.shape).astype(np.float32)
    return img
