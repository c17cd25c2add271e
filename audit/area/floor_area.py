"""The floor-area audit: required area, shortfall, status and reason per village; township and county
summaries. Vectorised over the frame (no Python loop per village)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.labels import AREA_STATUS_ZH as STATUS_ZH
from audit.labels import BASIS_ZH
from audit.rules import Rules, load_rules

AUDIT_COLUMNS = ["required_m2", "gap_m2", "area_status", "basis", "reason"]
# STATUS_ZH and BASIS_ZH (the status and basis codes, in the order of their categories) come from audit.labels.
UNTYPED = "（未填乡镇）"


def required_area(households: np.ndarray, base_m2: np.ndarray, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """Required floor area (m²) and whether the households bound set it.

    required = max(base of the village's type, households × per-hundred / 100), or with
    ``rounding = "per_started_hundred"`` ceil(households / 100) × per-hundred. Rounded to the rules'
    tolerance so that 337 households need exactly 101.1 m². NaN where households or the base is unknown.
    """
    a = rules.area
    households = np.asarray(households, dtype=float)
    if a.rounding == "per_started_hundred":
        by_households = np.ceil(households / 100.0) * a.per_hundred_households_m2
    else:
        by_households = households * a.per_hundred_households_m2 / 100.0
    decimals = _decimals(a.tolerance_m2)
    by_households = np.round(by_households, decimals)
    base = np.round(np.asarray(base_m2, dtype=float), decimals)
    per_households = by_households > base
    required = np.where(per_households, by_households, base)
    return np.where(np.isnan(households), np.nan, required), per_households


def _decimals(tolerance: float) -> int:
    return max(0, int(round(-np.log10(tolerance))))


def area_audit(villages: pd.DataFrame, *, rules: Rules | None = None) -> pd.DataFrame:
    """Audit each village's service-centre floor area against the rules.

    Adds ``required_m2``, ``gap_m2`` (shortfall, 0 when compliant), ``area_status`` (``compliant`` /
    ``non_compliant`` / ``unknown`` when area, households or the village type is missing),
    ``basis`` (``central_minimum`` / ``base_minimum`` / ``per_households``) and a Chinese ``reason``.
    The three text columns are categoricals (a handful of values over many villages).
    Returns a new frame; the input is not changed.
    """
    rules = rules or load_rules()
    out = villages.copy()
    types = rules.area.types
    type_code = pd.Index([t.id for t in types]).get_indexer(out["village_type"])  # -1: unknown type
    base = np.array([t.base_m2 for t in types] + [np.nan])[type_code]
    central = np.array([t.central for t in types] + [False])[type_code]

    households = out["households"].to_numpy(dtype=float)
    area = out["floor_area_m2"].to_numpy(dtype=float)
    required, per_households = required_area(households, base, rules)
    decimals = _decimals(rules.area.tolerance_m2)
    known = ~(np.isnan(required) | np.isnan(area))
    gap = np.round(np.maximum(required - np.round(area, decimals), 0.0), decimals)
    compliant = known & (gap == 0)

    out["required_m2"] = required
    out["gap_m2"] = np.where(known, gap, np.nan)
    status = np.where(~known, 2, np.where(compliant, 0, 1))
    out["area_status"] = pd.Categorical.from_codes(status, categories=list(STATUS_ZH))
    basis = np.where(per_households, 2, np.where(central, 0, 1))
    out["basis"] = pd.Categorical.from_codes(np.where(np.isnan(required), -1, basis), categories=list(BASIS_ZH))
    out["reason"] = _reasons(out, rules, type_code, per_households, known, compliant)
    return out


def _reasons(out: pd.DataFrame, rules: Rules, type_code: np.ndarray, per_households: np.ndarray,
             known: np.ndarray, compliant: np.ndarray) -> pd.Categorical:
    """One Chinese sentence per village. The sentences for judged villages come from a few templates
    (status × the bound that set the requirement); unknown villages get their own problems."""
    a = rules.area
    bounds = [f"{t.name_zh}最低 {t.base_m2:g} ㎡" for t in a.types]
    bounds.append(f"按户数核定（每百户 {a.per_hundred_households_m2:g} ㎡）")
    categories = [f"达标：面积不低于{b}的要求" for b in bounds] + [f"不达标：面积低于{b}的要求" for b in bounds]
    bound = np.where(per_households, len(a.types), type_code)
    codes = np.where(compliant, bound, len(bounds) + bound)
    unknown = np.flatnonzero(~known)
    if len(unknown):  # only rows with problems: few, and their messages say what is wrong
        problems = out["problems"].to_numpy(dtype=object)[unknown] if "problems" in out else [[]] * len(unknown)
        texts = ["无法判定：" + ("；".join(p) if p else "面积、户数或村庄类型缺失") for p in problems]
        extra, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
        codes[unknown] = len(categories) + inverse
        categories += list(extra)
    return pd.Categorical.from_codes(codes, categories=categories)


def township_summary(audited: pd.DataFrame) -> pd.DataFrame:
    """Per township: villages, compliant, non-compliant, unknown, compliance rate (compliant ÷ (compliant +
    non-compliant); unknown reported beside it, never counted as compliant), total shortfall m²."""
    township = audited["township"].fillna(UNTYPED) if "township" in audited else pd.Series(UNTYPED, index=audited.index)
    county = audited["county"].fillna("") if "county" in audited else pd.Series("", index=audited.index)
    return _summary(audited, [county.rename("county"), township.rename("township")])


def county_summary(audited: pd.DataFrame) -> pd.DataFrame:
    """The same figures for each county in the registry (usually one row)."""
    county = audited["county"].fillna("") if "county" in audited else pd.Series("", index=audited.index)
    return _summary(audited, [county.rename("county")])


def _summary(audited: pd.DataFrame, keys: list[pd.Series]) -> pd.DataFrame:
    status = audited["area_status"]
    frame = pd.DataFrame({
        "villages": 1,
        "compliant": (status == "compliant").astype(int),
        "non_compliant": (status == "non_compliant").astype(int),
        "unknown": (status == "unknown").astype(int),
        "shortfall_m2": audited["gap_m2"].fillna(0.0),
    }, index=audited.index)
    grouped = frame.groupby(keys, sort=False, dropna=False).sum()
    judged = grouped["compliant"] + grouped["non_compliant"]
    grouped["compliance_rate"] = (grouped["compliant"] / judged.where(judged > 0)).round(4)
    grouped["shortfall_m2"] = grouped["shortfall_m2"].round(2)
    return grouped.reset_index()[[k.name for k in keys] + ["villages", "compliant", "non_compliant", "unknown",
                                                           "compliance_rate", "shortfall_m2"]]
