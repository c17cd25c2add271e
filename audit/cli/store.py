"""``audit store check [--repair]``, ``audit backup DIR`` and ``audit restore DIR``: keeping the inspection store
whole from the server's command line (the library part is :mod:`audit.records.maintenance`).

``store check`` exits 0 when nothing is wrong (or everything found was removed by ``--repair``), 2 when something
is left: a damaged database, leftovers without ``--repair``, inspections whose photos are missing. ``backup`` and
``restore`` exit 2 with a one-line ``错误：…`` when refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from audit.errors import AuditError

DbOption = Annotated[str | None, typer.Option("--db", help="Store URL (default: VILLAGE_AUDIT_DB_URL or the data dir).")]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Data directory (default: VILLAGE_AUDIT_DATA_DIR or ~/.local/share/village-audit).")]
_SHOWN = 20   # paths listed per kind; the count says how many there are


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"错误：{' '.join(str(exc).split())}", err=True)
    return typer.Exit(code=2)


def _list(title: str, items: list, fmt=str) -> None:  # noqa: ANN001 - a formatter
    typer.echo(f"{title}：{len(items)} 个")
    for item in items[:_SHOWN]:
        typer.echo(f"  {fmt(item)}")
    if len(items) > _SHOWN:
        typer.echo(f"  ……另有 {len(items) - _SHOWN} 个")


def check(
    repair: Annotated[bool, typer.Option("--repair", help="Remove leftover temporary and unreferenced photo files.")] = False,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check the store: database integrity, leftover files, inspections whose photos are missing."""
    from audit.records.db import open_store
    from audit.records.maintenance import GRACE, check_store

    try:
        store = open_store(db, data_dir=data_dir, migrate=False)
        try:
            result = check_store(store, repair=repair)
        finally:
            store.close()
    except AuditError as exc:
        raise _fail(exc) from None
    except Exception as exc:  # noqa: BLE001 - a database that cannot even be opened is the check's answer
        raise _fail(AuditError(f"数据库无法打开：{type(exc).__name__}: {exc}")) from None
    ok = result.integrity == ["ok"]
    typer.echo("数据库完整性：" + ("正常" if ok else "异常"))
    for line in ([] if ok else result.integrity[:_SHOWN]):
        typer.echo(f"  {line}")
    done = "已清理" if repair else "未清理（加 --repair 清理）"
    _list(f"中断写入留下的临时文件（{done}）", result.temp_files)
    _list(f"没有任何核查引用的照片文件（{done}）", result.orphan_photos)
    if result.young:
        typer.echo(f"不足 {GRACE.total_seconds() / 3600:g} 小时的临时或未引用文件：{len(result.young)} 个"
                   "（可能属于正在提交的核查，本次不处理）")
    _list("照片文件缺失的核查（无法自动修复，请从备份恢复照片）", result.missing_photos,
          lambda m: f"核查 {m.inspection_id}（{m.village}）照片「{m.photo}」：缺少 {m.path}")
    if result.unknown_files:
        _list("照片目录中不属于存储的文件（未处理）", result.unknown_files)
    if repair and result.removed:
        typer.echo(f"已删除 {len(result.removed)} 个文件")
    if not result.healthy:
        typer.echo("结论：存储有问题" + ("（见上）" if repair else "；可先加 --repair 清理残留文件"), err=True)
        raise typer.Exit(code=2)
    typer.echo("结论：存储完好")


def backup(
    target: Annotated[Path, typer.Argument(help="A new or empty folder for the backup.")],
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the whole data directory (database by SQLite's online backup, photos, county files) while the
    app runs."""
    from audit.records.db import open_store
    from audit.records.maintenance import backup_store

    try:
        store = open_store(db, data_dir=data_dir, migrate=False)
        try:
            made = backup_store(store, target)
        finally:
            store.close()
    except AuditError as exc:
        raise _fail(exc) from None
    typer.echo(f"已备份到 {made.folder}：数据库 1 个，文件 {made.files} 个（其中照片 {made.photos} 张），"
               f"共 {made.bytes / 2**20:.1f} MiB；时间 {made.made_at}")


def restore(
    source: Annotated[Path, typer.Argument(help="A backup folder made by `audit backup`.")],
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into a new or empty data directory (checked first), then open it."""
    from audit import settings
    from audit.records.db import open_store
    from audit.records.maintenance import restore_store

    target = data_dir or settings.data_dir()
    try:
        made = restore_store(source, target)
        open_store(data_dir=target).close()    # opens, and upgrades an older schema
    except AuditError as exc:
        raise _fail(exc) from None
    typer.echo(f"已从 {source} 恢复到 {target}：文件 {made.files} 个（其中照片 {made.photos} 张）；备份时间 {made.made_at}")


def register(app: typer.Typer) -> None:
    """``audit store check``, ``audit backup`` and ``audit restore`` on the ``audit`` app."""
    store_app = typer.Typer(no_args_is_help=True, help="The inspection store: check (and repair) it.")
    store_app.command("check")(check)
    app.add_typer(store_app, name="store")
    app.command("backup")(backup)
    app.command("restore")(restore)
