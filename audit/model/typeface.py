"""Training data and training of the typeface classifier (``models/typeface.onnx``, run by
``audit.signs.typeface``).

Boards are drawn flat with the CJK fonts that install here, photographed badly (perspective, light and colour
cast, glare, blur, noise, JPEG) and cut into windows by the run-time code itself
(:func:`audit.signs.typeface.windows_of_crop`), so that training sees exactly what inference sees. Fonts are
split by design: the held-out fonts differ from every training font of their typeface in family and foundry
(no rebranding of a training design; Source Han Serif is Noto Serif CJK under another name and is reported
apart). Fonts missing on this machine are skipped and named.

    nice -n 10 .venv/bin/python -m audit.model.typeface train --out models/
    nice -n 10 .venv/bin/python -m audit.model.typeface train --out models/ --boards 30000 --epochs 16 \
        --px 9 34 --ink-quantile 0.995 --name typeface_small --width 32 64 96   # the model for lines under 28 px
    .venv/bin/python -m audit.model.typeface eval --model models/typeface.onnx
"""

from __future__ import annotations

import argparse
import io
import json
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from audit.model.synth import catalogue as cat
from audit.signs import typeface as tf
from audit.signs.fonts import FontFace, available_faces

DEBIAN = Path("/usr/share/fonts")


@dataclass(frozen=True)
class CatalogueFont:
    """A font of the catalogue: where to find it, what it is, which split it belongs to."""

    key: str
    typeface: str  # song | hei | kai
    family: str
    foundry: str
    path: str  # relative to /usr/share/fonts, or "mplfonts:<key>"
    split: str  # train | held_out | same_design (a rebranding of a training font: reported apart)
    face_suffix: str = " SC"  # the face of a .ttc to use


def _noto(kind: str, weight: str, typeface: str) -> CatalogueFont:
    family = f"Noto {kind} CJK SC {weight}"
    return CatalogueFont(f"noto_{kind.lower()}_{weight.lower()}", typeface, family, "Adobe / Google",
                         f"opentype/noto/Noto{kind}CJK-{weight}.ttc", "train")


CATALOGUE: tuple[CatalogueFont, ...] = (
    # training: Song
    *(_noto("Serif", w, "song") for w in ("Light", "Regular", "Medium", "SemiBold", "Bold", "Black")),
    CatalogueFont("hanamin", "song", "HanaMinA 花園明朝", "GlyphWiki (KAGE)", "truetype/hanazono/HanaMinA.ttf", "train"),
    # training: Hei
    *(_noto("Sans", w, "hei") for w in ("Light", "Regular", "Medium", "Bold", "Black")),
    CatalogueFont("noto_sans_mono", "hei", "Noto Sans Mono CJK SC", "Adobe / Google", "mplfonts:sans_mono", "train"),
    CatalogueFont("wqy_zenhei", "hei", "WenQuanYi Zen Hei 文泉驿正黑", "WenQuanYi", "truetype/wqy/wqy-zenhei.ttc",
                  "train", face_suffix="Zen Hei"),
    # training: Kai
    CatalogueFont("ukai_cn", "kai", "AR PL UKai CN 文鼎PL中楷", "Arphic", "truetype/arphic/ukai.ttc", "train",
                  face_suffix=" CN"),
    CatalogueFont("gkai", "kai", "AR PL KaitiM GB 文鼎PL简中楷", "Arphic", "truetype/arphic-gkai00mp/gkai00mp.ttf",
                  "train"),
    # held out: another family and foundry than every training font of the same typeface
    CatalogueFont("uming_cn", "song", "AR PL UMing CN 文鼎PL明体", "Arphic", "truetype/arphic/uming.ttc", "held_out",
                  face_suffix=" CN"),
    CatalogueFont("gbsn", "song", "AR PL SungtiL GB 文鼎PL简报宋", "Arphic", "truetype/arphic-gbsn00lp/gbsn00lp.ttf",
                  "held_out"),
    CatalogueFont("simhei", "hei", "SimHei 黑体", "Zhongyi (中易)", "mplfonts:simhei", "held_out"),
    CatalogueFont("wqy_microhei", "hei", "WenQuanYi Micro Hei 文泉驿微米黑", "Ascender (Droid Sans Fallback)",
                  "truetype/wqy/wqy-microhei.ttc", "held_out", face_suffix="Micro Hei"),
    CatalogueFont("lxgw_wenkai", "kai", "LXGW WenKai 霞鹜文楷", "LXGW (from Fontworks' Klee One)",
                  "truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf", "held_out"),
    # same design as a training font under another name: not evidence of generalisation
    CatalogueFont("source_han_serif", "song", "Source Han Serif SC 思源宋体", "Adobe (= Noto Serif CJK)",
                  "mplfonts:sourcehan_serif", "same_design"),
)


