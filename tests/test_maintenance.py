"""Keeping the store whole: `audit store check [--repair]`, `audit backup` / `audit restore` (real SQLite files
and real JPEG photos in tmp_path)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli.main import app
from audit.errors import StoreError
from audit.records.access import SYSTEM
from audit.records.db import DB_FILENAME, open_store, write_transaction
from audit.records.inspections import inspection_from_store
from audit.records.maintenance import (
    MANIFEST,
    _remove_if_unreferenced,
    backup_store,
    check_store,
    restore_store,
    verify_backup,
)
from tests.test_store import jpeg_bytes, model_report, staff, submit

runner = CliRunner()
OLD = dt.timedelta(hours=2)


@pytest.fixture
def stocked(fresh_store, rules, monkeypatch):
    """A store holding two inspections (three photos) in a fresh data directory."""
    monkeypatch.setenv("VILLAGE_AUDIT_BCRYPT_ROUNDS", "4")
    inspector = staff(fresh_store, "张三", "城关镇")
    ids = []
    for seeds in ((1,), (2, 3)):
        data = [jpeg_bytes(s) for s in seeds]
        report = model_report(data[0], rules)
        if len(data) > 1:   # a second photo of the same village
            extra = report.photos[0].model_copy(update={"photo": "侧面.jpg",
                                                        "sha256": hashlib.sha256(data[1]).hexdigest()})
            report = report.model_copy(update={"photos": [*report.photos, extra]})
        ids.append(submit(fresh_store, report, data, user=inspector))
    return fresh_store, ids


def photo_files(store) -> list[Path]:
    return sorted(p for p in (store.data_dir / "photos").rglob("*") if p.is_file())


def age(path: Path, delta: dt.timedelta = OLD) -> Path:
    when = (dt.datetime.now() - delta).timestamp()
    os.utime(path, (when, when))
    return path


def leftovers(store) -> tuple[Path, Path, Path, Path]:
    """An old and a young temporary file, an old unreferenced photo, a file the store did not name."""
    folder = store.data_dir / "photos" / "ab"
    folder.mkdir(parents=True, exist_ok=True)
    old_tmp = folder / ".incoming-x1.tmp"
    old_tmp.write_bytes(b"half a photo")
    age(old_tmp)
    young_tmp = folder / ".incoming-x2.tmp"
    young_tmp.write_bytes(b"a photo being written")
    data = jpeg_bytes(99)
    sha = hashlib.sha256(data).hexdigest()
    orphan = store.data_dir / "photos" / sha[:2] / f"{sha}.jpg"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(data)
    age(orphan)
    unknown = folder / "notes.txt"
    unknown.write_text("kept")
    return old_tmp, young_tmp, orphan, unknown


def test_a_clean_store_checks_out(stocked):
    store, _ = stocked
    result = check_store(store)
    assert result.integrity == ["ok"] and result.healthy
    assert result.temp_files == result.orphan_photos == result.missing_photos == result.unknown_files == []
    assert len(photo_files(store)) == 3


def test_leftovers_are_reported_then_removed_and_held_photos_never(stocked):
    store, ids = stocked
    held = photo_files(store)
    for path in held:
        age(path, dt.timedelta(days=400))          # however old, a photo an inspection holds stays
    old_tmp, young_tmp, orphan, unknown = leftovers(store)

    found = check_store(store)
    assert found.temp_files == [old_tmp] and found.orphan_photos == [orphan]
    assert found.young == [young_tmp] and found.unknown_files == [unknown]
    assert not found.healthy and found.removed == []
    assert old_tmp.exists() and orphan.exists()    # a check alone removes nothing

    repaired = check_store(store, repair=True)
    assert sorted(repaired.removed) == sorted([old_tmp, orphan])
    assert repaired.healthy
    assert not old_tmp.exists() and not orphan.exists()
    assert young_tmp.exists() and unknown.exists()
    assert all(p.exists() for p in held)
    reader = staff(store, "管理员")
    assert [len(inspection_from_store(store, i, user=reader).photos) for i in ids] == [1, 2]


def test_a_photo_that_became_referenced_is_not_removed(stocked):
    """The last look under the write lock: a file a row holds by then is kept."""
    store, _ = stocked
    path = photo_files(store)[0]
    assert _remove_if_unreferenced(store, path) is False
    assert path.exists()


def test_inspections_whose_photos_are_missing(stocked):
    store, ids = stocked
    lost = photo_files(store)[0]
    lost.unlink()
    result = check_store(store, repair=True)
    [missing] = result.missing_photos
    assert missing.path == lost and missing.inspection_id in ids and missing.village == "王庄村"
    assert missing.sha256 == lost.stem
    assert not result.healthy and result.removed == []


def test_a_damaged_database_is_reported(stocked):
    store, _ = stocked
    store.close()
    db = store.data_dir / DB_FILENAME
    with sqlite3.connect(db) as con:                # fold the WAL in, so that the damage lands in the pages read
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(db.read_bytes())
    page = 4096
    for p in range(2, len(raw) // page):
        raw[p * page + 100:p * page + 400] = b"\xa5" * 300
    db.write_bytes(bytes(raw))
    result = runner.invoke(app, ["store", "check", "--data-dir", str(store.data_dir)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "数据库完整性：异常" in result.output or "错误：" in result.output


def test_store_check_command(stocked):
    store, _ = stocked
    args = ["store", "check", "--data-dir", str(store.data_dir)]
    clean = runner.invoke(app, args)
    assert clean.exit_code == 0, clean.output
    assert "数据库完整性：正常" in clean.output and "结论：存储完好" in clean.output
    old_tmp, _, orphan, _ = leftovers(store)
    found = runner.invoke(app, args)
    assert found.exit_code == 2
    assert "中断写入留下的临时文件（未清理（加 --repair 清理））：1 个" in found.output
    assert f"  {orphan}" in found.output
    repaired = runner.invoke(app, [*args, "--repair"])
    assert repaired.exit_code == 0, repaired.output
    assert "已删除 2 个文件" in repaired.output and not orphan.exists() and not old_tmp.exists()


def test_backup_restores_into_a_fresh_directory_that_opens(stocked, tmp_path, rules):
    store, ids = stocked
    reader = staff(store, "管理员")
    before = {i: inspection_from_store(store, i, user=reader) for i in ids}
    made = backup_store(store, tmp_path / "backup")
    assert (made.photos, made.files) == (3, len(list((store.data_dir).rglob("*.jpg"))))
    assert verify_backup(tmp_path / "backup") == []

    fresh = tmp_path / "restored"
    restore_store(tmp_path / "backup", fresh)
    restored = open_store(data_dir=fresh)
    try:
        for i in ids:
            got = inspection_from_store(restored, i, user=reader)
            assert (got.village_name, got.township, got.verdict) == (before[i].village_name, before[i].township,
                                                                     before[i].verdict)
            assert [p.path.read_bytes() for p in got.photos] == [p.path.read_bytes() for p in before[i].photos]
        assert check_store(restored).healthy
    finally:
        restored.close()


def test_backup_while_another_connection_writes(stocked, tmp_path):
    """The online backup copies what is committed; a writer holding the lock meanwhile is not disturbed."""
    store, ids = stocked
    started, release = threading.Event(), threading.Event()

    def writer():
        with write_transaction(store) as conn:
            conn.exec_driver_sql("UPDATE inspections SET village_name = '写入中' WHERE id = ?", (ids[0],))
            started.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    started.wait(10)
    try:
        backup_store(store, tmp_path / "b")
    finally:
        release.set()
        t.join()
    with sqlite3.connect(tmp_path / "b" / DB_FILENAME) as con:
        names = {r[0] for r in con.execute("SELECT village_name FROM inspections")}
    assert names == {"王庄村"}


def test_backup_and_restore_refuse_what_would_lose_data(stocked, tmp_path):
    store, _ = stocked
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(StoreError, match="备份目录不是空文件夹"):
        backup_store(store, busy)
    with pytest.raises(StoreError, match="备份目录不能位于数据目录之内"):
        backup_store(store, store.data_dir / "inside")
    backup_store(store, tmp_path / "b")
    with pytest.raises(StoreError, match="恢复目标不是空文件夹"):
        restore_store(tmp_path / "b", store.data_dir)


def test_a_damaged_backup_is_not_restored(stocked, tmp_path):
    store, _ = stocked
    backup_store(store, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / MANIFEST).read_text(encoding="utf-8"))
    photo = next(rel for rel in manifest["files"] if rel.startswith("photos/"))
    (tmp_path / "b" / photo).write_bytes(b"not the photo")
    with pytest.raises(StoreError, match=f"文件 {photo} 与备份清单不符"):
        restore_store(tmp_path / "b", tmp_path / "new")
    (tmp_path / "b" / photo).unlink()
    assert f"缺少文件 {photo}" in verify_backup(tmp_path / "b")
    assert not (tmp_path / "new").exists() or not any((tmp_path / "new").iterdir())


def test_backup_and_restore_commands(stocked, tmp_path):
    store, ids = stocked
    made = runner.invoke(app, ["backup", str(tmp_path / "b"), "--data-dir", str(store.data_dir)])
    assert made.exit_code == 0, made.output
    assert "已备份到" in made.output and "其中照片 3 张" in made.output
    again = runner.invoke(app, ["backup", str(tmp_path / "b"), "--data-dir", str(store.data_dir)])
    assert again.exit_code == 2 and "错误：备份目录不是空文件夹" in again.output
    back = runner.invoke(app, ["restore", str(tmp_path / "b"), "--data-dir", str(tmp_path / "new")])
    assert back.exit_code == 0, back.output
    restored = open_store(data_dir=tmp_path / "new")
    try:
        got = inspection_from_store(restored, ids[1], user=SYSTEM)   # the server's command line reads any
        assert len(got.photos) == 2 and all(p.path.is_file() for p in got.photos)
    finally:
        restored.close()
