"""What a board's text says, read the way a county clerk reads it: ``[party marker] + place chain + body``.

* The **body** is what follows the place: it must be one of an official plaque's ``bodies`` in the rules
  (村民委员会, 居务监督委员会, 股份经济合作社 …) to be that plaque. The comparison tolerates the characters the
  engine's OCR is measured to confuse (``ocr_confusions.tsv``, written by ``bench/ocr_confusions.py``) and a
  dropped character in a long body, but never a different core: 便民服务中心 is not 党群服务中心, 新时代文明实践所
  is not …实践站.
* The **place chain** (城关镇 · 王庄村) is read with the county's registry (:class:`Gazetteer`: county, township
  and village names, with and without their endings) and the rules' administrative suffixes for places outside
  it. The last place must be a village or community for a village body; a misread place name never changes the
  type, but a place the registry knows as *another* village makes the board undecided (a borrowed photo).
* **Three outcomes**, each with a reason: ``official`` (sure), ``unauthorised_sign`` (the body is read and is
  no official variant), or ``undecided`` (close to an official body but not sure, or another village's name):
  the inspector decides, and the village's verdict waits (待复核). Honours follow a grammar of titles (level +
  title, or an award word); allowed signs, shop signs and slogans are as the rules list them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

from audit.rules import Rules

Kind = Literal["official", "honour", "allowed", "unauthorised_sign", "background", "undecided", "unreadable"]
OTHER = "other_sign"
# The kinds of an ``other_sign``: Chinese name, and whether such a board is authorised on the centre
# (None: not a question the audit answers, or not yet answered).
OTHER_KINDS: dict[str, tuple[str, bool | None]] = {
    "unauthorised_sign": ("未列入清单的牌子", False),
    "honour": ("荣誉牌", False),
    "allowed": ("允许的标识", True),
    "background": ("招牌或标语（不计入）", None),
    "undecided": ("待人工确认的牌子", None),
    "unreadable": ("未识别", None),
}
CONFUSIONS_PATH = Path(__file__).resolve().parent / "ocr_confusions.tsv"
# Cost of substituting a character the OCR is measured to confuse with the true one (a plain substitution is 1).
CONFUSABLE_COST = 0.35
# Scores reported for each outcome (0-100; the engine ranks readings of one board by them).
SURE, CLOSE, BARE, FRAGMENT = 100.0, 70.0, 88.0, 80.0
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_BODYLESS_PLACE = re.compile(r".{1,6}(村|社区)村?")
# What a board may carry besides its name: a line in Latin letters (pinyin, English) and a date (2021年, 二〇二一年
# 五月 — its 〇 often read as the letter O —, a bare year). No body's name holds them: an official name read with
# one is still that plaque.
_ANNOTATION = re.compile(r"[A-Za-z]{2,}|(?:(?:19|20)[0-9]{2}|[一二][〇零Oo九][〇零Oo一二三四五六七八九]{2})"
                         r"(?:年(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})月(?:(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})日)?"
                         r"|年)?")
_CREDITS = ("监制", "制作", "制发", "监製")  # a maker's credit ends so (河阳县民政局监制)
_PROVINCE = re.compile(r"^.{2,3}(省|自治区)")
# A village named in a sign's text: two characters, then 村 or 社区 (乡村 and 农村 are words, not names).
_NAMED_VILLAGE = re.compile(r"[^乡农]{2}(村|社区)")


@dataclass(frozen=True)
class TextMatch:
    """The reading of one board's text."""

    type: str  # a rules plaque id, or "other_sign"
    kind: Kind
    score: float  # 0-100: how sure the reading names ``type``/``kind``
    text: str  # normalised text (simplified characters)
    traditional: bool  # the text as read contains traditional characters
    reason: str = ""  # why, in Chinese, for the report and the review
    closest: str | None = None  # for ``undecided``: the official plaque it is closest to
    place: str = ""  # the place chain read before the body
    partial: bool = False  # only part of the board's name was read (its start or its end hidden)
    spotted: bool = False  # typed by aligning the village's official names to the recogniser's scores, not read


# ------------------------------------------------------------------------------------------- normalising
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


# ---------------------------------------------------------------------------------------------- gazetteer
@dataclass(frozen=True)
class Gazetteer:
    """Place names of the county's registry, each with its level: ``village`` (villages and communities),
    ``township`` or ``higher`` (the county and above). Names are kept with and without their endings."""

    names: dict[str, str] = field(default_factory=dict)  # name -> level
    villages: frozenset[str] = frozenset()  # village cores (王庄 for 王庄村)

    def level(self, name: str) -> str | None:
        return self.names.get(name)


def _core(name: str, suffixes: Iterable[str]) -> str:
    for s in sorted(suffixes, key=len, reverse=True):
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)]
    return name


def gazetteer_from_names(*, villages: Iterable[str] = (), townships: Iterable[str] = (), counties: Iterable[str] = (),
                         rules: Rules) -> Gazetteer:
    """A gazetteer from lists of names (any may be empty)."""
    g = rules.names
    names: dict[str, str] = {}
    cores: set[str] = set()
    for level, values, suffixes in (("higher", counties, g.higher_suffixes), ("township", townships, g.township_suffixes),
                                    ("village", villages, g.village_suffixes)):
        for raw in values:
            if not isinstance(raw, str):
                continue
            name = simplified(normalise_text(raw))
            if len(name) < 2:
                continue
            names[name] = level
            core = _core(name, suffixes)
            if len(core) >= 2:
                names.setdefault(core, level)
                if level == "village":
                    cores.add(core)
    return Gazetteer(names=names, villages=frozenset(cores))


def gazetteer_from_registry(villages, rules: Rules) -> Gazetteer:
    """The gazetteer of a registry GeoDataFrame (:func:`audit.area.registry.registry_from_file`): its village,
    township and county names."""
    def column(name: str) -> list:
        return villages[name].dropna().astype(str).unique().tolist() if name in villages.columns else []

    return gazetteer_from_names(villages=column("village_name"), townships=column("township"),
                                counties=column("county"), rules=rules)


