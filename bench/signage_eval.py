"""Inventory accuracy of the signage engine on generated scenes with known truth.

For each scene (held-out village names, walls and fonts), the engine's ``present`` list is compared with the
official plaques the generator labelled; a photo counts as exact when the two lists are equal. Figures are
given for all photos and for the photos the engine judged sharp enough to read (the others get a retake
request), with the detector (YOLO + OCR) and without it (OCR alone, the baseline).

    .venv/bin/python bench/signage_eval.py --n 60
"""

from __future__ import annotations

import argparse
import io
import sys
import time

from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20_000_000)
    parser.add_argument("--long-side", type=int, default=2000)
    parser.add_argument("--modes", default="ocr,detector")
    args = parser.parse_args()

    from audit.signage import Engine, PhotoInput, audit_signage
    from audit.synth.scene import generate_scene

    scenes = []
    for i in range(args.n):
        side = "internal" if i % 5 == 4 else "external"
        sc = generate_scene(args.seed + i, long_side=args.long_side, side=side, held_out=True)
        buf = io.BytesIO()
        Image.fromarray(sc.image).save(buf, "JPEG", quality=88)
        truth = sorted({p["type"] for p in sc.truth["plaques"] if p["type"] != "other_sign" and p["labelled"]})
        scenes.append((buf.getvalue(), side, truth))

    for mode in args.modes.split(","):
        engine = Engine.load(use_detector=mode == "detector")
        if mode == "detector" and engine.detector is None:
            print("detector: no models/plaques.onnx, skipped")
            continue
        exact = exact_sharp = sharp = 0
        t0 = time.perf_counter()
        for i, (data, side, truth) in enumerate(scenes):
            report = audit_signage([PhotoInput(data, f"{i}.jpg", side)], engine)
            ok = sorted(report.summary.present) == truth
            is_sharp = not report.summary.retake
            exact += ok
            sharp += is_sharp
            exact_sharp += ok and is_sharp
        dt = (time.perf_counter() - t0) / len(scenes)
        print(f"{mode:<9} exact inventory {exact}/{len(scenes)} ({exact / len(scenes):.0%}); "
              f"sharp photos {exact_sharp}/{sharp} ({exact_sharp / max(sharp, 1):.0%}); {dt:.2f} s/photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
