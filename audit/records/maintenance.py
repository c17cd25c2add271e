"""Keeping the store whole: checking it (and cleaning what interrupted work left behind), and backing up and
restoring the whole data directory.

:func:`check_store` reports

* the SQLite database's own ``PRAGMA integrity_check`` and ``foreign_key_check``;
* temporary files (``photos/**/.incoming-*.tmp``) that an interrupted photo write left;
* photo files that no stored photo row refers to (a submission interrupted between its files and its commit);
* inspections whose photo files are missing (restore them from a backup: nothing here can make a photo again);
* files under ``photos/`` that the store did not name (reported, never touched).

``repair=True`` removes the first two kinds, only when older than ``grace`` (a submission in progress writes its
files seconds before its commit), and removes each photo file under the database's write lock after looking again
that no row refers to it. A photo that an inspection holds is never removed.

:func:`backup_store` copies the data directory into a new folder while the app runs: the database through
SQLite's online backup API (a consistent snapshot), then every other file; photos are copied after the snapshot,
so each inspection in it has its photos. :func:`restore_store` checks a backup and copies it into an empty data
directory, which :func:`audit.records.db.open_store` then opens (upgrading an older schema).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from audit.errors import StoreError
from audit.records.db import DB_FILENAME, Store, inspection_photos, inspections, photos, private_dir, write_transaction
from audit.records.photos import photo_path

GRACE = dt.timedelta(hours=1)   # younger files may belong to a submission that has not committed yet
MANIFEST = "backup-manifest.json"
_PHOTO_NAME = re.compile(r"^([0-9a-f]{64})\.(jpg|png|webp|heic)$")
_TEMP_NAME = re.compile(r"^\.incoming-.*\.tmp$")
_DB_FILES = (DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", f"{DB_FILENAME}-journal")


@dataclass(frozen=True)
class MissingPhoto:
    """A photo an inspection holds whose file is gone."""

    inspection_id: str
    village: str
    photo: str
    sha256: str
    path: Path


@dataclass
class StoreCheck:
    """What :func:`check_store` found, and what it removed."""

    integrity: list[str]
    temp_files: list[Path] = field(default_factory=list)
    orphan_photos: list[Path] = field(default_factory=list)
    missing_photos: list[MissingPhoto] = field(default_factory=list)
    unknown_files: list[Path] = field(default_factory=list)
    young: list[Path] = field(default_factory=list)      # candidates left alone: younger than the grace period
    removed: list[Path] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Nothing wrong is left (after a repair: nothing that a repair could not remove)."""
        left = [p for p in self.temp_files + self.orphan_photos if p not in self.removed]
        return self.integrity == ["ok"] and not left and not self.missing_photos


def _sqlite_file(store: Store) -> Path | None:
    url = store.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _integrity(store: Store) -> list[str]:
    if store.engine.dialect.name != "sqlite":
        return ["ok"]   # PostgreSQL checks its own pages; nothing to ask here
    try:
        with store.engine.connect() as conn:
            rows = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
            fk = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    except sa.exc.DBAPIError as exc:
        return [f"数据库无法读取：{exc.orig}"]
    rows += [f"外键不一致：表 {r[0]} 第 {r[1]} 行引用 {r[2]} 中不存在的记录" for r in fk]
    return rows or ["ok"]


def _held(conn: sa.Connection) -> set[tuple[str, str]]:
    """(sha256, ext) of every photo row: the files the store keeps."""
    return {(r.sha256, r.ext) for r in conn.execute(sa.select(photos.c.sha256, photos.c.ext))}


def _old(path: Path, now: float, grace: dt.timedelta) -> bool:
    try:
        return now - path.stat().st_mtime >= grace.total_seconds()
    except FileNotFoundError:
        return False


