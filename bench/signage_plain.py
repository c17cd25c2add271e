"""Inventory accuracy on facades drawn by a second, independent renderer (not ``audit.model.synth``).

The model was trained on ``audit.model.synth`` scenes, so its own held-out set shares the generator's habits. This
renderer shares none of its code: a flat wall and a door, strips or two-line plaques in WenQuanYi Micro Hei
(Debian ``fonts-wqy-microhei``, a face the model never saw; Noto Sans from mplfonts when it is missing), 2–5 % of
the photo wide, a slight tilt, light blur and JPEG. Each photo holds a random subset of the 5 external
organisation plaques and 0–2 unauthorised signs; exact = the engine's present list equals the truth. It runs
the engine with the detector, without it, and the stated baseline (RapidOCR defaults on the photo and its 90°
rotation, each line matched to the name patterns).

    .venv/bin/python bench/signage_plain.py --n 40
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ORGS = {"party_org": "中共{v}支部委员会", "villagers_committee": "{v}村民委员会", "collective_economy": "{v}股份经济合作社",
        "supervision_committee": "{v}村务监督委员会", "militia": "{v}民兵连"}
SIGNS = ["{v}老年人协会", "{v}红白理事会", "{v}科普示范点", "{v}妇女之家", "{v}文化服务站"]
VILLAGES = ["前进村", "红星村", "新华村", "石桥村", "柳树湾村", "东风村", "龙泉村", "高家庄村", "马坊村", "青山村"]
WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


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
