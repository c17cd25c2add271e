"""Unsaved checks kept for their inspector: the photos, the engine's report, the corrections so far, the
submission token and what the check was audited with — so that a reload, a lost connection or a phone's locked
screen loses nothing — until the check is saved or discarded, or :func:`audit.settings.draft_ttl` after its last
change (the photos hold GPS positions: they are not kept longer than that).

One draft per inspector and village (a new check of the village replaces it). Each is written in one transaction:
a draft is there whole or not at all. Only its inspector can read, change or delete it (the account re-read in
the transaction, so a disabled account reaches nothing), and only for a village of their townships.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from audit import settings
from audit.errors import StoreError
from audit.records.access import User, check_user, require_in
from audit.records.accounts import acting_user
from audit.records.db import Store, aware, draft_photos, drafts, utc, write_transaction
from audit.records.inspections import AuditedWith, RegistryVillage
from audit.signs.report import SignageReport


@dataclass(frozen=True)
class DraftInfo:
    """A draft as listed to its inspector: which village, when last changed, until when kept, how many photos."""

    id: str
    village_code: str
    village_name: str
    township: str | None
    updated_at: dt.datetime
    expires_at: dt.datetime
    photos: int


@dataclass(frozen=True)
class Draft:
    """A whole draft: the check as the page had it (``edited`` and ``added`` are the review tables, None before
    any correction)."""

    info: DraftInfo
    report: SignageReport
    photo_bytes: list[bytes]
    submission_token: str
    audited: AuditedWith
    made_with: str
    edited: pd.DataFrame | None
    added: pd.DataFrame | None


def _table_json(df: pd.DataFrame | None) -> dict | None:
    """A review table as JSON: columns, their dtypes and the rows (missing values as null)."""
    if df is None:
        return None
    rows = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    return {"columns": [str(c) for c in df.columns], "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
            "rows": rows}


def _table_of(data: dict | None) -> pd.DataFrame | None:
    if data is None:
        return None
    df = pd.DataFrame(data["rows"], columns=data["columns"])
    for col, dtype in data["dtypes"].items():
        try:
            df[col] = df[col].astype(dtype)
        except (TypeError, ValueError):  # e.g. an int column that holds a blank cell: keep what was read
            pass
    return df


def _purge(conn: sa.Connection, when: dt.datetime) -> None:
    """Delete expired drafts with their photos (GPS positions included)."""
    expired = sa.select(drafts.c.id).where(drafts.c.expires_at <= when)
    conn.execute(draft_photos.delete().where(draft_photos.c.draft_id.in_(expired)))
    conn.execute(drafts.delete().where(drafts.c.expires_at <= when))


def _info(row: sa.Row, photos: int) -> DraftInfo:
    return DraftInfo(id=row.id, village_code=row.village_code, village_name=row.village_name, township=row.township,
                     updated_at=aware(row.updated_at), expires_at=aware(row.expires_at), photos=photos)


def save_draft(store: Store, *, user: User, village: RegistryVillage, report: SignageReport,
               photo_bytes: Sequence[bytes], submission_token: str, audited: AuditedWith, made_with: str,
               now: dt.datetime | None = None) -> DraftInfo:
    """Keep a check just made (no corrections yet) as ``user``'s draft for ``village``, replacing any earlier
    draft of theirs for it. ``photo_bytes`` are the photos of ``report`` in its order.

    Raises
    ------
    StoreError
        The village has no code, or the photos do not match the report.
    AccessError
        The account is disabled, or may not inspect in the village's township.
    """
    check_user(user)
    if not village.code:
        raise StoreError(f"「{village.name}」没有村代码，不能保存草稿")
    if len(photo_bytes) != len(report.photos):
        raise StoreError(f"草稿的照片数（{len(photo_bytes)}）与核查结果的照片数（{len(report.photos)}）不一致")
    when = utc(now)
    draft_id = uuid.uuid4().hex
    with write_transaction(store) as conn:
        actor = acting_user(conn, user)
        require_in(actor, "inspect", village.township, f"{village.name}的核查草稿", county=village.county)
        _purge(conn, when)
        old = sa.select(drafts.c.id).where(drafts.c.username == actor.username, drafts.c.village_code == village.code)
        conn.execute(draft_photos.delete().where(draft_photos.c.draft_id.in_(old)))
        conn.execute(drafts.delete().where(drafts.c.username == actor.username, drafts.c.village_code == village.code))
        conn.execute(drafts.insert().values(
            id=draft_id, username=actor.username, village_code=village.code, village_name=village.name,
            township=village.township, submission_token=submission_token, report=report.model_dump_json(),
            audited_with=json.dumps({"rules_sha256": audited.rules_sha256, "model_sha256": audited.model_sha256}),
            made_with=made_with, corrections=json.dumps({"edited": None, "added": None}), created_at=when,
            updated_at=when, expires_at=when + settings.draft_ttl()))
        if photo_bytes:
            conn.execute(draft_photos.insert(), [{"draft_id": draft_id, "idx": i, "name": ph.photo, "side": ph.side,
                                                  "data": data}
                                                 for i, (ph, data) in enumerate(zip(report.photos, photo_bytes,
                                                                                    strict=True))])
        row = conn.execute(sa.select(drafts).where(drafts.c.id == draft_id)).one()
    return _info(row, len(photo_bytes))


def _own(conn: sa.Connection, draft_id: str, user: User, when: dt.datetime) -> tuple[User, sa.Row]:
    actor = acting_user(conn, user)
    _purge(conn, when)
    row = conn.execute(sa.select(drafts).where(drafts.c.id == draft_id, drafts.c.username == actor.username)).first()
    if row is None:  # another inspector's draft reads as none at all
        raise StoreError("这份草稿不存在或已过期（草稿只保留到期限为止） (no such draft)")
    require_in(actor, "inspect", row.township, f"{row.village_name}的核查草稿")
    return actor, row


def update_draft(store: Store, draft_id: str, *, user: User, edited: pd.DataFrame, added: pd.DataFrame | None,
                 now: dt.datetime | None = None) -> DraftInfo:
    """Keep the corrections so far (the two review tables as they stand) with the draft; its expiry starts again."""
    check_user(user)
    when = utc(now)
    corrections = json.dumps({"edited": _table_json(edited), "added": _table_json(added)}, ensure_ascii=False)
    with write_transaction(store) as conn:
        _, row = _own(conn, draft_id, user, when)
        conn.execute(drafts.update().where(drafts.c.id == row.id).values(
            corrections=corrections, updated_at=when, expires_at=when + settings.draft_ttl()))
        row = conn.execute(sa.select(drafts).where(drafts.c.id == draft_id)).one()
        n = conn.execute(sa.select(sa.func.count()).select_from(draft_photos)
                         .where(draft_photos.c.draft_id == draft_id)).scalar()
    return _info(row, n)


def drafts_of(store: Store, *, user: User, now: dt.datetime | None = None) -> list[DraftInfo]:
    """``user``'s drafts that have not expired, the latest first (expired ones are deleted on the way)."""
    check_user(user)
    when = utc(now)
    with write_transaction(store) as conn:
        actor = acting_user(conn, user)
        _purge(conn, when)
        counts = (sa.select(draft_photos.c.draft_id, sa.func.count().label("n"))
                  .group_by(draft_photos.c.draft_id).subquery())
        rows = conn.execute(sa.select(drafts, counts.c.n).outerjoin(counts, counts.c.draft_id == drafts.c.id)
                            .where(drafts.c.username == actor.username)
                            .order_by(drafts.c.updated_at.desc(), drafts.c.id)).all()
    return [_info(r, int(r.n or 0)) for r in rows if actor.can("inspect", r.township)]