def _ttc_index(path: Path, suffix: str) -> int:
    if path.suffix.lower() != ".ttc":
        return 0
    for i in range(16):
        try:
            name = ImageFont.truetype(str(path), 12, index=i).getname()[0]
        except OSError:
            break
        if name.endswith(suffix) or suffix in name:
            return i
    return 0


@lru_cache(maxsize=1)
def installed_fonts() -> dict[str, tuple[CatalogueFont, FontFace]]:
    """The catalogue's fonts found on this machine, with their faces (a .ttc's SC face by index)."""
    out: dict[str, tuple[CatalogueFont, FontFace]] = {}
    mpl = available_faces()
    for f in CATALOGUE:
        if f.path.startswith("mplfonts:"):
            face = mpl.get(f.path.split(":", 1)[1])
            if face is None:
                continue
            out[f.key] = (f, FontFace(f.family, face.path, face.index, f.typeface))
            continue
        p = DEBIAN / f.path
        if p.is_file():
            out[f.key] = (f, FontFace(f.family, str(p), _ttc_index(p, f.face_suffix), f.typeface))
    return out


def missing_fonts() -> list[str]:
    """Catalogue keys not installed here."""
    have = installed_fonts()
    return [f.key for f in CATALOGUE if f.key not in have]


@lru_cache(maxsize=64)
def _cmap(path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith(".ttc"):
        font = TTCollection(path, lazy=True).fonts[index]
    else:
        font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap() or {})


def plaque_texts(held_out: bool) -> list[str]:
    """Board texts: the generator's plaque names and unlisted signs with its training (or held-out) villages."""
    specs, townships = cat.load_catalogue()
    villages = cat.HELD_OUT_VILLAGES if held_out else cat.TRAIN_VILLAGES
    texts = []
    for v in villages:
        for s in specs:
            for p in s.patterns:
                texts.append(cat.fill(p, v, townships[len(v) % len(townships)]))
        for t in cat.UNAUTHORISED_TEMPLATES:
            texts.append(cat.fill(t, v))
    return texts


