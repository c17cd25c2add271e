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
    parser.add_argument("--det-long-side", type=int, default=None, help="full-photo OCR detection size")
    args = parser.parse_args()

    from audit.signage import Engine, PhotoInput, audit_signage
    from audit.synth.scene import generate_scene

    scenes = []
    for i in range(args.n):
        side = "internal" if i % 5 == 4 else "external"
        sc = generate_scene(args.seed + i, long_side=args.long_side, side=side, held_out=True)
        buf = io.BytesIO()
        Image.fromarray(sc.image).save(buf, "JPEG", quality=88)
        official = [p for p in sc.truth["plaques"] if p["type"] != "other_sign" and p["labelled"]]
        truth = sorted({p["type"] for p in official})
        # Plaques the generator labels may be mostly hidden (cut by the frame, behind a person): their text
        # cannot be read by anyone. "readable" leaves out official plaques less than 80 % visible.
        readable = sorted({p["type"] for p in official if p["visible"] >= 0.8})
        scenes.append((buf.getvalue(), side, truth, readable, sc.truth["village"]))

    for mode in args.modes.split(","):
        kw = {"det_long_side": args.det_long_side} if args.det_long_side else {}
        engine = Engine.load(use_detector=mode == "detector", **kw)
        if mode == "detector" and engine.detector is None:
            print("detector: no models/plaques.onnx, skipped")
            continue
        exact = exact_sharp = sharp = readable_ok = readable_sharp = 0
        t0 = time.perf_counter()
        for i, (data, side, truth, readable, village) in enumerate(scenes):
            # The inspector picks the village before auditing, so its name is known.
            report = audit_signage([PhotoInput(data, f"{i}.jpg", side)], engine, village_name=village)
            got = sorted(report.summary.present)
            is_sharp = not report.summary.retake
            exact += got == truth
            sharp += is_sharp
            exact_sharp += got == truth and is_sharp
            readable_ok += got == readable
            readable_sharp += got == readable and is_sharp
        dt = (time.perf_counter() - t0) / len(scenes)
        n = len(scenes)
        print(f"{mode:<9} exact inventory {exact}/{n} ({exact / n:.0%}), sharp photos {exact_sharp}/{sharp}; "
              f"vs readable plaques {readable_ok}/{n} ({readable_ok / n:.0%}), sharp photos {readable_sharp}/{sharp}; "
              f"{dt:.2f} s/photo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
