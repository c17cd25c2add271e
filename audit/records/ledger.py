"""The county signage ledger (挂牌台账): per registry village its last inspection, verdict, open problems and
rectification deadline, and whether it has been inspected in a round; and its XLSX for officials."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from audit.errors import AuditError, StoreError
from audit.labels import VERDICT_ZH, label, local_time, yes_no
from audit.records.access import check_user, villages_in_scope
from audit.records.accounts import acting_user
from audit.records.db import Store, inspections, rounds, utc
from audit.records.inspections import _scoped

if TYPE_CHECKING:
    from audit.records.access import User

LEDGER_HEADERS_ZH = {
    "village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）",
    "last_inspection_id": "最近核查编号", "last_inspected_at": "最近核查时间", "inspector": "核查人",
    "verdict": "核查结论", "open_problems": "待整改问题", "deadline": "整改期限", "overdue": "是否逾期",
    "reviewed": "是否已人工复核", "inspected_in_round": "本轮是否已核查", "round_name": "核查轮次",
}
_REGISTRY_COLUMNS = ("village_code", "village_name", "township")


def _text_key(values: pd.Series) -> pd.Series:
    """Codes and names compared as trimmed text (a code read as a number still matches its text)."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def _round(conn: sa.Connection, round_id: str | None) -> sa.Row | None:
    """The round asked for, else the latest by start date (None when there is no round at all)."""
    query = sa.select(rounds)
    query = query.where(rounds.c.id == round_id) if round_id is not None else query.order_by(
        rounds.c.start_date.desc(), rounds.c.created_at.desc())
    row = conn.execute(query.limit(1)).first()
    if row is None and round_id is not None:
        raise StoreError(f"核查轮次不存在 (no round '{round_id}')")
    return row


def _inspections_frame(conn: sa.Connection, user: User) -> pd.DataFrame:
    """The inspections ``user`` (as stored now) may read."""
    cols = (inspections.c.id, inspections.c.village_code, inspections.c.village_name, inspections.c.township,
            inspections.c.inspector, inspections.c.inspected_at, inspections.c.round_id, inspections.c.verdict,
            inspections.c.summary, inspections.c.reviewed_at)
    query = _scoped(sa.select(*cols), user)
    rows = conn.execute(query).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=["inspection_id", "village_code", "village_name", "township",
                                                        "inspector", "inspected_at", "round_id", "verdict", "summary",
                                                        "reviewed_at"])
    df["inspected_at"] = pd.to_datetime(df["inspected_at"]).dt.tz_localize("UTC")
    df["reasons"] = pd.Series([json.loads(s)["reasons"] for s in df["summary"]], index=df.index, dtype=object)
    df["code_key"] = _text_key(df["village_code"])
    df["name_key"] = _text_key(df["village_name"])
    df["township_key"] = _text_key(df["township"])
    return df.drop(columns="summary")


def _match(registry: pd.DataFrame, found: pd.DataFrame) -> pd.Series:
    """For each inspection, the registry row it belongs to (NaN for none): by village code where both have
    one, else by village name (and township, when the inspection names one) where either has no code."""
    reg = pd.DataFrame({"row": range(len(registry)), "code_key": _text_key(registry["village_code"]).to_numpy(),
                        "name_key": _text_key(registry["village_name"]).to_numpy(),
                        "township_key": _text_key(registry["township"]).to_numpy()})
    left = found[["code_key", "name_key", "township_key"]].reset_index(names="i")
    by_code = left.dropna(subset=["code_key"]).merge(reg.dropna(subset=["code_key"])[["code_key", "row"]],
                                                     on="code_key", how="inner")
    rest = left[~left["i"].isin(by_code["i"])].dropna(subset=["name_key"])
    by_name = rest.merge(reg[["name_key", "township_key", "code_key", "row"]], on="name_key", suffixes=("", "_reg"))
    # a code is authoritative: an inspection with a code matches by name only a registry village without one
    by_name = by_name[by_name["code_key"].isna() | by_name["code_key_reg"].isna()]
    by_name = by_name[by_name["township_key"].isna() | (by_name["township_key"] == by_name["township_key_reg"])]
    by_name = by_name.drop_duplicates("i", keep=False)  # a name shared by two villages matches neither
    matched = pd.concat([by_code[["i", "row"]], by_name[["i", "row"]]]).drop_duplicates("i")
    return matched.set_index("i")["row"].reindex(range(len(found)))


