"""Mutation score of the decision modules (``[tool.mutmut]`` in pyproject.toml: names -> type, inventory and
verdict, style decisions, the floor-area rule).

    .venv/bin/python bench/mutation.py                 # every mutant (hours on 2 cores)
    .venv/bin/python bench/mutation.py --sample 60     # a seeded sample of 60 mutants per module
    .venv/bin/python bench/mutation.py --only audit.signs.style --jobs 2   # one module's mutants
    .venv/bin/python bench/mutation.py --rerun-survivors   # the last run's survivors again (after new tests)

Runs ``mutmut run`` on the chosen mutants (mutmut selects, per mutant, the tests that cover the function it
changed) and prints, per module, killed / survived / no tests / timeouts and the score killed ÷ (killed +
survived), then the surviving mutants (``mutmut show NAME`` shows one).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = [str(Path(sys.executable).with_name("mutmut"))]
LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+)$")


def results() -> dict[str, str]:
    out = subprocess.run(MUTMUT + ["results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True)
    return {m["name"]: m["status"].strip() for line in out.stdout.splitlines() if (m := LINE.match(line))}


def module_of(name: str) -> str:
    return name.split(".x_")[0].split(".xǁ")[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=0, help="mutants per module (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="mutants tested at once (mutmut --max-children)")
    ap.add_argument("--only", default="", help="mutants of modules starting with this (e.g. audit.signs.style)")
    ap.add_argument("--rerun-survivors", action="store_true",
                    help="test again the mutants that survived or had no tests (the others keep their results)")
    ap.add_argument("--report-only", action="store_true", help="print the last results without running")
    args = ap.parse_args()
    if not args.report_only:
        if not (ROOT / "mutants").exists() or not results():
            subprocess.run(MUTMUT + ["run", "--max-children", str(args.jobs), "audit.signs.names.x_normalise_text__mutmut_1"],
                           cwd=ROOT, check=False)  # generates the mutants and the test stats
        status = results()
        names = sorted(n for n in status if module_of(n).startswith(args.only))
        if args.rerun_survivors:
            names = [n for n in names if status[n] in ("survived", "no tests")]
        if args.sample:
            rng = random.Random(args.seed)
            by_module: dict[str, list[str]] = defaultdict(list)
            for n in names:
                by_module[module_of(n)].append(n)
            names = sorted(n for group in by_module.values() for n in rng.sample(group, min(args.sample, len(group))))
        chosen = set(names)
        subprocess.run(MUTMUT + ["run", "--max-children", str(args.jobs), *names], cwd=ROOT, check=False,
                       stdout=subprocess.DEVNULL)
        if args.rerun_survivors:
            chosen = None  # report every mutant: the others keep their earlier results
    else:
        chosen = None
    status = results()
    if args.only:
        chosen = {n for n in (chosen if chosen is not None else status) if module_of(n).startswith(args.only)}
    counts: dict[str, Counter] = defaultdict(Counter)
    survivors = []
    for name, st in status.items():
        if chosen is not None and name not in chosen:
            continue
        if st == "not checked":
            continue
        counts[module_of(name)][st] += 1
        if st == "survived":
            survivors.append(name)
    total = Counter()
    for module, c in sorted(counts.items()):
        total.update(c)
        score = c["killed"] / max(c["killed"] + c["survived"], 1)
        print(f"{module:<28} killed {c['killed']:>4}  survived {c['survived']:>4}  no tests {c['no tests']:>3}  "
              f"timeout {c['timeout']:>3}  score {score:.0%}")
    score = total["killed"] / max(total["killed"] + total["survived"], 1)
    print(f"{'all':<28} killed {total['killed']:>4}  survived {total['survived']:>4}  score {score:.0%}")
    print("surviving mutants:", *sorted(survivors), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
