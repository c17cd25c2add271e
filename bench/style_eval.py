"""Style checks on generated board photos: text colour in each light, typeface, false alarms and abstention.

Each board is an official plaque painted by the scene generator's board renderer (``audit.model.synth.objects``)
with the generator's own plaque names and held-out village names, in a font the typeface classifier never saw
(Song: AR PL UMing CN, AR PL SungtiL GB; the violations: SimHei, WenQuanYi Micro Hei, LXGW WenKai — see
``audit.model.typeface.CATALOGUE``), hung on a wall, seen at an angle, lit by one of the lights below (a light
model of its own, applied in linear light with the phone's partial white balance, not the classifier's training
degradations), blurred, noised and saved as JPEG; then cut out with a detector-like box (a few per cent off on
each side) and checked by :func:`audit.signs.style.style_checks`, as the engine does.

A board is *in order* (white, right colour, Song), a *colour violation* (black on the party plaque, red or blue
on the others) or a *typeface violation* (Hei or Kai). Figures are given for boards whose characters are at
least 40 px high (the issue's "readable" boards) and apart for 20–40 px.

    .venv/bin/python bench/style_eval.py --n 700
    .venv/bin/python bench/style_eval.py --scenes 60      # whole held-out scenes, true boxes; --verbose: each alarm
    .venv/bin/python bench/style_eval.py --scenes 60 --long-side 4000   # the same scenes as 12-MP phone photos
    .venv/bin/python bench/style_eval.py --speed 60       # ms a board: typeface reading (line finding, model), all checks
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LIGHTS = ("daylight", "overcast", "dusk", "shade", "tungsten", "fluorescent", "glare")
SONG = ("uming_cn", "gbsn")
WRONG = {"hei": ("simhei", "wqy_microhei"), "kai": ("lxgw_wenkai",)}
IN_ORDER_TARGET = 0.02  # issue 18: plaques in order flagged by any check, at most this share
CHECKS = ("background", "text_colour", "typeface", "shape", "size")
WALLS = ((168, 82, 60), (190, 188, 180), (120, 120, 124), (214, 200, 170), (90, 70, 60), (235, 235, 230))


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _em_m(w: float, h: float, n: int, vertical: bool, lines: int) -> float:
    """Character size in metres as ``objects.render_board`` sets plain boards (frame neglected)."""
    if vertical:
        return min(w * 0.76 / lines * 0.78, h * 0.88 / n * 0.92)
    return min(h * 0.72 / lines * 0.8, w * 0.84 / n * 0.95)


def light(img: np.ndarray, kind: str, rng: np.random.Generator, board_box: tuple[int, int, int, int]) -> np.ndarray:
    """Light a gamma-encoded photo (float 0–255) in linear light, then the phone's partial white balance."""
    lin = (np.clip(img, 0, 255) / 255.0) ** 2.2
    h, w = lin.shape[:2]
    tint = {"daylight": (1.0, 1.0, 0.97), "overcast": (0.92, 0.97, 1.0), "dusk": (1.0, 0.62, 0.34),
            "shade": (0.72, 0.86, 1.0), "tungsten": (1.0, 0.7, 0.42), "fluorescent": (0.86, 1.0, 0.84),
            "glare": (1.0, 0.99, 0.96)}[kind]
    gain = {"daylight": (0.8, 1.0), "overcast": (0.45, 0.7), "dusk": (0.06, 0.22), "shade": (0.2, 0.4),
            "tungsten": (0.2, 0.5), "fluorescent": (0.35, 0.6), "glare": (0.7, 0.9)}[kind]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grad = 1 + _u(rng, -0.35, 0.35) * (xx / w - 0.5) + _u(rng, -0.25, 0.25) * (yy / h - 0.5)
    lin = lin * np.asarray(tint, np.float32) * _u(rng, *gain) * grad[..., None]
    if kind == "overcast":  # flat sky light: lifted shadows
        lin = lin * 0.85 + 0.03
    if kind == "glare":  # a specular patch on the board: the light's own colour added on top
        x0, y0, x1, y1 = board_box
        cx, cy = _u(rng, x0, x1), _u(rng, y0, y1)
        r = _u(rng, 0.25, 0.7) * max(x1 - x0, (y1 - y0) / 3)
        blob = np.exp(-(((xx - cx) / r) ** 2 + ((yy - cy) / (r * _u(rng, 0.6, 2.0))) ** 2))
        lin = lin + _u(rng, 0.25, 0.8) * blob[..., None] * np.asarray(tint, np.float32)
    # the phone's auto exposure and partial white balance (grey world, only part of the way)
    grey = lin.reshape(-1, 3).mean(axis=0)
    lin = lin / (grey / grey.mean()) ** _u(rng, 0.2, 0.7)
    lin = lin * min(_u(rng, 0.8, 1.6), 0.45 / max(float(grey.mean()), 1e-4))
    return np.clip(lin, 0, 1) ** (1 / 2.2) * 255


