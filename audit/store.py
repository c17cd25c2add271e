"""The inspection store: inspections, their photos, the inspectors' review of each plaque, and rounds.

An embedded SQLite database ``<data_dir>/inspections.sqlite`` by default; any SQLAlchemy URL (PostgreSQL …)
through ``VILLAGE_AUDIT_DB_URL`` or ``open_store(url=...)``. Photos are kept by content hash under
``<data_dir>/photos/<sha256[:2]>/<sha256>.<ext>``; their paths are built from the hash only, never from a
file name a user typed.

Writes are transactional. On SQLite every connection runs in WAL mode with a busy timeout, and SQLAlchemy,
not the sqlite3 module, emits ``BEGIN`` (the pysqlite recipe in SQLAlchemy's SQLite dialect docs):
``BEGIN IMMEDIATE`` for every transaction that reads then writes, so that two inspectors' writes queue up
instead of failing or overwriting each other. Photo files are written (temporary file, then an atomic rename)
before the database commit, so a committed inspection always has its photos; a crash before the commit leaves
at most an unreferenced photo file, never a half record.

Every read and write takes the signed-in :class:`audit.accounts.User` (``user=``): the store records its user
name as the inspector or reviewer and refuses, with :class:`audit._errors.AccessError`, what the user's role
and townships do not allow (an inspector of 城关镇 cannot submit, review, list or see the photos of a 柳林镇
village's inspection). The older free-text ``inspector=`` / ``reviewer=`` and calls without a user remain for
the server's own command line and scripts, which are trusted (they can open the database file anyway).

The model's output (``SignageReport`` JSON) is stored once and never changed; the inspectors' review lives in
the ``plaques`` rows (current values) and the ``review_log`` (who, when, field, old and new value). The schema
is created and upgraded by the Alembic migrations shipped in ``audit/migrations`` (:func:`upgrade`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import sqlalchemy as sa
from pydantic import ValidationError

from audit import settings
from audit._errors import StoreError
from audit.rules import Rules, load_rules
from audit.signage import PhotoResult, PlaqueResult, SignageReport, Summary, inventory_from_photos

if TYPE_CHECKING:
    from alembic.config import Config

    from audit.accounts import User

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DB_FILENAME = "inspections.sqlite"
DB_URL_ENV = "VILLAGE_AUDIT_DB_URL"
# Test-only: a path; when set, a submit creates that file and sleeps between writing its rows and the commit,
# so that a test can kill the process mid-transaction deterministically.
PAUSE_BEFORE_COMMIT_ENV = "VILLAGE_AUDIT_TEST_PAUSE_BEFORE_COMMIT"
PlaqueStatus = Literal["unreviewed", "confirmed", "corrected", "added", "deleted"]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PG_MIGRATION_LOCK = 0x5641_4D49  # any constant: one advisory lock for the store's migrations

# ------------------------------------------------------------------------------------------- the tables
# The migrations in audit/migrations/versions create these; this is the query-side description of head.
metadata = sa.MetaData()
rounds = sa.Table(
    "rounds", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
photos = sa.Table(
    "photos", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("ext", sa.String(8), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
inspections = sa.Table(
    "inspections", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("village_code", sa.String(64), index=True),
    sa.Column("village_name", sa.String(200)),
    sa.Column("township", sa.String(200)),
    sa.Column("inspector", sa.String(200), nullable=False),
    sa.Column("inspected_at", sa.DateTime, nullable=False, index=True),
    sa.Column("round_id", sa.String(32), sa.ForeignKey("rounds.id"), index=True),
    sa.Column("model_report", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("rules_version", sa.String(64)),
    sa.Column("reviewed_at", sa.DateTime),
    sa.Column("reviewed_by", sa.String(200)),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
inspection_photos = sa.Table(
    "inspection_photos", metadata,
    sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("photos.sha256"), nullable=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("side", sa.String(16), nullable=False),
)
plaques = sa.Table(
    "plaques", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("inspection_id", sa.String(32), nullable=False, index=True),
    sa.Column("photo_idx", sa.Integer, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("model_idx", sa.Integer),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.ForeignKeyConstraint(["inspection_id", "photo_idx"],
                            ["inspection_photos.inspection_id", "inspection_photos.idx"]),
)
review_log = sa.Table(
    "review_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id"), nullable=False, index=True),
    sa.Column("plaque_id", sa.Integer, sa.ForeignKey("plaques.id"), nullable=False),
    sa.Column("reviewer", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("field", sa.String(32), nullable=False),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
)
# Accounts (migration 0002); audit.accounts reads and writes them.
users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("townships", sa.Text, nullable=False),  # JSON list of township names; [] for county-wide roles
    sa.Column("password_hash", sa.String(60), nullable=False),  # bcrypt, $2b$…
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime),
    sa.Column("last_sign_in_at", sa.DateTime),
    sa.Column("password_changed_at", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
sign_in_log = sa.Table(
    "sign_in_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), index=True),  # NULL when no such account (it may be a mistyped password)
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
)


# -------------------------------------------------------------------------------------------- the store
@dataclass(frozen=True)
class Store:
    """An open store: the SQLAlchemy engine and the data directory holding ``photos/``."""

    engine: sa.Engine
    data_dir: Path

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()


def db_url(data_dir: str | Path | None = None) -> str:
    """The database URL: ``VILLAGE_AUDIT_DB_URL`` when set, else SQLite in ``<data_dir>/inspections.sqlite``."""
    env = settings.db_url()
    if env:
        return env
    root = Path(data_dir) if data_dir is not None else settings.data_dir()
    return sa.URL.create("sqlite", database=str(root / DB_FILENAME)).render_as_string(hide_password=False)


def _private_dir(path: Path) -> Path:
    """Create a directory readable by its owner only (mode 0o700 whatever the umask)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    if not path.is_dir():
        raise StoreError(f"数据目录不是文件夹：{path}")
    return path


