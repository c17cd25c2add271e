"""What a plaque's text says: which official plaque it names (the rules' patterns, fuzzily, with the
village-name slot), an honour, an allowed sign, or an unauthorised one."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from rapidfuzz import fuzz

from audit.rules import VILLAGE_SLOT, Rules

Kind = Literal["official", "honour", "allowed", "unauthorised_sign", "background", "unreadable"]
OTHER = "other_sign"
# The kinds of an ``other_sign``: Chinese name, and whether such a board is authorised on the centre
# (None: not a question the audit answers).
OTHER_KINDS: dict[str, tuple[str, bool | None]] = {
    "unauthorised_sign": ("未列入清单的牌子", False),
    "honour": ("荣誉牌", False),
    "allowed": ("允许的标识", True),
    "background": ("招牌或标语（不计入）", None),
    "unreadable": ("未识别", None),
}
MATCH_THRESHOLD = 75.0  # below this, the text names no official plaque
# A name in the village slot ending like this is a higher body (中共XX镇委员会 on an honour plaque), not a village.
_NOT_A_VILLAGE = re.compile(r"(县|镇|乡|市|区|省|街道|州)$")
_VILLAGE_END = ("村", "社区", "居委会")
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class TextMatch:
    """The reading of one plaque's text."""

    type: str  # a rules plaque id, or "other_sign"
    kind: Kind
    score: float  # 0–100: how well the text matches the chosen pattern (100 for non-official kinds)
    text: str  # normalised text (simplified characters)
    traditional: bool  # the text as read contains traditional characters


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalise_text(text: str) -> str:
    """NFKC, no spaces or punctuation."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text))


def simplified(text: str) -> str:
    """The text in simplified characters (OpenCC t2s)."""
    return _t2s().convert(text)


def _pattern_score(text: str, pattern: str, village: str | None) -> float:
    if VILLAGE_SLOT not in pattern:
        return max(fuzz.ratio(text, pattern), fuzz.partial_ratio(pattern, text) if len(text) >= len(pattern) else 0)
    prefix, suffix = pattern.split(VILLAGE_SLOT, 1)
    # The text must start like the prefix and end like the suffix; the middle is the village's name.
    middle = len(text) - len(prefix) - len(suffix)
    if middle < -2 or middle > 14:
        return 0.0
    if middle > 0 and _NOT_A_VILLAGE.search(text[len(prefix):len(text) - len(suffix)]):
        return 0.0
    r_suffix = fuzz.ratio(text[-len(suffix):], suffix) if suffix else 100.0
    r_prefix = fuzz.ratio(text[: len(prefix)], prefix) if prefix else 100.0
    score = (len(prefix) * r_prefix + len(suffix) * r_suffix) / (len(prefix) + len(suffix))
    if len(text) < 0.75 * (len(prefix) + len(suffix)):  # a short fragment (委员会 names nothing) weighs less
        score *= 0.9
    if len(prefix) >= 2 and r_prefix >= 90:  # the end cut off or hidden: 中共王庄村支部委…
        for k in range(2, len(suffix)):
            if text.endswith(suffix[:k]):
                score = max(score, 0.9 * (len(prefix) * r_prefix + k * 100.0) / (len(prefix) + k))
        for k in (0, 1):  # cut right after the name: 中共王庄村 / 中共王庄村支
            head = text[len(prefix): len(text) - k]
            if text.endswith(suffix[:k]) and len(head) >= 2 and head.endswith(_VILLAGE_END):
                score = max(score, 80.0)
    elif not prefix:  # no prefix to anchor on: the name must end like a village's (…村 / …社区) before the cut
        for k in range(2, len(suffix)):
            head = text[: len(text) - k]
            if not text.endswith(suffix[:k]):
                continue
            if village and head == village:  # exactly the village's own name, then the start of the body
                score = max(score, 0.9 * (70.0 + 30.0 * k / len(suffix)))
            elif head.endswith(_VILLAGE_END):
                score = max(score, 0.9 * (60.0 + 40.0 * k / len(suffix)))
    if village:  # the village's own name helps, but never outweighs a suffix that names another body
        score = max(score, min(fuzz.ratio(text, prefix + village + suffix), r_suffix, r_prefix))
    if len(suffix) >= 4:  # a distinctive suffix (支部委员会, 村务监督委员会) survives a cut-off or hidden start
        score = max(score, 0.9 * r_suffix)
    return score


def names_a_body(text: str, rules: Rules) -> bool:
    """Whether a sign's text names an organisation: a mechanism word (协会, 工作站…), a body's ending (…会, …社,
    …站) or a village's name (…村, …社区). Slogans (扫黑除恶保平安) name none."""
    signs = rules.unauthorised_signs
    return (any(k in text for k in signs.markers) or text.endswith(tuple(signs.endings))
            or re.search(r"..(村|社区)", text) is not None)


def type_from_text(text: str, rules: Rules, *, village: str | None = None, side: str = "external") -> TextMatch:
    """Resolve a plaque's type from its text.

    The text is normalised and converted to simplified characters, then scored against every official
    pattern (the village's own name fills the slot when known; otherwise any name may). The best score
    over ``MATCH_THRESHOLD`` names the plaque (or, failing that, an ending only one plaque's name has);
    otherwise honour keywords make it an honour, a bare village name is unreadable (the rest is hidden), the
    side's allowed kinds (e.g. 活动须知 inside) make it allowed. A shop's words (超市, 经营部…), or text that names
    no body at all (a slogan: no mechanism word, no 村/社区), make it background: not a board of the centre. The
    rest names some body and is an unauthorised sign.
    """
    raw = normalise_text(text)
    simple = simplified(raw)
    traditional = simple != raw
    if len(simple) < 2:
        return TextMatch(OTHER, "unreadable", 0.0, simple, traditional)
    best_id, best = OTHER, 0.0
    for plaque in rules.plaques:
        score = max(_pattern_score(simple, p, village) for p in plaque.patterns)
        if score > best:
            best_id, best = plaque.id, score
    if best < MATCH_THRESHOLD and len(simple) >= 3:
        # Only the end of the name was read (督委员会, 民委员会, 经济合作社): it names a plaque when exactly one
        # plaque's name ends that way.
        owners = {p.id for p in rules.plaques for pat in p.patterns
                  if VILLAGE_SLOT in pat and pat.split(VILLAGE_SLOT, 1)[1].endswith(simple)}
        if len(owners) == 1:
            best_id, best = owners.pop(), 80.0
    if best >= MATCH_THRESHOLD:
        return TextMatch(best_id, "official", round(best, 1), simple, traditional)
    if any(k in simple for k in rules.honours.keywords):
        return TextMatch(OTHER, "honour", 100.0, simple, traditional)
    if simple == village or re.fullmatch(r".{1,6}(村|社区)村?", simple):
        # Only the village's name is visible (the rest of the board cut off or hidden): which plaque it is
        # cannot be told, and it is no evidence of an unauthorised sign either.
        return TextMatch(OTHER, "unreadable", 0.0, simple, traditional)
    allowed = rules.allowed_signs.internal if side == "internal" else rules.allowed_signs.external
    if any(k in simple for k in allowed):
        return TextMatch(OTHER, "allowed", 100.0, simple, traditional)
    if any(k in simple for k in rules.background_signs.shop_markers) or not names_a_body(simple, rules):
        return TextMatch(OTHER, "background", 100.0, simple, traditional)
    return TextMatch(OTHER, "unauthorised_sign", round(100.0 - best, 1), simple, traditional)
