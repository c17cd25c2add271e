"""Exports of the area audit: XLSX for officials, CSV (UTF-8 with BOM), GeoPackage and GeoJSON, JSON rows."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xlsxwriter

from audit.area.floor_area import BASIS_ZH, STATUS_ZH, county_summary, township_summary
from audit.area.ranking import ORDER_ZH, RANKING_HEADERS_ZH, BuildRanking
from audit.area.registry import Problem
from audit.errors import AuditError
from audit.labels import BOOL_ZH, CRS_ZH, TIME_NOTE, TIMEZONE
from audit.rules import Rules

VILLAGE_HEADERS_ZH = {
    "village_code": "村代码", "village_name": "村名", "township": "乡镇（街道）", "county": "县（市、区）",
    "is_central": "是否中心村", "village_type": "村庄类型", "households": "户数",
    "floor_area_m2": "服务中心面积（㎡）", "required_m2": "核定面积（㎡）", "gap_m2": "面积缺口（㎡）",
    "area_status": "面积核查结果", "basis": "核定依据", "reason": "说明", "lon": "经度（WGS84）",
    "lat": "纬度（WGS84）", "excel_row": "原表行号", "problems": "数据问题",
}
SUMMARY_HEADERS_ZH = {
    "county": "县（市、区）", "township": "乡镇（街道）", "villages": "村庄数", "compliant": "达标",
    "non_compliant": "不达标", "unknown": "无法判定", "compliance_rate": "达标率",
    "shortfall_m2": "面积缺口合计（㎡）",
}
_BASE = ["village_code", "village_name", "township", "county", "is_central", "village_type", "households",
         "floor_area_m2", "required_m2", "gap_m2", "area_status", "basis", "reason", "lon", "lat", "excel_row",
         "problems"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def audit_rows(audited: pd.DataFrame) -> pd.DataFrame:
    """Flat per-village rows (no geometry): canonical + audit columns, ``lon``/``lat`` in WGS84, the
    source row number, the problems, then the registry's extra columns."""
    df = pd.DataFrame(audited.drop(columns="geometry", errors="ignore")).copy()
    geom = audited.geometry if isinstance(audited, gpd.GeoDataFrame) else None
    if geom is not None:
        empty = geom.isna() | geom.is_empty
        df["lon"] = np.where(empty, np.nan, geom.x.where(~empty))
        df["lat"] = np.where(empty, np.nan, geom.y.where(~empty))
    for col in ("area_status", "basis", "reason"):
        if col in df:
            df[col] = df[col].astype(object)
    df = df.astype({c: object for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)})
    base = [c for c in _BASE if c in df.columns]
    return df[base + [c for c in df.columns if c not in base]]


