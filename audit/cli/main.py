"""The ``audit`` command line. Exit code 0 on success (row problems are warnings on stderr), 2 when the
run cannot proceed (a one-line message on stderr)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from audit.errors import AuditError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="村级阵地核查 VillageAudit: floor-area and plaque audit of village service centres.")


class Crs(str, Enum):
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _fail(exc: Exception) -> typer.Exit:
    _err(f"错误：{' '.join(str(exc).split())}")
    return typer.Exit(code=2)


def _parse_columns(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        header, sep, target = item.rpartition("=")
        if not sep or not header or not target:
            raise AuditError(f"--column 应写成 表头=字段，例如 --column 村庄=village_name，而不是「{item}」")
        out[header] = target
    return out


@app.command()
def area(
    registry: Annotated[Path, typer.Argument(help="Village registry: XLSX, XLS, ODS, CSV, GeoJSON, GPKG or zipped SHP.")],
    rules: Annotated[Path | None, typer.Option("--rules", help="A county's own rules file (TOML).")] = None,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry's coordinates.")] = Crs.wgs84,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write .xlsx, .csv, .gpkg or .geojson.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON array of village rows on stdout.")] = False,
    column: Annotated[list[str] | None, typer.Option("--column", help="Map a header explicitly: 表头=village_name.")] = None,
) -> None:
    """Audit the floor area of every village's service centre."""
    from audit.area.export import audit_to_json, write_audit
    from audit.area.floor_area import area_audit, county_summary
    from audit.area.registry import registry_from_file
    from audit.rules import load_rules

    try:
        rule_set = load_rules(rules)
        reg = registry_from_file(registry, rules=rule_set, crs=crs.value, columns=_parse_columns(column or []))
        audited = area_audit(reg.villages, rules=rule_set)
        if output is not None:
            write_audit(audited, output, rules=rule_set, source=str(registry), problems=reg.problems,
                        dropped=reg.dropped, crs=crs.value)
    except AuditError as exc:
        raise _fail(exc) from None

    for p in reg.dropped:
        _err(f"已剔除：{p}")
    for p in reg.problems:
        _err(f"警告：{p}")
    total = county_summary(audited)[["villages", "compliant", "non_compliant", "unknown"]].sum().astype(int).to_dict()
    total["shortfall_m2"] = float(audited["gap_m2"].sum())
    judged = total["compliant"] + total["non_compliant"]
    rate = f"{total['compliant'] / judged:.1%}" if judged else "—"
    summary = (f"村庄 {total['villages']} 个：达标 {total['compliant']}，不达标 {total['non_compliant']}，"
               f"无法判定 {total['unknown']}；达标率 {rate}（达标 ÷（达标+不达标））；"
               f"面积缺口合计 {total['shortfall_m2']:.2f} ㎡")
    if as_json:
        _err(summary)
        sys.stdout.write(audit_to_json(audited) + "\n")
    else:
        typer.echo(summary)
    if output is not None:
        _err(f"已写出：{output}")


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write the demo files.")] = Path("data/demo"),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 2026,
    villages: Annotated[int, typer.Option(help="Number of villages.")] = 400,
) -> None:
    """Generate the DEMO county registry (generated values, not survey data)."""
    from audit.area.demo import write_demo

    for kind, path in write_demo(out_dir, seed=seed, n_villages=villages).items():
        typer.echo(f"{kind}: {path}")


class Side(str, Enum):
    external = "external"
    internal = "internal"


def _village_from_registry(code: str | None, registry: Path | None, rules, crs: str):
    """(code, name, (lon, lat) or None, gazetteer or None) of the village, looked up in the registry when one is
    given; the gazetteer holds the registry's place names for reading the plaques."""
    if registry is None:
        return code, None, None, None
    from audit.area.registry import registry_from_file
    from audit.signs.names import gazetteer_from_registry

    villages = registry_from_file(registry, rules=rules, crs=crs).villages
    if code is None:
        raise AuditError("给出 --registry 时还需要 --village 村代码")
    hit = villages[villages["village_code"] == code]
    if hit.empty:
        raise AuditError(f"名册 {registry.name} 中没有村代码「{code}」")
    row = hit.iloc[0]
    point = None if row.geometry is None or row.geometry.is_empty else (row.geometry.x, row.geometry.y)
    return code, row["village_name"], point, gazetteer_from_registry(villages, rules)


def _photo_inputs(paths: list[Path], side: str):
    from audit.signs.engine import PhotoInput

    inputs, unreadable = [], []
    for path in paths:
        try:
            inputs.append(PhotoInput(path.read_bytes(), path.name, side))
        except OSError as exc:
            unreadable.append((path.name, f"{path.name}：无法读取文件（{exc.strerror or exc}）"))
    return inputs, unreadable


