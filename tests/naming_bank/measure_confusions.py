"""Measure RapidOCR's character confusions on rendered, degraded board crops of the naming bank.

Renders the texts of ``bodies.tsv`` (slots filled from ``places.tsv``) as single horizontal lines with the CJK
fonts shipped by the ``mplfonts`` package, degrades them (low resolution, blur, rotation, shear, faded ink, glare,
uneven light, noise, JPEG), reads each crop with RapidOCR in recognition-only mode (as the engine reads a plaque crop), aligns
each reading with its truth (difflib.SequenceMatcher) and writes ``ocr_confusions.tsv``:

    truth <TAB> read <TAB> count      substitution: both set; deletion: read == ""; insertion: truth == ""

Seeded and rerunnable:  .venv/bin/python tests/naming_bank/measure_confusions.py  [--crops N] [--seed S]
Whitespace is removed from truth and reading before alignment (multi-part boards are rendered with gaps).
"""

from __future__ import annotations

import argparse
import collections
import csv
import difflib
import random
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
TAGS = ("@village", "@community", "@town", "@street", "@county")


# ----------------------------------------------------------------------------------------------- bank


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def core_of(place: str) -> str:
    """A place name without its final 社区 or 村 (王庄村 -> 王庄, 后村村 -> 后村, 东风社区 -> 东风)."""
    for suffix in ("社区", "村"):
        if place.endswith(suffix) and len(place) > len(suffix):
            return place[: -len(suffix)]
    return place


def fill(template: str, note: str, places: dict[str, list[str]], rng: random.Random) -> str:
    """One concrete text for a template; the note's @tags restrict the kind of place / prefix."""
    tags = {t for t in TAGS if t in note.split()}
    if "@village" in tags:
        place = rng.choice(places["village"])
    elif "@community" in tags:
        place = rng.choice(places["community"])
    else:
        place = rng.choice(places["village"] + places["community"])
    if "@town" in tags:
        chains = [[t] for t in places["town"]] + [[c, t] for c in places["county"] for t in places["town"]]
    elif "@street" in tags:
        chains = [[s] for s in places["street"]] + [[c, s] for c in places["county"] for s in places["street"]]
    elif "@county" in tags:
        chains = [[c] for c in places["county"]]
    else:
        lower = places["town"] + places["street"]
        chains = [[t] for t in lower] + [[c, t] for c in places["county"] for t in lower]
    prefix = "".join(rng.choice(chains))
    return template.replace("{prefix}", prefix).replace("{place}", place).replace("{core}", core_of(place))


# ------------------------------------------------------------------------------------------- rendering


def font_files() -> list[tuple[str, Path, int]]:
    """(label, file, face index) for the CJK fonts shipped by mplfonts; a .ttc gets its Simplified-Chinese face."""
    import mplfonts

    fonts = []
    for path in sorted((Path(mplfonts.__file__).parent / "fonts").glob("*")):
        if path.suffix.lower() not in (".ttf", ".otf", ".ttc"):
            continue
        index = 0
        if path.suffix.lower() == ".ttc":
            for i in range(16):
                try:
                    family = ImageFont.truetype(str(path), 20, index=i).getname()[0]
                except OSError:
                    break
                if "SC" in family or "Simplified" in family:
                    index = i
                    break
        fonts.append((path.stem, path, index))
    return fonts


# plaques are 宋体 (policy seed 附件), so serif faces get most of the weight
FONT_WEIGHTS = {
    "NotoSerifCJKsc-Regular": 4,
    "SourceHanSerifSC-Regular": 2,
    "SimHei": 2,
    "NotoSansCJKsc-Regular": 2,
    "NotoSansMonoCJKsc-Regular": 1,
    "SourceHanMonoSC-Regular": 1,
}