def ledger_from_store(store: Store, registry: pd.DataFrame, *, round_id: str | None = None, deadline_days: int = 30,
                      as_of: dt.date | None = None, tz: str = "Asia/Shanghai", user: User) -> pd.DataFrame:
    """The county signage ledger: one row per registry village.

    Parameters
    ----------
    store
        The inspection store.
    registry
        Villages as :func:`audit.area.registry.registry_from_file` returns them (``village_code``, ``village_name``,
        ``township`` are used; other columns are not carried).
    round_id
        The round whose coverage ``inspected_in_round`` shows; default the latest round by start date (the
        column is empty when there is no round). An inspection belongs to a round when it was submitted with
        that round, or without a round on a day within the round's dates.
    deadline_days
        Rectification deadline: the last inspection's date plus this many days, for villages that need
        rectification.
    as_of
        The day ``overdue`` is judged on (default today in ``tz``).
    tz
        Time zone of the times and dates shown (inspections are stored in UTC).
    user
        The acting identity (needs ``read_inspections``; its account is re-read): a township-scoped user gets
        the villages and inspections of their townships only; :data:`audit.records.access.SYSTEM` (the
        server's command line) the whole county.

    Returns
    -------
    DataFrame
        village_code, village_name, township, last_inspection_id, last_inspected_at (in ``tz``), inspector,
        verdict, open_problems (the last inspection's reasons, a list), deadline (date, only when the verdict
        is needs_rectification), overdue (the deadline is before ``as_of``),
        reviewed, inspected_in_round, round_name.
    """
    missing = [c for c in _REGISTRY_COLUMNS if c not in registry.columns]
    if missing:
        raise AuditError(f"registry: missing column(s) {missing}; columns seen: {list(registry.columns)}")
    if isinstance(deadline_days, bool) or not isinstance(deadline_days, int) or deadline_days < 0:
        raise AuditError(f"'deadline_days' should be a whole number of days ≥ 0, got {deadline_days!r} instead")
    check_user(user)
    with store.engine.connect() as conn:
        user = acting_user(conn, user)
        user.require("read_inspections", what="挂牌台账")
        chosen = _round(conn, round_id)
        found = _inspections_frame(conn, user)
    registry = villages_in_scope(user, registry)  # its counties, and an inspector's townships
    found["row"] = _match(registry, found)
    found = found.dropna(subset=["row"]).astype({"row": int})
    local = found["inspected_at"].dt.tz_convert(tz)

    out = pd.DataFrame({c: registry[c].to_numpy(dtype=object) for c in _REGISTRY_COLUMNS})
    last = found.sort_values(["inspected_at", "inspection_id"]).drop_duplicates("row", keep="last").set_index("row")
    last = last.reindex(range(len(out)))
    out["last_inspection_id"] = last["inspection_id"].astype(object)
    out["last_inspected_at"] = last["inspected_at"].dt.tz_convert(tz)
    out["inspector"] = last["inspector"].astype(object)
    out["verdict"] = last["verdict"].astype(object)
    out["open_problems"] = [list(r) if isinstance(r, list) else [] for r in last["reasons"]]
    needs = (out["verdict"] == "needs_rectification").to_numpy()
    due = out["last_inspected_at"].dt.tz_localize(None).dt.normalize() + pd.Timedelta(days=deadline_days)
    out["deadline"] = pd.Series([t.date() if n and pd.notna(t) else None for t, n in zip(due, needs, strict=True)],
                                index=out.index, dtype=object)
    today = as_of or pd.Timestamp.now(tz=tz).date()
    out["overdue"] = [d is not None and d < today for d in out["deadline"]]
    out["reviewed"] = last["reviewed_at"].notna()

    if chosen is None:
        out["inspected_in_round"] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["round_name"] = None
    else:
        day = local.dt.date
        in_round = (found["round_id"] == chosen.id) | (
            found["round_id"].isna() & (day >= chosen.start_date) & (day <= chosen.end_date))
        covered = set(found.loc[in_round, "row"])
        out["inspected_in_round"] = pd.array([i in covered for i in range(len(out))], dtype="boolean")
        out["round_name"] = chosen.name
    return out


def villages_not_inspected(ledger: pd.DataFrame) -> pd.DataFrame:
    """The ledger's villages not yet inspected in its round (without a round: never inspected at all)."""
    in_round = ledger["inspected_in_round"].astype("boolean")
    covered = in_round.fillna(False) | (in_round.isna() & ledger["last_inspection_id"].notna())
    return ledger.loc[~covered, ["village_code", "village_name", "township", "last_inspected_at", "round_name"]].copy()


def ledger_for_people(ledger: pd.DataFrame, *, names: Mapping[str, str] | None = None,
                      empty: str | None = None) -> pd.DataFrame:
    """The ledger as people read it: Chinese headers, verdicts in words, times in Beijing time, 是/否, problems
    joined, inspectors by ``names`` (user name -> how it reads, :func:`audit.records.accounts.people_names`);
    an empty cell holds ``empty`` (None: left empty, as an export wants it)."""
    df = ledger.copy()
    names = names or {}
    df["last_inspected_at"] = df["last_inspected_at"].map(lambda t: local_time(t, empty=empty))
    df["deadline"] = df["deadline"].map(lambda d: d.isoformat() if isinstance(d, dt.date) else empty)
    df["verdict"] = df["verdict"].map(lambda v: label(VERDICT_ZH, v, empty=empty)).astype(object)
    df["inspector"] = df["inspector"].map(lambda u: names.get(u, u) if isinstance(u, str) and u else empty)
    df["open_problems"] = df["open_problems"].map(lambda p: "；".join(dict.fromkeys(p)) if isinstance(p, list) and p
                                                  else empty)
    for col in ("overdue", "reviewed", "inspected_in_round"):
        df[col] = df[col].map(lambda v: yes_no(v, empty=empty)).astype(object)
    df = df.astype({c: object for c in df.columns})
    df = df.where(df.notna(), empty) if empty is not None else df.where(df.notna(), None)
    return df[[c for c in LEDGER_HEADERS_ZH if c in df.columns]].rename(columns=LEDGER_HEADERS_ZH)