@app.command()
def signs(
    photos: Annotated[list[Path], typer.Argument(help="Photos of one village's service centre (side: --side).")],
    internal: Annotated[list[Path] | None, typer.Option("--internal", help="A photo taken inside.")] = None,
    side: Annotated[Side, typer.Option("--side", help="Side shown by the positional photos.")] = Side.external,
    village: Annotated[str | None, typer.Option("--village", help="Village code (name and position from --registry).")] = None,
    registry: Annotated[Path | None, typer.Option("--registry", help="Registry with the village.")] = None,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry.")] = Crs.wgs84,
    rules: Annotated[Path | None, typer.Option("--rules", help="A county's own rules file (TOML).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON report on stdout.")] = False,
    annotate_dir: Annotated[Path | None, typer.Option("--annotate", help="Write annotated photos here.")] = None,
    no_detector: Annotated[bool, typer.Option("--no-detector", help="OCR only (no YOLO model).")] = False,
) -> None:
    """Audit the plaques of one village from its photos. Exit code 2 when any photo was refused."""
    from audit.rules import load_rules
    from audit.signs.engine import Engine, PhotoErrorResult, audit_signage, report_to_json

    try:
        rule_set = load_rules(rules)
        code, name, point, gazetteer = _village_from_registry(village, registry, rule_set, crs.value)
        ext_inputs, bad1 = _photo_inputs(photos, side.value)
        int_inputs, bad2 = _photo_inputs(internal or [], "internal")
        engine = Engine.load(rules=rule_set, use_detector=not no_detector)
        report = audit_signage(ext_inputs + int_inputs, engine, village_code=code, village_name=name,
                               village_point=point, gazetteer=gazetteer,
                               progress=None if as_json else lambda i, n, nm: _err(f"[{i}/{n}] {nm}"))
    except AuditError as exc:
        raise _fail(exc) from None
    report.errors.extend(PhotoErrorResult(photo=n, error=e) for n, e in bad1 + bad2)
    if annotate_dir is not None:
        _write_annotations(report, ext_inputs + int_inputs, annotate_dir)
    for e in report.errors:
        _err(f"错误：{e.error}")
    if as_json:
        sys.stdout.write(report_to_json(report) + "\n")
    else:
        s = report.summary
        names = {p.id: p.name_zh for p in rule_set.plaques}
        typer.echo(f"结论：{s.verdict_zh}")
        typer.echo("已有：" + ("、".join(names[t] for t in s.present) or "无"))
        typer.echo("缺少：" + ("、".join(names[t] for t in s.missing) or "无"))
        for reason in s.reasons:
            typer.echo(f"  - {reason}")
    if report.errors:
        raise typer.Exit(code=2)


def _write_annotations(report, inputs, out_dir: Path) -> None:
    from audit.signs.annotate import annotate
    from audit.signs.intake import photo_from_bytes

    out_dir.mkdir(parents=True, exist_ok=True)
    by_name = {i.name: i for i in inputs}
    for result in report.photos:
        photo = photo_from_bytes(by_name[result.photo].data, result.photo)
        image = annotate(photo.image, result, scale=photo.scale)
        image.save(out_dir / f"{Path(result.photo).stem}_annotated.jpg", "JPEG", quality=90)


@app.command("signs-batch")
def signs_batch(
    folder: Annotated[Path, typer.Argument(
        help="One sub-folder per village (named by village code), or photos listed in --mapping.")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="CSV with columns photo, village_code[, side].")] = None,
    registry: Annotated[Path | None, typer.Option("--registry", help="Registry for village names and positions.")] = None,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry.")] = Crs.wgs84,
    rules: Annotated[Path | None, typer.Option("--rules", help="A county's own rules file (TOML).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write all reports as JSON lines here.")] = None,
    no_detector: Annotated[bool, typer.Option("--no-detector", help="OCR only (no YOLO model).")] = False,
    workers: Annotated[int | None, typer.Option("--workers", min=1,
                                                help="Worker processes (default: one per core).")] = None,
) -> None:
    """Audit many villages: a progress bar, then a summary table (exit 2 when any photo was refused)."""
    from audit.rules import load_rules
    from audit.signs.batch import batch_jobs, default_workers, run_batch
    from audit.signs.engine import Engine, report_to_json

    try:
        rule_set = load_rules(rules)
        jobs = batch_jobs(folder, mapping=mapping, registry=registry, rules=rule_set, crs=crs.value)
        engine = Engine.load(rules=rule_set, use_detector=not no_detector)
    except AuditError as exc:
        raise _fail(exc) from None
    reports = []
    with typer.progressbar(length=sum(len(j.photos) for j in jobs), label="核查照片", file=sys.stderr) as bar:
        for job, report in run_batch(jobs, engine, progress=lambda *_: bar.update(1),
                                     workers=workers or default_workers()):
            reports.append((job, report))
    if output is not None:
        output.write_text("".join(report_to_json(r) + "\n" for _, r in reports), encoding="utf-8")
    typer.echo(f"{'村代码':<14}{'村名':<10}{'照片':>4}{'结论':>8}  缺少")
    refused = 0
    for job, r in reports:
        refused += len(r.errors)
        typer.echo(f"{job.village_code or '':<14}{job.village_name or '':<10}{len(job.photos):>4}"
                   f"{r.summary.verdict_zh:>8}  {'、'.join(r.summary.missing) or '—'}")
        for e in r.errors:
            _err(f"错误：{e.error}")
    if refused:
        raise typer.Exit(code=2)


