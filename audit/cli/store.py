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


def reaudit(
    round_id: Annotated[str | None, typer.Option("--round", help="Only the inspections of this round (its id).")] = None,
    county: Annotated[str | None, typer.Option("--county", help="Only the inspections of this county.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every stored inspection (say so: it may take hours).")] = False,
    workers: Annotated[int, typer.Option("--workers", min=0, help="Local worker processes (0: in this process, "
                                         "without Dask).")] = 2,
    scheduler: Annotated[str | None, typer.Option("--scheduler", envvar="VILLAGE_AUDIT_DASK_SCHEDULER", help=(
        "A running Dask cluster's scheduler (tcp://host:8786) instead of local workers; its workers need the "
        "same database URL and data directory."))] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Detector model (default: the shipped one).")] = None,
    no_detector: Annotated[bool, typer.Option("--no-detector", help="OCR alone, no detector.")] = False,
    rules: Annotated[Path | None, typer.Option("--rules", help="Rules file (default: the shipped one).")] = None,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Re-audit stored inspections' photos with the current engine (model and rules): each inspection's result is
    stored beside it as a machine result (its reviews stay); inspections already re-audited with the same model and
    rules are skipped, so a rerun adds nothing and an interrupted run resumes. Acts as the server (SYSTEM)."""
    from audit.records.access import SYSTEM
    from audit.records.db import open_store
    from audit.records.reaudit import engine_spec, run_reaudit

    if not (round_id or county or all_):
        raise _fail(AuditError("请指定 --round、--county 或 --all（重新核查全部已存核查）"))
    step = 1

    def progress(done: int, total: int, run) -> None:  # noqa: ANN001 - a ReauditRun
        nonlocal step
        if done == total or done >= step:
            typer.echo(f"进度 {done}/{total}：新增 {run.added}，已有 {run.present}，失败 {len(run.failed)}", err=True)
            step = done + max(1, total // 20)

    try:
        spec = engine_spec(model=model, rules=rules, use_detector=not no_detector)
        store = open_store(db, data_dir=data_dir)
        try:
            run = run_reaudit(store, user=SYSTEM, spec=spec, round_id=round_id, county=county, workers=workers,
                              scheduler=scheduler, progress=progress)
        finally:
            store.close()
    except AuditError as exc:
        raise _fail(exc) from None
    rate = f"，{run.added / run.seconds:.2f} 条/秒" if run.added and run.seconds else ""
    typer.echo(f"重新核查 {run.selected} 条：新增结果 {run.added}，已有 {run.present}，失败 {len(run.failed)}"
               f"（{run.seconds:.1f} 秒{rate}；模型 {spec.model_sha256[:12] or '无（仅文字识别）'}，"
               f"规则 {spec.rules_sha256[:12]}）")
    for inspection_id, message in run.failed[:_SHOWN]:
        typer.echo(f"  失败：核查 {inspection_id}：{message}", err=True)
    if run.failed:
        raise typer.Exit(code=2)


def register(app: typer.Typer) -> None:
    """``audit store check``, ``audit backup``, ``audit restore`` and ``audit reaudit`` on the ``audit`` app."""
    store_app = typer.Typer(no_args_is_help=True, help="The inspection store: check (and repair) it.")
    store_app.command("check")(check)
    app.add_typer(store_app, name="store")
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("reaudit")(reaudit)