def board_photo(spec, text: str, colour: str, face, rng: np.random.Generator, char_px: float, kind: str):
    """(photo, detector box, light-independent truth) for one board."""
    from audit.model.synth.objects import Board, render_board

    vertical = rng.random() < 0.65
    if vertical:
        w, h, lines = _u(rng, 0.30, 0.40), _u(rng, 1.8, 2.5), [text]
    else:
        w, h = 0.6, 0.4
        lines = [text] if len(text) <= 7 else [text[: math.ceil(len(text) / 2)], text[math.ceil(len(text) / 2):]]
    em = _em_m(w, h, max(len(t) for t in lines), vertical, len(lines))
    ppm = char_px / em
    frame = str(rng.choice(["none", "wood", "stainless", "gold"]))
    img = np.asarray(render_board(Board(w, h, "white", lines, colour, face, vertical, frame), ppm, rng), np.float32)
    bh, bw = img.shape[:2]
    mx, my = int(bw * 0.6) + 20, int(bh * 0.25) + 20
    wall = np.asarray(WALLS[int(rng.integers(len(WALLS)))], np.float32)
    canvas = np.empty((bh + 2 * my, bw + 2 * mx, 3), np.float32)
    canvas[:] = wall
    canvas += rng.normal(0, 10, canvas.shape[:2])[..., None]
    canvas[my:my + bh, mx:mx + bw] = img
    # perspective: the board's corners moved by a yaw-like and pitch-like warp
    src = np.float32([[mx, my], [mx + bw, my], [mx + bw, my + bh], [mx, my + bh]])
    yaw, pitch = _u(rng, -0.12, 0.12), _u(rng, -0.05, 0.05)
    dst = src.copy()
    dst[[1, 2], 1] += np.float32([yaw * bh, -yaw * bh]) * 0.5
    dst[[0, 3], 0] += pitch * bw
    dst[:, 0] += rng.normal(0, 0.01 * bw, 4).astype(np.float32)
    hm = cv2.getPerspectiveTransform(src, dst)
    ch, cw = canvas.shape[:2]
    photo = cv2.warpPerspective(canvas, hm, (cw, ch), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    x0, y0 = dst.min(axis=0)
    x1, y1 = dst.max(axis=0)
    photo = light(photo, kind, rng, (int(x0), int(y0), int(x1), int(y1)))
    if rng.random() < 0.4:
        photo = cv2.GaussianBlur(photo, (0, 0), _u(rng, 0.4, 1.2))
    dim = {"dusk": 3.0, "shade": 1.6, "tungsten": 1.6}.get(kind, 1.0)
    photo = photo + rng.normal(0, _u(rng, 1.0, 4.0) * dim, photo.shape)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=int(rng.integers(60, 93)))
    photo = np.asarray(Image.open(buf).convert("RGB"))
    # a detector's box: each side a few per cent off, mostly outwards
    bwp, bhp = x1 - x0, y1 - y0
    box = (x0 - _u(rng, -0.03, 0.06) * bwp, y0 - _u(rng, -0.02, 0.04) * bhp,
           x1 + _u(rng, -0.03, 0.06) * bwp, y1 + _u(rng, -0.02, 0.04) * bhp)
    box = tuple(int(round(v)) for v in box)
    return photo, box


def _scene_em_px(w: float, h: float, n: int) -> float:
    """Character size of a plain board in pixels from its box, as ``objects.render_board`` lays it out."""
    if h > 1.3 * w:
        return _em_m(w, h, n, True, 1)
    lines = math.ceil(n / 7)
    return _em_m(w, h, min(n, 7), False, lines)