def draft_from_store(store: Store, draft_id: str, *, user: User, now: dt.datetime | None = None) -> Draft:
    """A whole draft of ``user``'s, to carry on with."""
    check_user(user)
    when = utc(now)
    with write_transaction(store) as conn:
        _, row = _own(conn, draft_id, user, when)
        photos = conn.execute(sa.select(draft_photos).where(draft_photos.c.draft_id == draft_id)
                              .order_by(draft_photos.c.idx)).all()
    corrections = json.loads(row.corrections)
    audited = json.loads(row.audited_with)
    return Draft(info=_info(row, len(photos)), report=SignageReport.model_validate_json(row.report),
                 photo_bytes=[p.data for p in photos], submission_token=row.submission_token,
                 audited=AuditedWith(audited["rules_sha256"], audited["model_sha256"]), made_with=row.made_with,
                 edited=_table_of(corrections["edited"]), added=_table_of(corrections["added"]))


def delete_draft(store: Store, draft_id: str, *, user: User, now: dt.datetime | None = None) -> None:
    """Discard ``user``'s draft (saved, or given up) with its photos; one already gone is not an error."""
    check_user(user)
    with write_transaction(store) as conn:
        actor = acting_user(conn, user)
        _purge(conn, utc(now))
        mine = sa.select(drafts.c.id).where(drafts.c.id == draft_id, drafts.c.username == actor.username)
        conn.execute(draft_photos.delete().where(draft_photos.c.draft_id.in_(mine)))
        conn.execute(drafts.delete().where(drafts.c.id == draft_id, drafts.c.username == actor.username))