# ---------------------------------------------------------------------------------------------- matching
@lru_cache(maxsize=4)
def _confusions(path: str = str(CONFUSIONS_PATH)) -> frozenset[tuple[str, str]]:
    """Pairs (true character, character read) the OCR is measured to confuse, both directions."""
    pairs: set[tuple[str, str]] = set()
    p = Path(path)
    if p.exists():
        for line in p.read_text(encoding="utf-8").splitlines()[1:]:
            parts = line.split("\t")
            if len(parts) >= 2 and len(parts[0]) == 1 and len(parts[1]) == 1:
                pairs.add((parts[0], parts[1]))
                pairs.add((parts[1], parts[0]))
    return frozenset(pairs)


@dataclass(frozen=True)
class _Fit:
    """How the end of a text fits a body name: substitutions of confusable characters, other substitutions,
    characters missing or extra, and where the body starts in the text."""

    confusable: int
    other: int
    gaps: int
    start: int

    @property
    def cost(self) -> float:
        return self.confusable * CONFUSABLE_COST + self.other + self.gaps


@lru_cache(maxsize=65536)
def _suffix_fit(text: str, body: str) -> _Fit:
    """The best alignment of ``body`` with a suffix of ``text`` (edit distance, free start in the text). Only the
    text's last ``len(body) + len(body) // 2 + 2`` characters can take part in a fit worth having."""
    window = len(body) + len(body) // 2 + 2
    if len(text) > window:
        fit = _suffix_fit(text[-window:], body)
        return _Fit(fit.confusable, fit.other, fit.gaps, fit.start + len(text) - window)
    conf = _confusions()
    n, m = len(text), len(body)
    # Integer costs (a confusable character 7, another one or a gap 20: CONFUSABLE_COST × 20) so that the
    # backtracking below finds the path exactly. cost[j][i]: body[:j] aligned with a suffix of text[:i].
    sub_conf, unit = round(CONFUSABLE_COST * 20), 20
    cost = [[0] * (n + 1) for _ in range(m + 1)]
    for j in range(1, m + 1):
        row, up, b = cost[j], cost[j - 1], body[j - 1]
        row[0] = up[0] + unit
        for i in range(1, n + 1):
            a = text[i - 1]
            best = up[i - 1] + (0 if a == b else sub_conf if (b, a) in conf else unit)
            if up[i] + unit < best:
                best = up[i] + unit
            if row[i - 1] + unit < best:
                best = row[i - 1] + unit
            row[i] = best
    confusable = other = gaps = 0
    j, i = m, n
    while j > 0:
        here = cost[j][i]
        if i > 0:
            a, b = text[i - 1], body[j - 1]
            step = 0 if a == b else sub_conf if (b, a) in conf else unit
            if cost[j - 1][i - 1] + step == here:
                confusable += step == sub_conf
                other += step == unit
                j, i = j - 1, i - 1
                continue
        if cost[j - 1][i] + unit == here:  # a body character missing from the text
            gaps += 1
            j -= 1
        else:  # an extra character in the text
            gaps += 1
            i -= 1
    return _Fit(confusable, other, gaps, i)


