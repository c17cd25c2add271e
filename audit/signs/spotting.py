"""A board the recogniser could not read for sure, checked against the names it could carry.

The recogniser's best reading of a blurred or small board has a few characters wrong (中共市材鹤村文带委员务 for
中共柏树湾村支部委员会), and the name model rightly will not guess from it. But the recogniser says more than its
best reading: for every column of the board, a probability for each character of its alphabet. This module asks how
much worse the official names of the inspected village (:func:`names_for`: each plaque's bodies of the rules after
the village's name, the party's markers before it) explain those probabilities than the recogniser's own best
reading does — a CTC alignment of the name to the columns (:func:`alignment_costs`), any text allowed before it (a
township's name, a cut first character), none after it — in nats per character of the name's body. A board is that
plaque only when one plaque's name explains it almost as well as the recogniser's own reading
(:data:`MAX_COST`) and every other plaque's name, and every other body of the rules (…理事会, 调解委员会, 便民服务中心:
a sign of the village that is not on the list), explains it clearly worse (:data:`MARGIN`). Strict on meaning: a
sign whose body the recogniser reads with any confidence as another body never fits an official name; what this
adds are boards whose pixels hold an official name the best reading garbled.

Thresholds chosen on the boards of generated scenes of seeds 20, 30, 40 and 50 million (80 scenes, crops of the
labelled boards at least 80 % in view): official names' costs on their own boards against the lowest cost of any
official name on the 146 boards of other bodies (4.41 nats a body character at the lowest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit.rules import Rules
from audit.signs.names import village_core

# Nats per character of the body by which a name may explain the board's columns worse than the recogniser's best
# reading. Official boards of the tuning scenes: 117 of 210 within 2.5 (the best reading was right on 107); other
# bodies' boards: none under 4.41.
MAX_COST = 2.5
# Nats per body character by which every other plaque's name and every other body must explain the board worse.
MARGIN = 1.0


@dataclass(frozen=True)
class Name:
    """A name a board could carry: the plaque it names (None: another body, a rival only), its text, its body."""

    plaque: str | None
    text: str
    body: str


@dataclass(frozen=True)
class Spotted:
    """The official name that fits a board: plaque id, the name, its cost (nats a body character) and the next best
    other plaque's or body's name and cost (None: no rival could be aligned)."""

    plaque: str
    text: str
    cost: float
    rival: str | None
    rival_cost: float | None


def names_for(rules: Rules, village: str, side: str) -> list[Name]:
    """The official names of ``village``'s plaques on ``side`` (the village as named and without its ending:
    王庄村 + 村民委员会 and 王庄 + 村民委员会; the party's markers before the party organisation's, required for its
    marked bodies; the body alone where it stands alone, :meth:`~audit.rules.PlaqueRule.stands_alone`), then, as
    rivals that name no plaque: a marked body after the village without the marker (王庄村委员会), the rules' other
    bodies and the endings of unlisted signs' names that no official body ends with (any text may stand before
    them)."""
    places = [p for p in dict.fromkeys((village, village_core(village, rules))) if p]
    out: dict[str, Name] = {}
    for plaque in rules.plaques_at(side):
        for body in plaque.bodies:
            texts = []
            for place in places:
                if plaque.marked_bodies:   # the party organisation's plaque (as the name model knows it)
                    texts += [marker + place + body for marker in rules.names.party_markers]
                if body in plaque.marked_bodies:
                    # 王庄村委员会 without 中共 names no plaque for sure (the name model leaves it undecided): a rival
                    out.setdefault(place + body, Name(None, place + body, body))
                else:
                    texts.append(place + body)
            if plaque.stands_alone(body):
                texts.append(body)
            for text in texts:
                out.setdefault(text, Name(plaque.id, text, body))
    official_bodies = [b for p in rules.plaques for b in p.bodies]
    rivals = list(rules.names.other_bodies) + [m for m in rules.unauthorised_signs.markers
                                               if not any(b.endswith(m) for b in official_bodies)]
    for body in rivals:
        out.setdefault(body, Name(None, body, body))
    return list(out.values())


def alignment_costs(logp: np.ndarray, labels: list[list[int]], blank: int = 0) -> np.ndarray:
    """For each label sequence, the log-probability of the recogniser's best path (``logp``: columns × alphabet,
    natural logs; ``blank`` the CTC blank) minus that of the best path spelling the sequence, with any characters
    allowed before it and none after it (Viterbi over CTC's states, all sequences at once). 0: the best reading
    contains the sequence at its end."""
    t_len = logp.shape[0]
    best = logp.max(axis=1)
    n = np.array([len(seq) for seq in labels])
    states = 2 * int(n.max()) + 1
    lab = np.full((len(labels), states), blank)
    for k, seq in enumerate(labels):
        lab[k, 1: 2 * len(seq): 2] = seq
    valid = np.arange(states)[None, :] <= 2 * n[:, None]
    skip = np.zeros_like(valid)
    skip[:, 3::2] = lab[:, 3::2] != lab[:, 1:-2:2]   # a character may follow the previous one with no blank between
    neg = -1e9
    em = np.where(valid[None], logp[:, lab], neg)     # columns × sequences × states
    a = np.full((len(labels), states), neg)
    a[:, :2] = em[0, :, :2]
    before = best[0]                                   # any characters before the sequence: the best reading's
    for t in range(1, t_len):
        stay = a.copy()
        stay[:, 1:] = np.maximum(stay[:, 1:], a[:, :-1])
        stay[:, 2:] = np.where(skip[:, 2:], np.maximum(stay[:, 2:], a[:, :-2]), stay[:, 2:])
        stay[:, :2] = np.maximum(stay[:, :2], before)
        a = stay + em[t]
        before += best[t]
    rows = np.arange(len(labels))
    end = np.maximum(a[rows, 2 * n], a[rows, 2 * n - 1])
    return best.sum() - end


def spot(logps: list[np.ndarray], names: list[Name], alphabet: dict[str, int]) -> Spotted | None:
    """The official name that fits a board read in the views ``logps`` (each: columns × alphabet log-probabilities),
    or None. Names with a character outside the recogniser's ``alphabet`` are left out."""
    usable = [nm for nm in names if all(ch in alphabet for ch in nm.text)]
    if not usable or not logps:
        return None
    labels = [[alphabet[ch] for ch in nm.text] for nm in usable]
    bodies = np.array([len(nm.body) for nm in usable])
    costs = np.full(len(usable), np.inf)
    for lp in logps:
        # A name's characters each take a column of their own, so its cost is at least the sum, over its characters,
        # of the least any column loses by holding that character: names that cannot come within MAX_COST + MARGIN
        # (neither the best nor a rival close enough to matter) are not aligned.
        loss = (lp.max(axis=1, keepdims=True) - lp).min(axis=0)
        near = np.flatnonzero(np.array([loss[seq].sum() for seq in labels]) / bodies <= MAX_COST + MARGIN)
        if near.size:
            costs[near] = np.minimum(costs[near], alignment_costs(lp, [labels[k] for k in near]))
    per_char = costs / bodies
    order = np.argsort(per_char)
    first = usable[order[0]]
    if first.plaque is None or per_char[order[0]] > MAX_COST:
        return None
    rival = next((k for k in order[1:] if usable[k].plaque != first.plaque), None)
    if rival is not None and per_char[rival] - per_char[order[0]] < MARGIN:
        return None
    return Spotted(first.plaque, first.text, float(per_char[order[0]]),
                   usable[rival].text if rival is not None else None,
                   float(per_char[rival]) if rival is not None else None)
