"""Signage engine speed (run with `make bench-signs`): end-to-end audit of a 12-MP JPEG with 7 plaques (median,
with the stage breakdown), model load time, and batch throughput.

Targets (issue "Signage audit engine"): ≤ 1.0 s median per 12-MP photo on a 2-core CPU; model load ≤ 3 s; the
training generator ≤ 0.3 s a scene.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time

from PIL import Image


def photo_12mp(seed: int) -> tuple[bytes, int]:
    """A generated 4000 × 3000 facade photo (JPEG) and its number of labelled boards."""
    from audit.model.synth.scene import generate_scene

    for s in range(seed, seed + 200):
        scene = generate_scene(s, long_side=4000, side="external")
        n = sum(p["labelled"] for p in scene.truth["plaques"])
        if scene.image.shape[1] > scene.image.shape[0] and n >= 7:
            buf = io.BytesIO()
            Image.fromarray(scene.image).save(buf, "JPEG", quality=90)
            return buf.getvalue(), n
    raise RuntimeError("no landscape scene with 7 boards found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photos", type=int, default=100, help="photos in the batch-throughput run")
    parser.add_argument("--no-detector", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from audit.signs.engine import Engine, PhotoInput, audit_signage

    engine = Engine.load(use_detector=not args.no_detector)
    load_s = time.perf_counter() - t0
    data, boards = photo_12mp(100)

    stages: dict[str, list[float]] = {}
    totals = []
    for _ in range(args.runs):
        t = time.perf_counter()
        report = audit_signage([PhotoInput(data, "12mp.jpg")], engine)
        totals.append(time.perf_counter() - t)
        for k, v in report.photos[0].timings_s.items():
            stages.setdefault(k, []).append(v)
    decode = [tot - st for tot, st in zip(totals, stages["total"], strict=True)]

    print(f"detector: {'ONNX ' + str(engine.detector.path) if engine.detector else 'none (OCR only)'}")
    print(f"model load (import + detector + OCR): {load_s:.2f} s  (target ≤ 3 s)")
    print(f"12-MP photo, {boards} boards, {args.runs} runs: median {statistics.median(totals):.2f} s "
          f"(target ≤ 1.0 s)")
    print(f"  decode + intake       {statistics.median(decode):.3f} s")
    for k in ("detect", "ocr_photo", "read_boxes", "style"):
        print(f"  {k:<21} {statistics.median(stages[k]):.3f} s")

    t = time.perf_counter()
    for i in range(args.photos):
        audit_signage([PhotoInput(data, f"{i}.jpg")], engine)
    dt = time.perf_counter() - t
    print(f"batch: {args.photos} photos in {dt:.1f} s ({args.photos / dt:.2f} photos/s)")

    from audit.model.synth.scene import generate_scene

    t = time.perf_counter()
    for seed in range(10):
        generate_scene(100 + seed)
    print(f"training generator: {(time.perf_counter() - t) / 10:.2f} s a scene (long side 640; target ≤ 0.3 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