def _sure(fit: _Fit, body: str, text: str, rules: Rules) -> bool:
    """The body is read: at most one confusable character per four, and in a long body one character missing —
    unless the text ends as another kind of body does (…合作会 is not …合作社 misread). In a body of five or
    more characters one other character inside it may be misread too (经销合作社); the caller then asks for a
    village's name before it (:func:`_loose`); with a confusable one as well only in a body of six or more (two of
    five characters misread, 村民议委会, is as much 村民议事会 as 村民委员会). A body of two characters is read as
    written: one of two misread is another word (…村党员, a 党员先锋示范点 read out of order, is not …村党委)."""
    if fit.other > (1 if _loose(fit, body, text) else 0) \
            or fit.confusable > (max(1, len(body) // 4) if len(body) > 2 else 0) \
            or fit.gaps > (1 if len(body) >= 5 else 0) or fit.other + fit.gaps > 1 \
            or fit.other and fit.other + fit.confusable > max(1, len(body) // 3):
        return False
    return text.endswith(body[-1]) or not text.endswith(tuple(rules.unauthorised_signs.endings))


def _loose(fit: _Fit, body: str, text: str) -> bool:
    """One character inside a long body read as another: its first and last characters are as written."""
    return (fit.other == 1 and len(body) >= 5 and text.endswith(body[-1]) and fit.start < len(text)
            and text[fit.start] == body[0])


def _close(fit: _Fit, body: str, text: str, rules: Rules) -> bool:
    """Near enough that the board may be this plaque misread (characters missing or garbled): the inspector
    decides. Strict on meaning: a text that ends as another kind of body does (…实践所 for …实践站, …中心 for
    …站) is that other body, not this one misread."""
    if len(body) < 3 or fit.other + fit.gaps > max(1, len(body) // 4) or fit.cost > len(body) / 3:
        return False
    endings = [e for e in rules.unauthorised_signs.endings if text.endswith(e)]
    return not endings or any(body.endswith(e) for e in endings)


@dataclass(frozen=True)
class _Place:
    chain: tuple[str, ...]
    level: str | None  # level of the last place: village / township / higher; None when not a place chain
    clean: bool  # every piece is a known or well-formed place name


def _level_of(piece: str, rules: Rules, gazetteer: Gazetteer | None) -> str | None:
    if gazetteer is not None and piece in gazetteer.villages:  # 古城 of 古城村, though 古城镇 shares it
        return "village"
    if gazetteer is not None and piece not in gazetteer.names and any(
            piece[:k] in gazetteer.villages and not piece[k:].startswith(tuple(rules.names.village_suffixes))
            for k in (len(piece) - 1, len(piece) - 2) if k >= 2):
        return "village"  # 和平区 / 郭店料 for 和平社区 / 郭店村: a registry village, its ending misread
    if gazetteer is not None and gazetteer.level(piece):
        return gazetteer.level(piece)
    for level, suffixes in _levels(rules):
        if piece.endswith(suffixes) and not any(piece == s for s in suffixes):
            return level
    return None


_LEVELS: dict[int, tuple[Rules, tuple[tuple[str, tuple[str, ...]], ...]]] = {}


def _levels(rules: Rules) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The rules' administrative suffixes by level, as tuples for ``str.endswith`` (built once per rules)."""
    found = _LEVELS.get(id(rules))
    if found is None or found[0] is not rules:
        if len(_LEVELS) >= 64:
            _LEVELS.clear()
        g = rules.names
        found = _LEVELS[id(rules)] = (rules, (("village", tuple(g.village_suffixes)),
                                              ("township", tuple(g.township_suffixes)), ("higher", tuple(g.higher_suffixes))))
    return found[1]


_PLACES: dict[tuple, tuple[Rules, Gazetteer | None, _Place]] = {}


def parse_place(text: str, rules: Rules, gazetteer: Gazetteer | None = None) -> _Place:
    """Split a place chain (城关镇王庄村) into places, registry names first; the level of the last one."""
    key = (text, id(rules), id(gazetteer))
    found = _PLACES.get(key)
    if found is None or found[0] is not rules or found[1] is not gazetteer:
        if len(_PLACES) >= 65536:
            _PLACES.clear()
        found = _PLACES[key] = (rules, gazetteer, _parse_place(text, rules, gazetteer))
    return found[2]


def _parse_place(text: str, rules: Rules, gazetteer: Gazetteer | None) -> _Place:
    n = len(text)
    if n == 0:
        return _Place((), None, True)
    all_suffixes = _all_suffixes(rules)
    suffixes = set(all_suffixes)
    # best[i][r]: the cheapest cover of text[:i] with well-formed places, from the higher levels down (a county, a
    # township, a village: never a village before a township, which is another board's line run into this one:
    # 五里墩村老年 · 柳林镇五里墩村), its last place of rank r
    best: list[dict[int, tuple[float, tuple[str, ...]]]] = [{} for _ in range(n + 1)]
    best[0][0] = (0, ())
    for i in range(n):
        for rank, (cost_i, chain_i) in list(best[i].items()):
            for j in range(i + 2, min(n, i + 12) + 1):
                piece = text[i:j]
                known = gazetteer is not None and (piece in gazetteer.names or piece in gazetteer.villages)
                level = _level_of(piece, rules, gazetteer)
                if level is None or (not known and len(_core(piece, all_suffixes)) > 5) or piece in suffixes:
                    continue  # a suffix alone (社区 of 于家洼社区, which ends in 区) names no place
                if _RANK[level] < rank:
                    continue
                # registry names first: 新村乡 · 花园区 rather than one unknown 新村乡花园区
                cand = (cost_i + (0.2 if known else 1.5 + 0.1 * len(piece)), chain_i + (piece,))
                if _RANK[level] not in best[j] or cand[0] < best[j][_RANK[level]][0]:
                    best[j][_RANK[level]] = cand
    if best[n]:
        chain = min(best[n].values())[1]
        return _Place(chain, _level_of(chain[-1], rules, gazetteer), True)
    # Not a clean chain: the longest well-formed head, the rest an unsuffixed name (王庄 of 王庄村民委员会) or noise.
    head = max((i for i in range(n + 1) if best[i]), default=0)
    chain = min(best[head].values())[1] if head else ()
    rest = text[head:]
    return _Place(chain + (rest,), None, False)


_RANK = {"higher": 0, "township": 1, "village": 2}


def _all_suffixes(rules: Rules) -> list[str]:
    g = rules.names
    return g.village_suffixes + g.township_suffixes + g.higher_suffixes


def village_core(piece: str, rules: Rules) -> str:
    """A village's or community's name without its ending (王庄村 → 王庄; a name that is all ending stays)."""
    return _core(piece, rules.names.village_suffixes)


def _nothing_of(name: str, own: str) -> bool:
    """Whether a village's name read on a board holds no character of the inspected village's: not its name, cut
    or misread."""
    return not set(name) & set(own)


def _other_village(place: _Place, village: str | None, rules: Rules, gazetteer: Gazetteer | None) -> str | None:
    """The name of another village that the board names instead of the inspected one, if any: a registry village,
    or, registry or not, a village's name holding no character of the inspected one's."""
    if not village or not place.chain:
        return None
    last = place.chain[-1]
    core = village_core(last, rules)
    own = village_core(simplified(normalise_text(village)), rules)
    if not core or core == own or last in rules.names.village_suffixes:  # 村民兵连: the name cut to its ending
        return None
    if gazetteer is not None and len(core) >= 2 and core in gazetteer.villages:
        fit = _suffix_fit(core, own)
        if fit.start == 0 and fit.other == 0 and fit.gaps == 0:  # the own name, misread in confusable characters
            return None
        return last
    if place.level == "village" and _nothing_of(core, own):
        return last  # 优秀村 at 八里铺村 (优秀村务监督委员会 misread), 示范点可村: no character of the village's name
    return None


def _honour(text: str, rules: Rules) -> bool:
    """An honour or creation title: an award word anywhere, or a level (全国, 省级, 山东省 …) then a title's ending."""
    h = rules.honours
    if any(k in text for k in h.keywords):
        return True
    level = any(text.startswith(lv) for lv in h.levels) or _PROVINCE.match(text) is not None
    return level and any(text.endswith(t) for t in h.titles)


def _other_marker_starts(rules: Rules) -> tuple[str, ...]:
    """How another organisation's board starts: its marker, the marker's first two characters when the rest is
    cut off (共青 of 共青团), or a marker of three or more characters without its first one, cut by the board's
    edge (青团 of 共青团) — when no party marker starts so."""
    starts = set(rules.names.other_markers)
    starts |= {m[:2] for m in rules.names.other_markers if len(m) >= 3}
    starts |= {m[1:] for m in rules.names.other_markers if len(m) >= 3}
    return tuple(s for s in starts if not any(p.startswith(s) for p in rules.names.party_markers))


def _village_named_first(text: str, own: str, rules: Rules, gazetteer: Gazetteer | None) -> bool:
    """Whether the text starts with a village's name rather than another organisation's marker: the inspected
    village's or a registry village's name, with or without its ending (民建股份经济联合社 of 民建村), or two
    characters and a village ending (民建村, 九三村, 工会村 start as 民建, 九三学社, 工会 do, and are villages). A
    longer marker wins over a name without its ending: 共青团 is not 共青 (of 共青村) + 团."""
    def marker_longer(name: str) -> bool:
        return any(text.startswith(m) and len(m) > len(name) for m in rules.names.other_markers)

    names = []
    if own:
        names += [own, village_core(own, rules)]
    if gazetteer is not None:
        names += [text[:k] for k in range(2, min(len(text), 12) + 1) if gazetteer.level(text[:k]) == "village"]
    if any(len(n) >= 2 and text.startswith(n) and not marker_longer(n) for n in names):
        return True
    return len(text) > 3 and text[2:].startswith(tuple(rules.names.village_suffixes))


def _misread_other_marker(text: str, rules: Rules) -> str | None:
    """Another organisation's marker of three or more characters (共青团, 九三学社) read with one character inside
    it wrong — its first and last characters as written, so that a village's name (农工村) is not taken for one."""
    for marker in rules.names.other_markers:
        n = len(marker)
        if n >= 3 and len(text) > n and text[0] == marker[0] and text[n - 1] == marker[-1] \
                and sum(a != b for a, b in zip(text[:n], marker, strict=True)) == 1:
            return marker
    return None


def _strip_marker(text: str, rules: Rules) -> tuple[bool, str]:
    for marker in sorted(rules.names.party_markers, key=len, reverse=True):
        if text.startswith(marker):
            return True, text[len(marker):]
    for marker in rules.names.party_markers:  # the start cut off: 国共产党… / 共产党…
        for k in range(1, len(marker) - 2):
            if text.startswith(marker[k:]):
                return True, text[len(marker) - k:]
    # A marker misread in one character (中其, 申共) still marks the party when a party body follows.
    for marker in rules.names.party_markers:
        if len(marker) == 2 and len(text) > 2 and (text[0] == marker[0] or text[1] == marker[1]) and (
                (marker[0], text[0]) in _confusions() or (marker[1], text[1]) in _confusions()):
            return True, text[2:]
    return False, text


@dataclass(frozen=True)
class _Candidate:
    plaque: str
    body: str
    fit: _Fit
    sure: bool


def _body_candidates(rest: str, marked: bool, rules: Rules) -> list[_Candidate]:
    out = []
    for plaque in rules.plaques:
        for body in plaque.bodies:
            if body in plaque.marked_bodies and not marked:
                continue
            # a fit worth having keeps at least half the body's characters as written: skip the rest unaligned
            tail = rest[-(len(body) + 2):]
            if sum(ch in tail for ch in body) * 2 < len(body):
                continue
            fit = _suffix_fit(rest, body)
            sure = _sure(fit, body, rest, rules)
            # after the party marker, a two-character party body with its first character misread (中共王庄村交部)
            # is still close: not a body read with confidence, so never an unauthorised sign
            marked_short = marked and len(body) == 2 and fit.other == 1 and not fit.gaps and rest.endswith(body[-1])
            if sure or marked_short or _close(fit, body, rest, rules):
                out.append(_Candidate(plaque.id, body, fit, sure))
    # sure first, then the longest body (村务监督委员会 over 委员会), then the cheapest fit
    out.sort(key=lambda c: (not c.sure, -len(c.body) + c.fit.cost * 2, c.fit.cost))
    return out


_READINGS: dict[tuple, tuple[Rules, Gazetteer | None, TextMatch]] = {}
_READINGS_MAX = 8192  # the same lines are read several times per photo (line, group, box): remember them


def type_from_text(text: str, rules: Rules, *, village: str | None = None, side: str = "external",
                   gazetteer: Gazetteer | None = None) -> TextMatch:
    """Resolve a board's type from its text (see :func:`_type_from_text`); readings are remembered per rules,
    gazetteer, village and side."""
    key = (id(rules), id(gazetteer), text, village, side)
    found = _READINGS.get(key)
    # the entry holds the rules and gazetteer it was read with, so their ids cannot be reused while it lives
    if found is None or found[0] is not rules or found[1] is not gazetteer:
        if len(_READINGS) >= _READINGS_MAX:
            _READINGS.clear()
        found = _READINGS[key] = (rules, gazetteer, _annotated(text, rules, village=village, side=side,
                                                               gazetteer=gazetteer))
    return found[2]


def _annotated(text: str, rules: Rules, *, village: str | None, side: str, gazetteer: Gazetteer | None) -> TextMatch:
    """The reading of ``text``; when it names no official plaque or honour as read, but does once the Latin letters,
    dates and a maker's credit on it are left out (王庄村村民委员会 WANGZHUANG, 中共王庄村支部委员会 2021年,
    王庄村退役军人服务站 河阳县退役军人事务局监制), that official plaque."""
    read = _type_from_text(text, rules, village=village, side=side, gazetteer=gazetteer)
    if read.kind in ("official", "honour"):
        return read
    plain = normalise_text(text)
    bare = _ANNOTATION.sub("", plain)
    extra = [m.group(0) for m in _ANNOTATION.finditer(plain)]
    name = None
    if bare != plain and len(bare) >= 2:
        name = _type_from_text(bare, rules, village=village, side=side, gazetteer=gazetteer)
    if (name is None or name.kind != "official") and bare.endswith(_CREDITS):
        # the maker's credit after the name (…河阳县退役军人事务局监制): the start that is an official name surest
        starts = [(m, cut) for cut in range(len(bare) - 2, 3, -1) for m in [
            _type_from_text(bare[:cut], rules, village=village, side=side, gazetteer=gazetteer)]
            if m.kind == "official" and not m.partial]
        if starts:
            name, cut = max(starts, key=lambda mc: (mc[0].score, mc[1]))
            extra.insert(0, bare[cut:])
    if name is None or name.kind != "official":
        return read
    return replace(name, reason=f"{name.reason}（牌上另有「{'、'.join(extra)}」）")


def _type_from_text(text: str, rules: Rules, *, village: str | None = None, side: str = "external",
                    gazetteer: Gazetteer | None = None) -> TextMatch:
    """Resolve a board's type from its text.

    Parameters
    ----------
    text
        The board's text as read (any script; normalised and converted to simplified characters here).
    rules
        The rules: the plaques' bodies, the names grammar, honours, allowed, shop and mechanism words.
    village
        The inspected village's name (王庄村): a board naming another registry village is undecided.
    side
        ``external`` or ``internal``: which allowed signs apply.
    gazetteer
        The county's place names (:func:`gazetteer_from_registry`); without it, places are read by their
        administrative suffixes alone.
    """
    raw = normalise_text(text)
    simple = simplified(raw)
    traditional = simple != raw

    def match(ptype: str, kind: Kind, score: float, reason: str, closest: str | None = None, place: str = "",
              partial: bool = False) -> TextMatch:
        return TextMatch(ptype, kind, round(score, 1), simple, traditional, reason, closest, place, partial)

    if len(simple) < 2:
        return match(OTHER, "unreadable", 0.0, "没有可读的文字")
    own = simplified(normalise_text(village)) if village else ""
    named_village = _village_named_first(simple, own, rules, gazetteer)
    if simple.startswith(_other_marker_starts(rules)) and not named_village:
        return match(OTHER, "unauthorised_sign", SURE, "其他组织（非村党组织）的牌子，不在挂牌清单内")
    misread_marker = None if named_village else _misread_other_marker(simple, rules)
    if misread_marker:  # 共贵团…支部委员会: 共青团 misread, whose branch is not the party's
        return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，开头像「{misread_marker}」（其他组织），不能确认")
    marked, rest = _strip_marker(simple, rules)
    own_core = village_core(own, rules) if own else ""
    honour_text = simple.replace(own, "") if len(own) >= 2 else simple  # 文明村老年协会: 文明村 is the village
    names = {p.id: p.name_zh for p in rules.plaques}
    candidates = _body_candidates(rest, marked, rules)
    doubtful: list[_Candidate] = [c for c in candidates if not c.sure]
    other_body = max((b for b in rules.names.other_bodies if simple.endswith(b)), key=len, default="")
    for cand in (c for c in candidates if c.sure):
        if cand.fit.cost and len(other_body) >= len(cand.body):
            continue  # 团支部 read exactly is not 党支部 misread
        lookalike = _lookalike(rest, cand, rules) if cand.fit.cost and not _honour(honour_text, rules) else None
        if lookalike:  # 党英服务中心: 党群服务中心 or 党员服务中心 misread? strict on meaning: the inspector decides
            return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，像「{cand.body}」也像「{lookalike}」，不能确认",
                         cand.plaque)
        rival = next((c for c in candidates if c.plaque != cand.plaque and (
            c.fit.cost < cand.fit.cost or len(c.body) >= len(cand.body) and c.fit.cost <= cand.fit.cost + 1)), None)
        rival = rival or _dropped_from(rest, marked, cand, rules)
        if cand.fit.cost and rival is not None:  # 村R委会: 村委会 misread, or 村监委会? the inspector decides
            doubtful.insert(0, rival)
            break
        plaque = rules.plaque(cand.plaque)
        village_body = cand.body[0] in "村居"  # a body only a village or community has (村民委员会, 村务监督委员会)
        place_text = rest[: cand.fit.start]
        for parent in sorted(plaque.parents, key=len, reverse=True):  # 新时代文明实践中心临河镇实践所石桥村 (实践站)
            place_text = place_text.replace(parent, "")
        place = parse_place(place_text, rules, gazetteer)
        shared = next((b[0] for b in plaque.bodies if len(b) == len(cand.body) + 1 and b.endswith(cand.body)
                       and b[0] in "村居"), None)
        if shared and place.level in ("township", "higher") and not place_text.endswith(shared):
            # 务监督委员会 shares 王庄村's 村: after 江庄村市 (a village's name and a misread character, parsed as a
            # city) it is not a city's body but 市务监督委员会, 村 misread or not: the inspector decides
            return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，接近「{plaque.name_zh}」但不能确认", plaque.id)
        where = "".join(place.chain)
        if cand.fit.other and not (place.clean and place.level == "village"):
            doubtful.append(cand)  # a misread inside the body is taken only after a village's name
            continue
        if not place_text:
            if plaque.stands_alone(cand.body) or (len(cand.body) >= 4 and not cand.fit.gaps):
                alone = plaque.stands_alone(cand.body)
                return match(plaque.id, "official", SURE if alone else BARE,
                             f"名称为「{cand.body}」" + ("" if alone else "（未读出村名）"),
                             partial=not alone)  # the village's name, its start, not read
            doubtful.append(cand)  # a bare, incomplete body: which plaque it is may still show below
            continue
        if not place.clean:
            head, leftover = place.chain[:-1], place.chain[-1]
            if _honour(honour_text, rules):  # 模范民兵连, 优秀村务监督委员会, 示范党群服务中心
                return match(OTHER, "honour", SURE, f"「{leftover}」是荣誉或创建称号，应集中展陈")
            if not _unsuffixed_village(leftover, head, cand.body, own_core, rules, gazetteer,
                                       misread=cand.fit.cost > 0):
                if head or any(leftover.endswith(b) or b in leftover for b in rules.names.other_bodies):
                    continue  # 王庄村土地股份合作社, 中共湖西街道工作委员会: a qualifier names another body
                # 胜利N民兵连: the body is read, the place is not: a misread place never changes the type,
                # but the board cannot be counted without the inspector either.
                return match(OTHER, "undecided", CLOSE, f"读出「{cand.body}」，但村名「{leftover}」不能确认",
                             plaque.id, where)
            place = _Place(place.chain, "village", True)
        elif place.chain and _honour(place.chain[-1], rules) and place.chain[-1] not in (own, own_core) \
                and not place.chain[-1].endswith(tuple(rules.names.village_suffixes)) \
                and not (village_body and (place.level in ("township", "higher") or (
                    gazetteer is not None and place.chain[-1] in gazetteer.villages))):
            # 红旗党支部, 先锋党支部: an honour title, unless the inspected village is called so (or, before a body only a
            # village has, 红旗村民委员会, a registry village or a name read as a banner or a town: below).
            return match(OTHER, "honour", SURE, f"「{place.chain[-1]}」是荣誉称号，应集中展陈")
        if place.level in ("township", "higher") and village_body:
            # 红旗村民委员会: 红旗 reads as a banner (旗) and 新镇 as a town, yet a body only a village or community
            # has (村民委员会, 村务监督委员会) shares the village's 村: the inspected village or the registry says which.
            last = place.chain[-1]
            if (own_core and last == own_core) or (gazetteer is not None and last + cand.body[0] in gazetteer.villages):
                place = _Place(place.chain, "village", True)
            else:
                return match(OTHER, "undecided", CLOSE,
                             f"「{where}{cand.body[0]}」是不是村名不能确认（「{where}」也可能是上级地名）", plaque.id, where)
        if place.level in ("township", "higher"):
            # 中共城关镇委员会, 城关镇民兵营: a higher body's name, not the village's.
            return match(OTHER, "unauthorised_sign", SURE, f"「{where}」不是村（社区），这是上级机构的牌子", None, where)
        other = _other_village(place, village, rules, gazetteer)
        if other:
            return match(OTHER, "undecided", CLOSE, f"牌子上是「{other}」，不是本村：请确认照片是否为本村", plaque.id, where)
        return match(plaque.id, "official", SURE - 10 * cand.fit.cost, f"名称为「{where}」+「{cand.body}」", None, where)
    if any(simple.endswith(k) for k in rules.background_signs.shop_markers):
        return match(OTHER, "background", SURE, "商铺或单位自己的招牌，不计入核查")
    if _honour(honour_text, rules):
        return match(OTHER, "honour", SURE, "荣誉或创建称号，应集中展陈")
    # 务中心, 服务中心, 工作站 read alone: the end of 党群服务中心 or 综治工作站 whose start is hidden as much as a sign of
    # its own (服务中心 is also the rules' other body): unless the end names one plaque (below), the inspector decides
    ends = [p for p in rules.plaques if len(rest) >= 2 and any(len(b) > len(rest) and b.endswith(rest) for b in p.bodies)]
    if other_body and not ends and not any(len(c.body) > len(other_body) for c in doubtful):
        return match(OTHER, "unauthorised_sign", SURE, f"「{other_body}」不是清单内的牌子", _closest_official(rest, rules))
    cut = _cut_name(rest, marked, rules, gazetteer, own_core)
    if cut is not None:
        plaque_id, reason, sure = cut
        if sure:
            return match(plaque_id, "official", FRAGMENT, reason, partial=True)
        return match(OTHER, "undecided", CLOSE, reason, plaque_id, partial=True)
    head = [p.id for p in rules.plaques for b in p.bodies if len(rest) >= 3 and b.startswith(rest)]
    if doubtful or head:
        closest = doubtful[0].plaque if doubtful else head[0]
        bare = next((c for c in doubtful if c.body == rest), None)
        if bare is not None:  # 民兵连 alone, the village's name hidden
            return match(OTHER, "undecided", CLOSE, f"只读出「{rest}」，未读出村名，不能确认是本村的牌子", bare.plaque)
        return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，接近「{names[closest]}」但不能确认", closest)
    if _BODYLESS_PLACE.fullmatch(simple) or (own and simple in (own, own_core)):
        return match(OTHER, "unreadable", 0.0, "只读出村名，其余被遮挡或未读出", partial=True)
    allowed = rules.allowed_signs.internal if side == "internal" else rules.allowed_signs.external
    if any(k in simple for k in allowed):
        return match(OTHER, "allowed", SURE, "允许悬挂的标识")
    if any(k in simple for k in rules.background_signs.shop_markers):
        return match(OTHER, "background", SURE, "商铺或单位的招牌，不计入核查")
    signs = rules.unauthorised_signs
    tail = _after_place(rest, rules, gazetteer)  # 合作社区…: the village's name is not the sign's body
    if any(k in tail for k in signs.markers) or tail.endswith(tuple(signs.endings)):
        ending = max((e for e in signs.endings if tail.endswith(e)), key=len, default="")
        bare = rest in signs.markers or rest in signs.endings  # 中心, 服务站 read alone: the word names no body
        if bare or not any(k in tail for k in signs.markers) and len(tail) - len(ending) < (2 if tail != rest else 3):
            # Known by its last character alone (…民所 of a cut 民兵连, 设份社 at the photo's edge): too little of a
            # name to call it a body read with confidence; a name read without its village must show more of it.
            return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，只认出结尾「{ending}」，名称不全，不能确认",
                         _closest_official(rest, rules))
        garbled = _garbled_official(tail, rules)
        if garbled is not None:
            return match(OTHER, "undecided", CLOSE, f"读作「{simple}」，开头是「{names[garbled]}」的名称，其后读不清，不能确认",
                         garbled)
        if ends:
            return match(OTHER, "undecided", CLOSE, f"只读出「{rest}」，可能是「{ends[0].name_zh}」名称的后半部分，不能确认",
                         ends[0].id, partial=True)
        return match(OTHER, "unauthorised_sign", SURE, "机构名称不在挂牌清单内", _closest_official(rest, rules))
    if _NAMED_VILLAGE.search(simple) or _own_name(simple, own_core) or _own_name(
            _after_place(simple, rules, gazetteer, ("township", "higher")), own_core):
        # a village's name (the inspected one's without its ending too, after a township's: 东关街道小营盘, a strip's
        # body hidden) and a reading that ends as no body does: a fragment of a board, not a slogan (连心大街 is a
        # street's sign)
        return match(OTHER, "unreadable", 0.0, f"读作「{simple}」，看不出是什么机构的牌子", partial=True)
    return match(OTHER, "background", SURE, "标语或提示，未指明任何机构")


def _after_place(text: str, rules: Rules, gazetteer: Gazetteer | None, levels: tuple[str, ...] = ("village",)) -> str:
    """The text after the longest place chain ending at one of ``levels`` it starts with (合作社区 of 合作社区老年协会;
    with the township's and the county's levels, 小营盘 of 东关街道小营盘), or the whole text when it starts with none."""
    for k in range(min(len(text), 20), 1, -1):
        place = parse_place(text[:k], rules, gazetteer)
        if place.clean and place.level in levels:
            return text[k:]
    return text


def _unsuffixed_village(leftover: str, head: tuple[str, ...], body: str, own_core: str, rules: Rules,
                        gazetteer: Gazetteer | None, misread: bool = False) -> bool:
    """Whether the unparsed end of a place chain is a village's name written without its ending: 王庄 in
    王庄村民委员会 (the body starts with 村/居/社), 田新 in 田新经济联合社, or a name the registry knows. After a
    village (王庄村土地…) or before a short body (…街道工作委员会) it is a qualifier naming another body."""
    if gazetteer is not None and leftover in gazetteer.villages:
        return True
    if not head and leftover in rules.names.village_suffixes:
        return True  # 村民兵连: the village's name cut off before its ending (the board's top hidden)
    if own_core and leftover == own_core:  # the inspected village's name without its ending
        return True
    if own_core and _nothing_of(leftover, own_core):
        return False  # 秀村委会 at 磨盘山村 (优秀村委会, an honour, its first character lost): not this village's name
    if head and _level_of(head[-1], rules, gazetteer) == "village":
        return False
    if len(leftover) > 6 or any(m in leftover for m in rules.unauthorised_signs.markers):
        return False
    if body[0] in "村居社":
        return True
    if own_core and misread and len(body) >= 5:
        # 十国海社程务员部委员会: a body itself misread, after a garble that holds little of the inspected village's
        # name, is no village's board read without its ending (another board's characters run into this one)
        return sum(ch in leftover for ch in set(own_core)) * 2 >= len(set(own_core))
    return len(body) >= 5


def _cut_name(rest: str, marked: bool, rules: Rules, gazetteer: Gazetteer | None,
              own_core: str = "") -> tuple[str, str, bool] | None:
    """A name cut by the board's edge, an occluding object or the photo: its start hidden (…监督委员会: the end
    of a body only one plaque has) or its end hidden (中共王庄村支部委…, 王庄村村民委: a village, then the start of a
    body only one plaque has). Returns (plaque id, reason, sure). The last visible character may itself be half
    cut and misread (王庄村村民术): the name is then only likely (``sure`` False: the inspector decides), since the
    hidden character might have made another body (村民议事会)."""
    for k in (0, 1):  # the first visible character is often half cut: try without it
        frag = rest[k:]
        if len(frag) >= 4:
            owners = {p.id for p in rules.plaques for b in p.bodies if len(b) > len(frag) and b.endswith(frag)}
            if len(owners) == 1 and frag not in rules.names.other_bodies:  # 服务中心 is a body of its own too
                return owners.pop(), f"只读出名称的后半部分「{frag}」", True
    # the last character read may be half cut, unless it ends the text as a body does (…实践点, …服务站 are other
    # bodies, not 新时代文明实践站 or 党群服务中心 cut) — unless our OCR is measured to read the body's next character
    # as that last character (经济会: 经济合作社 cut through 合, which the OCR reads 会 more than as any other)
    either = None  # a cut name two plaques' bodies begin with: the inspector decides
    ends_as_body = rest.endswith(tuple(rules.unauthorised_signs.endings))
    conf = _confusions()
    for cut in (0, 1):
        seen = rest[: len(rest) - cut]
        for plaque in rules.plaques:
            for body in plaque.bodies:
                for k in range(len(body) - 1, 1, -1):
                    head = body[:k]
                    if not seen.endswith(head) or cut and body[k] == rest[-1]:
                        continue
                    if cut and ends_as_body and (body[k], rest[-1]) not in conf:
                        continue
                    owners = {p.id for p in rules.plaques for b in p.bodies if b.startswith(head)}
                    before = seen[: len(seen) - k]
                    place = parse_place(before, rules, gazetteer)
                    if not (place.clean and place.level == "village"):
                        # 柏树湾村民: 柏树湾 + 村民(委员会), or the village 柏树湾村 + 民(兵连)? Both owners count.
                        for suffix in rules.names.village_suffixes:
                            alt = head[len(suffix):]
                            if alt and head.startswith(suffix) and \
                                    parse_place(before + suffix, rules, gazetteer).level == "village":
                                owners |= {p.id for p in rules.plaques for b in p.bodies if b.startswith(alt)}
                    village_like = place.level == "village" or (own_core and before.endswith(own_core))
                    if not (place.chain and (village_like or marked and place.clean)):
                        continue
                    # 党员 begins 党员群众服务中心 and the other body 党员服务中心 (and is a word of its own, 党员先锋示范点
                    # read out of order): the inspector decides
                    rival = next((b for b in rules.names.other_bodies if b.startswith(head)), None)
                    if len(owners) == 1 and rival and not cut:
                        return plaque.id, (f"名称末尾被遮挡：读作「{rest}」，可能是「{plaque.name_zh}」，"
                                           f"也可能是「{rival}」等其他机构"), False
                    if len(owners) == 1:
                        if cut:
                            return plaque.id, f"名称末尾被遮挡，末字未读清：读作「{rest}」，可能是「{plaque.name_zh}」", False
                        return plaque.id, f"名称末尾被遮挡：读作「{rest}」", True
                    if either is None and not cut:
                        named = "」或「".join(p.name_zh for p in rules.plaques if p.id in owners)
                        either = plaque.id, f"名称末尾被遮挡：读作「{rest}」，可能是「{named}」", False
    if either is not None:
        return either
    if marked:  # 中共卧牛坡村 / 中共卧牛坡村支 / 中共卧牛坡: the party marker and a village, the body cut off
        party = [p for p in rules.plaques if p.marked_bodies]
        for k in (0, 1):
            seen, tail = rest[: len(rest) - k], rest[len(rest) - k:]
            place = parse_place(seen, rules, gazetteer)
            village_like = (place.chain and place.level == "village") or (own_core and seen == own_core)
            if party and village_like and all(any(b.startswith(tail) for b in p.bodies) for p in party[:1]):
                return party[0].id, f"党组织名称末尾被遮挡：读作「{rest}」", True
        if party and len(rest) >= 2 and (own_core.startswith(rest) or _misread_start(rest, own_core)):
            # 中国共产党双河 (双河口村): the village's name cut; 中共下注子 (下洼子村): one character of it misread
            return party[0].id, f"党组织名称被遮挡：读作「{rest}」，可能是本村党组织", False
    return None


def _own_name(text: str, own_core: str) -> bool:
    """``text`` is the inspected village's name without its ending, with one character more (凤凰台时), or one
    misread, dropped or added (燕子容窝)."""
    return (len(own_core) >= 2 and text.startswith(own_core) and len(text) <= len(own_core) + 1) or _misread_name(
        text, own_core)


def _misread_name(text: str, name: str) -> bool:
    """``text`` is ``name`` (three characters at least) with one character misread, dropped or added (燕子容窝 for
    燕子窝: the top of a strip cut by the frame, seed 330000018)."""
    from rapidfuzz.distance import Levenshtein

    return len(name) >= 3 and Levenshtein.distance(text, name, score_cutoff=1) <= 1


def _misread_start(text: str, name: str) -> bool:
    """The start of ``name`` read with one character misread (下注子 for 下洼子, 大栋 for 大槐: the village's name on a
    party strip half hidden, seeds 330000006 and 370000017): all other characters as written, the first of two."""
    if len(text) < 2 or len(text) > len(name):
        return False
    wrong = [i for i, (a, b) in enumerate(zip(name, text, strict=False)) if a != b]
    return len(wrong) == 1 and (len(text) >= 3 or wrong[0] == 1)


def _dropped_from(rest: str, marked: bool, cand: _Candidate, rules: Rules) -> _Candidate | None:
    """Another plaque's longer body that the text is, every character as written, with some dropped (村务委员会,
    村务员会: 村务监督委员会 without 监督, 监督委), where the candidate needs a character misread (村民委员会 with 民
    read 务): the OCR drops characters as often as it misreads one, so which plaque it is, the inspector decides.
    The other body's first two characters must be read as written, and at most half of it dropped."""
    if not (cand.fit.confusable or cand.fit.other):
        return None
    for plaque in rules.plaques:
        if plaque.id == cand.plaque:
            continue
        for body in plaque.bodies:
            if len(body) <= len(cand.body) or body in plaque.marked_bodies and not marked:
                continue
            fit = _suffix_fit(rest, body)
            if not (fit.confusable or fit.other) and 0 < fit.gaps <= len(body) // 2 and rest.endswith(body[-1]) \
                    and rest[fit.start:fit.start + 2] == body[:2]:
                return _Candidate(plaque.id, body, fit, False)
    return None


def _lookalike(rest: str, cand: _Candidate, rules: Rules) -> str | None:
    """Another body (rules ``names.other_bodies``), at least as long as the candidate's, that the misread text fits
    as well as the candidate's body (党员服务中心 for 党英服务中心, 纪律检查委员会 for 纪律查委员会)."""
    for other in rules.names.other_bodies:
        if len(other) < len(cand.body) or other == cand.body:
            continue
        fit = _suffix_fit(rest, other)
        if fit.other + fit.gaps <= 1 and fit.cost <= cand.fit.cost:
            return other
    return None


def _garbled_official(tail: str, rules: Rules) -> str | None:
    """The plaque whose body ``tail`` begins as (at least three characters and half the body, rounded down) before
    characters that no word of the unauthorised signs' grammar accounts for (its markers and endings): 退役军人笋站 is
    退役军人服务站 with 服务 misread as one character, not a sign of another body, while 退役军人之家 and 退役军人服务社
    end in a word of their own (之家, 服务社) and are other bodies, as is a name longer than the body by more than a
    character (新时代文明实践志愿服务队). The beginning may hold characters our OCR confuses (退役军月 for 退役军人)."""
    signs, conf = rules.unauthorised_signs, _confusions()
    ending = max((w for w in (*signs.endings, *signs.markers) if tail.endswith(w)), key=len, default="")
    best: tuple[int, str] | None = None
    for plaque in rules.plaques:
        for body in plaque.bodies:
            n = next((i for i, (a, b) in enumerate(zip(tail, body, strict=False)) if a != b and (b, a) not in conf),
                     min(len(tail), len(body)))
            misread = n >= max(3, len(body) // 2) and n < len(tail) - len(ending) and len(tail) <= len(body) + 1
            if misread and (best is None or n > best[0]):
                best = (n, plaque.id)
    return best[1] if best is not None else None


def _closest_official(rest: str, rules: Rules) -> str | None:
    best: tuple[float, str] | None = None
    for plaque in rules.plaques:
        for body in plaque.bodies:
            if not any(ch in rest for ch in body):
                continue
            cost = _suffix_fit(rest, body).cost / len(body)
            if best is None or cost < best[0]:
                best = (cost, plaque.id)
    return best[1] if best is not None and best[0] < 0.5 else None
