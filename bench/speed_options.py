"""Alternatives measured for the engine's reading (issue 17), interleaved in one process on the 12-MP photos of
bench/speed.py (only models that ship inside a wheel: RapidOCR 1.4's PP-OCRv4 ONNX models):

1. the boards' crops recognised one call per view (the engine) against RapidOCR's batches (sorted by width, six
   at a time, each padded to its widest crop): time, and how many readings differ;
2. the whole-photo text pass with detection on the working image reduced by 1, 0.75 and 0.5 (lines read on the
   working image itself): time and lines read (the engine reduces only its regions in doubt, by their boxes:
   REGION_TEXT_PX, scored with bench/signage_eval.py).

    .venv/bin/python bench/speed_options.py [--photos 4] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    from speed import photos_12mp

    from audit.signs.engine import Engine, _crop
    from audit.signs.intake import photo_from_bytes
    from audit.signs.ocr import _plaque_views

    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    engine = Engine.load()
    reader = engine.reader
    times: dict[str, list[float]] = {}
    differ = views_n = 0
    lines_n: dict[float, list[int]] = {}
    for run in range(args.runs):
        for name, data, _ in photos_12mp(args.photos, min_boards=5):
            image = np.asarray(photo_from_bytes(data, name).image)
            views = [np.ascontiguousarray(v) for d in engine.detector.detect(image)
                     for v in _plaque_views(_crop(image, d.box))]
            order = ["one", "batched"] if run % 2 == 0 else ["batched", "one"]
            got = {}
            for which in order:
                t = time.perf_counter()
                got[which] = reader.recognise_many(views, batched=which == "batched")
                times.setdefault(f"crops {which}", []).append(time.perf_counter() - t)
            differ += sum(a[0] != b[0] for a, b in zip(got["one"], got["batched"], strict=True))
            views_n += len(views)
            scales = [1.0, 0.75, 0.5] if run % 2 == 0 else [0.5, 0.75, 1.0]
            for scale in scales:
                t = time.perf_counter()
                lines = reader.lines_at(image, scale=scale)
                times.setdefault(f"whole photo ×{scale}", []).append(time.perf_counter() - t)
                lines_n.setdefault(scale, []).append(len(lines))
    for k, v in times.items():
        print(f"{k:<18} median {statistics.median(v):.3f} s ({len(v)} runs)")
    print(f"crop readings that differ between the two: {differ}/{views_n}")
    print("lines read by the whole-photo pass: " + ", ".join(f"×{s} {sum(n)}" for s, n in sorted(lines_n.items())))
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
