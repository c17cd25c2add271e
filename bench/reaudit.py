"""Re-audit throughput and memory: the same stored inspections re-audited with 1 and with 2 local Dask workers
(``audit.records.reaudit.run_reaudit``, the real engine), then an estimate for a province on N nodes.

    .venv/bin/python bench/reaudit.py [--count 40] [--workers 1 2] [--db postgresql+psycopg://…]

Each run gets a fresh store (SQLite in a temporary directory, or a fresh schema of ``--db``) holding ``--count``
inspections of one small photo each (800×600 JPEG, ~20 KB: white boards on a wall, as the store tests use); the
engine is loaded once per worker. Prints one JSON line per worker count: wall seconds (cluster start, engine load
and all tasks), inspections per second over the tasks alone (first to last result), peak RSS of this process and
its workers together (sampled every 0.2 s), and the scaling 2 workers / 1 worker; then the estimate.

The estimate's assumptions are printed with it: a province of 70,000 villages × 5 photos; seconds per photo on
one worker taken from ``--photo-seconds`` (default 0.97: the engine's median on a 12-MP photo with 5–9 boards,
2 cores, issue 17's measurement before its speed work) or from this run's small photos (``--from-run``); each
node runs as many workers as it has cores / threads per worker, at this run's measured scaling per added worker;
the database and the shared photo store keep up (one PostgreSQL server: a result is one small row per inspection).
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


def estimate(per_worker_photo_s: float, scaling: float, *, cores_per_node: int, nodes: list[int]) -> list[str]:
    lines = [f"Province estimate: {PROVINCE_VILLAGES:,} villages × {PHOTOS_PER_VILLAGE} photos, "
             f"{per_worker_photo_s:.2f} s a photo on one worker, each added worker adding {scaling:.2f} of one "
             f"(measured on this machine), {cores_per_node} single-thread workers a node, nodes adding up:"]
    photos = PROVINCE_VILLAGES * PHOTOS_PER_VILLAGE
    for n in nodes:
        workers = n * cores_per_node
        # within a node, each added worker adds `scaling` of one (shared cores, memory bandwidth); nodes add up
        rate = n * (1 + (cores_per_node - 1) * scaling) / per_worker_photo_s  # photos per second
        hours = photos / rate / 3600
        lines.append(f"  {n:>3} node(s), {workers:>4} workers: {hours:8.1f} h")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--db", default=None, help="a PostgreSQL URL (a fresh schema per run); default SQLite")
    parser.add_argument("--photo-seconds", type=float, default=0.97)
    parser.add_argument("--from-run", action="store_true", help="seconds per photo from this run's 1-worker figure")
    parser.add_argument("--cores-per-node", type=int, default=2)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            results.append(one_run(args.count, workers, args.db, Path(tmp)))
            print(json.dumps(results[-1]), flush=True)
    by = {r["workers"]: r for r in results}
    scaling = 1.0
    if 1 in by and 2 in by:
        speedup = by[2]["inspections_per_s"] / by[1]["inspections_per_s"]
        scaling = max(0.0, speedup - 1)
        print(json.dumps({"speedup_2_over_1": round(speedup, 2)}))
    per_photo = 1 / by[1]["inspections_per_s"] if args.from_run and 1 in by else args.photo_seconds
    print("\n".join(estimate(per_photo, scaling, cores_per_node=args.cores_per_node, nodes=[1, 4, 16, 64])))


if __name__ == "__main__":
    main()