def colours(kind: str, typ: str, rng: random.Random) -> tuple[tuple[int, int, int], tuple[int, int, int], str]:
    """(ground, ink, style) of a board: white ground, red ink for the party organisation, black otherwise;
    honours are often red with gold letters; background signs vary."""
    white = tuple(rng.randint(232, 255) for _ in range(3))
    if kind == "honour" and rng.random() < 0.5:
        return (rng.randint(150, 200), rng.randint(10, 40), rng.randint(10, 40)), (230, 200, rng.randint(60, 120)), "red"
    if kind == "background" and rng.random() < 0.5:
        ground = tuple(rng.randint(0, 255) for _ in range(3))
        ink = (255, 255, 255) if sum(ground) < 380 else (20, 20, 20)
        return ground, ink, "colour"
    if typ == "party_org" or (kind == "honour" and rng.random() < 0.5):
        return white, (rng.randint(170, 220), rng.randint(0, 30), rng.randint(0, 30)), "white"
    if rng.random() < 0.2:  # stainless steel ground
        g = rng.randint(170, 210)
        return (g, g, g + 5), (rng.randint(0, 40),) * 3, "steel"
    return white, (rng.randint(0, 40),) * 3, "white"


def render(text: str, font_path: Path, index: int, ground, ink, stroke: int) -> np.ndarray:
    size = 64
    font = ImageFont.truetype(str(font_path), size, index=index)
    x0, y0, x1, y1 = ImageDraw.Draw(Image.new("RGB", (8, 8))).textbbox((0, 0), text, font=font, stroke_width=stroke)
    pad = size // 3
    img = Image.new("RGB", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), ground)
    ImageDraw.Draw(img).text((pad - x0, pad - y0), text, font=font, fill=ink, stroke_width=stroke, stroke_fill=ink)
    return np.asarray(img)


