"""Inventory accuracy on facades drawn by a second, independent renderer (not ``audit.model.synth``).

The model was trained on ``audit.model.synth`` scenes, so its own held-out set shares the generator's habits. This
renderer shares none of its code: a flat wall and a door, strips or two-line plaques in WenQuanYi Micro Hei
(Debian ``fonts-wqy-microhei``, a face the model never saw; Noto Sans from mplfonts when it is missing), 2–5 % of
the photo wide, a slight tilt, light blur and JPEG. Each photo holds a random subset of the 5 external
organisation plaques and 0–2 unauthorised signs; exact = the engine's present list equals the truth. It runs
the engine with the detector, without it, and the stated baseline (RapidOCR defaults on the photo and its 90°
rotation, each line matched to the name patterns).

    .venv/bin/python bench/signage_plain.py --n 40

**Boards for the detector** (:func:`detector_scene`, scored by ``bench/detector_plain.py``): facades with
labelled boards of design families the training generator (``audit.model.synth``, also with
``randomise=True``) cannot draw, in its own code (PIL and numpy only, nothing imported from the generator):

* shapes the generator has no outline for: arched tops, shields, chamfered and octagonal plates, an identity
  signboard whose emblem disc stands out *beside* the panel (above and below it too), acrylic panels the wall
  shows through with standoff caps outside the panel's edge;
* decorations it never paints: engraved text (dark and light offsets), red header bands on strips, diagonal
  ribbons, two-tone identity boards, lightbox casings;
* WenQuanYi Micro Hei text; its own walls (flat paint with noise and tile lines), its own perspective
  (PIL's ``transform``), blur and JPEG;
* unlabelled look-alikes it does not draw either: air-conditioner units, meter boxes, fire-hose cabinets,
  photo posters, cork notice boards, shop light boxes, cloth banners.

Every board is labelled by the extent of its own pixels after the warp (an id mask warped with the photo):
the whole physical board, emblem, frame and caps included — the same rule as the training labels. Never
used for training.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ORGS = {"party_org": "中共{v}支部委员会", "villagers_committee": "{v}村民委员会", "collective_economy": "{v}股份经济合作社",
        "supervision_committee": "{v}村务监督委员会", "militia": "{v}民兵连"}
SIGNS = ["{v}老年人协会", "{v}红白理事会", "{v}科普示范点", "{v}妇女之家", "{v}文化服务站"]
VILLAGES = ["前进村", "红星村", "新华村", "石桥村", "柳树湾村", "东风村", "龙泉村", "高家庄村", "马坊村", "青山村"]
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


@lru_cache(maxsize=256)
def _font(size: int) -> ImageFont.FreeTypeFont:
    if WQY.exists():
        return ImageFont.truetype(str(WQY), size, index=0)
    from audit.signs.fonts import faces_for, font

    return font(faces_for("hei", False)[0], size)


def _strip(text: str, w: int, h: int, colour: tuple[int, int, int]) -> Image.Image:
    im = Image.new("RGB", (w, h), (245, 245, 240))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w - 1, h - 1], outline=(150, 120, 60), width=max(2, w // 20))
    size = min(int(w * 0.7), int(h * 0.92 / len(text)))
    f, y = _font(size), (h - len(text) * size) // 2
    for ch in text:
        d.text(((w - size) // 2, y), ch, fill=colour, font=f)
        y += size
    return im


def _plaque(text: str, w: int, h: int, colour: tuple[int, int, int]) -> Image.Image:
    im = Image.new("RGB", (w, h), (245, 245, 240))
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, w - 1, h - 1], outline=(180, 180, 185), width=max(2, w // 30))
    half = (len(text) + 1) // 2
    size = min(int(w * 0.85 / half), int(h * 0.32))
    f = _font(size)
    for k, row in enumerate((text[:half], text[half:])):
        d.text(((w - size * len(row)) // 2, int(h * 0.18) + k * int(size * 1.3)), row, fill=colour, font=f)
    return im


def scene(seed: int) -> tuple[bytes, list[str], str]:
    """JPEG bytes, the official plaques it shows, the village name."""
    rnd = random.Random(seed)
    village = rnd.choice(VILLAGES)
    W, H = rnd.choice([(1600, 1200), (1200, 1600), (2000, 1500)])
    wall = Image.new("RGB", (W, H), tuple(rnd.randint(150, 230) for _ in range(3)))
    dw = int(W * rnd.uniform(0.15, 0.25))
    dx = W // 2 - dw // 2
    ImageDraw.Draw(wall).rectangle([dx, int(H * 0.35), dx + dw, H], fill=(90, 60, 40))
    present = sorted(p for p in ORGS if rnd.random() < 0.75)
    boards = [(ORGS[p].format(v=village), (200, 20, 20) if p == "party_org" else (10, 10, 10)) for p in present]
    boards += [(s.format(v=village), (10, 10, 10)) for s in rnd.sample(SIGNS, rnd.randint(0, 2))]
    rnd.shuffle(boards)
    sw = int(W * rnd.uniform(0.02, 0.05))
    sh = int(sw * rnd.uniform(5.5, 7))
    horizontal = rnd.random() < 0.4
    left = [dx - (i + 1) * int(sw * 2.6) for i in range((len(boards) + 1) // 2)]
    right = [dx + dw + int(sw * 0.5) + i * int(sw * 2.6) for i in range(len(boards) // 2)]
    for (text, colour), x in zip(boards, left + right, strict=True):
        board = _plaque(text, int(sw * 2.2), int(sw * 1.5), colour) if horizontal else _strip(text, sw, sh, colour)
        wall.paste(board, (x, int(H * 0.3)))
    wall = wall.rotate(rnd.uniform(-3, 3), resample=Image.BICUBIC, fillcolor=(120, 120, 120))
    if rnd.random() < 0.5:
        wall = wall.filter(ImageFilter.GaussianBlur(rnd.uniform(0.3, 1.0)))
    buf = io.BytesIO()
    wall.save(buf, "JPEG", quality=rnd.randint(70, 92))
    return buf.getvalue(), present, village


# ------------------------------------------------------------------------ boards for the detector bench
FAMILIES: dict[str, tuple[str, ...]] = {
    "strip": ("chamfer_strip", "engraved_steel_strip", "header_band_strip"),
    "plaque": ("chamfer_plaque", "glass_plaque", "engraved_steel_plaque"),
    "identity": ("side_disc_identity", "two_tone_identity", "lightbox_identity"),
    "honour": ("arch_honour", "shield_honour", "ribbon_honour", "octagon_bronze_honour"),
}
HONOURS = ["文明村", "先进基层党组织", "卫生村", "民主法治示范村", "五星级党支部", "乡村振兴示范村", "平安村", "模范集体"]
NEGATIVES = ("aircon", "meter_box", "hose_cabinet", "photo_poster", "cork_board", "shop_lightbox", "cloth_banner")


def _poly_chamfer(w: int, h: int, c: float) -> list[tuple[float, float]]:
    return [(c, 0), (w - 1 - c, 0), (w - 1, c), (w - 1, h - 1 - c), (w - 1 - c, h - 1), (c, h - 1), (0, h - 1 - c), (0, c)]


def _star(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, fill: tuple) -> None:
    import math

    pts = [(cx + (r if k % 2 == 0 else r * 0.4) * math.cos(-math.pi / 2 + k * math.pi / 5),
            cy + (r if k % 2 == 0 else r * 0.4) * math.sin(-math.pi / 2 + k * math.pi / 5)) for k in range(10)]
    d.polygon(pts, fill=fill)


def _vtext(d: ImageDraw.ImageDraw, text: str, box: tuple[float, float, float, float], fill: tuple,
           engraved: bool = False) -> None:
    x0, y0, x1, y1 = box
    n = max(1, len(text))
    size = int(max(4, min((x1 - x0) * 0.8, (y1 - y0) / n * 0.92)))
    f = _font(size)
    pitch = (y1 - y0) / n
    for i, ch in enumerate(text):
        xy = ((x0 + x1) / 2, y0 + pitch * (i + 0.5))
        if engraved:
            d.text((xy[0] + 1, xy[1] + 1), ch, fill=(250, 250, 250), font=f, anchor="mm")
        d.text(xy, ch, fill=fill, font=f, anchor="mm")


def _htext(d: ImageDraw.ImageDraw, text: str, box: tuple[float, float, float, float], fill: tuple,
           engraved: bool = False) -> None:
    x0, y0, x1, y1 = box
    n = max(1, len(text))
    size = int(max(4, min((y1 - y0) * 0.8, (x1 - x0) / n * 0.95)))
    f = _font(size)
    xy = ((x0 + x1) / 2, (y0 + y1) / 2)
    if engraved:
        d.text((xy[0] + 1, xy[1] + 1), text, fill=(250, 250, 250), font=f, anchor="mm")
    d.text(xy, text, fill=fill, font=f, anchor="mm")


def _board(family: str, text: str, w: int, h: int, rnd: random.Random) -> Image.Image:
    """An RGBA board of a family; opaque (or translucent) exactly where the board is."""
    mask = Image.new("L", (w, h), 0)
    md = ImageDraw.Draw(mask)
    im = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    short = min(w, h)
    red, gold, black = (196, 24, 30), (236, 196, 92), (18, 18, 20)
    if family in ("chamfer_strip", "chamfer_plaque"):
        poly = _poly_chamfer(w, h, short * rnd.uniform(0.1, 0.2))
        md.polygon(poly, fill=255)
        d.polygon(poly, fill=(248, 247, 240, 255), outline=(120, 120, 125, 255), width=max(1, short // 25))
        colour = red if rnd.random() < 0.3 else black
        if family == "chamfer_strip":
            _vtext(d, text, (0, h * 0.06, w, h * 0.94), colour)
        else:
            half = (len(text) + 1) // 2
            _htext(d, text[:half], (w * 0.1, h * 0.15, w * 0.9, h * 0.48), colour)
            _htext(d, text[half:], (w * 0.1, h * 0.52, w * 0.9, h * 0.85), colour)
    elif family in ("engraved_steel_strip", "engraved_steel_plaque"):
        md.rectangle((0, 0, w - 1, h - 1), fill=255)
        arr = np.zeros((h, w, 4), np.uint8)
        g = np.linspace(150, 215, w if family.endswith("strip") else h)
        g = g[None, :] if family.endswith("strip") else g[:, None]
        streaks = np.random.default_rng(rnd.randrange(1 << 30)).normal(0, 5, (h, 1) if w > h else (1, w))
        arr[..., :3] = np.clip(np.broadcast_to(g, (h, w))[..., None] + streaks[..., None], 0, 255).astype(np.uint8)
        arr[..., 3] = 255
        im = Image.fromarray(arr, "RGBA")
        d = ImageDraw.Draw(im)
        d.rectangle((0, 0, w - 1, h - 1), outline=(95, 95, 100, 255), width=max(1, short // 30))
        if family.endswith("strip"):
            _vtext(d, text, (0, h * 0.05, w, h * 0.95), (40, 40, 45), engraved=True)
        else:
            half = (len(text) + 1) // 2
            _htext(d, text[:half], (w * 0.08, h * 0.14, w * 0.92, h * 0.48), (40, 40, 45), engraved=True)
            _htext(d, text[half:], (w * 0.08, h * 0.52, w * 0.92, h * 0.86), (40, 40, 45), engraved=True)
    elif family == "header_band_strip":
        md.rectangle((0, 0, w - 1, h - 1), fill=255)
        d.rectangle((0, 0, w - 1, h - 1), fill=(250, 250, 246, 255), outline=(170, 170, 170, 255), width=1)
        band = int(h * 0.12)
        d.rectangle((0, 0, w - 1, band), fill=(*red, 255))
        _star(d, w / 2, band / 2, min(w, band) * 0.35, (*gold, 255))
        _vtext(d, text, (0, band + h * 0.03, w, h * 0.96), red if rnd.random() < 0.3 else black)
    elif family == "glass_plaque":
        cap = max(2, int(short * 0.06))
        md.rectangle((cap, cap, w - 1 - cap, h - 1 - cap), fill=175)
        d.rectangle((cap, cap, w - 1 - cap, h - 1 - cap), fill=(235, 245, 248, 175))
        for cx, cy in ((cap, cap), (w - 1 - cap, cap), (cap, h - 1 - cap), (w - 1 - cap, h - 1 - cap)):
            md.ellipse((cx - cap, cy - cap, cx + cap, cy + cap), fill=255)
            d.ellipse((cx - cap, cy - cap, cx + cap, cy + cap), fill=(210, 212, 216, 255), outline=(90, 90, 95, 255))
        half = (len(text) + 1) // 2
        _htext(d, text[:half], (w * 0.12, h * 0.16, w * 0.88, h * 0.48), black)
        _htext(d, text[half:], (w * 0.12, h * 0.52, w * 0.88, h * 0.84), black)
    elif family == "side_disc_identity":
        r = int(h / 2)  # the disc is as tall as the whole board; the panel is narrower
        py0, py1 = int(h * 0.2), int(h * 0.8)
        md.rectangle((r, py0, w - 1, py1), fill=255)
        md.ellipse((0, 0, 2 * r, h - 1), fill=255)
        panel = red if rnd.random() < 0.6 else (250, 250, 246)
        d.rectangle((r, py0, w - 1, py1), fill=(*panel, 255), outline=(*gold, 255), width=max(1, h // 30))
        d.ellipse((0, 0, 2 * r, h - 1), fill=(*gold, 255))
        d.ellipse((r * 0.15, h * 0.075, r * 1.85, h * 0.925), fill=(*red, 255))
        _star(d, r, h / 2, r * 0.55, (*gold, 255))
        _htext(d, text, (2.2 * r, py0, w - r * 0.3, py1), gold if panel == red else red)
    elif family == "two_tone_identity":
        md.rectangle((0, 0, w - 1, h - 1), fill=255)
        split = int(h * rnd.uniform(0.5, 0.62))
        d.rectangle((0, 0, w - 1, split), fill=(*red, 255))
        d.rectangle((0, split, w - 1, h - 1), fill=(250, 250, 246, 255))
        d.rectangle((0, 0, w - 1, h - 1), outline=(*gold, 255), width=max(1, short // 20))
        _star(d, h * 0.35, split / 2, split * 0.3, (*gold, 255))
        _htext(d, text, (h * 0.7, split * 0.1, w - h * 0.2, split * 0.9), gold)
        _htext(d, "为人民服务", (w * 0.25, split + (h - split) * 0.15, w * 0.75, h - (h - split) * 0.15), red)
    elif family == "lightbox_identity":
        md.rectangle((0, 0, w - 1, h - 1), fill=255)
        casing = max(2, int(h * 0.1))
        d.rectangle((0, 0, w - 1, h - 1), fill=(55, 55, 60, 255))
        inner = np.zeros((h - 2 * casing, w - 2 * casing, 4), np.uint8)
        t = np.linspace(0, 1, inner.shape[0])[:, None]
        inner[..., 0] = (255 - 25 * t).astype(np.uint8)
        inner[..., 1] = (250 - 40 * t).astype(np.uint8)
        inner[..., 2] = (235 - 10 * t).astype(np.uint8)
        inner[..., 3] = 255
        im.paste(Image.fromarray(inner, "RGBA"), (casing, casing))
        d = ImageDraw.Draw(im)
        _star(d, w - h * 0.5, h / 2, h * 0.28, (*red, 255))
        _htext(d, text, (casing * 2, casing, w - h * 0.95, h - casing), red)
    elif family == "arch_honour":
        top = int(min(h * 0.3, w * 0.5))
        md.rectangle((0, top, w - 1, h - 1), fill=255)
        md.ellipse((0, 0, w - 1, 2 * top), fill=255)
        body = red if rnd.random() < 0.6 else (150, 100, 50)
        d.rectangle((0, top, w - 1, h - 1), fill=(*body, 255))
        d.ellipse((0, 0, w - 1, 2 * top), fill=(*body, 255))
        d.arc((short * 0.05, short * 0.05, w - 1 - short * 0.05, 2 * top), 180, 360, fill=(*gold, 255),
              width=max(1, short // 30))
        _star(d, w / 2, top * 0.7, top * 0.45, (*gold, 255))
        _htext(d, text, (w * 0.1, top * 1.2, w * 0.9, h * 0.7), gold)
        _htext(d, "二〇二三年", (w * 0.3, h * 0.75, w * 0.7, h * 0.88), gold)
    elif family == "shield_honour":
        poly = [(0, 0), (w - 1, 0), (w - 1, h * 0.6), (w / 2, h - 1), (0, h * 0.6)]
        md.polygon(poly, fill=255)
        d.polygon(poly, fill=(*gold, 255), outline=(120, 80, 30, 255), width=max(1, short // 25))
        inner = [(w * 0.08, h * 0.06), (w * 0.92, h * 0.06), (w * 0.92, h * 0.57), (w / 2, h * 0.9), (w * 0.08, h * 0.57)]
        d.polygon(inner, fill=(*red, 255))
        _htext(d, text, (w * 0.14, h * 0.2, w * 0.86, h * 0.45), gold)
        _star(d, w / 2, h * 0.62, short * 0.1, (*gold, 255))
    elif family == "ribbon_honour":
        md.rectangle((0, 0, w - 1, h - 1), fill=255)
        d.rectangle((0, 0, w - 1, h - 1), fill=(*red, 255))
        d.rectangle((short * 0.04, short * 0.04, w - 1 - short * 0.04, h - 1 - short * 0.04), outline=(*gold, 255),
                    width=max(1, short // 40))
        d.polygon([(0, h * 0.25), (h * 0.25, 0), (h * 0.42, 0), (0, h * 0.42)], fill=(*gold, 255))
        _htext(d, text, (w * 0.15, h * 0.25, w * 0.85, h * 0.6), gold)
        _htext(d, "县委 县人民政府", (w * 0.35, h * 0.7, w * 0.85, h * 0.82), gold)
    else:  # octagon_bronze_honour
        poly = _poly_chamfer(w, h, short * 0.28)
        md.polygon(poly, fill=255)
        yy, xx = np.mgrid[0:h, 0:w]
        rad = np.sqrt(((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
        arr = np.zeros((h, w, 4), np.uint8)
        for c, (a, b) in enumerate(((175, 110), (125, 72), (70, 35))):
            arr[..., c] = np.clip(a - (a - b) * rad * 1.6, 0, 255).astype(np.uint8)
        arr[..., 3] = 255
        im = Image.fromarray(arr, "RGBA")
        d = ImageDraw.Draw(im)
        d.polygon(poly, outline=(220, 180, 110, 255), width=max(1, short // 18))
        _htext(d, text, (w * 0.15, h * 0.3, w * 0.85, h * 0.62), (40, 25, 10), engraved=True)
    im.putalpha(Image.fromarray(np.minimum(np.asarray(im.getchannel("A")), np.asarray(mask))))
    return im


def _negative(kind: str, w: int, h: int, rnd: random.Random) -> Image.Image:
    """An unlabelled look-alike (RGB, fully opaque)."""
    im = Image.new("RGB", (w, h), (235, 235, 232))
    d = ImageDraw.Draw(im)
    if kind == "aircon":
        d.rectangle((0, 0, w - 1, h - 1), fill=(238, 238, 236), outline=(170, 170, 170))
        for k in range(1, 8):
            d.line((w * 0.05, h * k / 8, w * 0.95, h * k / 8), fill=(190, 190, 190), width=1)
        d.ellipse((w * 0.55, h * 0.1, w * 0.95, h * 0.9), outline=(150, 150, 150), width=max(1, w // 40))
    elif kind == "meter_box":
        d.rectangle((0, 0, w - 1, h - 1), fill=(150, 155, 160), outline=(90, 90, 95), width=2)
        d.rectangle((w * 0.2, h * 0.2, w * 0.8, h * 0.5), fill=(60, 70, 80))
        _htext(d, "电表箱", (w * 0.1, h * 0.6, w * 0.9, h * 0.85), (200, 30, 30))
    elif kind == "hose_cabinet":
        d.rectangle((0, 0, w - 1, h - 1), fill=(200, 30, 30), outline=(120, 10, 10), width=2)
        d.rectangle((w * 0.15, h * 0.1, w * 0.85, h * 0.6), fill=(180, 200, 210))
        _htext(d, "消火栓", (w * 0.1, h * 0.7, w * 0.9, h * 0.9), (250, 250, 250))
    elif kind == "photo_poster":
        arr = np.random.default_rng(rnd.randrange(1 << 30)).uniform(0, 255, (4, 3, 3)).astype(np.uint8)
        im = Image.fromarray(arr).resize((w, h), Image.BICUBIC)
        d = ImageDraw.Draw(im)
        _htext(d, "乡村振兴", (w * 0.05, h * 0.03, w * 0.95, h * 0.2), (250, 250, 250))
    elif kind == "cork_board":
        d.rectangle((0, 0, w - 1, h - 1), fill=(176, 130, 80), outline=(90, 60, 30), width=max(2, w // 40))
        for _ in range(rnd.randint(3, 7)):
            x, y = rnd.uniform(0.05, 0.7) * w, rnd.uniform(0.05, 0.6) * h
            d.rectangle((x, y, x + w * 0.22, y + h * 0.3), fill=(250, 250, 245))
    elif kind == "shop_lightbox":
        colour = rnd.choice([(30, 90, 200), (230, 120, 20), (20, 150, 80)])
        d.rectangle((0, 0, w - 1, h - 1), fill=colour)
        _htext(d, rnd.choice(["便利超市", "理发店", "手机维修", "五金百货"]), (w * 0.05, h * 0.1, w * 0.95, h * 0.9),
               (255, 255, 255))
    else:  # cloth_banner
        arr = np.zeros((h, w, 3), np.float32)
        arr[:] = (200, 25, 30)
        arr *= (1 + 0.12 * np.sin(np.linspace(0, 20, w)))[None, :, None]
        im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        _htext(ImageDraw.Draw(im), "热烈庆祝乡村振兴", (w * 0.03, h * 0.1, w * 0.97, h * 0.9), (250, 225, 60))
    return im


def _wall(w: int, h: int, rnd: random.Random) -> Image.Image:
    rng = np.random.default_rng(rnd.randrange(1 << 30))
    base = np.array([rnd.randint(150, 235) for _ in range(3)], np.float32)
    arr = np.broadcast_to(base, (h, w, 3)).astype(np.float32).copy()
    arr *= (1 + 0.06 * np.linspace(-1, 1, h))[:, None, None]
    arr += rng.normal(0, 4, (h, w, 1))
    if rnd.random() < 0.5:  # tile joints
        step = rnd.randint(18, 60)
        arr[::step] *= 0.85
        arr[:, ::step] *= 0.88
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list[float]:
    """PIL perspective coefficients mapping output points ``dst`` back to input points ``src``."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        b += [u, v]
    return np.linalg.solve(np.asarray(a, float), np.asarray(b, float)).tolist()


