"""The inspection store's database: its tables, opening it (SQLite by default, any SQLAlchemy URL), the Alembic
migrations, write transactions and times.

An embedded SQLite database ``<data_dir>/inspections.sqlite`` by default; any SQLAlchemy URL (PostgreSQL …)
through ``VILLAGE_AUDIT_DB_URL`` or ``open_store(url=...)``.

Writes are transactional. On SQLite every connection runs in WAL mode with a busy timeout, and SQLAlchemy,
not the sqlite3 module, emits ``BEGIN`` (the pysqlite recipe in SQLAlchemy's SQLite dialect docs):
``BEGIN IMMEDIATE`` for every transaction that reads then writes, so that two inspectors' writes queue up
instead of failing or overwriting each other. The schema is created and upgraded by the Alembic migrations
shipped in ``audit/records/migrations`` (:func:`upgrade`).

The rest of the store: photo files (:mod:`audit.records.photos`), inspections and rounds
(:mod:`audit.records.inspections`), the inspectors' corrections (:mod:`audit.records.reviews`), accounts
(:mod:`audit.records.accounts`).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa

from audit import settings
from audit.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DB_FILENAME = "inspections.sqlite"
DB_URL_ENV = "VILLAGE_AUDIT_DB_URL"
PlaqueStatus = Literal["unreviewed", "confirmed", "corrected", "added", "deleted"]
_PG_MIGRATION_LOCK = 0x5641_4D49  # any constant: one advisory lock for the store's migrations

# ------------------------------------------------------------------------------------------- the tables
# The migrations in audit/records/migrations/versions create these; this is the query-side description of head.
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
    # What it was audited with (migration 0003; NULL in older rows): SHA-256 of the rules file, of the detector
    # model (NULL too when the engine ran on OCR alone) and of the registry file the village was found in.
    sa.Column("rules_sha256", sa.String(64)),
    sa.Column("model_sha256", sa.String(64)),
    sa.Column("registry_sha256", sa.String(64)),
    # One row per check (migration 0004; NULL in older rows and for the command line's submissions): the token
    # made with the engine's result, so that a second click or a resent form finds this row instead of a new one.
    sa.Column("submission_token", sa.String(64)),
    sa.Index("ix_inspections_submission_token", "submission_token", unique=True),
    # The registry's county of the village (migration 0007; NULL in older rows and where the registry names none).
    sa.Column("county", sa.String(200), index=True),
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
# Accounts (migration 0002); audit.records.accounts reads and writes them.
users = sa.Table(
    "users", metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("townships", sa.Text, nullable=False),  # JSON list of township names; [] for county-wide roles
    # JSON list of the counties the account is limited to (migration 0007); [] is the whole registry (the city)
    sa.Column("counties", sa.Text, nullable=False, server_default="[]"),
    sa.Column("password_hash", sa.String(60), nullable=False),  # bcrypt, $2b$…
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("failed_attempts", sa.Integer, nullable=False),
    sa.Column("locked_until", sa.DateTime),
    sa.Column("last_sign_in_at", sa.DateTime),
    sa.Column("password_changed_at", sa.DateTime, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
# Sign-ins and unsaved checks (migration 0005): audit.records.sessions and audit.records.drafts.
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),  # the cookie's token is never stored, only its hash
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),  # the role and townships at the sign-in: a change revokes it
    sa.Column("townships", sa.Text, nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=False),
    sa.Column("last_seen_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
    sa.Column("revoked_at", sa.DateTime),
    sa.Column("revoked_reason", sa.String(32)),
)
drafts = sa.Table(
    "drafts", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("village_code", sa.String(64), nullable=False),
    sa.Column("village_name", sa.String(200), nullable=False),
    sa.Column("township", sa.String(200)),
    sa.Column("submission_token", sa.String(64), nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.Column("audited_with", sa.Text, nullable=False),
    sa.Column("made_with", sa.String(400), nullable=False),
    sa.Column("corrections", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False, index=True),
    sa.UniqueConstraint("username", "village_code", name="uq_drafts_username_village"),
)
draft_photos = sa.Table(
    "draft_photos", metadata,
    sa.Column("draft_id", sa.String(32), sa.ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("side", sa.String(16), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
sign_in_log = sa.Table(
    "sign_in_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), index=True),  # NULL when no such account (it may be a mistyped password)
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("success", sa.Boolean, nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
)

# Every county file (registry, rules, boundary layer) an administrator made current (migration 0006,
# audit/records/registry_versions.py): uploaded, restored or reset to the default; the files stay in the county
# directory so that any earlier version can be made current again.
county_file_versions = sa.Table(
    "county_file_versions", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # upload / restore / reset / earlier
    sa.Column("file", sa.String(200)),  # the stored file's name in the county directory (NULL for a reset)
    sa.Column("name", sa.String(500)),  # the name it was uploaded under
    sa.Column("sha256", sa.String(64)),
    sa.Column("size", sa.Integer),
    sa.Column("crs", sa.String(16)),
    sa.Column("restored_from", sa.String(32)),
    sa.Column("summary", sa.Text, nullable=False),  # JSON: counts of the version and its differences
    sa.Column("made_by", sa.String(64), nullable=False),
    sa.Column("made_by_name", sa.String(200), nullable=False),
    sa.Column("made_at", sa.DateTime, nullable=False, index=True),
)

# Re-audits (migration 0008, audit/records/reaudit.py): the current engine's result for a stored inspection, one per
# (inspection, model, rules); model_sha256 '' when the engine ran on OCR alone. The inspection's own model report
# and its reviews stay as they were.
machine_results = sa.Table(
    "machine_results", metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("inspection_id", sa.String(32), sa.ForeignKey("inspections.id"), nullable=False, index=True),
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("rules_sha256", sa.String(64), nullable=False),
    sa.Column("report", sa.Text, nullable=False),  # the engine's SignageReport, JSON
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=False, index=True),
    sa.Column("worker", sa.String(200), nullable=False),  # host:pid that ran it
    sa.Column("seconds", sa.Float, nullable=False),  # engine time for the inspection's photos
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("inspection_id", "model_sha256", "rules_sha256", name="uq_machine_results_inspection_hashes"),
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


def private_dir(path: Path) -> Path:
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
    root = private_dir(Path(data_dir) if data_dir is not None else settings.data_dir())
    try:
        parsed = sa.make_url(url or db_url(root))
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"数据库地址无效 (bad database URL) '{url}': {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, busy_timeout_s=busy_timeout_s)
    else:
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    store = Store(engine=engine, data_dir=root)
    private_dir(root / "photos")
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

    with write_transaction(store) as conn:
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises concurrent upgrades
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        command.upgrade(alembic_config(store, conn), revision)



def schema_revision(store: Store) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def write_transaction(store: Store) -> Iterator[sa.Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success, rolled back on error."""
    with store.engine.connect() as conn:
        conn = conn.execution_options(village_audit_write=True)
        with conn.begin():
            yield conn


# ------------------------------------------------------------------------------------------------ times
def utc(when: dt.datetime | None) -> dt.datetime:
    """A time as naive UTC for the database (naive input is local time, as Python's astimezone takes it)."""
    when = when or dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC).replace(tzinfo=None)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None else None


