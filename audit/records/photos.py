"""Photo files of the inspection store, kept by content hash under
``<data_dir>/photos/<sha256[:2]>/<sha256>.<ext>``: their paths are built from the hash only, never from a file
name a user typed. Files are written (temporary file, fsync, atomic rename) before the database commit, so a
committed inspection always has its photos; a crash before the commit leaves at most an unreferenced file."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import sqlalchemy as sa

from audit.errors import StoreError
from audit.records.db import Store, photos, private_dir

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def photo_ext(data: bytes, name: str) -> str:
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
    if not SHA256.match(sha256) or ext not in ("jpg", "png", "webp", "heic"):
        raise StoreError(f"not a photo key: sha256 '{sha256}', ext '{ext}'")
    return store.data_dir / "photos" / sha256[:2] / f"{sha256}.{ext}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_photo(store: Store, sha256: str, ext: str, data: bytes) -> Path:
    """Write a photo atomically: a temporary file in the same directory, fsync, rename."""
    final = photo_path(store, sha256, ext)
    if final.exists() and final.stat().st_size == len(data):
        return final  # same hash, same bytes: another inspection already stored it
    folder = private_dir(final.parent)
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


def insert_photo_row(conn: sa.Connection, row: dict) -> None:
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
