"""Versions of the county's files (registry, rules file, township boundary layer): every upload is previewed and
confirmed, every version is kept with who, when and the file's SHA-256, and any earlier version can be made
current again.

The flow, for the app and for scripts alike::

    preview = preview_upload("registry", data, "县名册.xlsx", crs="gcj02", default=(demo_bytes, "demo.xlsx", "gcj02"))
    # show preview: counts, row problems, villages added / removed / changed against the current version
    version = confirm_upload(store, preview, data, user=admin)       # refused if the current version changed since
    restore_version(store, older.id, user=admin)                       # any earlier version, checked again
    reset_to_default(store, "registry", user=admin)                    # the demo county; the files are kept

What is current stays in the county directory's manifest (:mod:`audit.records.county_data`), which every user
reads; the store's ``county_file_versions`` table (migration 0006) is the history. A file made current before
versions were kept is entered in the history (``earlier``) the first time it is replaced, so it can be restored.

The registry diff matches villages by code where both versions give one, then the rest by township + name; each
change says which it used (``basis``: ``code`` / ``name``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from audit.area.floor_area import STATUS_ZH, area_audit
from audit.errors import AuditError, StoreError
from audit.records import county_data
from audit.records.accounts import acting_user
from audit.records.db import Store, aware, county_file_versions, utc, write_transaction

ACTION_ZH = {"upload": "上传", "restore": "恢复", "reset": "恢复默认", "earlier": "此前的版本"}
BASIS_ZH = {"code": "按村代码", "name": "按乡镇＋村名"}
# Fields compared between two versions of a village, and how a change reads.
DIFF_FIELDS = (("village_name", "村名"), ("township", "乡镇"), ("village_type", "村庄类型"), ("households", "户数"),
               ("floor_area_m2", "服务中心面积（㎡）"), ("position", "位置"))
# Two positions closer than this are the same place (the registry's coordinates are rounded differently).
SAME_PLACE_DEG = 1e-4
DIFF_COLUMNS = ["village_code", "village_name", "township", "basis", "changes"]


@dataclass(frozen=True)
class RegistryDiff:
    """Villages added, removed and changed between two versions of a registry.

    Each frame has ``village_code``, ``village_name``, ``township``, ``basis`` (``code`` / ``name``: how the
    village was matched; empty for added and removed) and ``changes`` (Chinese, ``户数 300 → 320；…``).
    """

    added: pd.DataFrame
    removed: pd.DataFrame
    changed: pd.DataFrame
    matched_by_code: int
    matched_by_name: int
    unchanged: int

    @property
    def basis_text(self) -> str:
        """How the villages were matched, in words."""
        return (f"按村代码匹配 {self.matched_by_code} 个村，按乡镇＋村名匹配 {self.matched_by_name} 个村"
                "（两版都有村代码时按代码，否则按乡镇和村名）")


@dataclass(frozen=True)
class UploadPreview:
    """What confirming an upload would change; made by :func:`preview_upload`, needed by :func:`confirm_upload`."""

    kind: str
    name: str
    sha256: str
    size: int
    crs: str | None
    base_sha256: str | None  # the current version it was compared with (None: the default)
    base_name: str
    counts: dict[str, int] = field(default_factory=dict)  # villages, located, and one per area status
    base_counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    diff: RegistryDiff | None = None
    rule_changes: tuple[tuple[str, str, str], ...] = ()  # (item, before, after) for a rules file
    same_as_current: bool = False

    def summary(self) -> dict[str, Any]:
        """The figures kept with the version (JSON)."""
        out: dict[str, Any] = {"counts": self.counts, "problems": len(self.problems), "dropped": len(self.dropped)}
        if self.diff is not None:
            out |= {"added": len(self.diff.added), "removed": len(self.diff.removed), "changed": len(self.diff.changed),
                    "matched_by_code": self.diff.matched_by_code, "matched_by_name": self.diff.matched_by_name}
        if self.rule_changes:
            out["rule_changes"] = len(self.rule_changes)
        return out


@dataclass(frozen=True)
class Version:
    """A row of the history: a file made current (``upload``, ``restore``, ``earlier``) or the default (``reset``)."""

    id: str
    kind: str
    action: str
    file: str | None
    name: str | None
    sha256: str | None
    size: int | None
    crs: str | None
    restored_from: str | None
    summary: dict[str, Any]
    made_by: str
    made_by_name: str
    made_at: dt.datetime  # aware, UTC

    def entry(self) -> county_data.CountyFile:
        """The manifest entry that makes this version current."""
        if self.file is None or self.sha256 is None:
            raise AuditError("此版本为默认数据，没有文件")
        return county_data.CountyFile(kind=self.kind, file=self.file, name=self.name or self.file, sha256=self.sha256,
                                      size=int(self.size or 0), uploaded_by=self.made_by,
                                      uploaded_by_name=self.made_by_name, uploaded_at=self.made_at.isoformat(),
                                      crs=self.crs)


# ------------------------------------------------------------------------------------------------ the diff
def _key_text(series: pd.Series) -> np.ndarray:
    values = series.astype(object).to_numpy() if series is not None else np.array([], dtype=object)
    return np.array(["" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                     for v in values], dtype=object)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(None, index=frame.index, dtype=object)


def _describe(frame: pd.DataFrame, rows: np.ndarray, basis: str = "", changes: list[str] | None = None) -> pd.DataFrame:
    out = pd.DataFrame({
        "village_code": _key_text(_column(frame, "village_code"))[rows],
        "village_name": _key_text(_column(frame, "village_name"))[rows],
        "township": _key_text(_column(frame, "township"))[rows],
        "basis": basis if isinstance(basis, str) else basis,
        "changes": changes if changes is not None else "",
    })
    return out[DIFF_COLUMNS].reset_index(drop=True)


def _value_text(field_name: str, value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _changes(before: pd.DataFrame, after: pd.DataFrame, i: np.ndarray, j: np.ndarray,
             type_names: dict[str, str]) -> list[str]:
    """One Chinese line per matched pair listing what changed ('' when nothing)."""
    parts: list[list[str]] = [[] for _ in range(len(i))]
    for name, label in DIFF_FIELDS:
        if name == "position":
            bx, by = _xy(before)
            ax, ay = _xy(after)
            moved = ~(np.isclose(bx[i], ax[j], atol=SAME_PLACE_DEG, equal_nan=True)
                      & np.isclose(by[i], ay[j], atol=SAME_PLACE_DEG, equal_nan=True))
            for k in np.flatnonzero(moved):
                parts[k].append("位置已改变")
            continue
        b = _column(before, name).astype(object).to_numpy()[i]
        a = _column(after, name).astype(object).to_numpy()[j]
        for k in range(len(i)):
            bt, at = _value_text(name, b[k]), _value_text(name, a[k])
            if name == "village_type":
                bt, at = type_names.get(bt, bt), type_names.get(at, at)
            if bt != at:
                parts[k].append(f"{label} {bt} → {at}")
    return ["；".join(p) for p in parts]


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    geom = getattr(frame, "geometry", None)
    if geom is None:
        return np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    empty = (geom.isna() | geom.is_empty).to_numpy()
    x = np.where(empty, np.nan, geom.x.to_numpy(dtype=float, na_value=np.nan) if len(frame) else np.array([]))
    y = np.where(empty, np.nan, geom.y.to_numpy(dtype=float, na_value=np.nan) if len(frame) else np.array([]))
    return x, y


def _unique_pairs(left: np.ndarray, right: np.ndarray, usable_left: np.ndarray,
                  usable_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) where ``left[i] == right[j]`` and the key is unique on both sides."""
    lk = pd.Series(left[usable_left], index=np.flatnonzero(usable_left))
    rk = pd.Series(right[usable_right], index=np.flatnonzero(usable_right))
    lk = lk[~lk.duplicated(keep=False)]
    rk = rk[~rk.duplicated(keep=False)]
    merged = pd.merge(pd.DataFrame({"key": lk.to_numpy(), "i": lk.index}),
                      pd.DataFrame({"key": rk.to_numpy(), "j": rk.index}), on="key")
    return merged["i"].to_numpy(dtype=int), merged["j"].to_numpy(dtype=int)


