"""``make fuzz``: mutated photos, registries, rules files and township layers through the library and the CLI.

    python -m tests.fuzz.run                      # 1,000 photos, 300 of every other kind
    python -m tests.fuzz.run --photos 50 --each 20 --kinds xlsx,csv --seed 7

Inputs and the logs of crashing runs are kept under ``.cache/fuzz/`` (``--out``); an input is made again from
its kind, index and ``--seed``. Exit code 1 when any run crashed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from tests.fuzz.harness import KINDS, crash_report, fuzz
from tests.fuzz.seeds import REPO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--each", type=int, default=300, help="inputs of every other kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of " + ",".join(KINDS))
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--jobs", type=int, default=2, help="children running at once")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "fuzz")
    parser.add_argument("--no-cli", action="store_true", help="library entry points only")
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}")
    # One thread per child: two children share the cores, and fork never meets a thread pool.
    for name in ("VILLAGE_AUDIT_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    shutil.rmtree(args.out, ignore_errors=True)
    counts = {k: args.photos if k == "photo" else args.each for k in kinds}
    start = time.monotonic()
    print(f"fuzz: seed {args.seed}, {sum(counts.values())} inputs, {args.jobs} at a time, out {args.out}", flush=True)
    tallies = fuzz(counts, args.out, base_seed=args.seed, parallel=args.jobs, cli=not args.no_cli,
                   progress=lambda line: print(line, flush=True))
    crashes = crash_report(tallies)
    total = sum(len(t.crashes) for by in tallies.values() for t in by.values())
    print("\ncrashes per kind: " + ", ".join(
        f"{k} {sum(len(t.crashes) for t in by.values())}" for k, by in tallies.items()))
    for line in crashes:
        print("  " + line)
    print(f"total: {total} crashes in {sum(t.runs for by in tallies.values() for t in by.values())} runs "
          f"({time.monotonic() - start:.0f} s)")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
