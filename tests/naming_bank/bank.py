"""The naming bank as test cases: every template of ``bodies.tsv`` filled with places of ``places.tsv`` (as the
``@`` tags allow), optionally with OCR noise drawn from ``ocr_confusions.tsv``. Test-side only: the matcher never
reads these files (README.md)."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX_KINDS = {"town", "street"}


@dataclass(frozen=True)
class Case:
    text: str
    kind: str
    type: str  # "" unless official
    village: str  # the inspected village (the place filled in; "" when the template has none)
    template: str
    unsettled: bool


def _rows(name: str) -> list[dict[str, str]]:
    with (HERE / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def places() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in _rows("places.tsv"):
        out.setdefault(row["kind"], []).append(row["name"])
    return out


def _core(place: str) -> str:
    for end in ("社区", "村"):
        if place.endswith(end) and len(place) > len(end):
            return place[: -len(end)]
    return place


def cases(*, per_template: int = 3, seed: int = 0) -> list[Case]:
    """Each template filled ``per_template`` times with places its tags allow (seeded)."""
    rng = random.Random(seed)
    p = places()
    out = []
    for row in _rows("bodies.tsv"):
        template, note = row["template"], row.get("note", "") or ""
        for _ in range(per_template):
            if "@community" in note:
                place = rng.choice(p["community"])
            elif "@village" in note:
                place = rng.choice(p["village"])
            else:
                place = rng.choice(p["village"] + p["community"])
            if "@town" in note:
                prefix = rng.choice(p["town"])
            elif "@street" in note:
                prefix = rng.choice(p["street"])
            elif "@county" in note:
                prefix = rng.choice(p["county"])
            else:
                prefix = rng.choice(p["county"]) * rng.randint(0, 1) + rng.choice(p["town"] + p["street"])
            text = template.replace("{prefix}", prefix).replace("{place}", place).replace("{core}", _core(place))
            has_place = "{place}" in template or "{core}" in template
            out.append(Case(text, row["kind"], row["type"] if row["kind"] == "official" else "",
                            place if has_place else "", template, "UNSETTLED" in note))
    return out


def confusions() -> dict[str, list[tuple[str, int]]]:
    """truth character -> [(read, count)] ('' read: a deleted character)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for row in _rows("ocr_confusions.tsv"):
        if row["truth"]:
            out.setdefault(row["truth"], []).append((row["read"], int(row["count"])))
    return out


def noisy(text: str, rng: random.Random, *, rate: float = 0.1) -> str:
    """The text with each character that the OCR was seen to confuse replaced (or dropped) with probability
    ``rate`` — at most one change, as a plaque's reading usually has."""
    table = confusions()
    spots = [i for i, ch in enumerate(text) if ch in table]
    if not spots or rng.random() > rate * len(spots):
        return text
    i = rng.choice(spots)
    reads, weights = zip(*table[text[i]], strict=True)
    return text[:i] + rng.choices(reads, weights=weights)[0] + text[i + 1:]
