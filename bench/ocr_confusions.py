"""Measure which characters the engine's OCR confuses, for the name matcher (writes
``audit/signs/ocr_confusions.tsv``).

Renders the body names of the rules' lexicon (``[[plaques]] bodies``) and the markers of other signs, joined to
random village names, as small degraded board crops in the fonts that ship with mplfonts, reads them with the
engine's recogniser (``audit.signs.ocr.Reader.recognise``) and aligns each reading with its truth. Substitutions
seen at least ``--min-count`` times are written as ``truth<TAB>read<TAB>count``. The test-side naming bank
measures its own table separately (tests/naming_bank/): the matcher never reads that one.

    .venv/bin/python bench/ocr_confusions.py [--n 600] [--seed 11]
"""

from __future__ import annotations

import argparse
import difflib
import io
import random
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from audit.rules import load_rules
from audit.signs.fonts import available_faces, font
from audit.signs.ocr import Reader

OUT = Path(__file__).resolve().parents[1] / "audit" / "signs" / "ocr_confusions.tsv"
SYLLABLES = ("东西南北上下新老大小前后张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯"
             "邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱"
             "方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武戴莫孔向汤庄桥河湾坪岭沟"
             "店营屯坡塘岗洼园寨集铺")


def _render(text: str, face, rng: random.Random) -> np.ndarray:
    size = rng.choice([11, 12, 13, 14, 16, 18, 22])
    f = font(face, size)
    w = int(f.getlength(text)) + 2 * size
    img = Image.new("RGB", (w, int(size * 1.8)), (rng.randint(215, 255),) * 3)
    ImageDraw.Draw(img).text((size, int(size * 0.3)), text, font=f, fill=(rng.randint(0, 60), 0, 0))
    img = img.rotate(rng.uniform(-2, 2), expand=False, fillcolor=(235, 235, 235))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.1)))
    scale = rng.uniform(0.6, 1.0)
    img = img.resize((max(8, int(img.width * scale)), max(8, int(img.height * scale))))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(25, 70))
    arr = np.asarray(Image.open(buf).convert("RGB")).astype(np.int16)
    arr += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, arr.shape).astype(np.int16)
    return np.clip(arr, 0, 255).astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--min-count", type=int, default=2)
    args = ap.parse_args()
    rules = load_rules()
    words = [b for p in rules.plaques for b in p.bodies] + list(rules.unauthorised_signs.markers)
    faces = list(available_faces().values())
    rng = random.Random(args.seed)
    reader = Reader()
    subs: Counter[tuple[str, str]] = Counter()
    chars = errors = 0
    for _ in range(args.n):
        place = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([1, 2, 2, 3]))) + rng.choice(["村", "社区"])
        truth = place + rng.choice(words)
        read, _ = reader.recognise(_render(truth, rng.choice(faces), rng))
        ops = difflib.SequenceMatcher(None, truth, read, autojunk=False).get_opcodes()
        chars += len(truth)
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal":
                continue
            errors += max(i2 - i1, j2 - j1)
            if tag == "replace" and i2 - i1 == j2 - j1:
                subs.update(zip(truth[i1:i2], read[j1:j2], strict=True))
    rows = sorted(((a, b, n) for (a, b), n in subs.items() if n >= args.min_count), key=lambda r: (-r[2], r[0], r[1]))
    OUT.write_text("truth\tread\tcount\n" + "".join(f"{a}\t{b}\t{n}\n" for a, b, n in rows), encoding="utf-8")
    print(f"{args.n} crops, {chars} characters, character error rate {errors / chars:.3f}; "
          f"{len(rows)} substitutions seen ≥ {args.min_count} times -> {OUT}")


if __name__ == "__main__":
    main()