def registry_diff(before: pd.DataFrame | None, after: pd.DataFrame, *,
                  type_names: dict[str, str] | None = None) -> RegistryDiff:
    """Villages added, removed and changed from ``before`` to ``after`` (two registries' villages).

    Matched by ``village_code`` where it is given and unique in both versions, then the villages left over by
    township + name (unique in both); each match says which was used. A village matched by neither is removed
    (in ``before``) or added (in ``after``).
    """
    type_names = type_names or {}
    if before is None:
        before = after.iloc[0:0]
    bcode, acode = _key_text(_column(before, "village_code")), _key_text(_column(after, "village_code"))
    i1, j1 = _unique_pairs(bcode, acode, bcode != "", acode != "")
    left = np.ones(len(before), bool)
    right = np.ones(len(after), bool)
    left[i1], right[j1] = False, False
    bname = np.char.add(np.char.add(_key_text(_column(before, "township")).astype(str), "\x1f"),
                        _key_text(_column(before, "village_name")).astype(str)) if len(before) else np.array([], str)
    aname = np.char.add(np.char.add(_key_text(_column(after, "township")).astype(str), "\x1f"),
                        _key_text(_column(after, "village_name")).astype(str)) if len(after) else np.array([], str)
    i2, j2 = _unique_pairs(bname, aname, left, right)
    left[i2], right[j2] = False, False
    i = np.concatenate([i1, i2]).astype(int)
    j = np.concatenate([j1, j2]).astype(int)
    basis = np.array(["code"] * len(i1) + ["name"] * len(i2), dtype=object)
    changes = np.array(_changes(before, after, i, j, type_names), dtype=object)
    moved = changes != ""
    changed = _describe(after, j[moved], basis[moved], list(changes[moved]))
    order = np.argsort(changed["township"].to_numpy(dtype=str), kind="stable")
    return RegistryDiff(added=_describe(after, np.flatnonzero(right)), removed=_describe(before, np.flatnonzero(left)),
                        changed=changed.iloc[order].reset_index(drop=True), matched_by_code=len(i1),
                        matched_by_name=len(i2), unchanged=int((~moved).sum()))


