"""Shared fixtures: rules, small real sheets written with openpyxl, and a network that refuses the outside."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import openpyxl
import pytest

from audit.rules import Rules, load_rules

HEADERS = ["村代码", "村名", "乡镇", "县（市、区）", "是否中心村", "户数", "党群服务中心面积", "经度", "纬度"]


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


def write_xlsx(path: Path, rows: list[list[object]], *, title: str | None = None,
               headers: list[str] = HEADERS) -> Path:
    """A real workbook: an optional title row, the header row, then the rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for cells in ws.iter_rows():
        for cell in cells:  # a village literally named "=cmd()" is text in the registry, not a formula
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    wb.save(path)
    return path


@pytest.fixture
def sheet(tmp_path: Path):
    """Factory: sheet(rows, title=None, headers=HEADERS, name="r.xlsx") → path of a real XLSX file."""
    def make(rows: list[list[object]], *, title: str | None = None, headers: list[str] = HEADERS,
             name: str = "registry.xlsx") -> Path:
        return write_xlsx(tmp_path / name, rows, title=title, headers=headers)
    return make


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every connection except loopback, so that anything reaching out fails at once."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
            return real_connect(self, address)
        raise OSError(f"network disabled in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty inspection store in a temporary data directory (no database URL from the environment)."""
    from audit.records.db import open_store

    monkeypatch.setenv("VILLAGE_AUDIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VILLAGE_AUDIT_DB_URL", raising=False)
    store = open_store()
    yield store
    store.close()


# ------------------------------------------------------------------------------------------- PostgreSQL
# The store suites run against SQLite (the embedded default) and PostgreSQL. The server is named by
# VILLAGE_AUDIT_TEST_PG_URL (`make postgres` starts Debian's postgresql and prints it; .ci/run sets both). Without
# one the PostgreSQL cases are skipped, loudly; with CI_REQUIRE_POSTGRES=1 (set in .ci/run) that is a failure.
PG_URL_ENV = "VILLAGE_AUDIT_TEST_PG_URL"
PG_REQUIRED_ENV = "CI_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", "postgresql")


def _no_postgres(why: str) -> None:
    if os.environ.get(PG_REQUIRED_ENV, "") not in ("", "0"):
        pytest.fail(f"{PG_REQUIRED_ENV} is set but {why}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {why} (run `make postgres` and set {PG_URL_ENV})")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server of VILLAGE_AUDIT_TEST_PG_URL, after checking that it answers."""
    import sqlalchemy as sa

    base = os.environ.get(PG_URL_ENV)
    if not base:
        _no_postgres(f"{PG_URL_ENV} is not set (a URL with a driver, e.g. postgresql+psycopg://user:pw@127.0.0.1/db)")
    try:
        engine = sa.create_engine(base)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure to reach it is the same answer
        _no_postgres(f"the server of {PG_URL_ENV} does not answer: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return base


@pytest.fixture
def pg_url(pg_server_url: str):
    """A database URL on a fresh, empty schema of the test server (dropped afterwards), for this test only."""
    import uuid

    import sqlalchemy as sa

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = sa.make_url(pg_server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store's database: ``sqlite`` or ``postgresql`` (parametrise with ``["sqlite"]`` for SQLite-only tests)."""
    return request.param


@pytest.fixture
def backend_url(backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The database URL of ``backend``, also set as VILLAGE_AUDIT_DB_URL (so that open_store() and the writer
    processes a test starts use it); None for SQLite, whose file is the data directory's."""
    monkeypatch.delenv("VILLAGE_AUDIT_DB_URL", raising=False)
    if backend == "sqlite":
        return None
    url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("VILLAGE_AUDIT_DB_URL", url)
    return url


@pytest.fixture(autouse=True)
def _process_globals_restored():
    """Libraries that change the whole process are undone after each test: Streamlit's AppTest runs the app as
    ``__main__`` and leaves it there (a later test's spawned workers — signs-batch, Dask nannies — would run the app
    and die), and importing Ultralytics replaces ``PIL.Image.open`` (the intake's errors would change)."""
    from PIL import Image

    main, pil_open = sys.modules["__main__"], Image.open
    yield
    sys.modules["__main__"], Image.open = main, pil_open

