"""Inspections in the store: rounds, submitting an inspection (the model's report unchanged, its photos, its
plaques for review, what it was audited with), reading them back, and the tables the records pages and the ledger
read.

Every read and write takes the acting identity (``user=``, keyword-only and required): the signed-in
:class:`audit.records.access.User`, or :data:`audit.records.access.SYSTEM` for the server's command line and
batch jobs. There is no call without one. The account is re-read in the call's own transaction
(:func:`audit.records.accounts.acting_user`), so a disabled account is refused even through a ``User`` obtained
before; the store records its user name as the inspector and refuses, with :class:`audit.errors.AccessError`,
what the role and townships do not allow (an inspector of 城关镇 cannot submit, list or see the photos of a
柳林镇 village's inspection).

An inspection is filed against the county registry (:class:`VillageRegistry`): the caller names the village by
its code, and its name and township come from the registry, never from the caller. Each stored inspection
records the SHA-256 of the registry file, of the rules file and of the detector model it was audited with
(:class:`AuditedWith`).

A check is stored once: the app makes a submission token (:func:`new_submission_token`) when the engine's result
is produced and submits it with the inspection; the store keeps it under a unique index (migration 0004), so a
second click, a resent form or a second app process submitting the same check gets the same record back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import ValidationError

from audit.errors import StoreError
from audit.records.access import NO_TOWNSHIP, User, check_user, require_in
from audit.records.accounts import acting_user
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

if TYPE_CHECKING:
    from audit.rules import Rules

# Test-only: a path; when set, a submit creates that file and sleeps between writing its rows and the commit,
# so that a test can kill the process mid-transaction deterministically.
PAUSE_BEFORE_COMMIT_ENV = "VILLAGE_AUDIT_TEST_PAUSE_BEFORE_COMMIT"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TOKEN = re.compile(r"^[0-9A-Za-z_-]{16,64}$")


def _scoped(query: sa.Select, user: User) -> sa.Select:
    """Limit an inspections query to what ``user`` (as stored now) may read: the rows of its counties (all, for an
    account limited to none), and of those the rows of its townships (all, for county-wide roles)."""
    user.require("read_inspections")
    if user.counties:
        query = query.where(inspections.c.county.in_(user.counties))
    return query if user.county_wide else query.where(inspections.c.township.in_(user.townships))


def _pause_before_commit() -> None:
    """Test hook (see ``PAUSE_BEFORE_COMMIT_ENV``): announce the pause by creating a file, then wait."""
    marker = os.environ.get(PAUSE_BEFORE_COMMIT_ENV)
    if marker:
        Path(marker).touch()
        time.sleep(600)


def _sha256(value: object, what: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise StoreError(f"{what} should be a SHA-256 (64 lower-case hex digits), got {value!r} instead")
    return value


def _code(value: object) -> str | None:
    """A village code as trimmed text (None for none: None, NaN, an empty cell)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise StoreError(f"无法读取文件以计算校验值：{Path(path).name} ({exc.strerror})") from None
    return digest.hexdigest()


# ------------------------------------------------------------------------------ what it was audited with
@dataclass(frozen=True)
class AuditedWith:
    """The files an inspection was audited with, by SHA-256: the rules file and the detector model (None: the
    engine ran on OCR alone, without a model). The registry's comes with :class:`VillageRegistry`."""

    rules_sha256: str
    model_sha256: str | None

    def __post_init__(self) -> None:
        _sha256(self.rules_sha256, "'rules_sha256'")
        if self.model_sha256 is not None:
            _sha256(self.model_sha256, "'model_sha256'")


def audited_with(*, rules_file: bytes | str | Path, model_file: str | Path | None) -> AuditedWith:
    """:class:`AuditedWith` from the rules file (its path, or its bytes when it was uploaded) and the detector
    model's path (None: OCR alone)."""
    rules_sha = (hashlib.sha256(rules_file).hexdigest() if isinstance(rules_file, bytes | bytearray)
                 else file_sha256(rules_file))
    return AuditedWith(rules_sha256=rules_sha, model_sha256=None if model_file is None else file_sha256(model_file))


