"""Re-audit throughput and memory: the same stored inspections re-audited with 1 and with 2 local Dask workers
(``audit.records.reaudit.run_reaudit``, the real engine), then an estimate for a province on N nodes.

    .venv/bin/python bench/reaudit.py [--count 40] [--workers 1 2] [--db postgresql+psycopg://…]

Each run gets a fresh store (SQLite in a temporary directory, or a fresh schema of ``--db``) holding ``--count``
inspections of one small photo each (800×600 JPEG, ~20 KB: white boards on a wall, as the store tests use); the
engine is loaded once per worker. Prints one JSON line per worker count: wall seconds (cluster start, engine load
and all tasks), inspections per second over the tasks alone (first to last result), peak RSS of this process and
its workers together (sampled every 0.2 s), and the scaling 2 workers / 1 worker; then the estimate.

The estimate's assumptions are printed with it: a province of 70,000 villages × 5 photos; one 2-core node
re-audits a 12-MP photo every ``--node-photo-seconds`` (default 0.97: the engine's median on a 12-MP photo with
5–9 boards on 2 cores, issue 17's measurement before its speed work — the figure behind "a city in 8 hours, a
province in 4 days" on one machine); nodes add up, since no task waits on another; one PostgreSQL server takes a
small row per inspection; the photos (``--photo-mb``) are read from a shared store, whose read rate is printed,
as it, not the engine, is what a large cluster runs into. The small photos here measure the machinery (cluster,
engine per worker, store round trips) and the 1 → 2 worker scaling, not 12-MP engine time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit.records.access import SYSTEM  # noqa: E402
from audit.records.db import open_store  # noqa: E402
from audit.records.inspections import submit_inspection, village_registry  # noqa: E402
from audit.records.reaudit import engine_spec, run_reaudit  # noqa: E402
from audit.rules import load_rules  # noqa: E402
from tests.test_store import AUDITED, jpeg_bytes, model_report  # noqa: E402

PROVINCE_VILLAGES = 70_000
PHOTOS_PER_VILLAGE = 5


class PeakRss:
    """Peak resident memory of this process and all its children, sampled in a thread."""

    def __init__(self, every: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fresh_store(count: int, db: str | None, root: Path):
    url = None
    if db:
        import sqlalchemy as sa

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with sa.create_engine(db).begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(db).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    store = open_store(url, data_dir=root / uuid.uuid4().hex)
    rules = load_rules()
    villages = [(f"{i:05d}", f"村{i}", "城关镇", "甲县") for i in range(count)]
    registry = village_registry(pd.DataFrame(villages, columns=["village_code", "village_name", "township", "county"]),
                                sha256=hashlib.sha256(repr(villages).encode()).hexdigest())
    for i, (code, name, *_) in enumerate(villages):
        data = jpeg_bytes(9000 + i)
        submit_inspection(store, model_report(data, rules, code=code, name=name), [data], user=SYSTEM,
                          registry=registry, audited=AUDITED)
    return store


def one_run(count: int, workers: int, db: str | None, root: Path) -> dict:
    store = fresh_store(count, db, root)
    stamps: list[float] = []
    with PeakRss() as rss:
        started = time.perf_counter()
        run = run_reaudit(store, user=SYSTEM, spec=engine_spec(), workers=workers,
                          progress=lambda done, total, _: stamps.append(time.perf_counter()))
        wall = time.perf_counter() - started
    store.close()
    assert run.added == count and not run.failed, run
    # over the tasks alone: from the first result to the last, count - 1 intervals (cluster start and engine
    # loads are in `wall`, not here)
    tasks = stamps[-1] - stamps[0] if len(stamps) > 1 else wall
    return {"workers": workers, "inspections": count, "wall_s": round(wall, 1),
            "inspections_per_s": round((count - 1) / tasks, 3) if len(stamps) > 1 else round(count / wall, 3),
            "peak_rss_mib": round(rss.peak / 2**20), "load_avg_1m": round(os.getloadavg()[0], 1)}


def estimate(node_photo_s: float, *, nodes: list[int], photo_mb: float) -> list[str]:
    photos = PROVINCE_VILLAGES * PHOTOS_PER_VILLAGE
    lines = [f"Province estimate: {PROVINCE_VILLAGES:,} villages × {PHOTOS_PER_VILLAGE} photos = {photos:,} photos; "
             f"one 2-core node re-audits a 12-MP photo every {node_photo_s:.2f} s with its workers busy; nodes add up "
             f"(one task is one inspection, no task talks to another); the database takes one small row per "
             f"inspection; photos ({photo_mb:g} MB each) read from a shared store:"]
    for n in nodes:
        hours = photos * node_photo_s / n / 3600
        read = n / node_photo_s * photo_mb
        lines.append(f"  {n:>3} node(s): {hours:7.1f} h  (photo store read ≈ {read:6.0f} MB/s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (a fresh schema per run); default SQLite")
    parser.add_argument("--node-photo-seconds", type=float, default=0.97,
                        help="seconds per 12-MP photo on one 2-core node (default: issue 17's measurement)")
    parser.add_argument("--photo-mb", type=float, default=4.0, help="size of a 12-MP phone photo")
    parser.add_argument("--estimate-only", action="store_true")
    args = parser.parse_args()
    if args.estimate_only:
        print("\n".join(estimate(args.node_photo_seconds, nodes=[1, 4, 16, 64], photo_mb=args.photo_mb)))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            results.append(one_run(args.count, workers, args.db, Path(tmp)))
            print(json.dumps(results[-1]), flush=True)
    by = {r["workers"]: r for r in results}
    if 1 in by and 2 in by:
        print(json.dumps({"speedup_2_over_1": round(by[2]["inspections_per_s"] / by[1]["inspections_per_s"], 2)}))
    print("\n".join(estimate(args.node_photo_seconds, nodes=[1, 4, 16, 64], photo_mb=args.photo_mb)))


if __name__ == "__main__":
    main()