def scenes_eval(n: int, seed: int, *, verbose: bool = False, long_side: int = 2000) -> int:
    """Style checks on the official plaques of held-out generator scenes (true boxes stand in for the
    detector): caught/total per light and the false-alarm and abstention rates. Each scene goes through the
    engine's intake (``photo_from_bytes``: a 4000-px photo is worked on at 2000 px) and its board crops through
    the engine's ``style_crop`` (small plaques read on the photo's detail image)."""
    from audit.model.synth.scene import generate_scene
    from audit.rules import load_rules
    from audit.signs.engine import style_crop
    from audit.signs.intake import photo_from_bytes
    from audit.signs.style import boards_light, box_cut_by_photo, illuminant_of, style_checks
    from audit.signs.typeface import MIN_CHAR_PX, classifier, typeface_of_crop

    rules = load_rules()
    judged_from = classifier().min_char_px if classifier() is not None else MIN_CHAR_PX
    rows = []
    for i in range(n):
        sc = generate_scene(seed + i, long_side=long_side, held_out=True,
                            side="internal" if i % 5 == 4 else "external")
        intake = photo_from_bytes(sc.jpeg_bytes(), f"scene_{seed + i}.jpg", rules=rules)
        photo = np.asarray(intake.image)
        illuminant = illuminant_of(photo)
        boards = []   # the scene's official boards (not the identity signs), as the engine takes them
        for k, p in enumerate(sc.truth["plaques"]):
            rule = next((r for r in rules.plaques if r.id == p["type"]), None)
            if rule is None or rule.identity_sign or not p["labelled"]:
                continue
            x1, y1, x2, y2 = (v / intake.scale for v in p["box"])  # on the working image, as a detector box
            boards.append((k, p, rule, (x1, y1, x2, y2), *style_crop(intake, photo, (x1, y1, x2, y2), rule)))
        light = boards_light([crop for *_, crop, _ in boards])
        for k, p, rule, (x1, y1, x2, y2), crop, box_wh in boards:
            if p["visible"] < 0.8 or crop.size == 0:
                continue
            checks = style_checks(crop, box_wh, rule, rules, traditional=False, illuminant=illuminant,
                                  shared_light=light, cut=box_cut_by_photo((x1, y1, x2, y2), photo.shape))
            x1, y1, x2, y2 = (int(round(v)) for v in (x1, y1, x2, y2))
            rows.append({"light": sc.truth["lighting"], "violations": set(p["violations"]) - {"misplaced"},
                         "shape": p["shape"], "px": _scene_em_px(x2 - x1, y2 - y1, len(p["text"])),
                         "line_px": getattr(typeface_of_crop(crop), "char_px", 0.0),
                         "where": f"scene {seed + i} plaque {k} {p['type']} {p['size_cm']} box {[x1, y1, x2, y2]}",
                         "checks": {k_: v["status"] for k_, v in checks.items()},
                         "details": {k_: v["detail"] for k_, v in checks.items()}})
    lights = sorted({r["light"] for r in rows})
    print(f"style_eval --scenes {n}: {len(rows)} official plaques (>= 80 % visible) in held-out generator scenes, "
          f"seed {seed}, {long_side}-px photos (character sizes below: on the engine's working image)")
    for title, sel in (("all plaques (the issue's in-order target: flagged <= 0.02)", rows),
                       ("characters >= 40 px", [r for r in rows if r["px"] >= 40]),
                       ("characters < 40 px", [r for r in rows if r["px"] < 40])):
        print(f"\n== {title}: {len(sel)} plaques")
        for light_ in lights:
            v = [r for r in sel if "text_colour" in r["violations"] and r["light"] == light_]
            c = sum(r["checks"]["text_colour"] == "fail" for r in v)
            print(f"  colour violations caught, {light_:9s} {c:3d}/{len(v):3d}")
        print("  violations caught per check (fail / violations; not_checked in brackets):")
        for key in CHECKS:
            v = [r for r in sel if _violates(r, key)]
            print(f"    {key:12s} {sum(r['checks'][key] == 'fail' for r in v):3d}/{len(v):3d}"
                  f"  ({sum(r['checks'][key] == 'not_checked' for r in v)} not checked)")
        big = [r for r in sel if r["line_px"] >= judged_from]
        v = [r for r in big if _violates(r, "typeface")]
        print(f"    typeface, text lines >= {judged_from:.0f} px (the size the classifier judges): caught "
              f"{sum(r['checks']['typeface'] == 'fail' for r in v)}/{len(v)} "
              f"({sum(r['checks']['typeface'] == 'not_checked' for r in v)} not checked); decided on "
              f"{sum(r['checks']['typeface'] != 'not_checked' for r in big)}/{len(big)} plaques; "
              f"{sum(_violates(r, 'typeface') for r in sel) - len(v)} violations on smaller lines")
        kept = [r for r in sel if "shape" in r["violations"] and r["shape"] != "other"]
        if kept:
            print(f"    (and {len(kept)} generator 'shape' violations drawn as a standard {kept[0]['shape']}: "
                  f"not a violation of the attachment's shapes, counted in order for shape; "
                  f"failed {sum(r['checks']['shape'] == 'fail' for r in kept)})")
        ok = [r for r in sel if not r["violations"]]
        flagged = [r for r in ok if "fail" in r["checks"].values()]
        rate = len(flagged) / max(len(ok), 1)
        target = f" -> target <= {IN_ORDER_TARGET}: {'met' if rate <= IN_ORDER_TARGET else 'NOT met'}" \
            if sel is rows else ""
        print(f"  in order, flagged by any check: {len(flagged)}/{len(ok)} ({rate:.3f}){target}")
        print("  in-order false alarms per check: " + "; ".join(
            f"{k} {sum(r['checks'][k] == 'fail' for r in ok)}" for k in CHECKS))
        print("  abstained (not_checked) per check, all plaques: " + "; ".join(
            f"{k} {sum(r['checks'][k] == 'not_checked' for r in sel)}/{len(sel)}" for k in CHECKS))
        if verbose:
            for r in flagged:
                print(f"    flagged: {r['where']} {r['light']}: "
                      + "; ".join(f"{k} {r['details'][k]}" for k in CHECKS if r["checks"][k] == "fail"))
            for key in ("text_colour", "typeface"):
                for r in sel:
                    if _violates(r, key) and r["checks"][key] != "fail":
                        print(f"    missed {key}: {r['where']} {r['light']}, characters ~{r['px']:.0f} px: "
                              f"{r['details'][key]}")
    return 0


