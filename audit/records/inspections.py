"""Inspections in the store: rounds, submitting an inspection (the model's report unchanged, its photos, its
plaques for review), reading them back, and the tables the records pages and the ledger read.

Every read and write takes the signed-in :class:`audit.records.access.User` (``user=``): the store records its
user name as the inspector and refuses, with :class:`audit.errors.AccessError`, what the user's role and
townships do not allow (an inspector of 城关镇 cannot submit, list or see the photos of a 柳林镇 village's
inspection). The older free-text ``inspector=`` and calls without a user remain for the server's own command
line and scripts, which are trusted (they can open the database file anyway).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import ValidationError

from audit.errors import StoreError
from audit.records.access import NO_TOWNSHIP, User, author, check_user, require_in
from audit.records.db import (
    PlaqueStatus,
    Store,
    aware,
    inspection_photos,
    inspections,
    photos,
    plaques,
    review_log,
    rounds,
    utc,
    write_transaction,
)
from audit.records.photos import SHA256, insert_photo_row, photo_ext, photo_path, save_photo
from audit.signs.engine import PhotoResult, PlaqueResult, SignageReport, Summary

# Test-only: a path; when set, a submit creates that file and sleeps between writing its rows and the commit,
# so that a test can kill the process mid-transaction deterministically.
PAUSE_BEFORE_COMMIT_ENV = "VILLAGE_AUDIT_TEST_PAUSE_BEFORE_COMMIT"


def _scoped(query: sa.Select, user: User | None) -> sa.Select:
    """Limit an inspections query to what ``user`` may read (every row for county-wide roles)."""
    if user is None:
        return query
    check_user(user).require("read_inspections")
    return query if user.county_wide else query.where(inspections.c.township.in_(user.townships))




def _pause_before_commit() -> None:
    """Test hook (see ``PAUSE_BEFORE_COMMIT_ENV``): announce the pause by creating a file, then wait."""
    marker = os.environ.get(PAUSE_BEFORE_COMMIT_ENV)
    if marker:
        Path(marker).touch()
        time.sleep(600)




# ----------------------------------------------------------------------------------------------- rounds
def create_round(store: Store, name: str, start: dt.date, end: dt.date, *, user: User | None = None) -> str:
    """Create an inspection round (dates inclusive) and return its id; ``user`` needs ``manage_rounds``."""
    if user is not None:
        check_user(user).require("manage_rounds", what=f"核查轮次「{name}」")
    if not name or not name.strip():
        raise StoreError("核查轮次名称为空 (round name is empty)")
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise StoreError(f"核查轮次「{name}」: start and end should be dates, got {start!r} and {end!r}")
    if isinstance(start, dt.datetime) or isinstance(end, dt.datetime):
        start, end = (d.date() if isinstance(d, dt.datetime) else d for d in (start, end))
    if end < start:
        raise StoreError(f"核查轮次「{name}」: 结束日期 {end} 早于开始日期 {start}")
    round_id = uuid.uuid4().hex
    with write_transaction(store) as conn:
        conn.execute(rounds.insert().values(id=round_id, name=name.strip(), start_date=start, end_date=end,
                                            created_at=utc(None)))
    return round_id


def rounds_table(store: Store) -> pd.DataFrame:
    """All rounds as a DataFrame: ``round_id, name, start, end``, latest start first."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(rounds).order_by(rounds.c.start_date.desc(), rounds.c.created_at.desc())).all()
    return pd.DataFrame([{"round_id": r.id, "name": r.name, "start": r.start_date, "end": r.end_date} for r in rows],
                        columns=["round_id", "name", "start", "end"])


