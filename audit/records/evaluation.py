"""How the engine does on a county's own photos: its output scored against the inspectors' corrections of the
reviewed inspections in the store (``audit eval-reviewed``; the administrator's 核查记录 page).

Every plaque the engine reported is kept in the store with its review status: *confirmed* (right as it was),
*corrected* (its type or kind changed — typed wrong; only its text or box changed — typed right), *deleted* (a
false detection); plaques an inspector *added* are boards the engine missed. Plaques nobody has reviewed yet are
left out. The figures are grouped by the board's kind as the inspector left it (the engine's own kind for false
detections), and by township (and county, when a registry says which county a township belongs to).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import sqlalchemy as sa

from audit.labels import KIND_ZH
from audit.records.access import User
from audit.records.accounts import acting_user
from audit.records.db import Store, inspections
from audit.records.inspections import _scoped, inspection_from_store

COLUMNS = ["group", "kind", "boards", "found", "typed_right", "missed", "false_detections", "recall", "precision",
           "type_accuracy"]
COLUMNS_ZH = {"group": "范围", "kind": "牌子类别", "boards": "实际牌子数", "found": "引擎找到", "typed_right": "类别正确",
              "missed": "漏检", "false_detections": "误检", "recall": "检出率", "precision": "准确率",
              "type_accuracy": "分类正确率"}


def county_of_townships(villages: pd.DataFrame) -> dict[str, str] | None:
    """Township -> county of a registry that names counties (None when it does not), to group figures by county."""
    if "county" not in villages.columns or "township" not in villages.columns:
        return None
    pairs = villages[["township", "county"]].dropna().drop_duplicates("township")
    return dict(zip(pairs["township"].astype(str), pairs["county"].astype(str), strict=True))


def review_outcomes(store: Store, *, user: User) -> pd.DataFrame:
    """One row per reviewed plaque of the inspections ``user`` may read: inspection, township, kind (as reviewed,
    or the engine's for a false detection), outcome (``right``, ``retyped``, ``reworded``, ``false``, ``missed``)."""
    with store.engine.connect() as conn:
        actor = acting_user(conn, user)
        query = _scoped(sa.select(inspections.c.id).where(inspections.c.reviewed_at.is_not(None))
                        .order_by(inspections.c.reviewed_at, inspections.c.id), actor)
        ids = conn.execute(query).scalars().all()
    rows = []
    for inspection_id in ids:
        found = inspection_from_store(store, inspection_id, user=user)
        seen: dict[int, int] = {}
        for s in found.plaques:
            if s.origin == "inspector":
                if s.status != "deleted":
                    rows.append((found.id, found.township, s.plaque.kind, s.plaque.type, "missed"))
                continue
            k = seen[s.photo_index] = seen.get(s.photo_index, -1) + 1
            engine = found.original.photos[s.photo_index].plaques[k]
            if s.status == "unreviewed":
                continue
            if s.status == "deleted":
                outcome, kind = "false", engine.kind
            elif (s.plaque.type, s.plaque.kind) != (engine.type, engine.kind):
                outcome, kind = "retyped", s.plaque.kind
            else:
                outcome = "reworded" if s.status == "corrected" else "right"
                kind = s.plaque.kind
            rows.append((found.id, found.township, kind, s.plaque.type, outcome))
    return pd.DataFrame(rows, columns=["inspection_id", "township", "kind", "type", "outcome"])


def engine_scores(store: Store, *, user: User, county_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per group (全部, each county when ``county_of`` maps townships to counties, each township) and kind:
    boards, found, typed right, missed, false detections, recall, precision and type accuracy (None where a
    ratio has nothing to count)."""
    outcomes = review_outcomes(store, user=user)
    groups: list[tuple[str, pd.DataFrame]] = [("全部", outcomes)]
    if county_of:
        counties = outcomes["township"].map(lambda t: county_of.get(t or "", "（未知县）"))
        groups += [(f"县：{c}", outcomes[counties == c]) for c in sorted(counties.unique())]
    groups += [(f"乡镇：{t}", outcomes[outcomes["township"] == t]) for t in sorted(outcomes["township"].dropna().unique())]
    rows = []
    for name, part in groups:
        for kind in [k for k in KIND_ZH if k in set(part["kind"])]:
            o = part.loc[part["kind"] == kind, "outcome"]
            found = int(o.isin(["right", "retyped", "reworded"]).sum())
            typed_right = int(o.isin(["right", "reworded"]).sum())
            missed, false = int((o == "missed").sum()), int((o == "false").sum())
            boards = found + missed
            rows.append((name, kind, boards, found, typed_right, missed, false,
                         found / boards if boards else None, found / (found + false) if found + false else None,
                         typed_right / found if found else None))
    return pd.DataFrame(rows, columns=COLUMNS)


def scores_for_people(scores: pd.DataFrame) -> pd.DataFrame:
    """The scores with Chinese headers, kinds and percentages, for the page and the CLI."""
    out = scores.assign(kind=scores["kind"].map(KIND_ZH))
    for col in ("recall", "precision", "type_accuracy"):
        out[col] = out[col].map(lambda v: "—" if v is None or v != v else f"{v:.0%}")
    return out.rename(columns=COLUMNS_ZH)