def degrade(img: np.ndarray, rng: random.Random, nrng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Rotation + shear, down-scaling to a small text height, blur, faded ink, glare, uneven light, noise, JPEG."""
    p = {
        "angle": rng.uniform(-3.0, 3.0),
        "shear": rng.uniform(-0.06, 0.06),
        "text_h": rng.choice([rng.randint(9, 13), rng.randint(12, 20), rng.randint(16, 32)]),
        "blur": rng.choice([0.0, rng.uniform(0.3, 0.8), rng.uniform(0.7, 1.4)]),
        "light": rng.uniform(0.5, 1.0),
        "fade": rng.choice([1.0, 1.0, rng.uniform(0.45, 0.9)]),
        "glare": rng.random() < 0.15,
        "noise": rng.uniform(0.0, 16.0),
        "jpeg": rng.randint(15, 90),
    }
    p["blur"] = min(p["blur"], 0.1 * p["text_h"])  # a 9-px line blurred by 1.4 px is unreadable to anyone
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), p["angle"], 1.0)
    m[0, 1] += p["shear"]
    m[0, 2] -= p["shear"] * h / 2
    img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    k = p["text_h"] / 64.0  # the font was drawn at 64 px
    img = cv2.resize(img, (max(8, round(w * k)), max(8, round(h * k))), interpolation=cv2.INTER_AREA)
    if p["blur"] > 0:
        img = cv2.GaussianBlur(img, (0, 0), p["blur"])
    if p["fade"] < 1.0:  # weathered ink: letters pulled towards the ground colour
        ground = np.median(img.reshape(-1, 3), axis=0)
        img = (ground + (img.astype(np.float32) - ground) * p["fade"]).astype(np.uint8)
    if p["glare"]:  # a soft specular spot on a glossy board
        hh, ww = img.shape[:2]
        yy, xx = np.mgrid[0:hh, 0:ww]
        cx, cy, r = rng.uniform(0, ww), rng.uniform(0, hh), rng.uniform(0.15, 0.4) * ww
        spot = np.exp(-(((xx - cx) ** 2 + ((yy - cy) * 3) ** 2) / (2 * r * r)))[..., None]
        img = np.clip(img + spot * rng.uniform(40, 100), 0, 255).astype(np.uint8)
    ramp = np.linspace(p["light"], 1.0, img.shape[1], dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    out = img.astype(np.float32) * ramp[None, :, None]
    out += nrng.normal(0.0, p["noise"], out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, p["jpeg"]])
    out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out, p


# ------------------------------------------------------------------------------------------- alignment


def edits(truth: str, read: str) -> list[tuple[str, str]]:
    """(truth char, read char) for every substitution, ('x', '') for a deletion and ('', 'x') for an insertion."""
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, truth, read, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        a, b = truth[i1:i2], read[j1:j2]
        n = min(len(a), len(b))
        out += list(zip(a[:n], b[:n], strict=True))  # a replace block pairs position by position ...
        out += [(c, "") for c in a[n:]]  # ... and its longer side is left as deletions / insertions
        out += [("", c) for c in b[n:]]
    return out


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# ------------------------------------------------------------------------------------------------ main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crops", type=int, default=800)
    ap.add_argument("--seed", type=int, default=20240628)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "ocr_confusions.tsv")
    ap.add_argument("--save-crops", type=Path, default=None, help="folder to write the crops into (PNG)")
    args = ap.parse_args()

    from rapidocr_onnxruntime import RapidOCR

    rng = random.Random(args.seed)
    nrng = np.random.default_rng(args.seed)
    bodies = read_tsv(HERE / "bodies.tsv")
    places: dict[str, list[str]] = collections.defaultdict(list)
    for row in read_tsv(HERE / "places.tsv"):
        places[row["kind"]].append(row["name"])
    fonts = font_files()
    if not fonts:
        sys.exit("no CJK font found under mplfonts/fonts")
    font_weights = [FONT_WEIGHTS.get(label, 1) for label, _, _ in fonts]
    engine = RapidOCR(intra_op_num_threads=args.threads, inter_op_num_threads=1, print_verbose=False)
    if args.save_crops:
        args.save_crops.mkdir(parents=True, exist_ok=True)

    # every template once, then random templates, in a seeded order
    order = list(range(len(bodies)))
    rng.shuffle(order)
    while len(order) < args.crops:
        order.append(rng.randrange(len(bodies)))
    order = order[: args.crops]

    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    by_h: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    by_font: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    n_chars = n_err = n_exact = 0
    t0 = time.time()
    for k, i in enumerate(order):
        row = bodies[i]
        text = fill(row["template"], row["note"], places, rng)
        label, path, index = rng.choices(fonts, weights=font_weights)[0]
        ground, ink, _ = colours(row["kind"], row["type"], rng)
        crop = render(text, path, index, ground, ink, stroke=rng.choice([0, 0, 1, 2]))
        crop, p = degrade(crop, rng, nrng)
        if args.save_crops:
            Image.fromarray(crop).save(args.save_crops / f"{k:04d}.png")
        result, _ = engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        read = str(result[0][0]) if result else ""
        truth, got = re.sub(r"\s+", "", text), re.sub(r"\s+", "", read)
        counts.update(edits(truth, got))
        d = levenshtein(truth, got)
        n_chars += len(truth)
        n_err += d
        n_exact += d == 0
        bucket = next(f"{lo}-{hi}px" for lo, hi in ((9, 11), (12, 15), (16, 20), (21, 32)) if p["text_h"] <= hi)
        for table, key in ((by_h, bucket), (by_font, label)):
            table[key][0] += d
            table[key][1] += len(truth)

    with args.out.open("w", encoding="utf-8", newline="") as f:
        f.write("truth\tread\tcount\n")
        for (a, b), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(f"{a}\t{b}\t{c}\n")

    subs = sum(c for (a, b), c in counts.items() if a and b)
    dels = sum(c for (a, b), c in counts.items() if not b)
    ins = sum(c for (a, b), c in counts.items() if not a)
    print(f"crops: {len(order)}   truth chars: {n_chars}   seconds: {time.time() - t0:.0f}")
    print(f"character error rate (Levenshtein / truth chars): {n_err / n_chars:.4f}")
    print(f"lines read exactly: {n_exact}/{len(order)} ({n_exact / len(order):.1%})")
    print(f"aligned edits: {subs} substitutions, {dels} deletions, {ins} insertions; {len(counts)} distinct pairs -> {args.out}")
    print(
        "CER by text height: "
        + ", ".join(f"{k} {v[0] / v[1]:.3f}" for k, v in sorted(by_h.items(), key=lambda kv: int(kv[0].split("-")[0])))
    )
    print("CER by font: " + ", ".join(f"{k} {v[0] / v[1]:.3f}" for k, v in sorted(by_font.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
