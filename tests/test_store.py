"""The inspection store: real SQLite files and real JPEG photos in tmp_path, writer processes, a killed writer.

Reports are built from the pydantic objects directly (no OCR); the summary comes from the engine's own
``inventory_from_photos``. Run as ``python -m tests.test_store writer ...`` this module is the writer process
of the concurrency and crash tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from PIL import Image, ImageDraw
from shapely.geometry import Point

from audit.errors import AccessError, StoreError
from audit.model.dataset import export_dataset
from audit.records.access import SYSTEM, SYSTEM_NAME, User
from audit.records.accounts import add_user, disable_user, user_from_store
from audit.records.db import (
    DB_FILENAME,
    DB_URL_ENV,
    Store,
    alembic_config,
    metadata,
    open_store,
    schema_revision,
    upgrade,
    write_transaction,
)
from audit.records.inspections import (
    PAUSE_BEFORE_COMMIT_ENV,
    AuditedWith,
    VillageRegistry,
    audited_with,
    create_round,
    inspection_from_store,
    inspections_table,
    review_log_table,
    submit_inspection,
    village_registry,
    village_registry_from_file,
)
from audit.records.ledger import ledger_from_store, ledger_to_xlsx, villages_not_inspected
from audit.records.reviews import AddPlaque, ConfirmPlaque, CorrectPlaque, DeletePlaque, review_inspection
from audit.rules import Rules, load_rules
from audit.signs.engine import PhotoResult, PlaqueResult, Provenance, SignageReport, inventory_from_photos

REPO = Path(__file__).resolve().parent.parent
STAFF_PASSWORD = "staff-password-1"
W, H = 800, 600
# External plaque boxes on the test photo (x1, y1, x2, y2): white boards on a grey wall. The militia slot is
# drawn on the wall but the "model" misses it; the collective-economy board is typed wrongly by the "model".
BOXES = {
    "party_org": [20, 40, 80, 300],
    "villagers_committee": [100, 40, 160, 300],
    "collective_economy": [180, 40, 240, 300],
    "supervision_committee": [260, 40, 320, 300],
    "militia": [340, 40, 400, 300],
    "service_centre_sign": [430, 40, 780, 120],
    "civilisation_station_sign": [430, 160, 780, 240],
    "shop_sign": [450, 400, 650, 520],
}


def jpeg_bytes(seed: int = 0) -> bytes:
    """A real 800×600 JPEG: white boards at BOXES on a wall whose shade depends on ``seed``."""
    img = Image.new("RGB", (W, H), (120 + seed % 60, 110, 100))
    draw = ImageDraw.Draw(img)
    for box in BOXES.values():
        draw.rectangle(box, fill=(250, 250, 250))
    for bit in range(20):  # the seed in black and white squares along the bottom: distinct seeds, distinct photos
        draw.rectangle([bit * 10, 585, bit * 10 + 9, 599], fill=(0, 0, 0) if seed >> bit & 1 else (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def official(ptype: str, rules: Rules, box_of: str | None = None) -> PlaqueResult:
    rule = rules.plaque(ptype)
    return PlaqueResult(type=ptype, name_zh=rule.name_zh, text=rule.names_for("王庄村")[0], confidence=0.9,
                        bbox=[float(v) for v in BOXES[box_of or ptype]], authorised=rule.placement == "external",
                        kind="official", source="detector+ocr", detector_class="strip")


def model_report(data: bytes, rules: Rules, *, plaques: list[PlaqueResult] | None = None, code: str | None = "001",
                 name: str = "王庄村") -> SignageReport:
    """What the engine would say about the test photo: militia missed, the collective-economy board read as a
    second supervision committee, and a shop sign."""
    if plaques is None:
        plaques = [official(t, rules) for t in ("party_org", "villagers_committee", "supervision_committee",
                                                "service_centre_sign", "civilisation_station_sign")]
        plaques.append(official("supervision_committee", rules, box_of="collective_economy"))
        plaques.append(PlaqueResult(type="other_sign", name_zh="未列入清单的牌子", text="王庄村红白理事会", confidence=0.7,
                                    bbox=[float(v) for v in BOXES["shop_sign"]], authorised=False,
                                    kind="unauthorised_sign", source="ocr"))
    # the photo-quality block is being added to the engine's output: fill it in when the model has it
    quality = {"quality": {"sharpness": 100.0}} if "quality" in PhotoResult.model_fields else {}
    photo = PhotoResult(photo="门口.jpg", side="external", sha256=hashlib.sha256(data).hexdigest(), size=[W, H],
                        plaques=plaques, provenance=Provenance(), **quality)
    return SignageReport(village={"code": code, "name": name}, rules_version=rules.version, photos=[photo], errors=[],
                         summary=inventory_from_photos([photo], rules))


def staff(store: Store, name: str, *townships: str) -> User:
    """The signed-in user the store records: an inspector of ``townships``, else a county administrator; the
    account is made (by the server's command line) the first time it is asked for."""
    role = "inspector" if townships else "admin"
    try:
        found = user_from_store(store, name)
    except StoreError:
        return add_user(store, name, STAFF_PASSWORD, role=role, townships=townships, by=SYSTEM)
    assert (found.role, found.townships) == (role, tuple(sorted(townships))), f"{name} is already a {found.role}"
    return found


# The registry inspections are filed against (a village's name and township come from it) and the files they were
# audited with: the shipped rules and model, hashed here with hashlib, apart from the code under test.
VILLAGES = [("001", "王庄村", "城关镇"), ("002", "李庄村", "城关镇"), ("003", "=cmd()", "河口镇"), ("004", "赵庄村", "河口镇")]
RULES_SHA256 = hashlib.sha256((REPO / "audit" / "rules" / "default.toml").read_bytes()).hexdigest()
MODEL_FILE = REPO / "models" / "plaques.onnx"
MODEL_SHA256 = hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
AUDITED = AuditedWith(rules_sha256=RULES_SHA256, model_sha256=MODEL_SHA256)
HEAD = "0008"  # the latest migration: written here, so that a new one without its tests fails them


# Every report here photographs the outside only, and a side with no photo keeps the verdict at 待复核: with every
# external problem fixed, the verdict is needs_review for that reason alone (not compliant).
OUTSIDE_ONLY = "needs_review"
INSIDE_NOT_PHOTOGRAPHED = "未拍摄内部照片"


def registry_of(villages: list[tuple[str | None, str, str | None]] = VILLAGES) -> VillageRegistry:
    """A registry of (code, name, township) rows, as if read from a CSV file of exactly those rows."""
    frame = pd.DataFrame(villages, columns=["village_code", "village_name", "township"])
    return village_registry(frame, sha256=registry_sha256(villages), source="名册.csv")


def registry_sha256(villages: list[tuple[str | None, str, str | None]]) -> str:
    return hashlib.sha256("\n".join(",".join(v or "" for v in row) for row in villages).encode()).hexdigest()


def submit(store: Store, report: SignageReport, photo_bytes: list[bytes], *, user: User,
           registry: VillageRegistry | None = None, audited: AuditedWith = AUDITED, **kwargs) -> str:
    """``submit_inspection`` against :data:`VILLAGES` (or ``registry``) with the shipped rules and model."""
    return submit_inspection(store, report, photo_bytes, user=user, registry=registry or registry_of(),
                             audited=audited, **kwargs)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend_url: str | None) -> Path:
    """The data directory; the database is SQLite in it, or a fresh PostgreSQL schema (``backend``, conftest)."""
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")  # the accounts of staff(): real hashes, cheap ones
    monkeypatch.delenv(PAUSE_BEFORE_COMMIT_ENV, raising=False)
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    s = open_store(data_dir=data_dir)
    yield s
    s.close()