def _zh_rows(audited: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    df = audit_rows(audited)
    df["village_type"] = df["village_type"].map({t.id: t.name_zh for t in rules.area.types})
    df["area_status"] = df["area_status"].map(STATUS_ZH)
    df["basis"] = df["basis"].map(BASIS_ZH)
    df["is_central"] = df["is_central"].map(BOOL_ZH)
    for col in ("lon", "lat"):  # a position to 0.1 m, not to the float's last digit
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").round(6)
    df["problems"] = df["problems"].map(lambda p: "；".join(p) or None if isinstance(p, list) else p)
    return df.rename(columns=VILLAGE_HEADERS_ZH)


def _zh_summary(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.rename(columns=SUMMARY_HEADERS_ZH)


def _width(value: object) -> int:
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_sheet(wb: xlsxwriter.Workbook, name: str, df: pd.DataFrame, formats: dict[str, object],
                number_formats: dict[str, str]) -> xlsxwriter.workbook.Worksheet:
    """Write ``df`` as a sheet: bold header (``formats["header"]``), frozen and filtered; numbers as numbers
    (with ``number_formats`` per column); text always as text, never a formula; readable column widths."""
    ws = wb.add_worksheet(name)
    header_fmt = formats["header"]
    col_formats = {c: wb.add_format({"num_format": f}) for c, f in number_formats.items() if c in df.columns}
    for j, col in enumerate(df.columns):
        ws.write_string(0, j, str(col), header_fmt)
        values = df[col].to_numpy(dtype=object)
        fmt = col_formats.get(col)
        for i, v in enumerate(values, start=1):
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                continue
            if isinstance(v, bool | np.bool_):
                ws.write_string(i, j, "是" if v else "否")
            elif isinstance(v, int | float | np.integer | np.floating):
                ws.write_number(i, j, float(v), fmt)
            else:
                ws.write_string(i, j, str(v))  # text stays text: "=cmd()" is never a formula
        sample = [str(col)] + [str(v) for v in values[:2000] if v is not None]
        ws.set_column(j, j, min(max(_width(s) for s in sample) + 2, 60), fmt)
    ws.freeze_panes(1, 0)
    if len(df.columns):
        ws.autofilter(0, 0, max(len(df), 1), len(df.columns) - 1)
    return ws


def officials_workbook(path: str | Path) -> tuple[xlsxwriter.Workbook, dict[str, object]]:
    """A new workbook whose text cells stay text (no formulas, URLs or numbers made from strings), and the
    header format of :func:`write_sheet`."""
    options = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    try:
        wb = xlsxwriter.Workbook(str(path), options)
    except OSError as exc:
        raise AuditError(f"无法写入 {path}: {exc}") from None
    header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "vcenter"})
    return wb, {"header": header}


def audit_to_xlsx(audited: pd.DataFrame, path: str | Path, *, rules: Rules, source: str = "",
                  problems: Sequence[Problem] = (), dropped: Sequence[Problem] = (), crs: str = "wgs84") -> Path:
    """Write the workbook for officials: 村级明细 / 乡镇汇总 / 县级汇总 / 说明.

    Chinese headers, frozen header row, non-compliant rows highlighted, numbers stored as numbers, readable
    column widths; text that starts with ``=``, ``+``, ``-`` or ``@`` is stored as text, never a formula.
    """
    path = Path(path)
    villages = _zh_rows(audited, rules)
    townships = _zh_summary(township_summary(audited))
    counties = _zh_summary(county_summary(audited))
    wb, formats = officials_workbook(path)
    areas = {VILLAGE_HEADERS_ZH[c]: "0.00" for c in ("floor_area_m2", "required_m2", "gap_m2")}
    areas |= {VILLAGE_HEADERS_ZH["households"]: "0", VILLAGE_HEADERS_ZH["excel_row"]: "0",
              VILLAGE_HEADERS_ZH["lon"]: "0.000000", VILLAGE_HEADERS_ZH["lat"]: "0.000000"}
    ws = write_sheet(wb, "村级明细", villages, formats, areas)
    status_col = list(villages.columns).index(VILLAGE_HEADERS_ZH["area_status"])
    letter = xlsxwriter.utility.xl_col_to_name(status_col)
    last = max(len(villages), 1)
    for label, colour in ((STATUS_ZH["non_compliant"], "#F8CBAD"), (STATUS_ZH["unknown"], "#FFF2CC")):
        ws.conditional_format(1, 0, last, len(villages.columns) - 1, {
            "type": "formula", "criteria": f'=${letter}2="{label}"', "format": wb.add_format({"bg_color": colour})})
    summary_formats = {SUMMARY_HEADERS_ZH["compliance_rate"]: "0.0%", SUMMARY_HEADERS_ZH["shortfall_m2"]: "0.00"}
    write_sheet(wb, "乡镇汇总", townships, formats, summary_formats)
    write_sheet(wb, "县级汇总", counties, formats, summary_formats)

    notes = list(rules.summary_rows())
    # The file's name, never its server path; the time in Beijing time whatever the server's clock zone is.
    notes += [("规则文件", Path(rules.path).name if rules.path else "默认规则"), ("源文件", source or "—"),
              ("坐标系", f"输入 {CRS_ZH.get(crs, crs.upper())}，输出 WGS84"),
              ("生成时间", f"{pd.Timestamp.now(tz=TIMEZONE):%Y-%m-%d %H:%M:%S}（{TIME_NOTE}）"),
              ("达标率口径", "达标 ÷（达标 + 不达标）；无法判定的村单列，不计为达标")]
    notes += [("已剔除的行", str(p)) for p in dropped]
    notes += [("数据问题", str(p)) for p in problems]
    write_sheet(wb, "说明", pd.DataFrame(notes, columns=["项目", "内容"]), formats, {})
    wb.close()
    return path


