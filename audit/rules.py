"""The standards as data: load, validate and describe a rules file (TOML).

The default file ships in ``audit/rules/default.toml``; a county may pass its own. Every value the audit
compares against (base areas, households factor, plaque list, styles, severities) comes from here.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from audit.errors import RulesError

DEFAULT_RULES = Path(__file__).resolve().parent / "rules" / "default.toml"
VILLAGE_SLOT = "{村}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VillageType(_Strict):
    """A village type (中心村, 非中心村, 社区 …) and its base floor area."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    base_m2: float = Field(ge=0)
    central: bool = False
    values: list[str] = Field(min_length=1)


class AreaRules(_Strict):
    """Floor-area standard: required = max(base of the type, households × factor / 100)."""

    per_hundred_households_m2: float = Field(ge=0)
    rounding: Literal["proportional", "per_started_hundred"] = "proportional"
    tolerance_m2: float = Field(default=0.01, gt=0)
    default_type: str
    types: list[VillageType] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_types(self) -> AreaRules:
        ids = [t.id for t in self.types]
        if len(set(ids)) != len(ids):
            raise ValueError(f"area.types: duplicate id in {ids}")
        if self.default_type not in ids:
            raise ValueError(f"area.default_type: '{self.default_type}' is not one of the type ids {ids}")
        return self

    def type_by_id(self, type_id: str) -> VillageType:
        """The village type with this id."""
        return next(t for t in self.types if t.id == type_id)


class Shape(_Strict):
    name_zh: str
    width_cm: tuple[float, float]
    height_cm: tuple[float, float]


class PlaqueStyle(_Strict):
    background: str
    typeface: str
    typeface_zh: str
    simplified_characters: bool = True
    shapes: dict[str, Shape]


class PlaqueRule(_Strict):
    """One official plaque: id, Chinese name, where it hangs, its body names (what follows the place on the
    board; the matcher reads these), example names with the {村} slot (the generator and the docs), style."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    placement: Literal["external", "internal"]
    patterns: list[str] = Field(min_length=1)
    bodies: list[str] = Field(min_length=1)
    marked_bodies: list[str] = []
    # units above the village's in the body's own system, written into a full name before or between the places
    # (新时代文明实践中心 · 临河镇实践所 · 石桥村实践站): read past, as a place is
    parents: list[str] = []
    place_optional: bool = False
    text_colour: Literal["red", "black"] | None = None
    identity_sign: bool = False

    @model_validator(mode="after")
    def _colour_unless_identity(self) -> PlaqueRule:
        if not self.identity_sign and self.text_colour is None:
            raise ValueError("text_colour is required unless identity_sign = true")
        stray = [b for b in self.marked_bodies if b not in self.bodies]
        if stray:
            raise ValueError(f"marked_bodies {stray} are not in bodies")
        return self

    def stands_alone(self, body: str) -> bool:
        """Whether ``body`` written without a place is this plaque (新时代文明实践站, 党群服务中心): a place-optional
        plaque's body of four characters or more; three alone (实践站) are too little of a name to tell."""
        return self.place_optional and len(body) >= 4

    def names_for(self, village: str) -> list[str]:
        """The patterns with the village-name slot filled (e.g. 王庄村 → 王庄村村民委员会)."""
        return [p.replace(VILLAGE_SLOT, village) for p in self.patterns]

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """A regex matching any pattern, the slot standing for any short run of characters."""
        slot = re.escape(VILLAGE_SLOT)
        return re.compile("|".join(re.escape(p).replace(slot, ".{0,12}?") for p in self.patterns))


class AllowedSigns(_Strict):
    internal: list[str] = []
    external: list[str] = []


class Honours(_Strict):
    keywords: list[str] = []
    levels: list[str] = []
    titles: list[str] = []


class Names(_Strict):
    """The grammar of a board's name: party markers and administrative suffixes by level."""

    party_markers: list[str] = []
    other_markers: list[str] = []
    other_bodies: list[str] = []
    village_suffixes: list[str] = Field(min_length=1)
    township_suffixes: list[str] = []
    higher_suffixes: list[str] = []


class UnauthorisedSigns(_Strict):
    markers: list[str] = []
    endings: list[str] = []


class BackgroundSigns(_Strict):
    shop_markers: list[str] = []


class PhotoRules(_Strict):
    min_pixels: int = Field(default=100_000, gt=0)
    min_side_px: int = Field(default=100, gt=0)
    max_pixels: int = Field(default=100_000_000, gt=0)
    max_bytes: int = Field(default=100_000_000, gt=0)
    max_aspect_ratio: float = Field(default=10, ge=1)
    max_exif_bytes: int = Field(default=262_144, gt=0)
    work_long_side_px: int = Field(default=2048, gt=0)
    min_sharpness: float = Field(default=40, ge=0)
    unreadable_boards_share: float = Field(default=0.5, ge=0, le=1)
    unreadable_boards_min: int = Field(default=3, ge=1)


class ProvenanceRules(_Strict):
    max_distance_m: float = Field(default=500, gt=0)
    max_age_days: float = Field(default=30, gt=0)


class InvestmentRules(_Strict):
    """The unit cost of building service-centre floor area, for the investment estimate of the ranking of where to
    build first (``audit.area.ranking``); no estimate when it is not given."""

    unit_cost_yuan_per_m2: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    note: str = ""


