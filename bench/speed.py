"""Photo-audit speed (issue 17), `make bench-speed`:

1. the engine against the plain baseline on 12-MP photos with several boards: the baseline is what a user could
   run instead, decode (the same intake) + RapidOCR 1.4 with its default settings on the photo and on its 90°
   rotation, with the same thread count; the two run interleaved in one process, photo by photo, alternating
   which goes first; the ratio is median engine / median baseline (target ≤ 0.30);
2. model load: import + engine (detector and reader), in a fresh interpreter;
3. batch photos/s with 1 and 2 worker processes (``audit signs-batch --workers``; worker start-up included);
4. with ``--env``: the runtime environment's size in a fresh clone (bench/speed_env.py; target ≤ 1.2 GB).

The photos are held-out scenes of the synthetic generator (unseen village names, walls and fonts), 4000 × 3000
JPEG, each with at least ``--min-boards`` boards, cached in .cache/bench_speed/. Machines here are shared: the
load average is printed with the figures.

    .venv/bin/python bench/speed.py [--photos 6] [--runs 2] [--env]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench_speed"
TARGET_RATIO = 0.30


def photos_12mp(n: int, *, min_boards: int, seed: int = 30_000_000) -> list[tuple[str, bytes, int]]:
    """``n`` landscape 4000 × 3000 held-out scenes (name, JPEG bytes, labelled boards), generated once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = []
    s = seed
    while len(out) < n:
        path = CACHE / f"scene_{s}.jpg"
        meta = CACHE / f"scene_{s}.boards"
        if not meta.exists():
            from PIL import Image

            from audit.model.synth.scene import generate_scene

            scene = generate_scene(s, long_side=4000, side="external", held_out=True)
            boards = sum(p["labelled"] for p in scene.truth["plaques"])
            landscape = scene.image.shape[1] > scene.image.shape[0]
            if landscape and boards >= min_boards:
                buf = io.BytesIO()
                Image.fromarray(scene.image).save(buf, "JPEG", quality=90)
                path.write_bytes(buf.getvalue())
            meta.write_text(str(boards if landscape else 0))
        boards = int(meta.read_text())
        if boards >= min_boards and path.exists():
            out.append((path.name, path.read_bytes(), boards))
        s += 1
    return out


def baseline_reader():
    """RapidOCR 1.4 with its default settings, on the engine's thread count."""
    from rapidocr_onnxruntime import RapidOCR

    from audit import settings

    return RapidOCR(intra_op_num_threads=settings.threads(), inter_op_num_threads=1, print_verbose=False)


def baseline(ocr, data: bytes, rules) -> int:
    """Decode + RapidOCR defaults on the photo and its 90° rotation; the number of lines read."""
    from audit.signs.intake import photo_from_bytes

    image = np.asarray(photo_from_bytes(data, rules=rules).image)
    lines = 0
    for view in (image, np.ascontiguousarray(np.rot90(image, 1))):
        lines += len(ocr(view)[0] or [])
    return lines


def load_time() -> float:
    code = ("import time; t = time.perf_counter()\nfrom audit.signs.engine import Engine\nEngine.load()\n"
            "print(time.perf_counter() - t)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(run.stdout.strip().splitlines()[-1])


def batch_rate(photos: list[tuple[str, bytes, int]], workers: int, engine, copies: int) -> tuple[float, list]:
    """Photos/s of run_batch over ``copies`` villages each holding every photo (worker start-up included)."""
    from audit.signs.batch import batch_jobs, run_batch

    with tempfile.TemporaryDirectory() as tmp:
        for v in range(copies):
            folder = Path(tmp) / f"37159910{v:04d}"
            folder.mkdir()
            for name, data, _ in photos:
                (folder / name).write_bytes(data)
        jobs = batch_jobs(Path(tmp), rules=engine.rules)
        t = time.perf_counter()
        reports = [r for _, r in run_batch(jobs, engine, workers=workers)]
        dt = time.perf_counter() - t
    return len(photos) * copies / dt, reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--runs", type=int, default=2, help="interleaved rounds over the photos")
    parser.add_argument("--min-boards", type=int, default=5)
    parser.add_argument("--batch-copies", type=int, default=2, help="villages in the batch run (each holds every photo)")
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--env", action="store_true", help="also measure the runtime environment in a fresh clone")
    parser.add_argument("--region-text-px", default="", help="also run the engine with these REGION_TEXT_PX values, "
                        "interleaved (e.g. 0,48; 0: the regions in doubt at full size)")
    args = parser.parse_args()

    from audit import settings
    from audit.signs.engine import Engine, PhotoInput, audit_signage

    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} cores; "
          f"threads {settings.threads()}")
    photos = photos_12mp(args.photos, min_boards=args.min_boards)
    print(f"{len(photos)} photos 4000×3000, boards per photo: {[b for _, _, b in photos]}")
    print(f"model load (fresh interpreter: import + detector + reader): {load_time():.2f} s")

    engine = Engine.load()
    engines = {f"engine (regions at {engine.region_text_px:g} px)": engine}
    for px in filter(None, args.region_text_px.split(",")):
        if float(px) != engine.region_text_px:
            engines[f"engine (regions at {float(px):g} px)"] = Engine.load()
            engines[f"engine (regions at {float(px):g} px)"].region_text_px = float(px)
    ocr = baseline_reader()
    rules = engine.rules
    times: dict[str, list[float]] = {name: [] for name in [*engines, "baseline"]}
    stages: dict[str, dict[str, list[float]]] = {name: {} for name in engines}
    for run in range(args.runs):
        for i, (name, data, _) in enumerate(photos):
            order = list(times)
            k = (run * len(photos) + i) % len(order)
            for which in order[k:] + order[:k]:  # each goes first in turn
                t = time.perf_counter()
                if which == "baseline":
                    baseline(ocr, data, rules)
                    times[which].append(time.perf_counter() - t)
                else:
                    report = audit_signage([PhotoInput(data, name)], engines[which])
                    times[which].append(time.perf_counter() - t)
                    for key, v in report.photos[0].timings_s.items():
                        stages[which].setdefault(key, []).append(v)
    b = statistics.median(times["baseline"])
    print(f"baseline median {b:.2f} s a photo (decode + RapidOCR defaults on the photo and its 90° rotation)")
    for which in engines:
        e = statistics.median(times[which])
        ratios = [x / y for x, y in zip(times[which], times["baseline"], strict=True)]
        print(f"{which} median {e:.2f} s a photo ({len(times[which])} runs); ratio to the baseline {e / b:.2f} "
              f"(medians; per-photo-run median {statistics.median(ratios):.2f}, max {max(ratios):.2f}); target ≤ "
              f"{TARGET_RATIO:.2f}: {'PASS' if e / b <= TARGET_RATIO else 'FAIL'}")
        st = stages[which]
        print("  stages (median s): " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in st.items())
              + f"; whole-photo pass run on {sum(v > 0.001 for v in st.get('ocr_photo', []))}/{len(times[which])}")

    if not args.no_batch:
        rates = {}
        for workers in (1, 2, 1, 2):
            rate, reports = batch_rate(photos, workers, engine, args.batch_copies)
            rates.setdefault(workers, []).append(rate)
        print("batch (signs-batch, worker start-up included): " + "; ".join(
            f"{w} worker{'s' if w > 1 else ''} {statistics.median(r):.2f} photos/s" for w, r in sorted(rates.items())))
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.env:
        sys.stdout.flush()
        subprocess.run([sys.executable, str(ROOT / "bench" / "speed_env.py")], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
