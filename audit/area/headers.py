"""What a registry's column holds, told from its header: the grammar in ``headers.toml`` (aliases, then patterns
with the words that rule them out), so that a county's own header — 村级党群服务中心面积（平方米）, 是否为中心村,
村（社区）名称 — is read without a mapping, and a header that is something else in the same unit (占地面积, 脱贫户数)
is not."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

GRAMMAR_FILE = Path(__file__).with_name("headers.toml")
UNIT_SUFFIX = r"(平方米|平米|平方|m2|sqm|户|个|人)$"  # a unit at the end of a header or a value


def normalise_header(header: object) -> str:
    """Normalise a header for matching: NFKC (full-width → half-width, ㎡ → m2), lower case, no spaces,
    brackets, punctuation or unit suffixes. 服务中心面积（平方米） → 服务中心面积; 县（市、区） → 县市区."""
    text = unicodedata.normalize("NFKC", str(header)).lower().strip()
    text = re.sub(r"[\(\[【<《]\s*(平方米|平米|m2|m²|sqm|㎡|户|个|度|°)\s*[\)\]】>》]", "", text)
    text = re.sub(r"[\s\(\)\[\]【】<>《》、,，.。:：;；_\-/\\'\"“”‘’*#°]", "", text)
    return re.sub(UNIT_SUFFIX, "", text) or text


@dataclass(frozen=True)
class FieldGrammar:
    """How one canonical field's header is recognised (see ``headers.toml``)."""

    name: str
    aliases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    not_: tuple[re.Pattern[str], ...]
    prefer: tuple[re.Pattern[str], ...]

    def fits(self, norm: str) -> bool:
        """Whether the field's patterns find the normalised header and none of its ``not`` words does."""
        return any(p.search(norm) for p in self.patterns) and not any(p.search(norm) for p in self.not_)


@lru_cache(maxsize=4)
def grammar(path: str | Path | None = None) -> dict[str, FieldGrammar]:
    """The header grammar, field by field in the file's order (read once)."""
    data = tomllib.loads(Path(path or GRAMMAR_FILE).read_text(encoding="utf-8"))
    out = {}
    for name, spec in data["fields"].items():
        out[name] = FieldGrammar(
            name, tuple(normalise_header(a) for a in spec.get("aliases", ())),
            tuple(re.compile(p) for p in spec.get("patterns", ())),
            tuple(re.compile(p) for p in spec.get("not", ())),
            tuple(re.compile(p) for p in spec.get("prefer", ())))
    return out


def field_names() -> tuple[str, ...]:
    """The fields a header can be mapped to."""
    return tuple(grammar())


def _alias_field(norm: str) -> str | None:
    return next((g.name for g in grammar().values() if norm in g.aliases), None)


def fields_fitting(norm: str) -> list[str]:
    """The fields whose patterns fit a normalised header."""
    return [g.name for g in grammar().values() if g.fits(norm)]


def field_of_header(header: object, *, patterns: bool = True) -> str | None:
    """The field a header names: by an alias, else (``patterns``) by the one field whose patterns fit it."""
    norm = normalise_header(header)
    found = _alias_field(norm)
    if found is None and patterns:
        fitting = fields_fitting(norm)
        found = fitting[0] if len(fitting) == 1 else None
    return found


def header_score(cells: Iterable[object], *, patterns: bool = True) -> int:
    """How many fields a row's cells name (each field once): how much the row looks like the header row."""
    return len({f for c in cells if isinstance(c, str) and c.strip()
                and (f := field_of_header(c, patterns=patterns)) is not None})


@dataclass(frozen=True)
class Guess:
    """A field found by its patterns, not an alias: the header taken and the other headers that fitted too."""

    field: str
    header: str
    others: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeaderMatch:
    """Fields mapped to headers, the ones found by patterns, and headers left alone because two fields fit."""

    fields: dict[str, str]
    guesses: tuple[Guess, ...]
    ambiguous: tuple[tuple[str, tuple[str, ...]], ...]


def match_headers(headers: list[str], found: dict[str, str] | None = None) -> HeaderMatch:
    """Map fields to ``headers``: ``found`` (explicit mappings) first, then aliases (the first alias present
    wins), then patterns (a header that fits one field only; among several, the first a ``prefer`` word finds,
    else the leftmost). Each header is taken once."""
    found = dict(found or {})
    by_norm = {normalise_header(h): h for h in reversed(headers)}  # first occurrence wins
    taken = set(found.values())
    for g in grammar().values():
        if g.name in found:
            continue
        h = next((by_norm[a] for a in g.aliases if a in by_norm and by_norm[a] not in taken), None)
        if h is not None:
            found[g.name] = h
            taken.add(h)
    fitting = {h: fields_fitting(normalise_header(h)) for h in headers if h not in taken}
    guesses = []
    for g in grammar().values():
        if g.name in found:
            continue
        candidates = [h for h, fs in fitting.items() if fs == [g.name] and h not in taken]
        if not candidates:
            continue
        h = next((c for c in candidates if any(p.search(normalise_header(c)) for p in g.prefer)), candidates[0])
        found[g.name] = h
        taken.add(h)
        guesses.append(Guess(g.name, h, tuple(c for c in candidates if c != h)))
    ambiguous = tuple((h, tuple(fs)) for h, fs in fitting.items()
                      if len(fs) > 1 and h not in taken and any(f not in found for f in fs))
    return HeaderMatch(found, tuple(guesses), ambiguous)