def _counts(villages: pd.DataFrame, rules: Any) -> dict[str, int]:
    audited = area_audit(villages, rules=rules)
    status = audited["area_status"].astype(object).to_numpy()
    geom = getattr(villages, "geometry", None)
    located = int((~(geom.isna() | geom.is_empty)).sum()) if geom is not None else 0
    return {"villages": len(villages), "located": located} | {s: int((status == s).sum()) for s in STATUS_ZH}


# --------------------------------------------------------------------------------------------- preview
def _current(kind: str, default: tuple[bytes, str, str | None] | None) -> tuple[bytes | None, str, str | None,
                                                                                 str | None]:
    """(bytes, name, crs, sha256 of the saved file or None for the default) of the current version."""
    found = county_data.county_file_bytes(kind)  # type: ignore[arg-type]
    if found is not None:
        entry, data = found
        return data, entry.name, entry.crs, entry.sha256
    if default is not None:
        return default[0], default[1], default[2], None
    return None, "", None, None


def preview_upload(kind: str, data: bytes, name: str, *, crs: str | None = None,
                   default: tuple[bytes, str, str | None] | None = None) -> UploadPreview:
    """Read an upload as the county file of ``kind`` and say what confirming it would change; saves nothing.

    Parameters
    ----------
    kind
        ``registry``, ``rules`` or ``boundary``.
    data, name
        The upload.
    crs
        The registry's coordinate system (registries only).
    default
        (bytes, name, crs) of what the county uses when nothing is saved (the app's demo registry), to compare a
        first upload with; None: compare with nothing.

    Raises
    ------
    AuditError
        The file is refused by its reader (the message names ``name``).
    """
    if kind == "registry" and crs is None:
        raise AuditError(f"名册「{name}」：须指明坐标系（'crs' 为 wgs84、gcj02 或 bd09）")
    sha = hashlib.sha256(data).hexdigest()
    base_data, base_name, base_crs, base_sha = _current(kind, default if kind == "registry" else None)
    same = base_sha == sha and (kind != "registry" or base_crs == crs)
    common = {"kind": kind, "name": Path(str(name).replace("\\", "/")).name or kind, "sha256": sha, "size": len(data),
              "crs": crs, "base_sha256": base_sha, "base_name": base_name or "默认", "same_as_current": same}
    if kind == "registry":
        reg = county_data.county_file_from_bytes("registry", data, name, crs=crs)
        rules = county_data.current_rules()
        types = {t.id: t.name_zh for t in rules.area.types}
        base = None
        if base_data is not None:
            try:
                base = county_data.county_file_from_bytes("registry", base_data, base_name, crs=base_crs or "wgs84",
                                                          rules=rules)
            except AuditError:  # the current file no longer reads: everything in the upload is new
                base = None
        return UploadPreview(**common, counts=_counts(reg.villages, rules),
                             base_counts=_counts(base.villages, rules) if base is not None else {},
                             problems=tuple(str(p) for p in reg.problems), dropped=tuple(str(p) for p in reg.dropped),
                             diff=registry_diff(base.villages if base is not None else None, reg.villages,
                                                type_names=types))
    if kind == "rules":
        from audit.rules import load_rules

        new = county_data.county_file_from_bytes("rules", data, name)
        old = county_data.county_file_from_bytes("rules", base_data, base_name) if base_data else load_rules()
        before, after = dict(old.summary_rows()), dict(new.summary_rows())
        changes = tuple((k, before.get(k, "—"), after.get(k, "—")) for k in dict.fromkeys([*before, *after])
                        if before.get(k) != after.get(k))
        counts, base_counts = {}, {}
        registry = county_data.county_file_bytes("registry")
        if registry is not None:  # what the new rules decide for the county's registry
            entry, reg_bytes = registry
            villages = county_data.county_file_from_bytes("registry", reg_bytes, entry.name, crs=entry.crs,
                                                          rules=new).villages
            counts, base_counts = _counts(villages, new), _counts(villages, old)
        return UploadPreview(**common, counts=counts, base_counts=base_counts, rule_changes=changes)
    layer = county_data.county_file_from_bytes("boundary", data, name)
    return UploadPreview(**common, counts={"townships": len(layer)})