@app.command("export-dataset")
def export_dataset_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Folder for images/, labels/ and data.yaml.")],
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: VILLAGE_AUDIT_DB_URL or the data dir).")] = None,
    include_unreviewed: Annotated[bool, typer.Option(help="Also export inspections nobody reviewed.")] = False,
) -> None:
    """Export reviewed inspection photos with their corrected boxes as a YOLO dataset (for fine-tuning)."""
    from audit.model.dataset import export_dataset
    from audit.records.access import SYSTEM
    from audit.records.db import open_store

    try:  # the server's command line acts as SYSTEM, recorded by name in data.yaml and README.txt
        data_yaml = export_dataset(open_store(db), out_dir, fully_reviewed_only=not include_unreviewed, user=SYSTEM)
    except AuditError as exc:
        raise _fail(exc) from None
    typer.echo(f"已写出：{data_yaml}")


@app.command()
def ledger(
    registry: Annotated[Path, typer.Argument(help="The county's village registry.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The ledger workbook (.xlsx).")],
    round_id: Annotated[str | None, typer.Option("--round", help="Inspection round id.")] = None,
    deadline_days: Annotated[int, typer.Option(help="Days given to rectify a finding.")] = 30,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry.")] = Crs.wgs84,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: VILLAGE_AUDIT_DB_URL or the data dir).")] = None,
) -> None:
    """The county signage ledger: per village its last inspection, verdict, open problems and deadline."""
    from audit.area.registry import registry_from_file
    from audit.records.access import SYSTEM
    from audit.records.db import open_store
    from audit.records.ledger import ledger_from_store, ledger_to_xlsx, villages_not_inspected
    from audit.rules import load_rules

    try:  # the server's command line acts as SYSTEM (the whole county), named as the exporter in the workbook
        villages = registry_from_file(registry, rules=load_rules(), crs=crs.value).villages
        table = ledger_from_store(open_store(db), villages, round_id=round_id, deadline_days=deadline_days,
                                  user=SYSTEM)
        ledger_to_xlsx(table, output, user=SYSTEM)
    except AuditError as exc:
        raise _fail(exc) from None
    typer.echo(f"村庄 {len(table)} 个，本轮未核查 {len(villages_not_inspected(table))} 个；已写出：{output}")


@app.command("eval-reviewed")
def eval_reviewed(
    registry: Annotated[Path | None, typer.Option("--registry", help="Registry: groups townships by county.")] = None,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry.")] = Crs.wgs84,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: VILLAGE_AUDIT_DB_URL or the data dir).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory of the store.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON records.")] = False,
) -> None:
    """How the engine does on the county's own photos: its output scored against the inspectors' corrections of
    the reviewed inspections, by kind of board and by county and township."""
    from audit.records.access import SYSTEM
    from audit.records.db import open_store
    from audit.records.evaluation import county_of_townships, engine_scores, scores_for_people

    try:
        county_of = None
        if registry is not None:
            from audit.area.registry import registry_from_file
            from audit.rules import load_rules

            county_of = county_of_townships(registry_from_file(registry, rules=load_rules(), crs=crs.value).villages)
        store = open_store(db, data_dir=data_dir)
        try:
            scores = engine_scores(store, user=SYSTEM, county_of=county_of)
        finally:
            store.close()
    except AuditError as exc:
        raise _fail(exc) from None
    if as_json:
        sys.stdout.write(scores.to_json(orient="records", force_ascii=False) + "\n")
    elif scores.empty:
        typer.echo("还没有复核过的核查记录，无法评估（先在「核查记录」中复核照片）")
    else:
        typer.echo(scores_for_people(scores).to_string(index=False))


def _register_commands() -> None:
    """``audit train`` / ``audit eval-model`` (audit.cli.model: ultralytics is imported lazily there) and
    ``audit users add|disable|enable|set-role|password|list`` (audit.cli.users)."""
    from audit.cli import model as model_cli
    from audit.cli import ranking as ranking_cli
    from audit.cli import store as store_cli
    from audit.cli import users as users_cli

    app.command("train")(model_cli.train)
    app.command("eval-model")(model_cli.eval_model)
    users_app = typer.Typer(no_args_is_help=True, help="Accounts: 乡镇检查员 / 规划人员 / 县级管理员.")
    users_cli.register(users_app)
    app.add_typer(users_app, name="users")
    store_cli.register(app)  # audit store check, audit backup, audit restore
    ranking_cli.register(app)  # audit ranking (where to build first)


_register_commands()


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