# -------------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class RegistryVillage:
    """A village as the registry gives it: code (None where the registry has none), name, township and county
    (None where the registry names none)."""

    code: str | None
    name: str
    township: str | None
    county: str | None = None


def _text(values: pd.Series) -> pd.Series:
    """Codes, names and townships compared as trimmed text (a code read as a number still matches its text)."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


@dataclass(frozen=True, eq=False)
class VillageRegistry:
    """The registry inspections are filed against: its villages (``code``, ``name``, ``township``, ``county`` as
    trimmed text; a city's registry holds several counties) and the SHA-256 of the registry file. Make it with
    :func:`village_registry` or :func:`village_registry_from_file`."""

    villages: pd.DataFrame
    sha256: str
    source: str = ""

    def village(self, code: str | None = None, name: str | None = None) -> RegistryVillage:
        """The registry's village of ``code`` (or, for a village the registry gives no code, of ``name``).

        Raises
        ------
        StoreError
            No such village in the registry, or the code (name) names several villages.
        """
        where = f"名册「{self.source}」" if self.source else "名册"
        code = code.strip() if isinstance(code, str) and code.strip() else None
        name = name.strip() if isinstance(name, str) and name.strip() else None
        if code is not None:
            found = self.villages[(self.villages["code"] == code).fillna(False).to_numpy()]
            label = f"村代码「{code}」"
        elif name is not None:
            found = self.villages[(self.villages["name"] == name).fillna(False).to_numpy()]
            label = f"村名「{name}」"
        else:
            raise StoreError("没有给出村代码或村名，无法在名册中找到这个村 (no village code or name)")
        if found.empty:
            raise StoreError(f"{where}中没有{label}的村庄，不能保存它的核查 (village not in the registry)")
        if len(found) > 1:
            towns = "、".join(sorted({t for t in found["township"].dropna()})) or "未注明乡镇"
            hint = "" if code is not None else "，请用村代码区分"
            raise StoreError(f"{where}中{label}对应 {len(found)} 个村（{towns}），无法确定是哪一个{hint}")
        row = found.iloc[0]
        county = row["county"] if "county" in row.index else None
        return RegistryVillage(code=None if pd.isna(row["code"]) else str(row["code"]),
                               name=str(row["name"] if pd.notna(row["name"]) else row["code"]),
                               township=None if pd.isna(row["township"]) else str(row["township"]),
                               county=None if county is None or pd.isna(county) else str(county))


def village_registry(villages: pd.DataFrame, *, sha256: str, source: str = "") -> VillageRegistry:
    """A :class:`VillageRegistry` from the villages :func:`audit.area.registry.registry_from_file` read
    (``village_code``, ``village_name``, ``township``, ``county``; a missing column counts as empty) and the SHA-256 of the
    file they were read from."""
    if not isinstance(villages, pd.DataFrame):
        raise StoreError(f"'villages' should be a DataFrame of the registry's villages, got {type(villages).__name__}")
    empty = pd.Series([None] * len(villages), index=villages.index, dtype=object)
    table = pd.DataFrame({new: _text(villages[old] if old in villages.columns else empty).to_numpy()
                          for new, old in (("code", "village_code"), ("name", "village_name"),
                                           ("township", "township"), ("county", "county"))})
    return VillageRegistry(villages=table, sha256=_sha256(sha256, "the registry's 'sha256'"), source=source)


def village_registry_from_file(path: str | Path, *, rules: Rules | None = None, crs: str = "wgs84") -> VillageRegistry:
    """Read a registry file (:func:`audit.area.registry.registry_from_file`) as a :class:`VillageRegistry`."""
    from audit.area.registry import registry_from_file

    path = Path(path)
    read = registry_from_file(path, rules=rules, crs=crs)
    return village_registry(read.villages, sha256=file_sha256(path), source=path.name)


# ----------------------------------------------------------------------------------------------- rounds
def create_round(store: Store, name: str, start: dt.date, end: dt.date, *, user: User) -> str:
    """Create an inspection round (dates inclusive) and return its id; ``user`` needs ``manage_rounds``."""
    what = f"核查轮次「{name}」"
    check_user(user).require("manage_rounds", what=what)
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
        acting_user(conn, user).require("manage_rounds", what=what)
        conn.execute(rounds.insert().values(id=round_id, name=name.strip(), start_date=start, end_date=end,
                                            created_at=utc(None)))
    return round_id


def rounds_table(store: Store, *, user: User) -> pd.DataFrame:
    """All rounds as a DataFrame: ``round_id, name, start, end``, latest start first; ``user`` needs
    ``read_inspections``."""
    with store.engine.connect() as conn:
        acting_user(conn, user).require("read_inspections", what="核查轮次")
        rows = conn.execute(sa.select(rounds).order_by(rounds.c.start_date.desc(), rounds.c.created_at.desc())).all()
    return pd.DataFrame([{"round_id": r.id, "name": r.name, "start": r.start_date, "end": r.end_date} for r in rows],
                        columns=["round_id", "name", "start", "end"])


# ------------------------------------------------------------------------------------------------ submit
def new_submission_token() -> str:
    """A fresh submission token for one check (32 hex digits), made when the engine's result is produced and kept
    with it: every submission of that result carries it, and the store keeps one inspection per token."""
    return secrets.token_hex(16)


def _token(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise StoreError(f"'submission_token' should be 16–64 letters, digits, '-' or '_' (new_submission_token()), "
                         f"got {value!r} instead")
    return value


def _submitted(conn: sa.Connection, token: str, *, inspector: str, village: RegistryVillage) -> str | None:
    """The id of the inspection already stored under ``token`` (None: none yet). The token belongs to one check:
    stored by another inspector or for another village, it is refused rather than answered with their record."""
    row = conn.execute(sa.select(inspections.c.id, inspections.c.inspector, inspections.c.village_code,
                                 inspections.c.village_name)
                       .where(inspections.c.submission_token == token)).first()
    if row is None:
        return None
    if row.inspector != inspector or (row.village_code, row.village_name) != (village.code, village.name):
        raise StoreError("这次核查的提交编号已用于另一条核查记录（其他核查人或其他村），未保存；请重新点击「开始核查」 "
                         "(submission token already used by another inspection)")
    return row.id


def submit_inspection(store: Store, report: SignageReport, photo_bytes: Iterable[bytes], *, user: User,
                      registry: VillageRegistry, audited: AuditedWith, village_code: str | None = None,
                      inspected_at: dt.datetime | None = None, round_id: str | None = None,
                      submission_token: str | None = None) -> str:
    """Store one inspection: the model's report unchanged, its photos by content hash, its plaques for review,
    and what it was audited with.

    ``photo_bytes`` holds the bytes of every photo of ``report.photos`` (matched by SHA-256; bytes of refused
    photos are ignored). Returns the inspection id.

    The village is the ``registry``'s village of ``village_code`` (default ``report.village``'s code; for a
    village the registry gives no code, the report's village name): its name and township are the registry's,
    and the registry's SHA-256 is stored with ``audited``'s rules and model hashes. ``user`` is the acting
    identity, recorded by user name; its account is re-read in the write transaction and needs ``inspect`` in
    the registry's township of the village.

    ``submission_token`` (:func:`new_submission_token`, made with the engine's result) makes the call
    idempotent: when an inspection with this token is stored already, by this inspector for this village, its id
    is returned and nothing is written; the unique index on the column settles two processes submitting at once.

    Raises
    ------
    StoreError
        No acting identity, a village the registry does not hold (or cannot tell apart), a report of another
        village, a photo of the report without bytes, a photo not in an image format we keep, no such round, a
        malformed submission token or one already used by another inspector or for another village.
    AccessError
        ``user``'s account is missing or disabled, or may not inspect in the village's township.
    """
    check_user(user)
    token = _token(submission_token)
    if not isinstance(report, SignageReport):
        raise StoreError(f"'report' should be a SignageReport, got {type(report).__name__}")
    if not isinstance(registry, VillageRegistry):
        raise StoreError("'registry' should be the county's VillageRegistry (audit.records.inspections."
                         f"village_registry), got {type(registry).__name__}: a village's township comes from it")
    if not isinstance(audited, AuditedWith):
        raise StoreError(f"'audited' should be an AuditedWith (the rules and model hashes), got {type(audited).__name__}")
    reported_code = _code(report.village.get("code"))
    code = _code(village_code) or reported_code
    village = registry.village(code, None if code is not None else report.village.get("name"))
    if reported_code is not None and village.code is not None and reported_code != village.code:
        raise StoreError(f"核查报告属于村代码「{reported_code}」，不能记为「{village.name}」（村代码 {village.code}）的核查")
    reported_name = (report.village.get("name") or "").strip()
    if reported_code is None and reported_name and reported_name != village.name:
        raise StoreError(f"核查报告属于「{reported_name}」，不能记为「{village.name}」的核查")
    what = f"{village.name}的核查"
    with store.engine.connect() as conn:  # refuse before any photo is written; checked again in the transaction
        actor = acting_user(conn, user)
        require_in(actor, "inspect", village.township, what, county=village.county)
        done = None if token is None else _submitted(conn, token, inspector=actor.username, village=village)
    if done is not None:  # a second click or a resent form: the check is stored already
        return done
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

    # Files first (atomic renames), rows after, commit last: a committed row always has its file.
    for sha, (ext, data) in files.items():
        save_photo(store, sha, ext, data)
    now = utc(None)
    try:
        return _insert_inspection(store, report, files, user=user, village=village, what=what, registry=registry,
                                  audited=audited, when=when, now=now, round_id=round_id, token=token,
                                  inspection_id=inspection_id, model_json=model_json)
    except sa.exc.IntegrityError:
        # Two processes submitted the same check at once (PostgreSQL's READ COMMITTED lets both pass the check
        # before the insert; SQLite's BEGIN IMMEDIATE already queues them): the unique index refused the second.
        if token is None:
            raise
        with store.engine.connect() as conn:
            done = _submitted(conn, token, inspector=acting_user(conn, user).username, village=village)
        if done is None:
            raise
        return done


def _insert_inspection(store: Store, report: SignageReport, files: dict[str, tuple[str, bytes]], *, user: User,
                       village: RegistryVillage, what: str, registry: VillageRegistry, audited: AuditedWith,
                       when: dt.datetime, now: dt.datetime, round_id: str | None, token: str | None,
                       inspection_id: str, model_json: str) -> str:
    """The rows of :func:`submit_inspection`, in one write transaction; the id of the stored inspection (an
    earlier one of the same ``token`` when it was stored in the meantime)."""
    with write_transaction(store) as conn:
        actor = acting_user(conn, user)  # the account as it is now: disabled or moved since, it is refused
        require_in(actor, "inspect", village.township, what, county=village.county)
        if token is not None:  # under the write lock: another process may have stored it since the first look
            done = _submitted(conn, token, inspector=actor.username, village=village)
            if done is not None:
                return done
        if round_id is not None and conn.execute(sa.select(rounds.c.id).where(rounds.c.id == round_id)).first() is None:
            raise StoreError(f"核查轮次不存在 (no round '{round_id}')")
        conn.execute(inspections.insert().values(
            id=inspection_id, village_code=village.code, village_name=village.name, township=village.township,
            county=village.county,
            inspector=actor.username, inspected_at=when, round_id=round_id, model_report=model_json,
            summary=report.summary.model_dump_json(), verdict=report.summary.verdict,
            rules_version=report.rules_version, created_at=now, rules_sha256=audited.rules_sha256,
            model_sha256=audited.model_sha256, registry_sha256=registry.sha256, submission_token=token))
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
    rules_sha256: str | None = None
    model_sha256: str | None = None
    registry_sha256: str | None = None
    submission_token: str | None = None
    county: str | None = None

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
        reviewed_at=aware(row.reviewed_at), reviewed_by=row.reviewed_by, rules_sha256=row.rules_sha256,
        model_sha256=row.model_sha256, registry_sha256=row.registry_sha256, submission_token=row.submission_token,
        county=row.county)


def inspection_from_store(store: Store, inspection_id: str, *, user: User) -> Inspection:
    """One inspection with its photos and current plaques; ``user`` needs ``read_inspections`` in its township."""
    check_user(user)
    with store.engine.connect() as conn:
        actor = acting_user(conn, user)
        found = read_inspection(conn, store, inspection_id)
    require_in(actor, "read_inspections", found.township, f"{found.village_name or found.village_code} 核查记录 {found.id}",
               county=found.county)
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
        user = acting_user(conn, user)
        rows = conn.execute(sa.select(inspections.c.township, inspections.c.county, photos.c.ext)
                            .join(inspection_photos, inspection_photos.c.inspection_id == inspections.c.id)
                            .join(photos, photos.c.sha256 == inspection_photos.c.sha256)
                            .where(inspection_photos.c.sha256 == sha256)).all()
    if not rows:
        raise StoreError(f"没有这张照片 (no stored photo {sha256[:12]}…)")
    places = [(r.township.strip() if r.township and r.township.strip() else NO_TOWNSHIP, r.county) for r in rows]
    if not any(user.can("read_inspections", t, county=c) for t, c in places):
        require_in(user, "read_inspections", places[0][0], f"照片 {sha256[:12]}…", county=places[0][1])
    path = photo_path(store, sha256, rows[0].ext)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StoreError(f"照片文件缺失或无法读取：{path} ({exc.strerror})") from None


def inspections_table(store: Store, *, user: User, village_code: str | None = None,
                      round_id: str | None = None) -> pd.DataFrame:
    """The inspections ``user`` may read (a township-scoped role: those of its townships) as a DataFrame (no
    reports): id, village, township, inspector, times, round, verdict, reasons, reviewed_at, reviewed_by, newest
    first."""
    check_user(user)
    query = sa.select(inspections.c.id, inspections.c.village_code, inspections.c.village_name, inspections.c.township,
                      inspections.c.inspector, inspections.c.inspected_at, inspections.c.round_id, inspections.c.verdict,
                      inspections.c.summary, inspections.c.reviewed_at, inspections.c.reviewed_by)
    if village_code is not None:
        query = query.where(inspections.c.village_code == village_code)
    if round_id is not None:
        query = query.where(inspections.c.round_id == round_id)
    with store.engine.connect() as conn:
        query = _scoped(query, acting_user(conn, user))
        rows = conn.execute(query.order_by(inspections.c.inspected_at.desc(), inspections.c.id)).all()
    columns = ["inspection_id", "village_code", "village_name", "township", "inspector", "inspected_at", "round_id",
               "verdict", "reasons", "reviewed_at", "reviewed_by"]
    df = pd.DataFrame([(r.id, r.village_code, r.village_name, r.township, r.inspector, r.inspected_at, r.round_id,
                        r.verdict, json.loads(r.summary)["reasons"], r.reviewed_at, r.reviewed_by) for r in rows],
                      columns=columns)
    for col in ("inspected_at", "reviewed_at"):
        df[col] = pd.to_datetime(df[col]).dt.tz_localize("UTC")
    return df


def review_log_table(store: Store, inspection_id: str | None = None, *, user: User) -> pd.DataFrame:
    """The review log of the inspections ``user`` may read as a DataFrame: inspection_id, plaque_id, reviewer,
    at (UTC), field, old_value, new_value."""
    check_user(user)
    query = sa.select(review_log).join(inspections, inspections.c.id == review_log.c.inspection_id)
    query = query.order_by(review_log.c.id)
    if inspection_id is not None:
        query = query.where(review_log.c.inspection_id == inspection_id)
    with store.engine.connect() as conn:
        query = _scoped(query, acting_user(conn, user))
        rows = conn.execute(query).all()
    df = pd.DataFrame([(r.inspection_id, r.plaque_id, r.reviewer, r.at, r.field, r.old_value, r.new_value) for r in rows],
                      columns=["inspection_id", "plaque_id", "reviewer", "at", "field", "old_value", "new_value"])
    df["at"] = pd.to_datetime(df["at"]).dt.tz_localize("UTC")
    return df


