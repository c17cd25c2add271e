"""``audit ranking``: where to build first, on the command line — the non-compliant villages of a registry ranked
by shortfall (m², or m² per household), county-wide and within their township, with the townships and the villages
that cannot be judged (无法判定), printed and written as the same workbook as the app's 建设优先排序
(``audit.area.ranking``, ``audit.area.export.ranking_to_xlsx``). Exit code 2 with a one-line message when the run
cannot proceed."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from audit.errors import AuditError


class By(str, Enum):
    shortfall = "shortfall"
    per_household = "per_household"


class RegistryCrs(str, Enum):  # the same choices as ``audit area --crs``
    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


def ranking(
    registry: Annotated[Path, typer.Argument(help="Village registry: XLSX, XLS, ODS, CSV, GeoJSON, GPKG or zipped SHP.")],
    by: Annotated[By, typer.Option("--by", help="Rank by shortfall (m²) or by shortfall per household.")]
    = By.shortfall,
    township: Annotated[str | None, typer.Option("--township", help="Rank the villages of one township only.")]
    = None,
    xlsx: Annotated[Path | None, typer.Option(
        "--xlsx", help="Write the workbook here (a folder: named by scope and date, e.g. 城关街道_建设优先排序_20261201.xlsx)."
    )] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="A county's own rules file (TOML).")] = None,
    crs: Annotated[RegistryCrs, typer.Option("--crs", help="Coordinate system of the registry's coordinates.")]
    = RegistryCrs.wgs84,
    top: Annotated[int, typer.Option("--top", min=0, help="Villages printed (the workbook holds all).")] = 10,
) -> None:
    """Rank the villages whose service centre falls short: where to build first."""
    from audit.area.export import download_name, ranking_to_xlsx, scope_name
    from audit.area.floor_area import UNTYPED, area_audit
    from audit.area.ranking import ORDER_ZH, build_ranking
    from audit.area.registry import registry_from_file
    from audit.rules import load_rules

    try:
        rule_set = load_rules(rules)
        reg = registry_from_file(registry, rules=rule_set, crs=crs.value)
        audited = area_audit(reg.villages, rules=rule_set)
        if township is not None:
            names = audited["township"].astype(object).where(audited["township"].notna(), UNTYPED)
            if not (names == township).any():
                known = sorted(set(names))
                listed = "、".join(known[:8]) + ("等" if len(known) > 8 else "")
                raise AuditError(f"名册「{registry.name}」中没有乡镇（街道）「{township}」；名册中的乡镇有：{listed}")
            audited = audited.loc[(names == township).to_numpy()]
        result = build_ranking(audited, rules=rule_set, order=by.value)
        place = scope_name(audited, township)
        out = None
        if xlsx is not None:
            out = xlsx / download_name(place, "建设优先排序", "xlsx") if xlsx.is_dir() else xlsx
            ranking_to_xlsx(result, out, rules=rule_set, scope=place, source=str(registry))
    except AuditError as exc:
        typer.echo(f"错误：{' '.join(str(exc).split())}", err=True)
        raise typer.Exit(code=2) from None

    for p in reg.problems:
        typer.echo(f"警告：{p}", err=True)
    cost = "" if result.total_cost_yuan is None else \
        f"；投资估算 {result.total_cost_yuan:,.0f} 元（{result.unit_cost:,.0f} 元/㎡）"
    typer.echo(f"{place}：不达标 {len(result.villages)} 个村，面积缺口合计 {result.total_shortfall_m2:,.2f} ㎡{cost}；"
               f"无法判定 {len(result.undecided)} 个村（须先补数据）。{ORDER_ZH[result.order]}：")
    for rec in result.villages.head(top).itertuples(index=False):
        per = "—" if rec.gap_per_household_m2 != rec.gap_per_household_m2 else f"{rec.gap_per_household_m2:.3f}"
        typer.echo(f"{rec.rank:>5}  {rec.township}（第 {rec.township_rank} 名）  {rec.village_name}  "
                   f"缺口 {rec.gap_m2:,.2f} ㎡  户均 {per} ㎡/户")
    if out is not None:
        typer.echo(f"已写出：{out}", err=True)


def register(app: typer.Typer) -> None:
    """``audit ranking`` on the ``audit`` app."""
    app.command("ranking")(ranking)