# ------------------------------------------------------------------------------------------------ submit
def submit_inspection(store: Store, report: SignageReport, photo_bytes: Iterable[bytes], *, user: User | None = None,
                      inspector: str | None = None, inspected_at: dt.datetime | None = None,
                      village_code: str | None = None, village_name: str | None = None, township: str | None = None,
                      round_id: str | None = None) -> str:
    """Store one inspection: the model's report unchanged, its photos by content hash, its plaques for review.

    ``photo_bytes`` holds the bytes of every photo of ``report.photos`` (matched by SHA-256; bytes of refused
    photos are ignored). The village code and name default to ``report.village``. Returns the inspection id.

    ``user`` is the signed-in inspector (recorded by user name; needs ``inspect`` in ``township``, which
    township-scoped roles must give). ``inspector`` is the older free-text name for trusted scripts; give one.

    Raises
    ------
    StoreError
        A photo of the report has no bytes, a photo is not an image format we keep, no inspector,
        or the round does not exist.
    AccessError
        ``user`` may not inspect in ``township``.
    """
    who = author(user, inspector, "inspector", "核查人为空 (inspector is empty)")
    if not isinstance(report, SignageReport):
        raise StoreError(f"'report' should be a SignageReport, got {type(report).__name__}")
    township = (township.strip() or None) if isinstance(township, str) else township
    by_hash = {hashlib.sha256(b).hexdigest(): b for b in photo_bytes}
    files: dict[str, tuple[str, bytes]] = {}
    for ph in report.photos:
        data = by_hash.get(ph.sha256)
        if data is None:
            raise StoreError(f"照片「{ph.photo}」(sha256 {ph.sha256[:12]}…) 的文件内容没有提供")
        files[ph.sha256] = (photo_ext(data, ph.photo), data)
    model_json = report.model_dump_json()
    when = utc(inspected_at)
    inspection_id = uuid.uuid4().hex
    code = village_code if village_code is not None else report.village.get("code")
    name = village_name if village_name is not None else report.village.get("name")
    if user is not None:
        require_in(user, "inspect", township, f"{name or code or '村庄'}的核查")

    # Files first (atomic renames), rows after, commit last: a committed row always has its file.
    for sha, (ext, data) in files.items():
        save_photo(store, sha, ext, data)
    now = utc(None)
    with write_transaction(store) as conn:
        if round_id is not None and conn.execute(sa.select(rounds.c.id).where(rounds.c.id == round_id)).first() is None:
            raise StoreError(f"核查轮次不存在 (no round '{round_id}')")
        conn.execute(inspections.insert().values(
            id=inspection_id, village_code=code, village_name=name, township=township, inspector=who,
            inspected_at=when, round_id=round_id, model_report=model_json, summary=report.summary.model_dump_json(),
            verdict=report.summary.verdict, rules_version=report.rules_version, created_at=now))
        for sha, (ext, data) in files.items():
            insert_photo_row(conn, {"sha256": sha, "ext": ext, "size_bytes": len(data), "created_at": now})
        plaque_rows = []
        for i, ph in enumerate(report.photos):
            conn.execute(inspection_photos.insert().values(inspection_id=inspection_id, idx=i, sha256=ph.sha256,
                                                           name=ph.photo, side=ph.side))
            plaque_rows += [{"inspection_id": inspection_id, "photo_idx": i, "origin": "model", "model_idx": j,
                             "status": "unreviewed", "type": p.type, "kind": p.kind, "data": p.model_dump_json()}
                            for j, p in enumerate(ph.plaques)]
        if plaque_rows:
            conn.execute(plaques.insert(), plaque_rows)
        _pause_before_commit()
    return inspection_id


# ------------------------------------------------------------------------------------------------- read
@dataclass(frozen=True)
class StoredPlaque:
    """A plaque as the store holds it now: its row id (used in review changes), photo, status and values."""

    id: int
    photo_index: int
    origin: Literal["model", "inspector"]
    status: PlaqueStatus
    plaque: PlaqueResult


@dataclass(frozen=True)
class StoredPhoto:
    index: int
    name: str
    side: str
    sha256: str
    path: Path


@dataclass(frozen=True)
class Inspection:
    """One stored inspection: the model's original report, the reviewed plaques and the current summary."""

    id: str
    village_code: str | None
    village_name: str | None
    township: str | None
    inspector: str
    inspected_at: dt.datetime
    round_id: str | None
    verdict: str
    summary: Summary
    original: SignageReport
    original_json: str
    photos: list[StoredPhoto]
    plaques: list[StoredPlaque]
    reviewed_at: dt.datetime | None
    reviewed_by: str | None

    def reviewed_photos(self) -> list[PhotoResult]:
        """The photos with their reviewed plaques (deleted ones left out)."""
        return reviewed_photos(self.original, self.plaques)

    def reviewed_report(self) -> SignageReport:
        """The model's report with the reviewed plaques and the recomputed summary."""
        return self.original.model_copy(update={"photos": self.reviewed_photos(), "summary": self.summary})


def reviewed_photos(original: SignageReport, stored: Sequence[StoredPlaque]) -> list[PhotoResult]:
    out = []
    for i, ph in enumerate(original.photos):
        mine = [s.plaque for s in stored if s.photo_index == i and s.status != "deleted"]
        out.append(ph.model_copy(update={"plaques": mine}))
    return out


def read_inspection(conn: sa.Connection, store: Store, inspection_id: str) -> Inspection:
    row = conn.execute(sa.select(inspections).where(inspections.c.id == inspection_id)).first()
    if row is None:
        raise StoreError(f"核查记录不存在 (no inspection '{inspection_id}')")
    photo_rows = conn.execute(
        sa.select(inspection_photos, photos.c.ext).join(photos, photos.c.sha256 == inspection_photos.c.sha256)
        .where(inspection_photos.c.inspection_id == inspection_id).order_by(inspection_photos.c.idx)).all()
    plaque_rows = conn.execute(sa.select(plaques).where(plaques.c.inspection_id == inspection_id)
                               .order_by(plaques.c.photo_idx, plaques.c.id)).all()
    try:
        original = SignageReport.model_validate_json(row.model_report)
        summary = Summary.model_validate_json(row.summary)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise StoreError(f"核查记录 {inspection_id} 保存的报告与当前报告格式不符 (stored report does not match the "
                         f"current SignageReport model at {'.'.join(map(str, first['loc']))}: {first['msg']})") from None
    return Inspection(
        id=row.id, village_code=row.village_code, village_name=row.village_name, township=row.township,
        inspector=row.inspector, inspected_at=aware(row.inspected_at), round_id=row.round_id, verdict=row.verdict,
        summary=summary, original=original, original_json=row.model_report,
        photos=[StoredPhoto(index=p.idx, name=p.name, side=p.side, sha256=p.sha256,
                            path=photo_path(store, p.sha256, p.ext)) for p in photo_rows],
        plaques=[StoredPlaque(id=p.id, photo_index=p.photo_idx, origin=p.origin, status=p.status,
                              plaque=PlaqueResult.model_validate_json(p.data)) for p in plaque_rows],
        reviewed_at=aware(row.reviewed_at), reviewed_by=row.reviewed_by)