@lru_cache(maxsize=64)
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def _render_flat(face: FontFace, text: str, em: int, vertical: bool, colour: tuple[int, int, int],
                 bg: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """The text drawn flat in one column (vertical) or line, ``em`` pixels a character, with margins."""
    pitch = em * rng.uniform(1.0, 1.22)
    n = len(text)
    long_side = int(n * pitch + em * rng.uniform(0.3, 1.2))
    short = int(em * rng.uniform(1.35, 1.9))
    w, h = (short, long_side) if vertical else (long_side, short)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    f = _pil_font(face.path, face.index, em)
    start = (long_side - n * pitch) / 2
    for i, ch in enumerate(text):
        c = start + pitch * (i + 0.5)
        xy = (w / 2, c) if vertical else (c, h / 2)
        draw.text(xy, ch, font=f, fill=colour, anchor="mm")
    arr = np.asarray(img, np.float32)
    if rng.random() < 0.4:  # a frame: it touches the crop's edge and must not be read as text
        k = max(2, int(em * rng.uniform(0.05, 0.2)))
        frame = rng.uniform(60, 200, 3)
        arr[:k], arr[-k:], arr[:, :k], arr[:, -k:] = frame, frame, frame, frame
    return arr


def degrade(flat: np.ndarray, em: float, char_px: float, rng: np.random.Generator) -> np.ndarray:
    """A phone photo of a flat board: perspective to ``char_px`` pixels a character, light, colour cast,
    glare, blur, noise and JPEG. Returns uint8 RGB."""
    h, w = flat.shape[:2]
    s = char_px / em
    ow, oh = max(8, int(w * s)), max(8, int(h * s))
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = rng.uniform(-0.07, 0.07, (4, 2)) * [ow, oh]
    dst = (np.float32([[0, 0], [ow, 0], [ow, oh], [0, oh]]) + j).astype(np.float32)
    hm = cv2.getPerspectiveTransform(src, dst)
    # downscale in two steps so small text is antialiased like a camera's, not aliased
    img = cv2.warpPerspective(flat, hm, (ow, oh), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    if s < 0.5:
        pre = cv2.resize(flat, (max(8, int(w * s * 2)), max(8, int(h * s * 2))), interpolation=cv2.INTER_AREA)
        hm2 = cv2.getPerspectiveTransform(src * s * 2, dst)
        img = cv2.warpPerspective(pre, hm2, (ow, oh), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:oh, 0:ow].astype(np.float32)
    grad = 1 + rng.uniform(-0.3, 0.3) * (xx / ow - 0.5) + rng.uniform(-0.3, 0.3) * (yy / oh - 0.5)
    cast = rng.uniform(0.6, 1.1, 3) * rng.uniform(0.25, 1.1)
    img = img * grad[..., None] * cast
    if rng.random() < 0.3:
        cy, cx, r = rng.uniform(0, oh), rng.uniform(0, ow), rng.uniform(0.2, 0.8) * max(ow, oh)
        img = img + rng.uniform(20, 140) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r))[..., None]
    u = rng.random()
    if u < 0.35:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.07 * char_px + 0.3))
    elif u < 0.45:
        k = max(3, int(rng.uniform(0.04, 0.12) * char_px) | 1)
        kern = np.zeros((k, k), np.float32)
        kern[k // 2] = 1.0
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kern = cv2.warpAffine(kern, rot, (k, k))
        img = cv2.filter2D(img, -1, kern / max(kern.sum(), 1e-6))
    img = img + rng.normal(0, rng.uniform(0.5, 7.0), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(35, 96)))
    return np.asarray(Image.open(buf).convert("RGB"))


INK = {"red": (200, 22, 28), "black": (20, 20, 22), "blue": (24, 60, 150), "green": (20, 110, 60)}


def board_photo(face: FontFace, text: str, char_px: float, rng: np.random.Generator, *,
                vertical: bool | None = None) -> np.ndarray:
    """A degraded photo crop of a board with ``text`` in ``face`` at about ``char_px`` pixels a character."""
    em = 72
    colour = INK[str(rng.choice(["red", "black", "black", "red", "blue", "green"]))]
    bg = tuple(int(v) for v in rng.uniform(225, 255, 3))
    if vertical is None:
        vertical = bool(rng.random() < 0.6)
    flat = _render_flat(face, text, em, vertical, colour, bg, rng)
    return degrade(flat, em, char_px, rng)


def _chars_ok(face: FontFace, text: str) -> bool:
    cmap = _cmap(face.path, face.index)
    return all(ord(c) in cmap for c in text)