# ------------------------------------------------------------------------------------------- the history
def _version(row: sa.Row) -> Version:
    return Version(id=row.id, kind=row.kind, action=row.action, file=row.file, name=row.name, sha256=row.sha256,
                   size=row.size, crs=row.crs, restored_from=row.restored_from, summary=json.loads(row.summary),
                   made_by=row.made_by, made_by_name=row.made_by_name, made_at=aware(row.made_at))


def _insert(conn: sa.Connection, *, kind: str, action: str, by: Any, when: dt.datetime,
            entry: county_data.CountyFile | None = None, restored_from: str | None = None,
            summary: dict[str, Any] | None = None) -> Version:
    row = {"id": uuid.uuid4().hex, "kind": kind, "action": action, "file": entry.file if entry else None,
           "name": entry.name if entry else None, "sha256": entry.sha256 if entry else None,
           "size": entry.size if entry else None, "crs": entry.crs if entry else None, "restored_from": restored_from,
           "summary": json.dumps(summary or {}, ensure_ascii=False), "made_by": by.username,
           "made_by_name": by.full_name, "made_at": utc(when)}
    conn.execute(county_file_versions.insert().values(**row))
    return Version(id=row["id"], kind=kind, action=action, file=row["file"], name=row["name"], sha256=row["sha256"],
                   size=row["size"], crs=row["crs"], restored_from=restored_from, summary=summary or {},
                   made_by=row["made_by"], made_by_name=row["made_by_name"], made_at=aware(row["made_at"]))


def _ensure_earlier(conn: sa.Connection, kind: str, by: Any) -> None:
    """Enter the current file in the history when it was saved before versions were kept."""
    entry = county_data.county_files().get(kind)
    if entry is None:
        return
    known = conn.execute(sa.select(county_file_versions.c.id).where(
        county_file_versions.c.kind == kind, county_file_versions.c.sha256 == entry.sha256,
        county_file_versions.c.file == entry.file)).first()
    if known is None:
        row = {"id": uuid.uuid4().hex, "kind": kind, "action": "earlier", "file": entry.file, "name": entry.name,
               "sha256": entry.sha256, "size": entry.size, "crs": entry.crs, "restored_from": None, "summary": "{}",
               "made_by": entry.uploaded_by, "made_by_name": entry.uploaded_by_name,
               "made_at": utc(entry.uploaded)}
        conn.execute(county_file_versions.insert().values(**row))


def _check_base(kind: str, base_sha256: str | None, what: str) -> None:
    entry = county_data.county_files().get(kind)
    now = entry.sha256 if entry is not None else None
    if now != base_sha256:
        who = f"「{entry.name}」（{entry.uploaded_by_name} 上传）" if entry is not None else "默认数据"
        raise AuditError(f"{county_data.KIND_ZH[kind]}在{what}后已被更换为{who}；请重新查看后再确认")


def confirm_upload(store: Store, preview: UploadPreview, data: bytes, *, user: Any,
                   now: dt.datetime | None = None) -> Version:
    """Make a previewed upload the county's current file, and keep it as a version.

    Refused when ``data`` is not the previewed file, or when the current version changed since the preview
    (another administrator saved or restored one): the preview would no longer say what changes.

    Raises
    ------
    AccessError
        ``user`` may not manage the county's data (or the account is disabled).
    AuditError
        As above, or the file is refused by its reader.
    """
    if hashlib.sha256(data).hexdigest() != preview.sha256:
        raise AuditError(f"「{preview.name}」与预览的文件不同；请重新上传并查看预览")
    when = now or dt.datetime.now(dt.UTC)
    with write_transaction(store) as conn:
        by = acting_user(conn, user)
        by.require("manage_rules", what=f"上传{county_data.KIND_ZH[preview.kind]}「{preview.name}」")
        _check_base(preview.kind, preview.base_sha256, "预览")
        _ensure_earlier(conn, preview.kind, by)
        entry = county_data.save_county_file(preview.kind, data, preview.name, user=by, crs=preview.crs, now=when,
                                             keep_previous=True)
        return _insert(conn, kind=preview.kind, action="upload", by=by, when=when, entry=entry,
                       summary=preview.summary())


