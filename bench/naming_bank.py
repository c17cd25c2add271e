"""The name matcher on the independent naming bank (tests/naming_bank/): a confusion matrix by kind, official
plaques called unauthorised, other bodies counted as official, and the same with measured OCR noise.

    .venv/bin/python bench/naming_bank.py [--per-template 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.rules import load_rules  # noqa: E402
from audit.signs.names import gazetteer_from_names, type_from_text  # noqa: E402
from tests.naming_bank import bank  # noqa: E402

KINDS = ["official", "unauthorised_sign", "honour", "background", "allowed", "undecided", "unreadable"]


def score(cases, rules, gazetteer, *, noise: random.Random | None = None):
    matrix: Counter[tuple[str, str]] = Counter()
    wrong_type, official_unauth, other_official = [], [], []
    for c in cases:
        text = bank.noisy(c.text, noise) if noise else c.text
        side = "internal" if c.kind == "allowed" else "external"
        m = type_from_text(text, rules, village=c.village or None, side=side, gazetteer=gazetteer)
        matrix[(c.kind, m.kind)] += 1
        if c.kind == "official" and m.kind == "official" and m.type != c.type:
            wrong_type.append((text, c.type, m.type))
        if c.kind == "official" and m.kind == "unauthorised_sign":
            official_unauth.append((text, m.reason))
        if c.kind != "official" and m.kind == "official":
            other_official.append((text, c.kind, m.type))
    return matrix, wrong_type, official_unauth, other_official


def show(title, result, cases):
    matrix, wrong_type, official_unauth, other_official = result
    print(f"\n{title}: {len(cases)} names")
    print(f"{'expected → got':<18}" + "".join(f"{k[:10]:>11}" for k in KINDS))
    for k in KINDS[:5]:
        print(f"{k:<18}" + "".join(f"{matrix[(k, g)]:>11}" for g in KINDS))
    n_off = sum(matrix[("official", g)] for g in KINDS)
    print(f"official read as official: {matrix[('official', 'official')]}/{n_off} "
          f"(wrong type {len(wrong_type)}); official called unauthorised: {len(official_unauth)}; "
          f"other bodies counted as official: {len(other_official)}")
    for row in (official_unauth + other_official + wrong_type)[:25]:
        print("   ", *row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-template", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rules = load_rules()
    p = bank.places()
    gazetteer = gazetteer_from_names(villages=p["village"] + p["community"], townships=p["town"] + p["street"],
                                     counties=p["county"], rules=rules)
    cases = bank.cases(per_template=args.per_template, seed=args.seed)
    show("clean names", score(cases, rules, gazetteer), cases)
    show("with OCR noise", score(cases, rules, gazetteer, noise=random.Random(args.seed)), cases)


if __name__ == "__main__":
    main()
