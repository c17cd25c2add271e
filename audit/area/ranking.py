"""Where to build first: the villages whose service centre falls short, ranked by shortfall (m², or m² per
household), grouped by township, with an investment estimate when the rules file gives a unit cost; the villages
that cannot be judged (无法判定) listed apart, as data to fix first.

Vectorised over the audited frame; the ranking is a new frame, the input is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from audit.area.floor_area import UNTYPED
from audit.rules import Rules

Order = Literal["shortfall", "per_household"]
ORDER_ZH = {"shortfall": "按面积缺口（㎡）从大到小", "per_household": "按户均缺口（㎡/户）从大到小"}
RANKING_COLUMNS = ["rank", "township_rank", "village_code", "village_name", "township", "village_type", "households",
                   "floor_area_m2", "required_m2", "gap_m2", "gap_per_household_m2", "cost_yuan"]
TOWNSHIP_COLUMNS = ["rank", "township", "short_villages", "shortfall_m2", "households", "cost_yuan",
                    "top_village", "undecided"]
UNDECIDED_COLUMNS = ["village_code", "village_name", "township", "households", "floor_area_m2", "reason"]
RANKING_HEADERS_ZH = {
    "rank": "全县排序", "township_rank": "乡镇内排序", "village_code": "村代码", "village_name": "村名",
    "township": "乡镇（街道）", "village_type": "村庄类型", "households": "户数", "floor_area_m2": "服务中心面积（㎡）",
    "required_m2": "核定面积（㎡）", "gap_m2": "面积缺口（㎡）", "gap_per_household_m2": "户均缺口（㎡/户）",
    "cost_yuan": "投资估算（元）", "short_villages": "不达标村数", "shortfall_m2": "面积缺口合计（㎡）",
    "top_village": "缺口最大的村", "undecided": "无法判定村数", "reason": "无法判定的原因（须先补数据）",
}


@dataclass(frozen=True)
class BuildRanking:
    """The ranking of one scope.

    ``villages``: the non-compliant villages in ``RANKING_COLUMNS``, ranked county-wide (``rank``) and within
    their township (``township_rank``); ``townships``: per township, ranked by total shortfall; ``undecided``:
    villages whose status cannot be decided, with the reason; ``unit_cost``: yuan per m² (None: no estimate).
    """

    villages: pd.DataFrame
    townships: pd.DataFrame
    undecided: pd.DataFrame
    unit_cost: float | None
    order: str
    positions: tuple[int, ...] = ()  # each ranked village's position (``iloc``) in the audited frame


    @property
    def total_shortfall_m2(self) -> float:
        return float(self.villages["gap_m2"].sum())

    @property
    def total_cost_yuan(self) -> float | None:
        return None if self.unit_cost is None else float(self.villages["cost_yuan"].sum())


def unit_cost_of(rules: Rules | None) -> float | None:
    """The rules' unit cost (yuan per m² of shortfall) for the investment estimate, or None when not given."""
    investment = getattr(rules, "investment", None)
    return getattr(investment, "unit_cost_yuan_per_m2", None)