def _count(db: Path, sql: str) -> int:
    """A count from the store's database, read apart from the code under test: the SQLite file ``db``, or the
    PostgreSQL schema of VILLAGE_AUDIT_DB_URL when the test runs on PostgreSQL."""
    url = os.environ.get(DB_URL_ENV)
    if url and url.startswith("postgresql"):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(sql).scalar()
        finally:
            engine.dispose()
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchone()[0]


def assert_consistent(data_dir: Path) -> None:
    """integrity_check ok (SQLite), no orphan rows, every inspection with its photo rows and files."""
    db = data_dir / DB_FILENAME
    url = os.environ.get(DB_URL_ENV)
    if url and url.startswith("postgresql"):  # the server enforces its foreign keys; the orphan queries below hold
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            _assert_no_orphans(data_dir, conn.exec_driver_sql)
        engine.dispose()
        return
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        _assert_no_orphans(data_dir, conn.execute)


def _assert_no_orphans(data_dir: Path, execute) -> None:  # noqa: ANN001 - sqlite3's or SQLAlchemy's execute
    orphans = {
        "plaques": "SELECT count(*) FROM plaques p LEFT JOIN inspections i ON i.id = p.inspection_id WHERE i.id IS NULL",
        "inspection_photos": "SELECT count(*) FROM inspection_photos p LEFT JOIN inspections i "
                             "ON i.id = p.inspection_id WHERE i.id IS NULL",
        "review_log": "SELECT count(*) FROM review_log r LEFT JOIN plaques p ON p.id = r.plaque_id WHERE p.id IS NULL",
        "no photos": "SELECT count(*) FROM inspections i WHERE NOT EXISTS "
                     "(SELECT 1 FROM inspection_photos p WHERE p.inspection_id = i.id)",
        "photo row": "SELECT count(*) FROM inspection_photos p LEFT JOIN photos f ON f.sha256 = p.sha256 "
                     "WHERE f.sha256 IS NULL",
    }
    for what, sql in orphans.items():
        assert execute(sql).fetchone()[0] == 0, what
    for sha, ext in execute("SELECT DISTINCT p.sha256, f.ext FROM inspection_photos p JOIN photos f USING (sha256)"):
        path = data_dir / "photos" / sha[:2] / f"{sha}.{ext}"
        assert path.exists(), path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha


# ---------------------------------------------------------------------------------------------- opening
def test_round_trip_across_reopen(data_dir: Path, rules: Rules) -> None:
    data = jpeg_bytes(1)
    report = model_report(data, rules)
    s = open_store(data_dir=data_dir)
    when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    iid = submit(s, report, [data, b"not referenced"], user=staff(s, "张三", "城关镇"), inspected_at=when)
    s.close()

    again = open_store(data_dir=data_dir)  # a restart: a new engine on the same files
    got = inspection_from_store(again, iid, user=SYSTEM)
    assert got.original_json == report.model_dump_json()
    assert got.original == report
    assert (got.village_code, got.village_name, got.township, got.inspector) == ("001", "王庄村", "城关镇", "张三")
    assert got.inspected_at == when
    assert (got.rules_sha256, got.model_sha256, got.registry_sha256) == (RULES_SHA256, MODEL_SHA256,
                                                                         registry_sha256(VILLAGES))
    assert got.verdict == report.summary.verdict == "needs_rectification"
    assert [p.plaque for p in got.plaques] == report.photos[0].plaques
    assert {p.status for p in got.plaques} == {"unreviewed"}
    assert got.photos[0].path == data_dir / "photos" / report.photos[0].sha256[:2] / f"{report.photos[0].sha256}.jpg"
    assert got.photos[0].path.read_bytes() == data
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    table = inspections_table(again, user=SYSTEM)
    assert table["inspection_id"].tolist() == [iid]
    assert table["inspected_at"].iloc[0] == when
    again.close()
    assert_consistent(data_dir)


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's own settings
def test_sqlite_connection_settings_and_begin_immediate(store: Store, rules: Rules) -> None:
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    data = jpeg_bytes(2)
    submit(store, model_report(data, rules), [data], user=staff(store, "李四"))
    assert "BEGIN IMMEDIATE" in statements
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.exec_driver_sql("SELECT 1").all()
    assert statements[-1] == "SELECT 1" and "BEGIN DEFERRED" in statements  # a read does not take the write lock


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's own settings
def test_database_url_from_environment(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere" / "county.sqlite"
    other.parent.mkdir()
    monkeypatch.setenv(DB_URL_ENV, f"sqlite:///{other}")
    s = open_store(data_dir=data_dir)
    assert schema_revision(s) == HEAD
    s.close()
    assert other.exists() and not (data_dir / DB_FILENAME).exists()


def test_bad_input_names_the_culprit_and_writes_nothing(data_dir: Path, rules: Rules, store: Store) -> None:
    with pytest.raises(StoreError, match="bad database URL"):
        open_store("not a url", data_dir=data_dir)
    report = model_report(jpeg_bytes(3), rules)
    zhang = staff(store, "张三")
    with pytest.raises(StoreError, match="门口.jpg"):
        submit(store, report, [jpeg_bytes(4)], user=zhang)
    with pytest.raises(StoreError, match="名册「名册.csv」中没有村代码「999」的村庄"):
        submit(store, model_report(jpeg_bytes(3), rules, code="999", name="外县村"), [jpeg_bytes(3)], user=zhang)
    with pytest.raises(StoreError, match="核查报告属于村代码「001」，不能记为「李庄村」（村代码 002）的核查"):
        submit(store, report, [jpeg_bytes(3)], user=zhang, village_code="002")
    with pytest.raises(StoreError, match="村代码「001」对应 2 个村（城关镇、河口镇），无法确定是哪一个"):
        submit(store, report, [jpeg_bytes(3)], user=zhang, registry=registry_of([*VILLAGES, ("001", "王庄村", "河口镇")]))
    nameless = model_report(jpeg_bytes(3), rules, code=None)
    with pytest.raises(StoreError, match="核查报告属于「王庄村」，不能记为「李庄村」的核查"):
        submit(store, nameless, [jpeg_bytes(3)], user=zhang, village_code="002")
    with pytest.raises(StoreError, match="村名「王庄村」对应 2 个村（城关镇、河口镇），无法确定是哪一个，请用村代码区分"):
        submit(store, nameless, [jpeg_bytes(3)], user=zhang,
               registry=registry_of([(None, "王庄村", "城关镇"), (None, "王庄村", "河口镇")]))
    with pytest.raises(StoreError, match="'registry' should be the county's VillageRegistry"):
        submit_inspection(store, report, [jpeg_bytes(3)], user=zhang, registry=pd.DataFrame(VILLAGES), audited=AUDITED)
    with pytest.raises(StoreError, match="'audited' should be an AuditedWith"):
        submit_inspection(store, report, [jpeg_bytes(3)], user=zhang, registry=registry_of(), audited=RULES_SHA256)
    with pytest.raises(StoreError, match=r"'rules_sha256' should be a SHA-256 \(64 lower-case hex digits\), got 'abc'"):
        AuditedWith(rules_sha256="abc", model_sha256=None)
    with pytest.raises(StoreError, match="registry's 'sha256' should be a SHA-256"):
        village_registry(pd.DataFrame({"village_code": ["001"]}), sha256=RULES_SHA256.upper())
    with pytest.raises(StoreError, match="'user' should be an audit.records.access.User"):
        submit(store, report, [jpeg_bytes(3)], user="张三")
    assert inspections_table(store, user=SYSTEM).empty
    assert not list((data_dir / "photos").rglob("*.*"))  # every refusal came before a photo was written


def test_no_store_function_works_without_an_acting_user(store: Store, rules: Rules, tmp_path: Path) -> None:
    """The bypass is gone: every function of the store refuses a call without an acting identity, with None, and
    with the older free-text names; the server's own identity is recorded by its name."""
    from audit.records.accounts import set_password, set_role, sign_in_log_table, users_table
    from audit.records.inspections import photo_for_user, rounds_table
    from audit.records.ledger import rectification_progress

    data = jpeg_bytes(14)
    iid = submit(store, model_report(data, rules), [data], user=SYSTEM)
    plaque = inspection_from_store(store, iid, user=SYSTEM).plaques[0].id
    ledger = ledger_from_store(store, _registry(), user=SYSTEM)
    calls = {
        "submit_inspection": lambda **kw: submit_inspection(store, model_report(data, rules), [data],
                                                            registry=registry_of(), audited=AUDITED, **kw),
        "inspection_from_store": lambda **kw: inspection_from_store(store, iid, **kw),
        "inspections_table": lambda **kw: inspections_table(store, **kw),
        "review_log_table": lambda **kw: review_log_table(store, iid, **kw),
        "review_inspection": lambda **kw: review_inspection(store, iid, [ConfirmPlaque(plaque)], rules=rules, **kw),
        "create_round": lambda **kw: create_round(store, "第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), **kw),
        "rounds_table": lambda **kw: rounds_table(store, **kw),
        "ledger_from_store": lambda **kw: ledger_from_store(store, _registry(), **kw),
        "ledger_to_xlsx": lambda **kw: ledger_to_xlsx(ledger, tmp_path / "台账.xlsx", **kw),
        "rectification_progress": lambda **kw: rectification_progress(store, "001", **kw),
        "export_dataset": lambda **kw: export_dataset(store, tmp_path / "ds", rules=rules, **kw),
    }
    by_calls = {
        "add_user": lambda **kw: add_user(store, "newbie", "a long password", role="planner", **kw),
        "set_password": lambda **kw: set_password(store, "张三", "a long password", **kw),
        "set_role": lambda **kw: set_role(store, "张三", "planner", **kw),
        "disable_user": lambda **kw: disable_user(store, "张三", **kw),
        "users_table": lambda **kw: users_table(store, **kw),
        "sign_in_log_table": lambda **kw: sign_in_log_table(store, **kw),
    }
    staff(store, "张三", "城关镇")
    for param, group in (("user", calls), ("by", by_calls)):
        for call in group.values():
            with pytest.raises(TypeError, match=f"required keyword-only argument: '{param}'"):
                call()
            with pytest.raises(StoreError, match=r"^未指明操作人 \(no acting user\)"):
                call(**{param: None})
    with pytest.raises(StoreError, match="no acting user"):
        photo_for_user(store, None, inspection_from_store(store, iid, user=SYSTEM).photos[0].sha256)
    for legacy in ({"inspector": "张三"}, {"township": "城关镇"}, {"village_name": "王庄村"}):
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{next(iter(legacy))}'"):
            calls["submit_inspection"](user=SYSTEM, **legacy)
    with pytest.raises(TypeError, match="unexpected keyword argument 'reviewer'"):
        calls["review_inspection"](user=SYSTEM, reviewer="王五")

    # nothing was written by any refused call
    assert inspections_table(store, user=SYSTEM)["inspection_id"].tolist() == [iid]
    assert review_log_table(store, iid, user=SYSTEM).empty and rounds_table(store, user=SYSTEM).empty
    assert not (tmp_path / "台账.xlsx").exists() and not (tmp_path / "ds").exists()
    assert user_from_store(store, "张三").role == "inspector" and not user_from_store(store, "张三").disabled

    # the server's command line acts as SYSTEM, recorded by its name, which no account can take
    got = review_inspection(store, iid, [ConfirmPlaque(plaque)], user=SYSTEM, rules=rules)
    assert (got.inspector, got.reviewed_by) == ("系统（服务器命令行）", "系统（服务器命令行）") == (SYSTEM_NAME, SYSTEM_NAME)
    assert SYSTEM != User(SYSTEM_NAME, role="admin")  # a look-alike User is not the server


# ------------------------------------------------------------------------------------------- migrations
def test_migrations_upgrade_empty_database_and_are_idempotent(data_dir: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    s = open_store(data_dir=data_dir, migrate=False)
    assert schema_revision(s) is None
    assert sa.inspect(s.engine).get_table_names() == []
    head = ScriptDirectory.from_config(alembic_config(s)).get_current_head()
    upgrade(s)
    assert schema_revision(s) == head == HEAD
    tables = sorted(sa.inspect(s.engine).get_table_names())
    assert tables == sorted(["alembic_version", *metadata.tables])
    with s.engine.connect() as conn:  # the migrated schema is the one the queries describe
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    upgrade(s)
    open_store(data_dir=data_dir).close()
    assert schema_revision(s) == head
    assert sorted(sa.inspect(s.engine).get_table_names()) == tables
    assert _count(data_dir / DB_FILENAME, "SELECT count(*) FROM alembic_version") == 1
    s.close()


AUDITED_COLUMNS = ("rules_sha256", "model_sha256", "registry_sha256")


def legacy_inspection(store: Store, rules: Rules, data: bytes, *, inspector: str = "张三", township: str = "城关镇") -> str:
    """An inspection as the store wrote it before revision 0003: rows inserted with the older columns only (the
    free-text inspector, the caller's township, no hashes), its photo saved as the store saves one."""
    import uuid

    from audit.records.db import inspection_photos, inspections, photos, plaques, write_transaction
    from audit.records.photos import save_photo

    report = model_report(data, rules)
    iid, sha, at = uuid.uuid4().hex, report.photos[0].sha256, dt.datetime(2026, 11, 1, 9, 0)
    save_photo(store, sha, "jpg", data)
    with write_transaction(store) as conn:
        conn.execute(inspections.insert().values(
            id=iid, village_code="001", village_name="王庄村", township=township, inspector=inspector, inspected_at=at,
            round_id=None, model_report=report.model_dump_json(), summary=report.summary.model_dump_json(),
            verdict=report.summary.verdict, rules_version=report.rules_version, created_at=at))
        conn.execute(photos.insert().values(sha256=sha, ext="jpg", size_bytes=len(data), created_at=at))
        conn.execute(inspection_photos.insert().values(inspection_id=iid, idx=0, sha256=sha, name="门口.jpg",
                                                       side="external"))
        conn.execute(plaques.insert(), [{"inspection_id": iid, "photo_idx": 0, "origin": "model", "model_idx": j,
                                         "status": "unreviewed", "type": p.type, "kind": p.kind,
                                         "data": p.model_dump_json()} for j, p in enumerate(report.photos[0].plaques)])
    return iid


def _columns(store: Store) -> dict[str, dict]:
    return {c["name"]: c for c in sa.inspect(store.engine).get_columns("inspections")}


def test_migration_0003_upgrades_a_0002_database_with_data(data_dir: Path, rules: Rules) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    s = open_store(data_dir=data_dir, migrate=False)
    upgrade(s, "0002")
    assert schema_revision(s) == "0002" and not set(AUDITED_COLUMNS) & set(_columns(s))
    data = jpeg_bytes(40)
    old = legacy_inspection(s, rules, data)
    s.close()

    s = open_store(data_dir=data_dir)  # opening upgrades to head
    assert schema_revision(s) == HEAD
    columns = _columns(s)
    assert [(columns[c]["nullable"], str(columns[c]["type"])) for c in AUDITED_COLUMNS] == [(True, "VARCHAR(64)")] * 3
    with s.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    got = inspection_from_store(s, old, user=SYSTEM)  # the old row reads back, without hashes
    assert (got.inspector, got.township, got.rules_sha256, got.model_sha256, got.registry_sha256) == (
        "张三", "城关镇", None, None, None)
    assert [p.plaque for p in got.plaques] == model_report(data, rules).photos[0].plaques
    fresh = jpeg_bytes(41)
    new = submit(s, model_report(fresh, rules), [fresh], user=staff(s, "李四", "城关镇"))
    assert inspection_from_store(s, new, user=SYSTEM).registry_sha256 == registry_sha256(VILLAGES)

    with write_transaction(s) as conn:  # and back down: the columns go, every row stays
        command.downgrade(alembic_config(s, conn), "0002")
    assert schema_revision(s) == "0002" and not set(AUDITED_COLUMNS) & set(_columns(s))
    assert _count(data_dir / DB_FILENAME, "SELECT count(*) FROM inspections") == 2
    upgrade(s)
    assert schema_revision(s) == HEAD and inspection_from_store(s, new, user=SYSTEM).registry_sha256 is None
    s.close()
    assert_consistent(data_dir)


def test_registry_file_hash_and_township_come_from_the_file(store: Store, rules: Rules, sheet) -> None:
    path = sheet([["001", "王庄村", "城关镇", "某县", "否", 300, 200, 116.0, 39.0],
                  ["002", "李庄村", "柳林镇", "某县", "否", 300, 200, 116.1, 39.1]], name="本县名册.xlsx")
    registry = village_registry_from_file(path, rules=rules)
    assert (registry.sha256, registry.source) == (hashlib.sha256(path.read_bytes()).hexdigest(), "本县名册.xlsx")
    data = jpeg_bytes(42)
    # the report says nothing of a township; the village code alone files it under the registry's 柳林镇
    iid = submit(store, model_report(data, rules, code="002", name="李庄村"), [data], user=staff(store, "李四"),
                 registry=registry, audited=audited_with(rules_file=REPO / "audit" / "rules" / "default.toml",
                                                         model_file=None))
    got = inspection_from_store(store, iid, user=SYSTEM)
    assert (got.village_code, got.village_name, got.township) == ("002", "李庄村", "柳林镇")
    assert (got.registry_sha256, got.rules_sha256, got.model_sha256) == (registry.sha256, RULES_SHA256, None)
    assert audited_with(rules_file=b"version = 1", model_file=MODEL_FILE) == AuditedWith(
        hashlib.sha256(b"version = 1").hexdigest(), MODEL_SHA256)


# ----------------------------------------------------------------------------------------------- review
def test_review_logs_each_change_and_keeps_the_model_output(store: Store, rules: Rules) -> None:
    data = jpeg_bytes(5)
    report = model_report(data, rules)
    iid = submit(store, report, [data], user=staff(store, "张三"))
    before = inspection_from_store(store, iid, user=SYSTEM)
    wrong = next(p for p in before.plaques if p.plaque.bbox == [float(v) for v in BOXES["collective_economy"]])
    at = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
    after = review_inspection(store, iid, [CorrectPlaque(wrong.id, type="collective_economy")], user=staff(store, "王五"),
                                 at=at, rules=rules)

    log = review_log_table(store, iid, user=SYSTEM)
    typed = log[log["field"] == "type"]
    assert len(typed) == 1
    row = typed.iloc[0]
    assert (row["reviewer"], row["at"], row["plaque_id"]) == ("王五", at, wrong.id)
    assert (row["old_value"], row["new_value"]) == ("supervision_committee", "collective_economy")
    names = log[log["field"] == "name_zh"].iloc[0]
    assert (names["old_value"], names["new_value"]) == ("村务监督委员会", "村集体经济组织")

    assert after.original_json == before.original_json == report.model_dump_json()
    assert after.original.photos[0].plaques[5].type == "supervision_committee"
    fixed = next(p for p in after.plaques if p.id == wrong.id)
    assert (fixed.status, fixed.plaque.type, fixed.plaque.name_zh) == ("corrected", "collective_economy", "村集体经济组织")
    assert "duplicates" in report.summary.model_dump() and report.summary.duplicates == ["supervision_committee"]
    assert after.summary.duplicates == [] and "collective_economy" in after.summary.present
    assert (after.reviewed_by, after.reviewed_at) == ("王五", at)


def test_add_delete_correct_recompute_the_verdict(store: Store, rules: Rules) -> None:
    data = jpeg_bytes(6)
    report = model_report(data, rules)
    assert report.summary.verdict == "needs_rectification"
    assert set(report.summary.missing) == {"collective_economy", "militia"}
    iid = submit(store, report, [data], user=staff(store, "张三"))
    plaques = inspection_from_store(store, iid, user=SYSTEM).plaques
    by_box = {tuple(p.plaque.bbox): p for p in plaques}
    wrong = by_box[tuple(float(v) for v in BOXES["collective_economy"])]
    shop = by_box[tuple(float(v) for v in BOXES["shop_sign"])]
    others = [p for p in plaques if p.id not in (wrong.id, shop.id)]

    after = review_inspection(store, iid, [
        *(ConfirmPlaque(p.id) for p in others),
        CorrectPlaque(wrong.id, type="collective_economy"),
        DeletePlaque(shop.id),
        AddPlaque(0, "militia", BOXES["militia"]),
    ], user=staff(store, "王五"), rules=rules)
    assert after.summary.missing == [] and after.summary.unauthorised == [] and after.summary.duplicates == []
    assert after.verdict == after.summary.verdict == OUTSIDE_ONLY, after.summary.reasons
    assert [r[:len(INSIDE_NOT_PHOTOGRAPHED)] for r in after.summary.reasons] == [INSIDE_NOT_PHOTOGRAPHED]
    assert inspections_table(store, user=SYSTEM)["verdict"].tolist() == [OUTSIDE_ONLY]
    added = [p for p in after.plaques if p.origin == "inspector"]
    militia = [float(v) for v in BOXES["militia"]]
    assert [(p.status, p.plaque.type, p.plaque.bbox) for p in added] == [("added", "militia", militia)]
    assert added[0].plaque.style["background"]["status"] == "pass"  # style re-checked on the stored photo
    assert {p.status for p in after.plaques if p.id == shop.id} == {"deleted"}
    assert len(after.reviewed_report().photos[0].plaques) == len(report.photos[0].plaques)  # -1 deleted, +1 added
    log = review_log_table(store, iid, user=SYSTEM)
    assert sorted(set(log["field"])) == ["added", "confirmed", "deleted", "name_zh", "type"]
    assert (log["field"] == "confirmed").sum() == len(others)
    deleted = log[log["field"] == "deleted"].iloc[0]
    assert (deleted["plaque_id"], deleted["old_value"], deleted["new_value"]) == (shop.id, "false", "true")

    # deleting a real plaque makes it missing again
    party = next(p for p in after.plaques if p.plaque.type == "party_org")
    again = review_inspection(store, iid, [DeletePlaque(party.id)], user=staff(store, "赵六"), rules=rules)
    assert again.summary.missing == ["party_org"] and again.verdict == "needs_rectification"
    assert any("村党组织" in r for r in again.summary.reasons)


@pytest.mark.parametrize(("change", "message"), [
    (lambda ids: CorrectPlaque(ids[0], type="no_such_plaque"), "'type' should be one of"),
    (lambda ids: CorrectPlaque(ids[0], type="other_sign"), "kind"),
    (lambda ids: CorrectPlaque(ids[0], bbox=[0, 0, W + 10, 10]), "不在照片范围内"),
    (lambda ids: AddPlaque(3, "militia", [0, 0, 10, 10]), "photo_index should be"),
    (lambda ids: ConfirmPlaque(max(ids) + 1000), "no plaque"),
])
def test_bad_review_changes_are_refused_whole(store: Store, rules: Rules, change, message: str) -> None:
    data = jpeg_bytes(7)
    iid = submit(store, model_report(data, rules), [data], user=staff(store, "张三"))
    ids = [p.id for p in inspection_from_store(store, iid, user=SYSTEM).plaques]
    with pytest.raises(StoreError, match=message):
        review_inspection(store, iid, [DeletePlaque(ids[1]), change(ids)], user=staff(store, "王五"), rules=rules)
    got = inspection_from_store(store, iid, user=SYSTEM)  # the transaction rolled back: the delete did not happen either
    assert {p.status for p in got.plaques} == {"unreviewed"} and got.reviewed_at is None
    assert review_log_table(store, iid, user=SYSTEM).empty


# ------------------------------------------------------------------------------------ processes, crashes
def _writer(data_dir: str, tag: str, count: int, seed: int) -> None:
    """Writer process: ``count`` inspections, each with its own photo and one photo shared by all writers."""
    rules = load_rules()
    s = open_store(data_dir=data_dir)
    shared = jpeg_bytes(999)
    registry = registry_of([(f"{tag}-{i}", "王庄村", "城关镇") for i in range(count)])
    for i in range(count):
        own = jpeg_bytes(seed + i)
        base = model_report(own, rules, code=f"{tag}-{i}")
        second = model_report(shared, rules).photos[0].model_copy(update={"photo": "室内.jpg", "side": "internal",
                                                                          "plaques": []})
        report = base.model_copy(update={"photos": [base.photos[0], second]})
        submit(s, report, [own, shared], user=staff(s, tag), registry=registry)
    s.close()


def _reviewer(data_dir: str, tag: str, count: int, inspection_id: str) -> None:
    """Reviewer process: ``count`` reviews of one inspection, each adding a plaque (read, then write)."""
    rules = load_rules()
    s = open_store(data_dir=data_dir)
    for i in range(count):
        box = [10 + i * 30, 330, 30 + i * 30, 380]
        review_inspection(s, inspection_id, [AddPlaque(0, "other_sign", box, kind="unauthorised_sign",
                                                             text=f"{tag}{i}")], user=staff(s, tag), rules=rules)
    s.close()


def _spawn(data_dir: Path, tag: str, count: int, seed: int | str, env: dict[str, str] | None = None,
           role: str = "writer") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.test_store", role, str(data_dir), tag, str(count), str(seed)],
                            cwd=REPO, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.timeout(240)
def test_two_writer_processes_lose_nothing(data_dir: Path) -> None:
    open_store(data_dir=data_dir).close()  # two concurrent first opens are covered below as well
    procs = [_spawn(data_dir, tag, 20, seed) for tag, seed in (("甲", 1000), ("乙", 2000))]
    for p in procs:
        out, err = p.communicate(timeout=220)
        assert p.returncode == 0, err.decode()
    db = data_dir / DB_FILENAME
    assert _count(db, "SELECT count(*) FROM inspections") == 40
    assert _count(db, "SELECT count(DISTINCT village_code) FROM inspections") == 40
    assert _count(db, "SELECT count(*) FROM inspections WHERE inspector = '甲'") == 20
    assert _count(db, "SELECT count(*) FROM inspection_photos") == 80
    assert _count(db, "SELECT count(*) FROM plaques") == 40 * 7
    assert _count(db, "SELECT count(*) FROM photos") == 41  # 40 own photos + the shared one, stored once
    assert_consistent(data_dir)


@pytest.mark.timeout(240)
def test_two_reviewer_processes_on_one_inspection_lose_nothing(store: Store, data_dir: Path, rules: Rules) -> None:
    data = jpeg_bytes(13)
    iid = submit(store, model_report(data, rules), [data], user=staff(store, "张三"))
    procs = [_spawn(data_dir, tag, 10, iid, role="reviewer") for tag in ("甲", "乙")]
    for p in procs:
        out, err = p.communicate(timeout=220)
        assert p.returncode == 0, err.decode()
    got = inspection_from_store(store, iid, user=SYSTEM)
    added = sorted(p.plaque.text for p in got.plaques if p.origin == "inspector")
    assert added == sorted(f"{tag}{i}" for tag in ("甲", "乙") for i in range(10))
    log = review_log_table(store, iid, user=SYSTEM)
    assert (log["field"] == "added").sum() == 20 and sorted(set(log["reviewer"])) == ["乙", "甲"]
    assert len(got.summary.unauthorised) == 1 + 20  # the model's shop sign and every added sign
    assert_consistent(data_dir)


@pytest.mark.timeout(240)
def test_two_processes_creating_the_store_at_once(data_dir: Path) -> None:
    procs = [_spawn(data_dir, tag, 3, seed) for tag, seed in (("甲", 1000), ("乙", 2000))]
    for p in procs:
        out, err = p.communicate(timeout=220)
        assert p.returncode == 0, err.decode()
    assert _count(data_dir / DB_FILENAME, "SELECT count(*) FROM inspections") == 6
    assert _count(data_dir / DB_FILENAME, "SELECT count(*) FROM alembic_version") == 1


@pytest.mark.timeout(240)
def test_writer_killed_mid_submit_leaves_a_consistent_store(data_dir: Path, tmp_path: Path, rules: Rules) -> None:
    s = open_store(data_dir=data_dir)
    data = jpeg_bytes(8)
    kept = submit(s, model_report(data, rules), [data], user=staff(s, "张三"))
    s.close()

    marker = tmp_path / "paused"
    proc = _spawn(data_dir, "被杀", 1, 3000, env={PAUSE_BEFORE_COMMIT_ENV: str(marker)})
    deadline = time.monotonic() + 180
    while not marker.exists():  # the writer has written its rows and files and waits before the commit
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "writer never reached the commit"
        time.sleep(0.05)
    db = data_dir / DB_FILENAME
    assert _count(db, "SELECT count(*) FROM inspections") == 1  # uncommitted rows are invisible
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    s = open_store(data_dir=data_dir)
    assert inspections_table(s, user=SYSTEM)["inspection_id"].tolist() == [kept]
    assert _count(db, "SELECT count(*) FROM plaques") == 7 and _count(db, "SELECT count(*) FROM inspection_photos") == 1
    assert_consistent(data_dir)
    other = jpeg_bytes(9)  # the killed writer's lock is gone: the next writer goes through
    submit(s, model_report(other, rules), [other], user=staff(s, "李四"))
    s.close()
    assert _count(db, "SELECT count(*) FROM inspections") == 2
    assert_consistent(data_dir)


# ----------------------------------------------------------------------------------------------- ledger
def _registry() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"village_code": ["001", "002", "003", "004"],
                             "village_name": ["王庄村", "李庄村", "=cmd()", "赵庄村"],
                             "township": ["城关镇", "城关镇", "河口镇", "河口镇"]},
                            geometry=[Point(116.0, 39.0 + i / 100) for i in range(4)], crs="EPSG:4326")


def test_ledger_deadlines_and_villages_not_inspected(store: Store, rules: Rules, tmp_path: Path) -> None:
    cst = dt.timezone(dt.timedelta(hours=8))
    old = create_round(store, "2026年第三季度", dt.date(2026, 7, 1), dt.date(2026, 9, 30), user=SYSTEM)
    current = create_round(store, "2026年第四季度", dt.date(2026, 10, 1), dt.date(2026, 12, 31), user=SYSTEM)
    a = jpeg_bytes(10)
    bad = submit(store, model_report(a, rules), [a], user=staff(store, "张三"),
                 inspected_at=dt.datetime(2026, 11, 20, 23, 30, tzinfo=cst), round_id=current)
    fine = model_report(a, rules, code="002", name="李庄村", plaques=[
        official(t, rules) for t in ("party_org", "villagers_committee", "collective_economy", "supervision_committee",
                                     "militia", "service_centre_sign", "civilisation_station_sign")])
    assert fine.summary.verdict == OUTSIDE_ONLY
    submit(store, fine, [a], user=staff(store, "李四"), inspected_at=dt.datetime(2026, 8, 1, 9, tzinfo=cst),
           round_id=old)
    # no round given, but inspected within the current round's dates: it counts for that round
    submit(store, model_report(a, rules, code="004", name="赵庄村"), [a], user=staff(store, "李四"),
           inspected_at=dt.datetime(2026, 10, 2, 9, tzinfo=cst))
    # Filed against the county's previous registry: a village since gone from it is not in the ledger, nor one
    # whose code is not the current registry's; one that had no code then is found by its name (and township).
    previous = registry_of([("999", "外县村", "外县镇"), ("998", "李庄村", "城关镇"), (None, "=cmd()", "河口镇")])
    submit(store, model_report(a, rules, code="999", name="外县村"), [a], user=staff(store, "李四"), registry=previous)
    submit(store, model_report(a, rules, code="998", name="李庄村"), [a], user=staff(store, "李四"), registry=previous)
    nameonly = submit(store, model_report(a, rules, code=None, name="=cmd()"), [a], user=staff(store, "李四"),
                      registry=previous, inspected_at=dt.datetime(2026, 9, 1, 9, tzinfo=cst))
    stored = inspection_from_store(store, nameonly, user=SYSTEM)
    assert (stored.village_code, stored.township, stored.registry_sha256) == (None, "河口镇", previous.sha256)

    ledger = ledger_from_store(store, _registry(), as_of=dt.date(2026, 12, 25), user=SYSTEM)
    assert ledger["village_code"].tolist() == ["001", "002", "003", "004"]
    row = ledger.set_index("village_code").loc["001"]
    assert row["last_inspection_id"] == bad and row["verdict"] == "needs_rectification"
    assert row["deadline"] == dt.date(2026, 12, 20)  # 20 Nov (Beijing time, although 15:30 UTC) + 30 days
    assert bool(row["overdue"]) is True
    assert any("缺少" in r for r in row["open_problems"])
    assert row["round_name"] == "2026年第四季度"
    li = ledger.set_index("village_code").loc["002"]
    assert li["verdict"] == OUTSIDE_ONLY and li["deadline"] is None
    assert [r[:len(INSIDE_NOT_PHOTOGRAPHED)] for r in li["open_problems"]] == [INSIDE_NOT_PHOTOGRAPHED]
    assert villages_not_inspected(ledger)["village_code"].tolist() == ["002", "003"]
    assert ledger.set_index("village_code").loc["003", "last_inspection_id"] == nameonly

    earlier = ledger_from_store(store, _registry(), round_id=old, deadline_days=10, as_of=dt.date(2026, 11, 25),
                                user=SYSTEM)
    assert villages_not_inspected(earlier)["village_code"].tolist() == ["001", "004"]
    first = earlier.set_index("village_code").loc["001"]
    assert first["deadline"] == dt.date(2026, 11, 30) and bool(first["overdue"]) is False

    # a review that fixes everything closes the problems
    plaques = inspection_from_store(store, bad, user=SYSTEM).plaques
    wrong = next(p for p in plaques if p.plaque.bbox == [float(v) for v in BOXES["collective_economy"]])
    shop = next(p for p in plaques if p.plaque.kind == "unauthorised_sign")
    review_inspection(store, bad, [CorrectPlaque(wrong.id, type="collective_economy"), DeletePlaque(shop.id),
                                      AddPlaque(0, "militia", BOXES["militia"])], user=staff(store, "王五"), rules=rules)
    closed = ledger_from_store(store, _registry(), user=SYSTEM).set_index("village_code").loc["001"]
    assert closed["verdict"] == OUTSIDE_ONLY and closed["deadline"] is None and bool(closed["reviewed"]) is True

    with pytest.raises(AccessError, match="「孙七」（乡镇检查员）无权导出数据"):  # exporting is the county's
        ledger_to_xlsx(ledger, tmp_path / "不许.xlsx", user=staff(store, "孙七", "柳林镇"))
    assert not (tmp_path / "不许.xlsx").exists()
    path = ledger_to_xlsx(ledger, tmp_path / "台账.xlsx", user=User("wangwu", role="admin", display_name="王五"),
                          now=dt.datetime(2026, 11, 27, 16, 5, tzinfo=dt.UTC))
    note = openpyxl.load_workbook(path)["挂牌台账"].cell(row=len(ledger) + 3, column=1).value
    assert note == "导出人：王五（wangwu）；导出时间：2026-11-28 00:05（北京时间）"
    wb = openpyxl.load_workbook(path)
    ws = wb["挂牌台账"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["村代码", "村名", "乡镇（街道）"] and "整改期限" in headers and "本轮是否已核查" in headers
    assert ws.freeze_panes == "A2"
    rows = {r[0]: dict(zip(headers, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["001"]["整改期限"] == "2026-12-20" and rows["001"]["核查结论"] == "需要整改"
    assert rows["001"]["最近核查时间"] == "2026-11-20 23:30"
    assert rows["003"]["村名"] == "=cmd()" and ws.cell(row=4, column=2).data_type == "s"
    assert rows["003"]["最近核查时间"] == "2026-09-01 09:00"
    assert rows["002"]["整改期限"] is None and rows["002"]["本轮是否已核查"] == "否"
    assert [r[0] for r in wb["本轮未核查"].iter_rows(min_row=2, values_only=True)] == ["002", "003"]


def test_ledger_without_rounds(store: Store) -> None:
    ledger = ledger_from_store(store, _registry(), user=SYSTEM)
    assert ledger["inspected_in_round"].isna().all() and ledger["last_inspection_id"].isna().all()
    assert len(villages_not_inspected(ledger)) == 4
    with pytest.raises(StoreError, match="no round 'nope'"):
        ledger_from_store(store, _registry(), round_id="nope", user=SYSTEM)


# ---------------------------------------------------------------------------------------------- dataset
def test_export_dataset_writes_valid_yolo_labels(store: Store, rules: Rules, tmp_path: Path) -> None:
    a, b = jpeg_bytes(11), jpeg_bytes(12)
    reviewed = submit(store, model_report(a, rules), [a], user=staff(store, "张三"))
    submit(store, model_report(b, rules), [b], user=staff(store, "张三"))  # not reviewed: not exported
    plaques = inspection_from_store(store, reviewed, user=SYSTEM).plaques
    shop = next(p for p in plaques if p.plaque.kind == "unauthorised_sign")
    wrong = next(p for p in plaques if p.plaque.bbox == [float(v) for v in BOXES["collective_economy"]])
    changes = [ConfirmPlaque(p.id) for p in plaques if p.id not in (shop.id, wrong.id)]
    changes += [DeletePlaque(shop.id), CorrectPlaque(wrong.id, type="collective_economy"),
                AddPlaque(0, "other_sign", [440, 300, 600, 380], kind="honour", text="文明村"),
                AddPlaque(0, "other_sign", [20, 20, 200, 80], kind="background", text="便民超市")]
    review_inspection(store, reviewed, changes, user=staff(store, "王五"), rules=rules)
    assert any(p.plaque.name_zh == "招牌或标语（不计入）" and p.plaque.authorised is None
               for p in inspection_from_store(store, reviewed, user=SYSTEM).plaques)

    with pytest.raises(AccessError, match="导出数据"):
        export_dataset(store, tmp_path / "no", rules=rules, user=staff(store, "孙七", "城关镇"))
    assert not (tmp_path / "no").exists()
    at = dt.datetime(2026, 11, 27, 14, 30, 5, 123, tzinfo=dt.UTC)
    data_yaml = export_dataset(store, tmp_path / "ds", rules=rules, user=staff(store, "县管理员"), now=at)
    text = data_yaml.read_text(encoding="utf-8")
    assert text.isascii() and "0: strip" in text and "2: identity" in text and "3: honour" in text
    meta = yaml.safe_load(text)
    assert (meta["exported_by"], meta["exported_at"]) == ("县管理员", "2026-11-27T14:30:05+00:00")
    readme = (tmp_path / "ds" / "README.txt").read_text(encoding="utf-8")
    assert "导出人 (exported by): 县管理员" in readme and "2026-11-27T14:30:05+00:00" in readme
    images = sorted((tmp_path / "ds" / "images").iterdir())
    labels = sorted((tmp_path / "ds" / "labels").iterdir())
    sha = inspection_from_store(store, reviewed, user=SYSTEM).photos[0].sha256
    assert [p.name for p in images] == [f"{sha}.jpg"] and [p.name for p in labels] == [f"{sha}.txt"]
    lines = labels[0].read_text(encoding="ascii").splitlines()
    assert len(lines) == 5 + 1 + 1  # 5 confirmed, 1 corrected, 1 added; the deleted sign and the shop's are not
    classes = []
    for line in lines:
        parts = line.split()
        assert len(parts) == 5
        classes.append(int(parts[0]))
        values = [float(v) for v in parts[1:]]
        assert all(0.0 <= v <= 1.0 for v in values) and values[2] > 0 and values[3] > 0
    names = ["strip", "plaque", "identity", "honour"]
    assert sorted(names[c] for c in classes) == ["honour", "identity", "identity", "strip", "strip", "strip", "strip"]
    party = next(ln for ln in lines if ln.startswith("0 "))
    cx, cy, w, h = (float(v) for v in party.split()[1:])
    x1, y1, x2, y2 = BOXES["party_org"]
    assert (cx, cy, w, h) == pytest.approx(((x1 + x2) / 2 / W, (y1 + y2) / 2 / H, (x2 - x1) / W, (y2 - y1) / H), abs=1e-6)
    with Image.open(images[0]) as img:
        assert img.size == (W, H)


def test_reviewed_photos_exported_make_a_fine_tuning_set(store: Store, rules: Rules, tmp_path: Path) -> None:
    """The store's own export feeds `audit train --real` (audit.model.training.dataset_from_reviewed)."""
    from audit.model.training import dataset_from_reviewed

    for seed in (21, 22, 23):
        data = jpeg_bytes(seed)
        iid = submit(store, model_report(data, rules), [data], user=staff(store, "张三"))
        found = inspection_from_store(store, iid, user=SYSTEM).plaques
        review_inspection(store, iid, [ConfirmPlaque(p.id) for p in found], user=staff(store, "王五"), rules=rules)
    export_dataset(store, tmp_path / "ds", rules=rules, user=staff(store, "县管理员"))
    data_yaml = dataset_from_reviewed([tmp_path / "ds"], tmp_path / "mix", synthetic_per_real=0)
    linked = {split: sorted((tmp_path / "mix" / "real" / "images" / split).iterdir()) for split in ("train", "val")}
    assert len(linked["train"]) + len(linked["val"]) == 3 and linked["train"] and linked["val"]
    for split, photos in linked.items():
        for photo in photos:  # each link is an exported photo, beside the labels the export wrote for it
            exported = photo.resolve()
            assert exported.parent == (tmp_path / "ds" / "images").resolve()
            label = (tmp_path / "mix" / "real" / "labels" / split / f"{photo.stem}.txt").read_text(encoding="ascii")
            assert label == (tmp_path / "ds" / "labels" / f"{exported.stem}.txt").read_text(encoding="ascii")
            assert len(label.splitlines()) == 7  # every board the engine reported, confirmed
    assert "val: real/images/val" in data_yaml.read_text(encoding="utf-8")



# ------------------------------------------------------------------------------------------- PostgreSQL
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["postgresql"])  # open_store(url) named explicitly
def test_postgresql_store_works_the_same(pg_url: str, data_dir: Path, rules: Rules) -> None:
    s = open_store(pg_url, data_dir=data_dir)
    assert s.engine.dialect.name == "postgresql" and schema_revision(s) == HEAD
    upgrade(s)
    data = jpeg_bytes(20)
    iid = submit(s, model_report(data, rules), [data], user=staff(s, "张三"))
    plaques = inspection_from_store(s, iid, user=SYSTEM).plaques
    wrong = next(p for p in plaques if p.plaque.bbox == [float(v) for v in BOXES["collective_economy"]])
    shop = next(p for p in plaques if p.plaque.kind == "unauthorised_sign")
    after = review_inspection(s, iid, [CorrectPlaque(wrong.id, type="collective_economy"), DeletePlaque(shop.id),
                                          AddPlaque(0, "militia", BOXES["militia"])], user=staff(s, "王五"), rules=rules)
    assert after.verdict == OUTSIDE_ONLY and len(review_log_table(s, iid, user=SYSTEM)) == 4
    s.close()

    procs = [_spawn(data_dir, tag, 20, seed, env={DB_URL_ENV: pg_url}) for tag, seed in (("甲", 1000), ("乙", 2000))]
    for p in procs:
        out, err = p.communicate(timeout=220)
        assert p.returncode == 0, err.decode()
    s = open_store(pg_url, data_dir=data_dir)
    with s.engine.connect() as conn:
        count = {t: conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[t])).scalar()
                 for t in ("inspections", "inspection_photos", "photos", "plaques")}
    assert count == {"inspections": 41, "inspection_photos": 81, "photos": 42, "plaques": 7 + 1 + 40 * 7}
    ledger = ledger_from_store(s, _registry(), user=SYSTEM)
    assert ledger.set_index("village_code").loc["001", "last_inspection_id"] == iid
    s.close()

if __name__ == "__main__":  # writer process for the concurrency and crash tests
    if sys.argv[1:2] == ["writer"]:
        _writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1:2] == ["reviewer"]:
        _reviewer(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