def inspection_from_store(store: Store, inspection_id: str, *, user: User | None = None) -> Inspection:
    """One inspection with its photos and current plaques; ``user`` needs ``read_inspections`` in its township."""
    with store.engine.connect() as conn:
        found = read_inspection(conn, store, inspection_id)
    if user is not None:
        require_in(user, "read_inspections", found.township, f"{found.village_name or found.village_code} 核查记录 {found.id}")
    return found


def photo_for_user(store: Store, user: User, sha256: str) -> bytes:
    """A stored photo's bytes, if ``user`` may read an inspection that holds it.

    Raises
    ------
    StoreError
        Not a SHA-256, no inspection holds such a photo, or its file is missing.
    AccessError
        Every inspection holding the photo is in a township the user may not read.
    """
    check_user(user)
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise StoreError(f"'sha256' should be 64 lower-case hex digits, got {sha256!r} instead")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(inspections.c.township, photos.c.ext)
                            .join(inspection_photos, inspection_photos.c.inspection_id == inspections.c.id)
                            .join(photos, photos.c.sha256 == inspection_photos.c.sha256)
                            .where(inspection_photos.c.sha256 == sha256)).all()
    if not rows:
        raise StoreError(f"没有这张照片 (no stored photo {sha256[:12]}…)")
    townships = [r.township.strip() if r.township and r.township.strip() else NO_TOWNSHIP for r in rows]
    if not any(user.can("read_inspections", t) for t in townships):
        require_in(user, "read_inspections", townships[0], f"照片 {sha256[:12]}…")
    path = photo_path(store, sha256, rows[0].ext)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StoreError(f"照片文件缺失或无法读取：{path} ({exc.strerror})") from None


def inspections_table(store: Store, *, user: User | None = None, village_code: str | None = None,
                      round_id: str | None = None) -> pd.DataFrame:
    """The inspections as a DataFrame (no reports): id, village, township, inspector, times, round, verdict,
    reasons, reviewed_at, reviewed_by, newest first. With ``user``: only the townships the user may read."""
    query = sa.select(inspections.c.id, inspections.c.village_code, inspections.c.village_name, inspections.c.township,
                      inspections.c.inspector, inspections.c.inspected_at, inspections.c.round_id, inspections.c.verdict,
                      inspections.c.summary, inspections.c.reviewed_at, inspections.c.reviewed_by)
    if village_code is not None:
        query = query.where(inspections.c.village_code == village_code)
    if round_id is not None:
        query = query.where(inspections.c.round_id == round_id)
    query = _scoped(query, user)
    with store.engine.connect() as conn:
        rows = conn.execute(query.order_by(inspections.c.inspected_at.desc(), inspections.c.id)).all()
    columns = ["inspection_id", "village_code", "village_name", "township", "inspector", "inspected_at", "round_id",
               "verdict", "reasons", "reviewed_at", "reviewed_by"]
    df = pd.DataFrame([(r.id, r.village_code, r.village_name, r.township, r.inspector, r.inspected_at, r.round_id,
                        r.verdict, json.loads(r.summary)["reasons"], r.reviewed_at, r.reviewed_by) for r in rows],
                      columns=columns)
    for col in ("inspected_at", "reviewed_at"):
        df[col] = pd.to_datetime(df[col]).dt.tz_localize("UTC")
    return df


def review_log_table(store: Store, inspection_id: str | None = None, *, user: User | None = None) -> pd.DataFrame:
    """The review log as a DataFrame: inspection_id, plaque_id, reviewer, at (UTC), field, old_value, new_value.
    With ``user``: only the inspections of the townships the user may read."""
    query = sa.select(review_log).order_by(review_log.c.id)
    if inspection_id is not None:
        query = query.where(review_log.c.inspection_id == inspection_id)
    if user is not None:
        query = _scoped(query.join(inspections, inspections.c.id == review_log.c.inspection_id), user)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    df = pd.DataFrame([(r.inspection_id, r.plaque_id, r.reviewer, r.at, r.field, r.old_value, r.new_value) for r in rows],
                      columns=["inspection_id", "plaque_id", "reviewer", "at", "field", "old_value", "new_value"])
    df["at"] = pd.to_datetime(df["at"]).dt.tz_localize("UTC")
    return df