def build_ranking(audited: pd.DataFrame, *, rules: Rules | None = None, order: Order = "shortfall",
                  unit_cost: float | None = None, type_names: dict[str, str] | None = None) -> BuildRanking:
    """Rank the non-compliant villages of ``audited`` (output of ``area_audit``).

    Parameters
    ----------
    order
        ``shortfall`` (m², the larger first; ties by m² per household) or ``per_household`` (m² per household,
        the larger first; ties by m²). Villages without households rank after the others under
        ``per_household``.
    unit_cost
        Yuan per m² of shortfall; default: the rules' ``[investment] unit_cost_yuan_per_m2`` (None: no
        estimate, ``cost_yuan`` is empty).
    type_names
        Village type id → Chinese name (default: from the rules).
    """
    if order not in ORDER_ZH:
        raise ValueError(f"'order' should be one of {tuple(ORDER_ZH)}, got '{order}' instead")
    if unit_cost is None:
        unit_cost = unit_cost_of(rules)
    if unit_cost is not None and not (np.isfinite(unit_cost) and unit_cost > 0):
        raise ValueError(f"'unit_cost' should be a positive number of yuan per m², got {unit_cost!r} instead")
    if type_names is None and rules is not None:
        type_names = {t.id: t.name_zh for t in rules.area.types}
    frame = pd.DataFrame(audited.drop(columns="geometry", errors="ignore"))
    frame["_position"] = np.arange(len(frame))
    status = frame["area_status"].astype(object).to_numpy()
    township = frame["township"].astype(object).where(frame["township"].notna(), UNTYPED) \
        if "township" in frame else pd.Series(UNTYPED, index=frame.index, dtype=object)

    short = frame.loc[status == "non_compliant"].copy()
    short["township"] = township[status == "non_compliant"].to_numpy()
    households = short["households"].to_numpy(dtype=float)
    gap = short["gap_m2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(households > 0, gap / households, np.nan)
    short["gap_per_household_m2"] = np.round(per, 3)
    short["cost_yuan"] = np.round(gap * unit_cost, 0) if unit_cost is not None else np.nan
    if type_names:
        short["village_type"] = short["village_type"].astype(object).map(lambda v: type_names.get(v, v))
    primary, secondary = ("gap_m2", "gap_per_household_m2") if order == "shortfall" else \
        ("gap_per_household_m2", "gap_m2")
    short = short.sort_values([primary, secondary, "village_name"], ascending=[False, False, True],
                              na_position="last", kind="mergesort")
    short["rank"] = np.arange(1, len(short) + 1)
    short["township_rank"] = short.groupby("township", sort=False).cumcount() + 1
    for col in RANKING_COLUMNS:
        if col not in short:
            short[col] = None
    villages = short[RANKING_COLUMNS].reset_index(drop=True)
    positions = tuple(int(p) for p in short["_position"])

    undecided = frame.loc[status == "unknown"].copy()
    undecided["township"] = township[status == "unknown"].to_numpy()
    undecided["reason"] = undecided["reason"].astype(object).map(
        lambda r: str(r).removeprefix("无法判定：") if isinstance(r, str) else r)
    for col in UNDECIDED_COLUMNS:
        if col not in undecided:
            undecided[col] = None
    undecided = undecided.sort_values(["township", "village_name"], kind="mergesort")[UNDECIDED_COLUMNS]

    grouped = villages.groupby("township", sort=False).agg(
        short_villages=("rank", "size"), shortfall_m2=("gap_m2", "sum"), households=("households", "sum"),
        cost_yuan=("cost_yuan", lambda c: c.sum(min_count=1)), top_village=("village_name", "first"))
    grouped["undecided"] = undecided.groupby("township").size().reindex(grouped.index).fillna(0).astype(int)
    only_undecided = sorted(set(undecided["township"]) - set(grouped.index))
    extra = pd.DataFrame({"short_villages": 0, "shortfall_m2": 0.0, "households": 0.0, "cost_yuan": np.nan,
                          "top_village": None,
                          "undecided": [int((undecided["township"] == t).sum()) for t in only_undecided]},
                         index=pd.Index(only_undecided, name="township"))
    townships = pd.concat([grouped, extra]) if len(extra) else grouped
    townships["shortfall_m2"] = townships["shortfall_m2"].round(2)
    townships = townships.reset_index().sort_values(["shortfall_m2", "short_villages", "township"],
                                                    ascending=[False, False, True], kind="mergesort")
    townships.insert(0, "rank", np.arange(1, len(townships) + 1))
    return BuildRanking(villages=villages, townships=townships[TOWNSHIP_COLUMNS].reset_index(drop=True),
                        undecided=undecided.reset_index(drop=True), unit_cost=unit_cost, order=order,
                        positions=positions)