def check_store(store: Store, *, repair: bool = False, grace: dt.timedelta = GRACE) -> StoreCheck:
    """Check the store's database and photo files; with ``repair``, remove leftover temporary files and photo
    files no row refers to (older than ``grace``). See the module docstring for what is looked at.

    Raises
    ------
    StoreError
        The database cannot be read at all (the check then says why).
    """
    result = StoreCheck(integrity=_integrity(store))
    root = store.data_dir / "photos"
    clock = time.time()
    try:
        with store.engine.connect() as conn:
            held = _held(conn)
            rows = conn.execute(
                sa.select(inspection_photos.c.inspection_id, inspection_photos.c.name, inspection_photos.c.sha256,
                          photos.c.ext, inspections.c.village_name)
                .join(photos, photos.c.sha256 == inspection_photos.c.sha256)
                .join(inspections, inspections.c.id == inspection_photos.c.inspection_id)
                .order_by(inspection_photos.c.inspection_id, inspection_photos.c.idx)).all()
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"数据库无法读取，无法检查照片：{exc.orig}") from None
    for r in rows:
        path = photo_path(store, r.sha256, r.ext)
        if not path.is_file():
            result.missing_photos.append(MissingPhoto(r.inspection_id, r.village_name or "", r.name, r.sha256, path))
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_dir():
                continue
            m = _PHOTO_NAME.match(path.name)
            if _TEMP_NAME.match(path.name):
                (result.temp_files if _old(path, clock, grace) else result.young).append(path)
            elif m and path.parent == root / m.group(1)[:2]:
                if (m.group(1), m.group(2)) not in held:
                    (result.orphan_photos if _old(path, clock, grace) else result.young).append(path)
            else:
                result.unknown_files.append(path)
    if repair:
        for path in result.temp_files:
            path.unlink(missing_ok=True)
            result.removed.append(path)
        for path in result.orphan_photos:
            if _remove_if_unreferenced(store, path, grace=grace):
                result.removed.append(path)
    return result


def _remove_if_unreferenced(store: Store, path: Path, *, grace: dt.timedelta = GRACE) -> bool:
    """Delete a photo file under the write lock (no submission commits meanwhile), after looking once more that
    no row holds it and that it is still old (a file written again since is a submission's)."""
    m = _PHOTO_NAME.match(path.name)
    with write_transaction(store) as conn:
        row = conn.execute(sa.select(photos.c.sha256).where(photos.c.sha256 == m.group(1),
                                                             photos.c.ext == m.group(2))).first()
        if row is not None or not _old(path, time.time(), grace):
            return False
        path.unlink(missing_ok=True)
    return True


# ------------------------------------------------------------------------------------------ backup / restore
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_database(src: Path, dst: Path) -> None:
    """SQLite's online backup: a consistent copy even while others write (they wait or the copy restarts)."""
    if not src.is_file():
        raise StoreError(f"数据库文件不存在：{src}")
    source = sqlite3.connect(src)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")   # a single self-contained file
    finally:
        target.close()
        source.close()


def _database_ok(path: Path) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        con.close()
    return rows


def _files(root: Path, *, skip: tuple[str, ...] = ()) -> list[Path]:
    """Regular files under ``root`` (relative), without the database, temporary files and links."""
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_symlink() or not path.is_file() or _TEMP_NAME.match(path.name):
            continue
        if len(rel.parts) == 1 and (rel.name in _DB_FILES or rel.name in skip):
            continue
        out.append(rel)
    return out


@dataclass(frozen=True)
class Backup:
    """A backup folder: its database, its other files (photos, county data) and when it was made."""

    folder: Path
    made_at: str
    files: int
    photos: int
    bytes: int