Severity = Literal["must_fix", "needs_review", "advisory"]
# The findings the audit computes; the rules file gives each its severity (must_fix fails the village,
# needs_review keeps it at 待复核 until a person looks, advisory is reported without changing the verdict).
FINDINGS = ("missing", "unauthorised", "misplaced", "duplicate", "honour", "side_not_photographed",
            "background", "text_colour", "shape", "size", "typeface", "traditional_characters")


class Rules(_Strict):
    """A validated rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    version: str
    title: str
    source: str = ""
    area: AreaRules
    plaque_style: PlaqueStyle
    severity: dict[str, Severity]
    plaques: list[PlaqueRule] = Field(min_length=1)
    allowed_signs: AllowedSigns = AllowedSigns()
    honours: Honours = Honours()
    names: Names = Names(village_suffixes=["村", "社区"])
    unauthorised_signs: UnauthorisedSigns = UnauthorisedSigns()
    background_signs: BackgroundSigns = BackgroundSigns()
    photos: PhotoRules = PhotoRules()
    provenance: ProvenanceRules = ProvenanceRules()
    investment: InvestmentRules = InvestmentRules()
    path: str = ""

    @field_validator("severity")
    @classmethod
    def _every_finding(cls, severity: dict[str, Severity]) -> dict[str, Severity]:
        absent = [k for k in FINDINGS if k not in severity]
        unknown = [k for k in severity if k not in FINDINGS]
        if absent:
            raise ValueError(f"no severity for {', '.join(absent)} (each finding needs must_fix, needs_review or advisory)")
        if unknown:
            raise ValueError(f"unknown finding {', '.join(unknown)}; the findings are {', '.join(FINDINGS)}")
        return severity

    @field_validator("plaques")
    @classmethod
    def _unique_plaques(cls, plaques: list[PlaqueRule]) -> list[PlaqueRule]:
        ids = [p.id for p in plaques]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate plaque id in {ids}")
        return plaques

    def plaque(self, plaque_id: str) -> PlaqueRule:
        """The official plaque with this id."""
        return next(p for p in self.plaques if p.id == plaque_id)

    def plaques_at(self, placement: str) -> list[PlaqueRule]:
        """The official plaques that hang on this side (``external`` / ``internal``)."""
        return [p for p in self.plaques if p.placement == placement]

    def summary_rows(self) -> list[tuple[str, str]]:
        """(规则, 取值) pairs describing the rules, for the 说明 sheet and the app."""
        a = self.area
        rows = [("规则版本", self.version), ("规则名称", self.title), ("依据", self.source)]
        rows += [(f"{t.name_zh}最低面积（㎡）", f"{t.base_m2:g}") for t in a.types]
        rows.append(("每百户最低面积（㎡）", f"{a.per_hundred_households_m2:g}"))
        mode = {"proportional": "按户数比例（户数 × 标准 ÷ 100）", "per_started_hundred": "按每起算百户（向上取整）"}
        rows.append(("户数折算方式", mode[a.rounding]))
        rows.append(("面积比较精度（㎡）", f"{a.tolerance_m2:g}"))
        rows.append(("核定面积", "取村庄类型最低面积与按户数计算面积中的较大者"))
        return rows


    def lexicon_rows(self) -> list[tuple[str, str, str]]:
        """(牌子, 位置, 名称写法) per official plaque, then the grammar of other names, for the app and the docs."""
        side = {"external": "外部", "internal": "内部"}
        rows = []
        for p in self.plaques:
            forms = "、".join(f"{b}（须有中共）" if b in p.marked_bodies else b for b in p.bodies)
            where = "（可不写村名）" if p.place_optional else "（村/社区名 + 名称）"
            above = f"；名称前可有上级：{'、'.join(p.parents)}" if p.parents else ""
            rows.append((p.name_zh, side[p.placement], forms + where + above))
        n = self.names
        rows.append(("党组织标记", "", "、".join(n.party_markers)))
        rows.append(("村级地名结尾", "", "、".join(n.village_suffixes)))
        rows.append(("乡镇级地名结尾", "", "、".join(n.township_suffixes)))
        rows.append(("其他组织标记（非清单牌子）", "", "、".join(n.other_markers)))
        rows.append(("相似但非清单的机构", "", "、".join(n.other_bodies)))
        rows.append(("荣誉称号用词", "", "、".join(self.honours.keywords)))
        return rows


def _key_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into the TOML key the user wrote, e.g. ``area.types[1].base_m2``."""
    return "".join(f"[{part + 1}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def load_rules(path: str | Path | None = None) -> Rules:
    """Load and validate a rules file (the shipped default when ``path`` is None).

    Raises
    ------
    RulesError
        When the file cannot be read or parsed, or a key is missing, unknown or has a bad value; the
        message names the file and the key (list items counted from 1, as a person would).
    """
    path = Path(path) if path is not None else DEFAULT_RULES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(f"规则文件不存在 (rules file not found): {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"规则文件 {path.name} 格式错误 (not valid TOML): {exc}") from None
    try:
        return Rules(**data, path=str(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _key_path(first["loc"]) or "(top level)"
        got = first.get("input")
        got_text = "" if isinstance(got, dict | list) else f", got {got!r}"
        raise RulesError(
            f"规则文件 {path.name}: key '{key}': {first['msg']}{got_text}"
            + (f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else "")
        ) from None