def _defuse(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe (CSV injection)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def audit_to_csv(audited: pd.DataFrame, path: str | Path, *, rules: Rules) -> Path:
    """CSV in UTF-8 with BOM and Chinese headers (Excel in China opens it correctly)."""
    path = Path(path)
    _defuse(_zh_rows(audited, rules)).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _gis_frame(audited: pd.DataFrame) -> gpd.GeoDataFrame:
    rows = audit_rows(audited)
    rows["problems"] = rows["problems"].map(lambda p: "；".join(p) if isinstance(p, list) else p)
    rows["is_central"] = rows["is_central"].astype("boolean")
    geometry = audited.geometry if isinstance(audited, gpd.GeoDataFrame) else gpd.points_from_xy(rows["lon"], rows["lat"])
    return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:4326")


def audit_to_gpkg(audited: pd.DataFrame, path: str | Path, *, layer: str = "villages") -> Path:
    """GeoPackage of WGS84 points with all columns."""
    path = Path(path)
    _gis_frame(audited).to_file(path, layer=layer, driver="GPKG")
    return path


def audit_to_geojson(audited: pd.DataFrame, path: str | Path) -> Path:
    """GeoJSON (RFC 7946, WGS84) points with all columns."""
    path = Path(path)
    path.unlink(missing_ok=True)
    _gis_frame(audited).to_file(path, driver="GeoJSON")
    return path


def _jsonable(v: object) -> object:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, list | tuple | np.ndarray):
        return [_jsonable(x) for x in v]
    if isinstance(v, dt.datetime | dt.date | pd.Timestamp):
        return v.isoformat()
    return v


def audit_to_records(audited: pd.DataFrame) -> list[dict[str, object]]:
    """Per-village rows as JSON-ready dicts (missing values as None, never NaN)."""
    rows = audit_rows(audited)
    cols = list(rows.columns)
    return [{c: _jsonable(v) for c, v in zip(cols, rec, strict=True)}
            for rec in rows.itertuples(index=False, name=None)]


def audit_to_json(audited: pd.DataFrame) -> str:
    """The JSON array of per-village rows."""
    return json.dumps(audit_to_records(audited), ensure_ascii=False, allow_nan=False)


WRITERS = {".xlsx": "xlsx", ".csv": "csv", ".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson"}


def write_audit(audited: pd.DataFrame, path: str | Path, *, rules: Rules, source: str = "",
                problems: Sequence[Problem] = (), dropped: Sequence[Problem] = (), crs: str = "wgs84") -> Path:
    """Write the audit in the format its suffix names (.xlsx, .csv, .gpkg, .geojson)."""
    path = Path(path)
    kind = WRITERS.get(path.suffix.lower())
    if kind is None:
        raise AuditError(f"不支持的输出格式「{path.suffix}」：请用 .xlsx、.csv、.gpkg 或 .geojson")
    if kind == "xlsx":
        return audit_to_xlsx(audited, path, rules=rules, source=source, problems=problems, dropped=dropped, crs=crs)
    if kind == "csv":
        return audit_to_csv(audited, path, rules=rules)
    return {"gpkg": audit_to_gpkg, "geojson": audit_to_geojson}[kind](audited, path)