def _ledger_rows_zh(ledger: pd.DataFrame, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    return ledger_for_people(ledger, names=names)


def ledger_to_xlsx(ledger: pd.DataFrame, path: str | Path, *, user: User, now: dt.datetime | None = None,
                   names: Mapping[str, str] | None = None) -> Path:
    """Write the ledger for officials: sheet 挂牌台账 (Chinese headers, frozen header row) and 本轮未核查.

    Text is stored as text, never as a formula, URL or number (a village named ``=cmd()`` stays text). A note
    row below the table of 挂牌台账 records who exported it and when (Beijing time); ``user`` needs ``export``
    (:data:`audit.records.access.SYSTEM` on the server's command line, recorded by its name). The ledger is
    already read under ``user``'s scope (:func:`ledger_from_store`); no store is opened here: ``names`` says how
    each inspector's user name reads (:func:`audit.records.accounts.people_names`).
    """
    from audit.area.export import officials_workbook, write_sheet

    check_user(user).require("export", what="挂牌台账")
    when = pd.Timestamp(utc(now)).tz_localize("UTC").tz_convert("Asia/Shanghai")
    who = user.full_name

    path = Path(path)
    wb, formats = officials_workbook(path)
    sheet = write_sheet(wb, "挂牌台账", _ledger_rows_zh(ledger, names), formats, {})
    sheet.write_string(len(ledger) + 2, 0, f"导出人：{who}；导出时间：{when:%Y-%m-%d %H:%M}（北京时间）")
    pending = ledger.loc[villages_not_inspected(ledger).index]
    write_sheet(wb, "本轮未核查", _ledger_rows_zh(pending, names)[[LEDGER_HEADERS_ZH[c] for c in
                                                         ("village_code", "village_name", "township", "last_inspected_at",
                                                          "round_name")]], formats, {})
    try:
        wb.close()
    except OSError as exc:
        raise AuditError(f"无法写入 {path}: {exc}") from None
    return path


def findings_of(summary) -> set[str]:
    """A signage summary's findings as comparable Chinese lines (one per missing, duplicated or misplaced
    plaque, unauthorised sign or honour, and style violation)."""
    from audit.rules import load_rules

    names = {p.id: p.name_zh for p in load_rules().plaques}
    out = {f"缺少{names.get(t, t)}" for t in summary.missing}
    out |= {f"重复悬挂{names.get(t, t)}" for t in summary.duplicates}
    out |= {f"错挂{names.get(t, t)}" for t in summary.misplaced}
    out |= {("荣誉牌应集中展陈：" if u.kind == "honour" else "未列入清单：") + u.text for u in summary.unauthorised}
    out |= {f"{names.get(v.type, v.text)}：{v.detail}" for v in summary.style_violations if v.severity == "must_fix"}
    return out


def rectification_progress(store: Store, village_code: str, *, user: User,
                           inspection_id: str | None = None) -> dict[str, object]:
    """What a village has fixed since its previous inspection: ``fixed`` (flagged then, not now),
    ``still_open`` (flagged both times), ``new`` (flagged only now), with the two inspections' ids and times.
    ``previous`` is None when the village has been inspected once (everything is then ``new``).

    ``inspection_id``: compare that inspection of the village (the record opened) with the one before it, instead
    of the village's latest with the one before that."""
    from audit.records.inspections import inspection_from_store, inspections_table

    table = inspections_table(store, village_code=village_code, user=user)
    if table.empty:
        raise AuditError(f"村代码「{village_code}」还没有核查记录")
    table = table.sort_values(["inspected_at", "inspection_id"]).reset_index(drop=True)
    if inspection_id is not None:
        at = table.index[table["inspection_id"] == inspection_id]
        if at.empty:
            raise AuditError(f"村代码「{village_code}」没有编号为 {inspection_id} 的核查记录")
        table = table.iloc[:at[0] + 1]
    latest = inspection_from_store(store, table["inspection_id"].iloc[-1], user=user)
    now = findings_of(latest.summary)
    if len(table) < 2:
        return {"latest": latest.id, "latest_at": latest.inspected_at, "previous": None, "previous_at": None,
                "fixed": [], "still_open": sorted(now), "new": sorted(now)}
    previous = inspection_from_store(store, table["inspection_id"].iloc[-2], user=user)
    before = findings_of(previous.summary)
    return {"latest": latest.id, "latest_at": latest.inspected_at, "previous": previous.id,
            "previous_at": previous.inspected_at, "fixed": sorted(before - now), "still_open": sorted(before & now),
            "new": sorted(now - before)}
