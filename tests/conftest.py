"""Shared fixtures: rules, small real sheets written with openpyxl, and a network that refuses the outside."""

from __future__ import annotations

import socket
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
