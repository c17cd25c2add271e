"""The ``audit`` command line. Exit code 0 on success (row problems are warnings on stderr), 2 when the
run cannot proceed (a one-line message on stderr)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from audit._errors import AuditError

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
    registry: Annotated[Path, typer.Argument(help="Village registry: XLSX, XLS, CSV, GeoJSON, GPKG or zipped SHP.")],
    rules: Annotated[Path | None, typer.Option("--rules", help="A county's own rules file (TOML).")] = None,
    crs: Annotated[Crs, typer.Option("--crs", help="Coordinate system of the registry's coordinates.")] = Crs.wgs84,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write .xlsx, .csv, .gpkg or .geojson.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON array of village rows on stdout.")] = False,
    column: Annotated[list[str] | None, typer.Option("--column", help="Map a header explicitly: 表头=village_name.")] = None,
) -> None:
    """Audit the floor area of every village's service centre."""
    from audit.area import area_audit, county_summary
    from audit.export import audit_to_json, write_audit
    from audit.registry import registry_from_file
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
    from audit.demo import write_demo

    for kind, path in write_demo(out_dir, seed=seed, n_villages=villages).items():
        typer.echo(f"{kind}: {path}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