# ------------------------------------------------------------------------------- where to build first, names
def ranking_to_xlsx(ranking: BuildRanking, path: str | Path, *, rules: Rules, scope: str, source: str = "") -> Path:
    """The ranking of where to build first as a workbook: 建设优先排序 (villages, county and township rank),
    乡镇汇总, 待补数据（无法判定）, 说明 (order, unit cost, scope, rules, time). Numbers stay numbers; text stays
    text."""
    path = Path(path)
    wb, formats = officials_workbook(path)
    numbers = {"户数": "0", "服务中心面积（㎡）": "0.00", "核定面积（㎡）": "0.00", "面积缺口（㎡）": "0.00",
               "户均缺口（㎡/户）": "0.000", "投资估算（元）": "#,##0", "面积缺口合计（㎡）": "0.00",
               "全县排序": "0", "乡镇内排序": "0", "不达标村数": "0", "无法判定村数": "0"}
    villages = ranking.villages
    townships = ranking.townships
    if ranking.unit_cost is None:  # no estimate: no empty column
        villages = villages.drop(columns="cost_yuan")
        townships = townships.drop(columns="cost_yuan")
    write_sheet(wb, "建设优先排序", villages.rename(columns=RANKING_HEADERS_ZH), formats, numbers)
    write_sheet(wb, "乡镇汇总", townships.rename(columns=RANKING_HEADERS_ZH | {"rank": "排序", "households": "不达标村户数"}),
                formats, numbers | {"不达标村户数": "0", "排序": "0"})
    write_sheet(wb, "待补数据（无法判定）", ranking.undecided.rename(columns=RANKING_HEADERS_ZH), formats, numbers)
    cost = (f"{ranking.unit_cost:,.0f} 元/㎡（{rules.investment.note or '县规则文件'}）" if ranking.unit_cost is not None
            else "规则文件未给出单价，不作投资估算")
    notes = [("范围", scope), ("排序方式", ORDER_ZH[ranking.order]), ("不达标村数", f"{len(ranking.villages)}"),
             ("面积缺口合计（㎡）", f"{ranking.total_shortfall_m2:,.2f}"), ("投资估算单价", cost)]
    if ranking.total_cost_yuan is not None:
        notes.append(("投资估算合计（元）", f"{ranking.total_cost_yuan:,.0f}"))
    notes += [("无法判定村数", f"{len(ranking.undecided)}（数据缺失或有误，须先补正后才能判定是否达标）"),
              ("规则", f"{rules.version}（{Path(rules.path).name if rules.path else '默认规则'}）"),
              ("源文件", source or "—"),
              ("生成时间", f"{pd.Timestamp.now(tz=TIMEZONE):%Y-%m-%d %H:%M:%S}（{TIME_NOTE}）")]
    write_sheet(wb, "说明", pd.DataFrame(notes, columns=["项目", "内容"]), formats, {})
    wb.close()
    return path


_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def download_name(scope: str, what: str, suffix: str, *, today: dt.date | None = None) -> str:
    """A download's file name carrying its scope (county or township) and the date, in Beijing time:
    ``城关街道_建设优先排序_20261201.xlsx``. Characters a file system refuses become ``_``."""
    day = today or pd.Timestamp.now(tz=TIMEZONE).date()
    parts = [_UNSAFE_NAME.sub("_", str(p)).strip(" ._") for p in (scope, what)]
    return "_".join([p for p in parts if p] + [f"{day:%Y%m%d}"]) + "." + suffix.lstrip(".")


def scope_name(audited: pd.DataFrame, township: str | None = None) -> str:
    """The name a download carries: the township, else the county (or counties) the registry names, else 全县."""
    if township:
        return township
    counties = audited["county"].dropna().astype(str).unique() if "county" in audited else []
    counties = [c for c in counties if c.strip()]
    if len(counties) == 1:
        return counties[0]
    return "、".join(sorted(counties)[:3]) + ("等" if len(counties) > 3 else "") if counties else "全县"