def backup_store(store: Store, target: str | Path, *, now: dt.datetime | None = None) -> Backup:
    """Back up the store's whole data directory into ``target`` (a new or empty folder).

    Raises
    ------
    StoreError
        The database is not a SQLite file (back up PostgreSQL with its own tools), ``target`` is not empty, or
        the copy does not check out (its database's integrity, an inspection's photo missing from it).
    """
    db = _sqlite_file(store)
    if db is None:
        raise StoreError(f"备份只支持 SQLite 数据库；当前数据库为 {store.url}，请用数据库自身的备份工具（如 pg_dump）")
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise StoreError(f"备份目录不是空文件夹：{target}（为防止覆盖，请指定新的或空的文件夹）")
    data_dir = store.data_dir.resolve()
    if target.resolve().is_relative_to(data_dir):
        raise StoreError(f"备份目录不能位于数据目录之内：{target}")
    private_dir(target)
    _copy_database(db, target / DB_FILENAME)           # the snapshot first: every photo it refers to exists
    manifest: dict[str, object] = {"made_at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
                                   "database": DB_FILENAME, "files": {}}
    files: dict[str, dict[str, object]] = {}
    for rel in _files(data_dir, skip=(MANIFEST,)):
        dst = target / rel
        private_dir(dst.parent)
        try:
            shutil.copy2(data_dir / rel, dst)
        except FileNotFoundError:
            continue   # removed meanwhile (an orphan cleaned by a check): the snapshot does not hold it
        files[rel.as_posix()] = {"bytes": dst.stat().st_size, "sha256": _sha256(dst)}
    manifest["files"] = files
    manifest["database_sha256"] = _sha256(target / DB_FILENAME)
    problems = verify_backup(target, manifest=manifest)
    if problems:
        raise StoreError(f"备份 {target} 校验未通过：{'；'.join(problems[:5])}")
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return Backup(target, str(manifest["made_at"]), len(files), sum(1 for f in files if f.startswith("photos/")),
                  sum(int(v["bytes"]) for v in files.values()))


def _photos_in(db: Path) -> list[tuple[str, str, str]]:
    """(inspection id, sha256, ext) of every photo an inspection in a database file holds."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in con.execute(
            "SELECT ip.inspection_id, ip.sha256, p.ext FROM inspection_photos ip JOIN photos p ON p.sha256 = ip.sha256")]
    finally:
        con.close()


def verify_backup(folder: str | Path, *, manifest: dict | None = None) -> list[str]:
    """What is wrong with a backup folder (empty when it checks out): its manifest, its files' hashes, its
    database's integrity and a photo for every inspection's photo."""
    folder = Path(folder)
    if manifest is None:
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return [f"备份清单 {MANIFEST} 无法读取（{exc}）"]
    db = folder / str(manifest.get("database", DB_FILENAME))
    if not db.is_file():
        return [f"备份中没有数据库文件 {db.name}"]
    problems = []
    if manifest.get("database_sha256") not in (None, _sha256(db)):
        problems.append("数据库文件与备份清单不符（已被改动或损坏）")
    integrity = _database_ok(db)
    if integrity != ["ok"]:
        return problems + [f"数据库完整性检查未通过：{'；'.join(integrity[:3])}"]
    listed = manifest.get("files", {})
    for rel, meta in listed.items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"缺少文件 {rel}")
        elif path.stat().st_size != meta.get("bytes") or _sha256(path) != meta.get("sha256"):
            problems.append(f"文件 {rel} 与备份清单不符")
    for inspection_id, sha, ext in _photos_in(db):
        rel = f"photos/{sha[:2]}/{sha}.{ext}"
        if rel not in listed:
            problems.append(f"核查 {inspection_id} 的照片 {sha[:12]}… 不在备份中")
    return problems


def restore_store(backup: str | Path, data_dir: str | Path) -> Backup:
    """Restore a backup into ``data_dir`` (new or empty): checked first, copied, then opened by ``open_store``.

    Raises
    ------
    StoreError
        The backup does not check out, or ``data_dir`` already holds a store or other files.
    """
    backup, data_dir = Path(backup), Path(data_dir)
    problems = verify_backup(backup)
    if problems:
        raise StoreError(f"备份 {backup} 无法恢复：{'；'.join(problems[:5])}")
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise StoreError(f"恢复目标不是空文件夹：{data_dir}（为防止覆盖现有数据，请恢复到新的或空的数据目录）")
    manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    private_dir(data_dir)
    staging = data_dir / f".restoring-{os.getpid()}-{int(time.time())}"
    private_dir(staging)
    try:
        _copy_database(backup / DB_FILENAME, staging / DB_FILENAME)
        for rel in manifest["files"]:
            dst = staging / rel
            private_dir(dst.parent)
            shutil.copy2(backup / rel, dst)
        for item in staging.iterdir():   # the data directory fills only once everything is copied
            item.rename(data_dir / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = manifest["files"]
    return Backup(data_dir, str(manifest.get("made_at", "")), len(files),
                  sum(1 for f in files if f.startswith("photos/")), sum(int(v["bytes"]) for v in files.values()))