def versions(store: Store, kind: str, *, user: Any) -> list[Version]:
    """The history of ``kind``, newest first (the first is current unless the manifest was changed outside)."""
    with store.engine.connect() as conn:
        by = acting_user(conn, user)
        by.require("manage_rules", what=f"查看{county_data.KIND_ZH.get(kind, kind)}的版本")
        rows = conn.execute(sa.select(county_file_versions).where(county_file_versions.c.kind == kind)
                            .order_by(county_file_versions.c.made_at.desc(), county_file_versions.c.id)).all()
    return [_version(r) for r in rows]


def current_version_sha(kind: str) -> str | None:
    """SHA-256 of the current file of ``kind`` (None: the default)."""
    entry = county_data.county_files().get(kind)
    return entry.sha256 if entry is not None else None


def restore_version(store: Store, version_id: str, *, user: Any, base_sha256: str | None = ...,  # type: ignore[assignment]
                    now: dt.datetime | None = None) -> Version:
    """Make an earlier version current again (checked again as an upload is); recorded as a ``restore``.

    ``base_sha256``: the current file's SHA-256 the administrator saw when asking (None: the default); refused
    when another version was made current since. Left out, no such check.
    """
    when = now or dt.datetime.now(dt.UTC)
    with write_transaction(store) as conn:
        by = acting_user(conn, user)
        row = conn.execute(sa.select(county_file_versions).where(county_file_versions.c.id == version_id)).first()
        if row is None:
            raise StoreError(f"没有此版本 (no version '{version_id}')")
        old = _version(row)
        by.require("manage_rules", what=f"恢复{county_data.KIND_ZH[old.kind]}「{old.name or '默认'}」")
        if base_sha256 is not ...:
            _check_base(old.kind, base_sha256, "确认")
        if old.file is None:
            raise AuditError("此版本为默认数据：请用「恢复默认」")
        _ensure_earlier(conn, old.kind, by)
        county_data.restore_county_file(old.entry(), user=by)
        return _insert(conn, kind=old.kind, action="restore", by=by, when=when, entry=old.entry(),
                       restored_from=old.restored_from or old.id, summary=old.summary)


def reset_to_default(store: Store, kind: str, *, user: Any, base_sha256: str | None = ...,  # type: ignore[assignment]
                     now: dt.datetime | None = None) -> Version | None:
    """Go back to the default for ``kind`` (the demo county, the shipped rules, no boundary layer), keeping the
    files so that the version just replaced can be restored; None when the default was already in use."""
    when = now or dt.datetime.now(dt.UTC)
    with write_transaction(store) as conn:
        by = acting_user(conn, user)
        by.require("manage_rules", what=f"恢复默认{county_data.KIND_ZH[kind]}")
        if base_sha256 is not ...:
            _check_base(kind, base_sha256, "确认")
        _ensure_earlier(conn, kind, by)
        old = county_data.reset_county_file(kind, user=by, keep_previous=True)  # type: ignore[arg-type]
        if old is None:
            return None
        return _insert(conn, kind=kind, action="reset", by=by, when=when)


def versions_table(history: list[Version], *, current_sha256: str | None) -> pd.DataFrame:
    """The history for people: 时间（北京时间）, 操作, 文件, 坐标系, 操作人, 村庄数, 变化, 当前, and the id."""
    from audit.labels import CRS_ZH, local_time

    rows = []
    current_marked = False
    for v in history:
        s = v.summary or {}
        counts = s.get("counts", {})
        change = "；".join(f"{label} {s[k]}" for k, label in (("added", "新增"), ("removed", "删除"), ("changed", "变更"))
                          if k in s) or "—"
        is_current = not current_marked and v.sha256 == current_sha256 and (v.file is not None or current_sha256 is None)
        current_marked |= is_current
        rows.append({"id": v.id, "时间（北京时间）": local_time(v.made_at),
                     "操作": ACTION_ZH.get(v.action, v.action), "文件": v.name or "默认数据",
                     "坐标系": CRS_ZH.get(v.crs, v.crs) if v.crs else "—", "操作人": v.made_by_name,
                     "村庄数": counts.get("villages", "—"), "变化": change, "当前": "是" if is_current else ""})
    return pd.DataFrame(rows, columns=["id", "时间（北京时间）", "操作", "文件", "坐标系", "操作人", "村庄数", "变化", "当前"])