def _violates(row: dict, key: str) -> bool:
    """Whether a scene plaque breaks the check ``key`` (a generator 'shape' violation drawn as a standard strip
    does not: the attachment allows either shape)."""
    if key == "shape":
        return row["shape"] == "other"
    return key in row["violations"]


def speed_eval(n: int, seed: int) -> int:
    """Milliseconds a board for the typeface reading, split into line finding (ink, lines, windows), sharpness
    and the classifier, and for all of style_checks, on the machine as it is (its load average printed)."""
    import os

    from audit.model.synth import catalogue as cat
    from audit.rules import load_rules
    from audit.signs.fonts import faces_for
    from audit.signs.style import illuminant_of, style_checks
    from audit.signs.typeface import classifier, sharpness_of, windows_of_crop

    rules = load_rules()
    model = classifier()
    if model is None:
        print("typeface model not installed (models/typeface.onnx)", file=sys.stderr)
        return 2
    specs = [s for s in cat.load_catalogue()[0] if not s.identity_sign]
    song = faces_for("song", True)
    rng = np.random.default_rng(seed)
    boards = []
    for i in range(n):
        spec = specs[int(rng.integers(len(specs)))]
        text = cat.fill(str(rng.choice(spec.patterns)), str(rng.choice(cat.HELD_OUT_VILLAGES)))
        char_px = math.exp(_u(rng, math.log(40), math.log(130)))
        photo, (x1, y1, x2, y2) = board_photo(spec, text, spec.text_colour or "black", song[i % len(song)], rng,
                                              char_px, LIGHTS[i % len(LIGHTS)])
        boards.append((photo[max(0, y1):y2, max(0, x1):x2], (x2 - x1, y2 - y1), rules.plaque(spec.id),
                       illuminant_of(photo)))
    model.probabilities(windows_of_crop(boards[0][0])[0])  # warm up
    t = defaultdict(float)
    load0 = os.getloadavg()
    for crop, wh, rule, ill in boards:
        t0 = time.perf_counter()
        batch, _ = windows_of_crop(crop)
        t1 = time.perf_counter()
        sharpness_of(batch)
        t2 = time.perf_counter()
        model.probabilities(batch)
        t3 = time.perf_counter()
        style_checks(crop, wh, rule, rules, traditional=False, illuminant=ill)
        t4 = time.perf_counter()
        t["line finding and windows"] += t1 - t0
        t["sharpness"] += t2 - t1
        t["classifier (onnxruntime)"] += t3 - t2
        t["style_checks, all checks"] += t4 - t3
    load1 = os.getloadavg()
    print(f"style_eval --speed {n}: boards with characters 40-130 px, load average "
          f"{load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} before, {load1[0]:.2f} after, {os.cpu_count()} cores")
    for k, v in t.items():
        print(f"  {k:28s} {1000 * v / n:7.1f} ms a board")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=700, help="boards")
    parser.add_argument("--seed", type=int, default=31_000_000)
    parser.add_argument("--fonts", default="held_out", choices=("held_out", "generator"),
                        help="held_out: fonts the classifier never saw; generator: the scene generator's held-out "
                             "faces (Source Han Serif = Noto Serif's design, and SimHei)")
    parser.add_argument("--verbose", action="store_true", help="print every false alarm and missed violation")
    parser.add_argument("--scenes", type=int, default=0,
                        help="instead: the official plaques of N held-out generator scenes (the generator's own "
                             "lights and fonts), cut out with their true boxes as the engine cuts a detector's")
    parser.add_argument("--long-side", type=int, default=2000,
                        help="with --scenes: the photos' long side (4000: 12-MP phone photos, worked on at 2000 px; "
                             "small plaques' style read on the photo's detail image)")
    parser.add_argument("--speed", type=int, default=0,
                        help="instead: time the typeface reading and all style checks on N boards (ms a board, "
                             "with the load average)")
    args = parser.parse_args()
    if args.speed:
        return speed_eval(args.speed, args.seed)
    if args.scenes:
        return scenes_eval(args.scenes, args.seed, verbose=args.verbose, long_side=args.long_side)

    from audit.model.synth import catalogue as cat
    from audit.model.typeface import installed_fonts
    from audit.rules import load_rules
    from audit.signs.fonts import faces_for
    from audit.signs.style import illuminant_of, style_checks, text_colour_of_crop

    rules = load_rules()
    fonts = installed_fonts()
    if args.fonts == "held_out":
        missing = [k for k in (*SONG, *WRONG["hei"], *WRONG["kai"]) if k not in fonts]
        if missing:
            print(f"fonts not installed: {missing} (Debian: fonts-arphic-uming fonts-arphic-gbsn00lp "
                  "fonts-wqy-microhei fonts-lxgw-wenkai)", file=sys.stderr)
            return 2
        song = [fonts[k][1] for k in SONG]
        wrong = {t: [fonts[k][1] for k in keys] for t, keys in WRONG.items()}
    else:
        song, wrong = faces_for("song", True), {"hei": faces_for("hei", True)}
    specs, _ = cat.load_catalogue()
    specs = [s for s in specs if not s.identity_sign]
    rng = np.random.default_rng(args.seed)
    rows = []
    t_style = 0.0
    for i in range(args.n):
        spec = specs[int(rng.integers(len(specs)))]
        want = spec.text_colour or "black"
        village = str(rng.choice(cat.HELD_OUT_VILLAGES))
        text = cat.fill(str(rng.choice(spec.patterns)), village)
        case = ("in_order", "colour", "in_order", "typeface", "in_order")[(i // len(LIGHTS)) % 5]  # 60/20/20
        colour, face, wrong_face = want, song[int(rng.integers(len(song)))], ""
        if case == "colour":
            colour = "black" if want == "red" else str(rng.choice(["red", "red", "blue"]))
        elif case == "typeface":
            wrong_face = str(rng.choice(sorted(wrong)))
            face = wrong[wrong_face][int(rng.integers(len(wrong[wrong_face])))]
        kind = LIGHTS[i % len(LIGHTS)]
        char_px = math.exp(_u(rng, math.log(20), math.log(130)))
        photo, (x1, y1, x2, y2) = board_photo(spec, text, colour, face, rng, char_px, kind)
        crop = photo[max(0, y1):y2, max(0, x1):x2]
        t0 = time.perf_counter()
        checks = style_checks(crop, (x2 - x1, y2 - y1), rules.plaque(spec.id), rules, traditional=False,
                              illuminant=illuminant_of(photo))
        t_style += time.perf_counter() - t0
        missed = case != "in_order" and checks["text_colour" if case == "colour" else "typeface"]["status"] != "fail"
        if args.verbose and (missed or (case == "in_order" and any(
                v["status"] == "fail" for v in checks.values()))):
            print(f"board {i}: {case} {kind} {char_px:.0f}px {face.name} want {want} painted {colour}: "
                  f"{ {k: v['detail'] for k, v in checks.items() if k in ('text_colour', 'typeface')} } "
                  f"{text_colour_of_crop(crop)}")
        rows.append({"case": case, "light": kind, "px": char_px, "wrong": wrong_face, "font": face.name,
                     "checks": {k: v["status"] for k, v in checks.items()},
                     "details": {k: v["detail"] for k, v in checks.items()}})

    def report(sel: list[dict], title: str) -> None:
        print(f"\n== {title}: {len(sel)} boards")
        print("colour violations caught (text_colour fail), by light:")
        for kind in LIGHTS:
            v = [r for r in sel if r["case"] == "colour" and r["light"] == kind]
            caught = sum(r["checks"]["text_colour"] == "fail" for r in v)
            print(f"  {kind:12s} {caught:3d}/{len(v):3d}" + (f"  ({caught / len(v):.3f})" if v else ""))
        for t in sorted(WRONG):
            v = [r for r in sel if r["case"] == "typeface" and r["wrong"] == t]
            if v:
                caught = sum(r["checks"]["typeface"] == "fail" for r in v)
                print(f"typeface violations caught ({t}): {caught}/{len(v)} ({caught / len(v):.3f})")
        v = [r for r in sel if r["case"] == "typeface"]
        caught = sum(r["checks"]["typeface"] == "fail" for r in v)
        print(f"typeface violations caught (all): {caught}/{max(len(v), 1)} ({caught / max(len(v), 1):.3f})")
        ok = [r for r in sel if r["case"] == "in_order"]
        flagged = [r for r in ok if "fail" in r["checks"].values()]
        print(f"in order, flagged by any check: {len(flagged)}/{len(ok)} ({len(flagged) / max(len(ok), 1):.3f})")
        for key in CHECKS:
            n = sum(r["checks"][key] == "fail" for r in ok)
            print(f"  {key:12s} false alarms {n}/{len(ok)}")
        by_light = defaultdict(lambda: [0, 0])
        for r in ok:
            by_light[r["light"]][0] += "fail" in r["checks"].values()
            by_light[r["light"]][1] += 1
        print("  by light: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in by_light.items()))
        for key in ("background", "text_colour", "typeface", "shape"):
            n = sum(r["checks"][key] == "not_checked" for r in sel)
            print(f"abstained on {key}: {n}/{len(sel)} ({n / max(len(sel), 1):.3f}); decided "
                  f"{1 - n / max(len(sel), 1):.3f}")
            why = defaultdict(int)
            for r in sel:
                if r["checks"][key] == "not_checked":
                    why[r["details"][key].split("（")[0]] += 1
            if why:
                print("    " + "; ".join(f"{k} ×{v}" for k, v in sorted(why.items(), key=lambda kv: -kv[1])))

    print(f"style_eval: {args.n} boards, fonts={args.fonts}, seed={args.seed}, "
          f"{1000 * t_style / max(args.n, 1):.1f} ms a board for style_checks")
    report([r for r in rows if r["px"] >= 40], "characters >= 40 px")
    report([r for r in rows if r["px"] < 40], "characters 20-40 px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