def window_set(split: str, n_boards: int, seed: int, *, per_board: int = 4, keys: list[str] | None = None,
               px_range: tuple[float, float] = (12.0, 110.0),
               ink_quantile: float = tf.INK_QUANTILE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows from ``n_boards`` random short boards of a split's fonts, characters ``px_range`` pixels high
    (log-uniform): (X ``N × 1 × 48 × 48``, y, font index into the split's sorted keys)."""
    rng = np.random.default_rng(seed)
    fonts = installed_fonts()
    keys = keys or sorted(k for k, (f, _) in fonts.items() if f.split == split)
    by_class = {c: [k for k in keys if fonts[k][0].typeface == c] for c in tf.CLASSES}
    texts = plaque_texts(held_out=split != "train")
    xs, ys, fs = [], [], []
    for _ in range(n_boards):
        cls = int(rng.integers(0, 3))
        if not by_class[tf.CLASSES[cls]]:
            continue
        key = str(rng.choice(by_class[tf.CLASSES[cls]]))
        face = fonts[key][1]
        text = str(rng.choice(texts))
        start = int(rng.integers(0, max(1, len(text) - 2)))
        text = text[start:start + int(rng.integers(2, 6))]
        if not _chars_ok(face, text):
            continue
        char_px = float(math.exp(rng.uniform(math.log(px_range[0]), math.log(px_range[1]))))
        batch, _ = tf.windows_of_crop(board_photo(face, text, char_px, rng), ink_quantile=ink_quantile)
        if len(batch) == 0:
            continue
        pick = rng.choice(len(batch), size=min(per_board, len(batch)), replace=False)
        xs.append(batch[pick])
        ys += [cls] * len(pick)
        fs += [keys.index(key)] * len(pick)
    return np.concatenate(xs), np.asarray(ys, np.int64), np.asarray(fs, np.int64)


NET_WIDTH: tuple[int, int, int] = (16, 32, 48)  # the shipped models' channels (stem, second, third conv)


def _net(width: tuple[int, int, int] = NET_WIDTH):  # noqa: ANN202 - torch is imported here only
    """A strided stem, two pooled stages, global average pooling (typeface is in the strokes' texture, not in
    where they are). ``width``: the three convolutions' channels; the default (16, 32, 48) is the shipped
    models' network, about 19,000 weights."""
    import torch.nn as nn

    def block(i: int, o: int, k: int = 3, s: int = 1, p: int = 1) -> list:
        return [nn.Conv2d(i, o, k, s, p, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    c1, c2, c3 = width
    return nn.Sequential(*block(1, c1, 4, 2, 1), nn.MaxPool2d(2), *block(c1, c2), nn.MaxPool2d(2), *block(c2, c3),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(c3, 3))


def train(out_dir: Path, *, n_boards: int = 5000, epochs: int = 6, seed: int = 7,
          px_range: tuple[float, float] = (12.0, 110.0), name: str = "typeface", ink_quantile: float = tf.INK_QUANTILE,
          width: tuple[int, int, int] = NET_WIDTH) -> dict:
    """Train on the training fonts with characters ``px_range`` pixels high, export ``{name}.onnx`` to
    ``out_dir`` and return the recipe (also written as ``{name}_recipe.json``). ``width``: the network's
    channels (:func:`_net`)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # faster than two on a shared 2-core machine
    t0 = time.time()
    x, y, _ = window_set("train", n_boards, seed, px_range=px_range, ink_quantile=ink_quantile)
    xv, yv, _ = window_set("train", n_boards // 8, seed + 1, px_range=px_range, ink_quantile=ink_quantile)
    t_data = time.time() - t0
    net = _net(tuple(width))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * math.ceil(len(x) / 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    log = []
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            xb = xt[idx]
            if torch.rand(1, generator=gen).item() < 0.5:  # mirror images are not characters, but strokes are
                xb = xb.flip(3)
            loss = torch.nn.functional.cross_entropy(net(xb), yt[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        net.eval()
        with torch.no_grad():
            acc = float((net(torch.from_numpy(xv)).argmax(1).numpy() == yv).mean())
        log.append({"epoch": epoch + 1, "loss": round(total / len(xt), 4), "val_window_acc": round(acc, 4)})
        print(log[-1], flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    torch.onnx.export(net, torch.zeros(1, 1, tf.INPUT_PX, tf.INPUT_PX), str(onnx_path), input_names=["windows"],
                      output_names=["logits"], dynamic_axes={"windows": {0: "n"}, "logits": {0: "n"}},
                      opset_version=17, dynamo=False)
    recipe = {"train_windows": int(len(x)), "val_windows": int(len(xv)), "epochs": epochs, "seed": seed,
              "n_boards": n_boards, "char_px": list(px_range), "ink_quantile": ink_quantile,
              "data_seconds": round(t_data), "seconds": round(time.time() - t0),
              "width": list(width), "params": int(sum(p.numel() for p in net.parameters())), "log": log,
              "train_fonts": sorted(k for k, (f, _) in installed_fonts().items() if f.split == "train"),
              "missing_fonts": missing_fonts()}
    (out_dir / f"{name}_recipe.json").write_text(json.dumps(recipe, ensure_ascii=False, indent=1) + "\n")
    return recipe


def evaluate(model_path: Path | None = None, *, boards_per_font: int = 80, seed: int = 99,
             min_px: float = 40.0, max_px: float = 110.0) -> dict:
    """Board-level results per font (full plaque names with held-out villages, characters ``min_px`` to
    ``max_px`` high, this module's degradations) with the run-time reading: the most probable typeface, and
    the check's answer to "is it Song?" (:func:`audit.signs.typeface.matches`)."""
    model = tf.TypefaceClassifier(model_path)
    rng = np.random.default_rng(seed)
    texts = plaque_texts(held_out=True)
    out = {}
    for key, (f, face) in sorted(installed_fonts().items()):
        c = {"boards": 0, "as": {k: 0 for k in (*tf.CLASSES, "unknown")}, "song": 0, "not_song": 0, "cannot_tell": 0}
        while c["boards"] < boards_per_font:
            text = str(rng.choice(texts))
            if not _chars_ok(face, text):
                continue
            char_px = float(math.exp(rng.uniform(math.log(min_px), math.log(max_px))))
            r = model.reading(board_photo(face, text, char_px, rng, vertical=bool(rng.random() < 0.6)))
            c["boards"] += 1
            c["as"][r.typeface] += 1
            c[{True: "song", False: "not_song", None: "cannot_tell"}[tf.matches(r, "song")]] += 1
        decided = c["song"] + c["not_song"]
        right = c["song"] if f.typeface == "song" else c["not_song"]
        c.update(typeface=f.typeface, split=f.split, family=f.family, foundry=f.foundry,
                 decided_rate=round(decided / c["boards"], 3), right_of_decided=round(right / max(decided, 1), 3),
                 right_of_all=round(right / c["boards"], 3))
        out[key] = c
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", type=Path, default=Path("models"))
    t.add_argument("--boards", type=int, default=5000)
    t.add_argument("--epochs", type=int, default=6)
    t.add_argument("--seed", type=int, default=7)
    t.add_argument("--px", type=float, nargs=2, default=(12.0, 110.0), metavar=("MIN", "MAX"),
                   help="characters' height in pixels, drawn log-uniform")
    t.add_argument("--name", default="typeface", help="writes NAME.onnx and NAME_recipe.json")
    t.add_argument("--ink-quantile", type=float, default=tf.INK_QUANTILE, help="windows scaled so this quantile of ink is 1")
    t.add_argument("--width", type=int, nargs=3, default=NET_WIDTH, metavar=("C1", "C2", "C3"),
                   help="the three convolutions' channels (default: the shipped models' 16 32 48)")
    e = sub.add_parser("eval")
    e.add_argument("--model", type=Path, default=None)
    e.add_argument("--boards", type=int, default=80)
    e.add_argument("--json", type=Path, default=None)
    e.add_argument("--px", type=float, nargs=2, default=(40.0, 110.0), metavar=("MIN", "MAX"),
                   help="characters' height in pixels (from about 23 px to 32 px the small-character model reads)")
    args = parser.parse_args(argv)
    if args.cmd == "train":
        print(json.dumps(train(args.out, n_boards=args.boards, epochs=args.epochs, seed=args.seed,
                              px_range=tuple(args.px), name=args.name,
                              ink_quantile=args.ink_quantile, width=tuple(args.width)))[:2000])
    else:
        res = evaluate(args.model, boards_per_font=args.boards, min_px=args.px[0], max_px=args.px[1])
        print("font                   split       truth  Song? yes/no/cannot tell   right of decided  decided  "
              "most probable")
        for key, c in res.items():
            print(f"{key:22s} {c['split']:11s} {c['typeface']:5s}  {c['song']:3d}/{c['not_song']:3d}/{c['cannot_tell']:3d}"
                  f"              {c['right_of_decided']:.3f}             {c['decided_rate']:.3f}    {c['as']}")
        if args.json:
            args.json.write_text(json.dumps(res, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