def _sqlite_engine(url: sa.URL, *, busy_timeout_s: float) -> sa.Engine:
    engine = sa.create_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:  # noqa: ANN001 - DBAPI objects
        # SQLAlchemy, not sqlite3, emits BEGIN (see _on_begin); the busy timeout is set before the WAL switch,
        # which itself needs the lock when the database is new.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # Switching a new database to WAL needs an exclusive lock, and SQLite answers "database is locked"
        # at once, without its busy handler, when another process holds the write lock (two processes opening
        # a new store together, seen in CI): retry until the busy timeout.
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable in WAL mode except on power loss of the last commit
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Read-then-write transactions take the write lock up front; a deferred BEGIN that later writes can
        # fail with "database is locked" without waiting for the busy timeout.
        mode = "IMMEDIATE" if conn.get_execution_options().get("village_audit_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def open_store(url: str | None = None, *, data_dir: str | Path | None = None, migrate: bool = True,
               busy_timeout_s: float = 30.0) -> Store:
    """Open (and create or upgrade, through the migrations) the inspection store.

    Parameters
    ----------
    url
        SQLAlchemy database URL; default ``VILLAGE_AUDIT_DB_URL``, else SQLite in the data directory.
    data_dir
        Where ``photos/`` (and the default SQLite file) live; default :func:`audit.settings.data_dir`.
        Created with mode 0o700.
    migrate
        Run the migrations up to head (``alembic upgrade head``); idempotent.
    busy_timeout_s
        How long a SQLite writer waits for another writer's lock before failing.
    """
    root = _private_dir(Path(data_dir) if data_dir is not None else settings.data_dir())
    try:
        parsed = sa.make_url(url or db_url(root))
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"数据库地址无效 (bad database URL) '{url}': {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, busy_timeout_s=busy_timeout_s)
    else:
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    store = Store(engine=engine, data_dir=root)
    _private_dir(root / "photos")
    if migrate:
        upgrade(store)
    return store