def detector_scene(seed: int, *, long_side: int = 1280) -> tuple[bytes, list[dict]]:
    """A facade for the detector bench: JPEG bytes and its labelled boards.

    Returns
    -------
    (bytes, list of dict)
        Each board: ``kind`` (strip, plaque, identity, honour), ``family`` (see :data:`FAMILIES`), ``box``
        ``[x1, y1, x2, y2]`` (extent of its pixels in the photo).
    """
    rnd = random.Random(seed * 7919 + 13)
    village = rnd.choice(VILLAGES)
    W, H = (long_side, long_side * 3 // 4) if rnd.random() < 0.6 else (long_side * 3 // 4, long_side)
    canvas = _wall(W, H, rnd).convert("RGBA")
    ids = Image.new("L", (W, H), 0)
    boards: list[dict] = []
    occupied: list[tuple[int, int, int, int]] = []

    def free(x: int, y: int, w: int, h: int) -> bool:
        return (x >= 0 and y >= 0 and x + w <= W and y + h <= H
                and all(x + w + 4 <= a or c + 4 <= x or y + h + 4 <= b or e + 4 <= y for a, b, c, e in occupied))

    def put(img: Image.Image, x: int, y: int, kind: str | None, family: str = "") -> bool:
        w, h = img.size
        if not free(x, y, w, h):
            return False
        occupied.append((x, y, x + w, y + h))
        if img.mode == "RGBA":
            canvas.alpha_composite(img, (x, y))
        else:
            canvas.paste(img, (x, y))
        if kind is not None:
            boards.append({"kind": kind, "family": family})
            solid = img.getchannel("A").point(lambda a: 255 if a > 0 else 0)
            ids.paste(len(boards), (x, y), solid)
        return True

    # door and windows
    dw = int(W * rnd.uniform(0.14, 0.22))
    dx = int(W * rnd.uniform(0.38, 0.5))
    dy = int(H * rnd.uniform(0.45, 0.55))
    ImageDraw.Draw(canvas).rectangle((dx, dy, dx + dw, H), fill=(70, 55, 45, 255), outline=(40, 40, 40, 255), width=3)
    occupied.append((dx, dy, dx + dw, H))
    # strips or plaques beside the door
    unit = W * rnd.uniform(0.025, 0.05)
    horizontal = rnd.random() < 0.4
    kind = "plaque" if horizontal else "strip"
    n_row = rnd.randint(2, 6)
    texts = [t.format(v=village) for t in rnd.sample(list(ORGS.values()) + SIGNS, n_row)]
    y_row = int(dy + (H - dy) * rnd.uniform(0.0, 0.15)) if not horizontal else int(dy + (H - dy) * 0.1)
    x_left, x_right = dx - int(unit * 0.6), dx + dw + int(unit * 0.6)
    for i, text in enumerate(texts):
        family = rnd.choice(FAMILIES[kind])
        if horizontal:
            bw, bh = int(unit * 2.4), int(unit * 1.6)
        else:
            bw, bh = int(unit), int(unit * rnd.uniform(5.2, 7))
        bh = min(bh, H - y_row - 4)
        img = _board(family, text, bw, bh, rnd)
        if i % 2 == 0:
            x_left -= bw
            put(img, x_left, y_row, kind, family)
            x_left -= int(unit * 0.5)
        else:
            put(img, x_right, y_row, kind, family)
            x_right += bw + int(unit * 0.5)
    # an identity signboard above the door (or beside it)
    if rnd.random() < 0.85:
        family = rnd.choice(FAMILIES["identity"])
        iw = int(W * rnd.uniform(0.22, 0.45))
        ih = int(iw / rnd.uniform(3.5, 6.5))
        text = rnd.choice(["党群服务中心", "新时代文明实践站"])
        img = _board(family, text, iw, ih, rnd)
        for _ in range(8):
            x = int(dx + dw / 2 - iw / 2 + rnd.uniform(-0.2, 0.2) * W)
            y = int(dy - ih - rnd.uniform(0.02, 0.2) * H)
            if put(img, x, y, "identity", family):
                break
    # honour plates in a small grid
    n_h = rnd.choice([0, 2, 3, 4, 4, 6])
    if n_h:
        hw = int(W * rnd.uniform(0.06, 0.11))
        hh = int(hw * rnd.uniform(0.65, 1.4))
        cols = rnd.randint(1, 3)
        for _ in range(10):
            gx = rnd.randint(0, max(0, W - cols * (hw + 8)))
            gy = rnd.randint(int(H * 0.05), max(int(H * 0.05) + 1, int(H * 0.75) - hh))
            cells = [(gx + (k % cols) * (hw + 8), gy + (k // cols) * (hh + 8)) for k in range(n_h)]
            if all(free(x, y, hw, hh) for x, y in cells):
                for x, y in cells:
                    family = rnd.choice(FAMILIES["honour"])
                    put(_board(family, rnd.choice(HONOURS), hw, hh, rnd), x, y, "honour", family)
                break
    # unlabelled look-alikes
    for _ in range(rnd.randint(2, 4)):
        neg = rnd.choice(NEGATIVES)
        nw = int(W * rnd.uniform(0.06, 0.2)) if neg != "cloth_banner" else int(W * rnd.uniform(0.3, 0.6))
        nh = int(nw * rnd.uniform(0.5, 1.3)) if neg != "cloth_banner" else int(nw * rnd.uniform(0.08, 0.14))
        for _ in range(8):
            if put(_negative(neg, nw, nh, rnd), rnd.randint(0, max(0, W - nw)), rnd.randint(0, max(0, H - nh)), None):
                break
    # camera: a mild perspective (yaw-like squeeze of one side), blur, JPEG
    photo = canvas.convert("RGB")
    s = rnd.uniform(0.0, 0.08)
    left = rnd.random() < 0.5
    dst = [(0, H * s if left else 0), (W, 0 if left else H * s), (W, H if left else H * (1 - s)),
           (0, H * (1 - s) if left else H)]
    coeffs = _perspective_coeffs([(0, 0), (W, 0), (W, H), (0, H)], dst)
    photo = photo.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=(128, 128, 128))
    ids = ids.transform((W, H), Image.PERSPECTIVE, coeffs, Image.NEAREST, fillcolor=0)
    if rnd.random() < 0.5:
        photo = photo.filter(ImageFilter.GaussianBlur(rnd.uniform(0.3, 1.0)))
    arr = np.asarray(ids)
    out = []
    for k, b in enumerate(boards, start=1):
        ys, xs = np.nonzero(arr == k)
        if len(xs):
            out.append({**b, "box": [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]})
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=rnd.randint(70, 92))
    return buf.getvalue(), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--modes", default="detector,ocr,baseline")
    args = parser.parse_args()

    from signage_eval import baseline_present, baseline_reader

    from audit.rules import load_rules
    from audit.signs.engine import Engine, PhotoInput, audit_signage

    rules = load_rules()
    scenes = [scene(i) for i in range(args.n)]
    print(f"font: {WQY if WQY.exists() else 'Noto Sans CJK (mplfonts)'}")
    for mode in args.modes.split(","):
        t0, exact, misses = time.perf_counter(), 0, []
        if mode == "baseline":
            ocr = baseline_reader()
        else:
            engine = Engine.load(use_detector=mode == "detector")
        for i, (data, truth, village) in enumerate(scenes):
            if mode == "baseline":
                found = baseline_present(ocr, Image.open(io.BytesIO(data)).convert("RGB"), rules, village)
            else:
                report = audit_signage([PhotoInput(data, f"{i}.jpg", "external")], engine, village_name=village)
                found = set(report.summary.present)
            got = sorted(t for t in found if t in ORGS)
            exact += got == truth
            if got != truth:
                misses.append(f"{i}: missing {sorted(set(truth) - set(got))}, extra {sorted(set(got) - set(truth))}")
        n = len(scenes)
        print(f"{mode:<9} exact inventory {exact}/{n} ({exact / n:.0%}); {(time.perf_counter() - t0) / n:.2f} s/photo")
        for line in misses:
            print(f"          {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