def alembic_config(store: Store, connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` built in code (no alembic.ini): the shipped migrations, this store's database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("sqlalchemy.url", store.engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(store: Store, revision: str = "head") -> None:
    """``alembic upgrade <revision>`` in one write transaction: concurrent openers wait, then find it done."""
    from alembic import command

    with _write(store) as conn:
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises concurrent upgrades
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(store, conn), revision)



def schema_revision(store: Store) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _write(store: Store) -> Iterator[sa.Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success, rolled back on error."""
    with store.engine.connect() as conn:
        conn = conn.execution_options(village_audit_write=True)
        with conn.begin():
            yield conn


# ------------------------------------------------------------------------------------------------ times
def _utc(when: dt.datetime | None) -> dt.datetime:
    """A time as naive UTC for the database (naive input is local time, as Python's astimezone takes it)."""
    when = when or dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None else None


# ----------------------------------------------------------------------------------------------- access
def _check_user(user: object) -> User:
    from audit.accounts import User

    if not isinstance(user, User):
        raise StoreError(f"'user' should be an audit.accounts.User (the signed-in identity), got {type(user).__name__}")
    return user


def _require(user: User, action: str, township: str | None, what: str) -> None:
    """Refuse (AccessError) unless ``user`` may do ``action`` to a record of ``township`` (None: none recorded,
    which only county-wide roles may touch)."""
    from audit.accounts import NO_TOWNSHIP

    _check_user(user).require(action, township.strip() if township and township.strip() else NO_TOWNSHIP, what=what)


def _author(user: User | None, name: str | None, param: str, empty: str) -> str:
    """The name recorded as inspector or reviewer: the user's user name, else the legacy free-text name."""
    if user is not None and name is not None:
        raise StoreError(f"give 'user' (the signed-in identity) or '{param}', not both")
    if user is not None:
        return _check_user(user).username
    if not name or not name.strip():
        raise StoreError(empty)
    return name.strip()


def _scoped(query: sa.Select, user: User | None) -> sa.Select:
    """Limit an inspections query to what ``user`` may read (every row for county-wide roles)."""
    if user is None:
        return query
    _check_user(user).require("read_inspections")
    return query if user.county_wide else query.where(inspections.c.township.in_(user.townships))


# ----------------------------------------------------------------------------------------------- photos
def _photo_ext(data: bytes, name: str) -> str:
    """The file extension from the content (never from the user's file name)."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"):
        return "heic"
    raise StoreError(f"{name}：不是 JPEG、PNG、WebP 或 HEIC 图片，无法保存")


def photo_path(store: Store, sha256: str, ext: str) -> Path:
    """Where a photo with this content hash is kept."""
    if not _SHA256.match(sha256) or ext not in ("jpg", "png", "webp", "heic"):
        raise StoreError(f"not a photo key: sha256 '{sha256}', ext '{ext}'")
    return store.data_dir / "photos" / sha256[:2] / f"{sha256}.{ext}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_photo(store: Store, sha256: str, ext: str, data: bytes) -> Path:
    """Write a photo atomically: a temporary file in the same directory, fsync, rename."""
    final = photo_path(store, sha256, ext)
    if final.exists() and final.stat().st_size == len(data):
        return final  # same hash, same bytes: another inspection already stored it
    folder = _private_dir(final.parent)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(folder)
    return final


def _insert_photo_row(conn: sa.Connection, row: dict) -> None:
    """Insert a photo row unless the hash is already there (two inspections may share a photo)."""
    backend = conn.dialect.name
    if backend == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        if conn.execute(sa.select(photos.c.sha256).where(photos.c.sha256 == row["sha256"])).first() is None:
            conn.execute(photos.insert().values(**row))
        return
    conn.execute(insert(photos).values(**row).on_conflict_do_nothing(index_elements=["sha256"]))


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
        _check_user(user).require("manage_rounds", what=f"核查轮次「{name}」")
    if not name or not name.strip():
        raise StoreError("核查轮次名称为空 (round name is empty)")
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise StoreError(f"核查轮次「{name}」: start and end should be dates, got {start!r} and {end!r}")
    if isinstance(start, dt.datetime) or isinstance(end, dt.datetime):
        start, end = (d.date() if isinstance(d, dt.datetime) else d for d in (start, end))
    if end < start:
        raise StoreError(f"核查轮次「{name}」: 结束日期 {end} 早于开始日期 {start}")
    round_id = uuid.uuid4().hex
    with _write(store) as conn:
        conn.execute(rounds.insert().values(id=round_id, name=name.strip(), start_date=start, end_date=end,
                                            created_at=_utc(None)))
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
    who = _author(user, inspector, "inspector", "核查人为空 (inspector is empty)")
    if not isinstance(report, SignageReport):
        raise StoreError(f"'report' should be a SignageReport, got {type(report).__name__}")
    township = (township.strip() or None) if isinstance(township, str) else township
    by_hash = {hashlib.sha256(b).hexdigest(): b for b in photo_bytes}
    files: dict[str, tuple[str, bytes]] = {}
    for ph in report.photos:
        data = by_hash.get(ph.sha256)
        if data is None:
            raise StoreError(f"照片「{ph.photo}」(sha256 {ph.sha256[:12]}…) 的文件内容没有提供")
        files[ph.sha256] = (_photo_ext(data, ph.photo), data)
    model_json = report.model_dump_json()
    when = _utc(inspected_at)
    inspection_id = uuid.uuid4().hex
    code = village_code if village_code is not None else report.village.get("code")
    name = village_name if village_name is not None else report.village.get("name")
    if user is not None:
        _require(user, "inspect", township, f"{name or code or '村庄'}的核查")

    # Files first (atomic renames), rows after, commit last: a committed row always has its file.
    for sha, (ext, data) in files.items():
        _save_photo(store, sha, ext, data)
    now = _utc(None)
    with _write(store) as conn:
        if round_id is not None and conn.execute(sa.select(rounds.c.id).where(rounds.c.id == round_id)).first() is None:
            raise StoreError(f"核查轮次不存在 (no round '{round_id}')")
        conn.execute(inspections.insert().values(
            id=inspection_id, village_code=code, village_name=name, township=township, inspector=who,
            inspected_at=when, round_id=round_id, model_report=model_json, summary=report.summary.model_dump_json(),
            verdict=report.summary.verdict, rules_version=report.rules_version, created_at=now))
        for sha, (ext, data) in files.items():
            _insert_photo_row(conn, {"sha256": sha, "ext": ext, "size_bytes": len(data), "created_at": now})
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
        return _reviewed_photos(self.original, self.plaques)

    def reviewed_report(self) -> SignageReport:
        """The model's report with the reviewed plaques and the recomputed summary."""
        return self.original.model_copy(update={"photos": self.reviewed_photos(), "summary": self.summary})


def _reviewed_photos(original: SignageReport, stored: Sequence[StoredPlaque]) -> list[PhotoResult]:
    out = []
    for i, ph in enumerate(original.photos):
        mine = [s.plaque for s in stored if s.photo_index == i and s.status != "deleted"]
        out.append(ph.model_copy(update={"plaques": mine}))
    return out


def _read_inspection(conn: sa.Connection, store: Store, inspection_id: str) -> Inspection:
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
        inspector=row.inspector, inspected_at=_aware(row.inspected_at), round_id=row.round_id, verdict=row.verdict,
        summary=summary, original=original, original_json=row.model_report,
        photos=[StoredPhoto(index=p.idx, name=p.name, side=p.side, sha256=p.sha256,
                            path=photo_path(store, p.sha256, p.ext)) for p in photo_rows],
        plaques=[StoredPlaque(id=p.id, photo_index=p.photo_idx, origin=p.origin, status=p.status,
                              plaque=PlaqueResult.model_validate_json(p.data)) for p in plaque_rows],
        reviewed_at=_aware(row.reviewed_at), reviewed_by=row.reviewed_by)


def inspection_from_store(store: Store, inspection_id: str, *, user: User | None = None) -> Inspection:
    """One inspection with its photos and current plaques; ``user`` needs ``read_inspections`` in its township."""
    with store.engine.connect() as conn:
        found = _read_inspection(conn, store, inspection_id)
    if user is not None:
        _require(user, "read_inspections", found.township, f"{found.village_name or found.village_code} 核查记录 {found.id}")
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
    from audit.accounts import NO_TOWNSHIP

    _check_user(user)
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
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
        _require(user, "read_inspections", townships[0], f"照片 {sha256[:12]}…")
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


# ------------------------------------------------------------------------------------------------ review
@dataclass(frozen=True)
class ConfirmPlaque:
    """The inspector confirms the plaque as it stands (type and box)."""

    plaque_id: int


@dataclass(frozen=True)
class CorrectPlaque:
    """The inspector corrects a plaque: its type (a rules plaque id or ``other_sign``), its kind (needed for
    ``other_sign``: honour, allowed, unauthorised_sign, unreadable), its text or its box."""

    plaque_id: int
    type: str | None = None
    kind: str | None = None
    text: str | None = None
    bbox: Sequence[float] | None = None


@dataclass(frozen=True)
class DeletePlaque:
    """A false detection: the plaque is removed from the inventory (the row and the log keep it)."""

    plaque_id: int


@dataclass(frozen=True)
class AddPlaque:
    """A plaque the model missed, on photo ``photo_index`` (0-based, as in the report), box in full-resolution
    pixels of the upright photo."""

    photo_index: int
    type: str
    bbox: Sequence[float]
    kind: str | None = None
    text: str = ""


Change = ConfirmPlaque | CorrectPlaque | DeletePlaque | AddPlaque


def _kind_fields(ptype: str, kind: str | None, side: str, rules: Rules, where: str) -> dict:
    """type, kind, name_zh and authorised for a plaque typed by an inspector."""
    ids = [p.id for p in rules.plaques]
    if ptype in ids:
        if kind not in (None, "official"):
            raise StoreError(f"{where}: 类型「{ptype}」是清单内牌子，kind 应为 official，got '{kind}'")
        rule = rules.plaque(ptype)
        return {"type": ptype, "kind": "official", "name_zh": rule.name_zh, "authorised": rule.placement == side}
    from audit.plaque_text import OTHER, OTHER_KINDS

    if ptype != OTHER:
        raise StoreError(f"{where}: 'type' should be one of {ids + [OTHER]}, got '{ptype}' instead")
    if kind not in OTHER_KINDS:
        raise StoreError(f"{where}: 类型 {OTHER} 需要指明 kind，应为 {list(OTHER_KINDS)} 之一，got '{kind}'")
    name_zh, authorised = OTHER_KINDS[kind]
    return {"type": OTHER, "kind": kind, "name_zh": name_zh, "authorised": authorised}


def _check_bbox(bbox: Sequence[float], size: Sequence[int], where: str) -> list[float]:
    try:
        box = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise StoreError(f"{where}: bbox should be four numbers x1, y1, x2, y2, got {bbox!r}") from None
    if len(box) != 4 or not all(v == v and abs(v) != float("inf") for v in box):
        raise StoreError(f"{where}: bbox should be four finite numbers x1, y1, x2, y2, got {bbox!r}")
    w, h = size
    x1, y1, x2, y2 = box
    if not (0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h):
        raise StoreError(f"{where}: bbox {box} 不在照片范围内（{w}×{h} 像素，需 0 ≤ x1 < x2 ≤ 宽，0 ≤ y1 < y2 ≤ 高）")
    return box


def _issues(p: dict, side: str, rules: Rules) -> list[str]:
    """The issues of a reviewed plaque, as the engine words them."""
    issues = []
    if p["kind"] == "official" and p["authorised"] is False:
        where = "外部" if rules.plaque(p["type"]).placement == "external" else "内部"
        issues.append(f"错挂：{p['name_zh']}应挂在{where}")
    elif p["kind"] == "honour":
        issues.append("荣誉类牌子，应集中展陈")
    elif p["kind"] == "unauthorised_sign":
        issues.append("未列入挂牌清单的牌子，应摘除")
    elif p["kind"] == "unreadable":
        issues.append("未能读出文字，请人工复核")
    issues += [f"式样：{c['detail']}" for c in p["style"].values() if c.get("status") == "fail"]
    return issues


class _PhotoCache:
    """Decoded photos for re-running the style checks on corrected plaques (each photo decoded once)."""

    def __init__(self, store: Store, rules: Rules) -> None:
        self.store, self.rules, self._cache = store, rules, {}

    def style(self, path: Path, name: str, p: dict, traditional: bool | None) -> dict:
        import numpy as np

        from audit.intake import PhotoError, photo_from_bytes
        from audit.style import illuminant_of, style_checks

        if path not in self._cache:
            try:
                photo = photo_from_bytes(path.read_bytes(), name, rules=self.rules)
            except (OSError, PhotoError) as exc:
                raise StoreError(f"照片「{name}」无法读取，不能重新检查式样：{exc}") from None
            image = np.asarray(photo.image)
            self._cache[path] = (photo, image, illuminant_of(image))
        photo, image, illuminant = self._cache[path]
        x1, y1, x2, y2 = (v / photo.scale for v in p["bbox"])
        crop = image[max(0, int(round(y1))):int(round(y2)), max(0, int(round(x1))):int(round(x2))]
        rule = self.rules.plaque(p["type"]) if p["kind"] == "official" else None
        if not crop.size:
            return {}
        return style_checks(crop, (x2 - x1, y2 - y1), rule, self.rules, traditional=traditional, illuminant=illuminant)


def _traditional(style: dict) -> bool | None:
    status = style.get("traditional_characters", {}).get("status")
    return {"fail": True, "pass": False}.get(status)


def _text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def review_inspection(store: Store, inspection_id: str, changes: Sequence[Change], *, user: User | None = None,
                      reviewer: str | None = None, at: dt.datetime | None = None,
                      rules: Rules | None = None) -> Inspection:
    """Apply an inspector's review in one transaction, log every change, recompute the summary and verdict.

    Confirming marks a plaque reviewed; correcting a type, text or box re-runs the plaque's style checks on
    the stored photo (the old checks belonged to the old type); deleting removes a false detection from the
    inventory; adding records a missed plaque. The summary is recomputed with
    :func:`audit.signage.inventory_from_photos` over the reviewed plaques. The model's report is not touched.

    ``user`` is the signed-in reviewer (recorded by user name; needs ``review`` in the inspection's township);
    ``reviewer`` is the older free-text name for trusted scripts; give one.

    Raises
    ------
    StoreError
        Unknown inspection or plaque (or one of another inspection), a deleted plaque changed again, an
        unknown type, a kind missing for ``other_sign``, a box outside the photo, no reviewer.
    AccessError
        ``user`` may not review in the inspection's township.
    """
    reviewer = _author(user, reviewer, "reviewer", "复核人为空 (reviewer is empty)")
    rules = rules or load_rules()
    when = _utc(at)
    photos_cache = _PhotoCache(store, rules)
    with _write(store) as conn:
        # Two reviewers of one inspection queue up (BEGIN IMMEDIATE on SQLite; a row lock elsewhere).
        conn.execute(sa.select(inspections.c.id).where(inspections.c.id == inspection_id).with_for_update())
        current = _read_inspection(conn, store, inspection_id)
        if user is not None:
            _require(user, "review", current.township,
                     f"{current.village_name or current.village_code} 核查记录 {current.id}")
        by_id = {s.id: s for s in current.plaques}
        log: list[dict] = []

        def logged(plaque_id: int, field: str, old: object, new: object) -> None:
            log.append({"inspection_id": inspection_id, "plaque_id": plaque_id, "reviewer": reviewer.strip(), "at": when,
                        "field": field, "old_value": _text(old), "new_value": _text(new)})

        for n, change in enumerate(changes, start=1):
            where = f"第{n}项修改（{type(change).__name__}）"
            if isinstance(change, AddPlaque):
                if not 0 <= change.photo_index < len(current.photos):
                    raise StoreError(f"{where}: photo_index should be 0…{len(current.photos) - 1}, got {change.photo_index}")
                ph = current.original.photos[change.photo_index]
                stored_photo = current.photos[change.photo_index]
                p = {**_kind_fields(change.type, change.kind, ph.side, rules, where), "text": change.text,
                     "confidence": 1.0, "bbox": _check_bbox(change.bbox, ph.size, where), "source": "inspector",
                     "detector_class": None, "text_type": None, "style": {}, "issues": []}
                p["style"] = photos_cache.style(stored_photo.path, stored_photo.name, p, None)
                p["issues"] = _issues(p, ph.side, rules)
                plaque = PlaqueResult.model_validate(p)
                new_id = conn.execute(plaques.insert().values(
                    inspection_id=inspection_id, photo_idx=change.photo_index, origin="inspector", model_idx=None,
                    status="added", type=plaque.type, kind=plaque.kind, data=plaque.model_dump_json())
                ).inserted_primary_key[0]
                logged(new_id, "added", None, plaque.model_dump(mode="json"))
                continue
            stored = by_id.get(change.plaque_id)
            if stored is None:
                raise StoreError(f"{where}: 本次核查没有编号为 {change.plaque_id} 的牌子 (no plaque {change.plaque_id} "
                                 f"in inspection '{inspection_id}')")
            if stored.status == "deleted":
                raise StoreError(f"{where}: 牌子 {change.plaque_id} 已删除，不能再修改")
            old = stored.plaque.model_dump(mode="json")
            status: PlaqueStatus = stored.status
            new = dict(old)
            if isinstance(change, ConfirmPlaque):
                logged(stored.id, "confirmed", None, old["type"])
                status = "confirmed" if status == "unreviewed" else status
            elif isinstance(change, DeletePlaque):
                logged(stored.id, "deleted", "false", "true")
                status = "deleted"
            elif isinstance(change, CorrectPlaque):
                ph = current.original.photos[stored.photo_index]
                stored_photo = current.photos[stored.photo_index]
                if change.type is not None or change.kind is not None:
                    want_type = change.type if change.type is not None else old["type"]
                    want_kind = change.kind if change.kind is not None else (
                        None if want_type != old["type"] or old["kind"] == "official" else old["kind"])
                    new.update(_kind_fields(want_type, want_kind, ph.side, rules, where))
                    new["text_type"] = None
                if change.text is not None:
                    new["text"] = change.text
                if change.bbox is not None:
                    new["bbox"] = _check_bbox(change.bbox, ph.size, where)
                changed = [k for k in ("type", "kind", "text", "bbox") if new[k] != old[k]]
                if not changed:
                    logged(stored.id, "confirmed", None, old["type"])
                    status = "confirmed" if status == "unreviewed" else status
                else:
                    traditional = _traditional(old["style"]) if new["text"] == old["text"] else None
                    new["style"] = photos_cache.style(stored_photo.path, stored_photo.name, new, traditional)
                    new["issues"] = _issues(new, ph.side, rules)
                    for k in changed + [k for k in ("name_zh", "authorised") if new[k] != old[k]]:
                        logged(stored.id, k, old[k], new[k])
                    status = "added" if status == "added" else "corrected"
            else:
                raise StoreError(f"{where}: not a review change: {change!r}")
            plaque = PlaqueResult.model_validate(new)
            conn.execute(plaques.update().where(plaques.c.id == stored.id).values(
                status=status, type=plaque.type, kind=plaque.kind, data=plaque.model_dump_json()))
            by_id[stored.id] = StoredPlaque(stored.id, stored.photo_index, stored.origin, status, plaque)

        if log:
            conn.execute(review_log.insert(), log)
        reviewed = _read_inspection(conn, store, inspection_id)
        summary = inventory_from_photos(_reviewed_photos(reviewed.original, reviewed.plaques), rules)
        conn.execute(inspections.update().where(inspections.c.id == inspection_id).values(
            summary=summary.model_dump_json(), verdict=summary.verdict, reviewed_at=when, reviewed_by=reviewer.strip()))
        return _read_inspection(conn, store, inspection_id)



# ----------------------------------------------------------------------------------------------- dataset
def yolo_class(plaque: PlaqueResult, rules: Rules) -> str:
    """The detector class of a reviewed plaque: ``identity`` for identity signs, ``honour`` for honours, else
    ``strip`` when the box is more than 2.5 times taller than wide, ``plaque`` otherwise."""
    if plaque.kind == "official" and any(p.id == plaque.type and p.identity_sign for p in rules.plaques):
        return "identity"
    if plaque.kind == "honour":
        return "honour"
    x1, y1, x2, y2 = plaque.bbox
    return "strip" if (y2 - y1) > 2.5 * (x2 - x1) else "plaque"


def _upright_image(path: Path, name: str) -> tuple[bytes | None, tuple[int, int]]:
    """The photo as the boxes see it (EXIF orientation applied): None when the stored file can be copied as is,
    else JPEG bytes of the upright image; and its size."""
    import io

    from PIL import Image, ImageOps

    from audit.intake import _register_heif

    _register_heif()
    try:
        with Image.open(path) as img:
            orientation = img.getexif().get(0x0112, 1)
            if img.format in ("JPEG", "PNG") and orientation in (1, None):
                return None, img.size
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except OSError as exc:
        raise StoreError(f"照片「{name}」({path.name}) 无法读取：{exc}") from None
    buf = io.BytesIO()
    upright.save(buf, "JPEG", quality=95)
    return buf.getvalue(), upright.size


def export_dataset(store: Store, out_dir: str | Path, *, rules: Rules | None = None,
                   fully_reviewed_only: bool = True, user: User | None = None, now: dt.datetime | None = None) -> Path:
    """Write the reviewed photos and their corrected boxes as an Ultralytics YOLO dataset.

    ``out_dir/images/<sha256>.<ext>``, ``out_dir/labels/<sha256>.txt`` (``class cx cy w h``, normalised to
    [0, 1]) and ``out_dir/data.yaml`` (ASCII class names, the detector's classes in its order). A photo is
    exported when its inspection has been reviewed and, with ``fully_reviewed_only``, every plaque left on it
    was confirmed, corrected or added by an inspector (a photo whose plaques were all deleted is a negative
    example). A photo shared by several inspections is exported once, from its latest review. Returns the
    path of ``data.yaml``.

    Who exported it and when go into ``data.yaml`` (``exported_by``, ``exported_at``; ASCII, as JSON-escaped
    YAML strings) and ``README.txt``. ``user`` needs ``export``; None (the server's command line) is recorded
    as ``null``.
    """
    from audit.synth import CLASS_NAMES

    if user is not None:
        _check_user(user).require("export", what="训练数据集")
    exported_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    rules = rules or load_rules()
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    with store.engine.connect() as conn:
        ids = conn.execute(sa.select(inspections.c.id).where(inspections.c.reviewed_at.is_not(None))
                           .order_by(inspections.c.reviewed_at, inspections.c.id)).scalars().all()
    chosen: dict[str, tuple[StoredPhoto, list[PlaqueResult]]] = {}
    for inspection_id in ids:
        found = inspection_from_store(store, inspection_id)
        for ph in found.photos:
            mine = [s for s in found.plaques if s.photo_index == ph.index and s.status != "deleted"]
            if fully_reviewed_only and any(s.status == "unreviewed" for s in mine):
                continue
            chosen[ph.sha256] = (ph, [s.plaque for s in mine])
    for sha, (ph, boxes) in sorted(chosen.items()):
        if not ph.path.exists():
            raise StoreError(f"照片文件缺失：{ph.path}（照片「{ph.name}」）")
        converted, (w, h) = _upright_image(ph.path, ph.name)
        image_path = out / "images" / (f"{sha}.jpg" if converted is not None else ph.path.name)
        if converted is not None:
            image_path.write_bytes(converted)
        else:
            image_path.write_bytes(ph.path.read_bytes())
        lines = []
        for p in boxes:
            if p.kind == "background":  # a shop sign or a banner is background for the detector, as in training
                continue
            x1, y1, x2, y2 = (min(max(v, 0.0), lim) for v, lim in zip(p.bbox, (w, h, w, h), strict=True))
            if x2 <= x1 or y2 <= y1:
                continue
            cls = CLASS_NAMES.index(yolo_class(p, rules))
            lines.append(f"{cls} {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
        (out / "labels" / f"{image_path.stem}.txt").write_text("".join(f"{ln}\n" for ln in lines), encoding="ascii")
    yaml = [f"path: {out.resolve()}", "train: images", "val: images", "names:"]
    yaml += [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    # JSON strings are YAML double-quoted strings; ensure_ascii keeps the file ASCII for a Chinese user name
    yaml += [f"exported_by: {json.dumps(user.username) if user is not None else 'null'}",
             f"exported_at: {json.dumps(exported_at.isoformat())}"]
    data_yaml = out / "data.yaml"
    data_yaml.write_text("\n".join(yaml) + "\n", encoding="utf-8")
    who = user.full_name if user is not None else "未登录（服务器命令行）"
    (out / "README.txt").write_text(
        "VillageAudit 复核后的牌子检测训练数据集 (YOLO)\n"
        f"导出人 (exported by): {who}\n"
        f"导出时间 (exported at, UTC): {exported_at.isoformat()}\n"
        f"图片 (images): {len(chosen)}\n"
        f"仅完全复核的照片 (fully reviewed only): {'是' if fully_reviewed_only else '否'}\n", encoding="utf-8")
    return data_yaml
