"""Read a county's village registry (XLSX, XLS, CSV, GeoJSON, GeoPackage, zipped Shapefile) into one
canonical GeoDataFrame, reporting every problem with the file, the row as Excel shows it, the column and
the value. Only structural problems raise; row problems mark the row and the run goes on.

Limits come before work: the file's size, a workbook's sheets (declared and actual extent, read from the file's
own bytes before the native reader allocates: see ``_sheet_extent``), a CSV's lines, fields, rows and columns,
and a GIS layer's feature and field counts are checked before the file is parsed; numbers that cannot be
represented (inf, 1e309, 400 digits) or are beyond any village (households, floor area) are refused per row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from audit.area import coords
from audit.area._sheet_extent import SheetLimits, check_ods, check_xls, check_xlsx
from audit.area.headers import UNIT_SUFFIX, field_names, field_of_header, header_score, match_headers, normalise_header
from audit.errors import RegistryError
from audit.rules import Rules, load_rules

CANONICAL = ["village_code", "village_name", "township", "county", "is_central", "households",
             "floor_area_m2", "geometry"]
REQUIRED = ("village_name", "households", "floor_area_m2")

FIELD_ZH = {"village_code": "村代码", "village_name": "村名", "township": "乡镇", "county": "县（市、区）",
            "village_type": "村庄类型/是否中心村", "households": "户数", "floor_area_m2": "服务中心面积",
            "lon": "经度", "lat": "纬度", "coord_system": "坐标系"}

CRS_VALUES = {
    "wgs84": ("wgs84", "wgs", "gps", "84", "epsg4326", "4326", "地球坐标", "天地图"),
    "gcj02": ("gcj02", "gcj", "火星坐标", "高德", "腾讯", "国测局", "高德地图", "腾讯地图"),
    "bd09": ("bd09", "bd09ll", "百度", "百度地图", "百度坐标"),
}

_TOTAL_ROW = r"^(?:合计|总计|小计|共计|全县合计|全镇合计)(?:$|[(（:：\d])"
_MISSING = {"", "-", "—", "——", "--", "/", "无", "空", "nan", "none", "null", "n/a", "na", "#n/a", "暂无", "未知"}
TABULAR = {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"}
SPATIAL = {".geojson", ".json", ".gpkg", ".zip", ".shp"}

# Limits, checked before the work they bound. A province's registry (200,000 villages, a dozen columns: 21 MB of
# CSV, 12 MB of XLSX) imports in about 0.9 GiB with room to spare on every one of them.
MAX_FILE_BYTES = 100_000_000           # any registry or boundary file, as stored
MAX_ROWS = 500_000                     # rows of a sheet from row 1 (title rows included), features of a layer
MAX_COLUMNS = 200                      # columns of a sheet from column A, fields of a layer
MAX_CELLS = 5_000_000                  # rows × columns of a sheet
MAX_UNCOMPRESSED_BYTES = 500_000_000   # an XLSX or a zipped Shapefile, decompressed
MAX_LINE_BYTES = 200_000               # one line of a CSV
MAX_FIELD_CHARS = 32_767               # one cell (Excel's own limit)
MAX_HOUSEHOLDS = 1_000_000             # beyond any village or community: a typing error or a hostile file
MAX_FLOOR_AREA_M2 = 1_000_000
_DUPLICATES_LISTED = 5                 # rows named in a duplicate-code message
_CSV_DELIMITERS = (",", "\t", ";", "|")
_SHEET_LIMITS = SheetLimits(rows=MAX_ROWS, columns=MAX_COLUMNS, cells=MAX_CELLS,
                            uncompressed_bytes=MAX_UNCOMPRESSED_BYTES)


@dataclass(frozen=True)
class Problem:
    """One problem in a user's file, located as the user sees it."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def short(self) -> str:
        """The message without the file name (for the row's own ``problems`` list)."""
        where = f"第{self.row}行" if self.row is not None else ""
        col = f"列「{self.column}」" if self.column else ""
        val = f"值「{self.value}」" if self.value is not None else ""
        head = " ".join(p for p in (where, col, val) if p)
        return f"{head}：{self.message}" if head else self.message

    def __str__(self) -> str:
        return f"{self.file} {self.short()}"


@dataclass
class Registry:
    """A registry read from a file: the villages, and what was found wrong or left out."""

    villages: gpd.GeoDataFrame
    source: str
    problems: list[Problem] = field(default_factory=list)
    dropped: list[Problem] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)


def _norm_value(value: str) -> str:
    """Normalise a cell value for matching (是/Y/中心村, GCJ-02/高德 …): NFKC, lower case, no spaces or dashes."""
    return re.sub(r"[\s\-_.·]", "", unicodedata.normalize("NFKC", value)).lower()


def _match_fields(headers: list[str], explicit: Mapping[str, str], *, name: str,
                  ) -> tuple[dict[str, str], list[Problem], list[Problem]]:
    """Map canonical fields to the headers present: explicit mappings first, then the header grammar
    (``headers.toml``: aliases, then patterns). Returns the fields, the columns found by their patterns (reported,
    so that a user sees which column was taken for what) and the headers two fields fit (left alone)."""
    found: dict[str, str] = {}
    by_norm = {normalise_header(h): h for h in reversed(headers)}  # first occurrence wins
    for header, target in explicit.items():
        if target not in field_names():
            raise RegistryError(
                f"--column {header}={target}: '{target}' 不是可映射的字段；可用字段：{', '.join(field_names())}")
        actual = header if header in headers else by_norm.get(normalise_header(header))
        if actual is None:
            raise RegistryError(f"--column {header}={target}: 表中没有表头「{header}」；现有表头：{'、'.join(headers)}")
        found[target] = actual
    match = match_headers(headers, found)
    guessed = []
    for g in match.guesses:
        others = "、".join(f"「{h[:40]}」" for h in g.others)
        also = f"；{others}也像此列，未采用（如不对，请指定列映射）" if others else ""
        guessed.append(Problem(name, None, g.header, None, f"按表头用词识别为「{FIELD_ZH[g.field]}」{also}"))
    unsure = [Problem(name, None, header, None,
                      f"表头看不出是{'还是'.join(f'「{FIELD_ZH[f]}」' for f in fits)}，未采用（如需要，请指定列映射）")
              for header, fits in match.ambiguous]
    return match.fields, guessed, unsure


def _decode_csv(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RegistryError(f"{name}: 无法识别文件编码（既不是 UTF-8 也不是 GBK/GB18030）")


def _check_csv_lines(data: bytes, name: str) -> None:
    """Line lengths and the row count from the raw bytes, before any parsing."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)
    if len(newlines) > MAX_ROWS:
        raise RegistryError(f"{name}: 共 {len(newlines):,} 行以上，超出上限 {MAX_ROWS:,} 行；请把名册拆分成几个文件")
    ends = np.append(newlines, len(data))
    lengths = np.diff(ends, prepend=-1) - 1
    longest = int(np.argmax(lengths)) if len(lengths) else 0
    if len(lengths) and lengths[longest] > MAX_LINE_BYTES:
        raise RegistryError(f"{name}: 第 {longest + 1} 行长 {int(lengths[longest]):,} 字节，超出每行上限 "
                            f"{MAX_LINE_BYTES:,} 字节；文件可能已损坏，或不是名册")


def _csv_delimiter(text: str) -> str:
    """The delimiter that splits the first lines most consistently into more than one field (default ',')."""
    sample = text[: 20 * MAX_LINE_BYTES].split("\n", 20)[:20]
    best, best_score = ",", (0, 0)
    for delimiter in _CSV_DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(sample, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode), mode) if mode > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV as text cells, rows as the file has them; lines, rows, columns and fields checked before a frame."""
    data = path.read_bytes()
    _check_csv_lines(data, path.name)
    text = _decode_csv(data, path.name)
    del data
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=_csv_delimiter(text)):
            if len(row) > MAX_COLUMNS:
                raise RegistryError(f"{path.name}: 第 {len(rows) + 1} 行有 {len(row):,} 列，超出上限 {MAX_COLUMNS} 列")
            if row and max(map(len, row)) > MAX_FIELD_CHARS:
                raise RegistryError(f"{path.name}: 第 {len(rows) + 1} 行有超过 {MAX_FIELD_CHARS:,} 个字符的单元格，"
                                    "超出上限；文件可能已损坏，或不是名册")
            rows.append(row)
    except csv.Error as exc:
        raise RegistryError(f"{path.name}: 第 {len(rows) + 1} 行无法按 CSV 读取（{exc}）") from None
    width = max(map(len, rows), default=0)
    if len(rows) * width > MAX_CELLS:
        raise RegistryError(f"{path.name}: {len(rows):,} 行 × {width} 列超出上限 {MAX_CELLS:,} 个单元格；"
                            "请把名册拆分成几个文件")
    for row in rows:   # a blank line is []; a short row ends early: both padded, as a sheet would show them
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    return pd.DataFrame(rows, dtype=object)


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells holding inf or -inf (1e309 in a workbook, a GIS field) as text, so that nothing unrepresentable leaves
    the reader; numeric fields then refuse them per row."""
    infinite = frame.isin([np.inf, -np.inf]).to_numpy()
    if not infinite.any():
        return frame
    frame = frame.copy()
    for j in np.flatnonzero(infinite.any(axis=0)):
        values = frame.iloc[:, j].to_numpy(dtype=object, copy=True)
        mask = infinite[:, j]
        values[mask] = ["inf" if v > 0 else "-inf" for v in values[mask]]
        frame.isetitem(j, values)
    return frame


def _read_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet (one for a CSV), every cell as read, no header; index + 1 is the row number Excel shows."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return {path.stem: _finite(_read_csv(path))}
    # calamine picks its reader by the suffix: the check for that reader runs first, and refuses what it cannot read.
    if suffix in (".xlsx", ".xlsm"):
        check_xlsx(path, _SHEET_LIMITS)
    elif suffix == ".ods":
        check_ods(path, _SHEET_LIMITS)
    else:
        check_xls(path, _SHEET_LIMITS)
    try:
        # .xlsx, legacy .xls and .ods through calamine (it keeps the leading empty rows, so row numbers hold)
        tables = pd.read_excel(path, header=None, dtype=object, engine="calamine", sheet_name=None)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any reader failure means the file is unreadable; calamine's Rust
        # panics arrive as pyo3's PanicException, which derives from BaseException
        raise RegistryError(f"{path.name}: 无法读取文件（{type(exc).__name__}: {str(exc)[:300]}）") from None
    for sheet, table in tables.items():   # the pre-checks bound these already; a reader's surprise is caught here
        rows, cols = table.shape
        if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
            raise RegistryError(f"{path.name}: 工作表「{sheet}」有 {rows:,} 行、{cols:,} 列，超出上限"
                                f"（{_SHEET_LIMITS.describe()}）")
    return {sheet: _finite(table) for sheet, table in tables.items()}


def _cell_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _is_number(value: object) -> bool:
    if isinstance(value, int | float | np.integer | np.floating) and not (isinstance(value, float) and np.isnan(value)):
        return True
    text = _cell_text(value)
    return text is not None and re.fullmatch(r"[-+]?[\d,，.]+", unicodedata.normalize("NFKC", text)) is not None


def _two_row_headers(top: list[object], sub: list[object]) -> list[str | None]:
    """Column names of a two-row header: a group title (merged over its columns, so written once) above the
    sub-headers — 党群服务中心 over 面积（㎡）. Each column takes the first of title+sub, sub, title that a reader
    would recognise, else title+sub."""
    names: list[str | None] = []
    group = None
    for t, b in zip(top, sub, strict=True):
        t, b = _cell_text(t), _cell_text(b)
        if t:
            group = t
        if not b:
            names.append(t)
            continue
        options = [(t or group or "") + b, b] + ([t] if t else [])
        names.append(next((o for o in options if field_of_header(o, patterns=False) is not None), None)
                     or next((o for o in options if field_of_header(o) is not None), options[0]))
    return names


def _find_header(raw: pd.DataFrame) -> tuple[int, int, list[str | None], int]:
    """(first header row, header rows (1 or 2), column names, fields named) for the best header among the
    first rows. Title rows above it are skipped; a second header row is taken only when it holds no numbers."""
    best = (0, 1, [], 0)
    rows = [list(r) for r in raw.head(16).itertuples(index=False)]
    for i, row in enumerate(rows[:15]):
        names = [_cell_text(c) for c in row]
        # the grammar's patterns only where a header can be: not in a row of data (numbers: a village called
        # 名山村 is no header), nor in a title (a row of one cell: XX县村级党群服务中心面积统计表)
        score = header_score(names, patterns=sum(n is not None for n in names) > 1
                             and not any(_is_number(c) for c in row))
        if score > best[3]:
            best = (i, 1, names, score)
        if i + 1 < len(rows) and not any(_is_number(c) for c in rows[i + 1]) and any(_cell_text(c) for c in rows[i + 1]):
            two = _two_row_headers(row, rows[i + 1])
            score2 = header_score(two, patterns=not any(_is_number(c) for c in row))
            if score2 > best[3]:
                best = (i, 2, two, score2)
    return best


def _frame_from_tables(tables: dict[str, pd.DataFrame], name: str) -> tuple[pd.DataFrame, str, list[str]]:
    """The sheet with the best header (usually the first) as a frame with its header, and the sheet's name.
    ``__row`` holds each row's number as Excel shows it; fully blank rows are left out."""
    found = {sheet: _find_header(raw) for sheet, raw in tables.items()}
    sheet = max(found, key=lambda k: found[k][3])  # the first of equals: dicts keep the workbook's order
    first, nrows, names, score = found[sheet]
    raw = tables[sheet]
    if score < 1:
        seen = [str(c) for c in (raw.iloc[0] if len(raw) else []) if pd.notna(c) and str(c).strip()]
        raise RegistryError(
            f"{name}: 在前 15 行中找不到表头（需要村名、户数、服务中心面积等列）。"
            f"第1行内容：{'、'.join(seen) or '（空）'}")
    headers = [h if h else f"列{i + 1}" for i, h in enumerate(names)]
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):  # make duplicate headers unique, as Excel users would tell them apart
        if h in seen:
            seen[h] += 1
            headers[i] = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
    body = raw.iloc[first + nrows:].copy()
    if body.empty:
        raise RegistryError(f"{name}: 表头（第{first + nrows}行）下面没有数据行")
    body.columns = headers
    body["__row"] = body.index + 1
    blank = body.drop(columns="__row").map(lambda v: pd.isna(v) or str(v).strip() == "").all(axis=1)
    if blank.all():
        raise RegistryError(f"{name}: 表头（第{first + nrows}行）下面没有数据行（只有空行）")
    named = [i for i, h in enumerate(names) if h]
    return body[~blank].reset_index(drop=True), sheet, headers[named[-1] + 1:] if named else []


def _read_spatial(path: Path) -> gpd.GeoDataFrame:
    """A GIS layer in WGS84; its ZIP's decompressed size and its feature and field counts checked first."""
    import pyogrio

    target: Path | str = path
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise RegistryError(f"{path.name}: 不是有效的 ZIP 压缩包（{exc}）") from None
        total = sum(max(i.file_size, 0) for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise RegistryError(f"{path.name}: 解压后共 {total:,} 字节，超出上限 {MAX_UNCOMPRESSED_BYTES:,} 字节")
        shp = [i.filename for i in infos if i.filename.lower().endswith(".shp")]
        if not shp:
            raise RegistryError(f"{path.name}: 压缩包中没有 .shp 文件")
        target = f"/vsizip/{path}/{shp[0]}"
    try:
        with warnings.catch_warnings():   # GDAL's notes on what it tolerated (extra members, odd values)
            warnings.simplefilter("ignore", RuntimeWarning)
            info = pyogrio.read_info(target)
            features, fields = int(info.get("features", -1)), len(info.get("fields", ()))
            if features > MAX_ROWS or fields > MAX_COLUMNS:
                raise RegistryError(f"{path.name}: 图层有 {features:,} 个要素、{fields:,} 个字段，超出上限"
                                    f"（最多 {MAX_ROWS:,} 个要素、{MAX_COLUMNS} 个字段）")
            gdf = gpd.read_file(target)
        if len(gdf) > MAX_ROWS:
            raise RegistryError(f"{path.name}: 图层有 {len(gdf):,} 个要素，超出上限 {MAX_ROWS:,} 个")
        if gdf.crs is None:
            raise RegistryError(f"{path.name}: 文件没有坐标参考系（CRS），无法确定坐标含义；请在 GIS 软件中设定后重试")
        if not gdf.crs.equals("EPSG:4326"):
            gdf = gdf.to_crs("EPSG:4326")
    except RegistryError:
        raise
    except Exception as exc:  # noqa: BLE001 - GDAL, PROJ and GEOS failing on a user's file: unreadable
        raise RegistryError(f"{path.name}: 无法读取空间数据文件（{type(exc).__name__}: {str(exc)[:300]}）") from None
    if gdf.empty:
        raise RegistryError(f"{path.name}: 文件中没有任何要素")
    return gdf


def _text(series: pd.Series) -> pd.Series:
    """Cells as clean text (codes stay text: 371521100201.0 read from Excel → 371521100201)."""
    def one(v: object) -> str | None:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = str(v).strip()
        return None if text.lower() in ("", "nan", "none") else text
    return pd.Series([one(v) for v in series], index=series.index, dtype=object)


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse numbers like 120, "120㎡", "１２０", "1,200". Returns (value, missing, not_a_number)."""
    text = series.astype("string").str.normalize("NFKC").str.strip().str.lower()
    text = text.str.replace(r"\s", "", regex=True)
    missing = text.isna() | text.isin(_MISSING)
    cleaned = text.str.replace(r"[,，]", "", regex=True).str.replace(UNIT_SUFFIX, "", regex=True)
    value = pd.to_numeric(cleaned.where(~missing), errors="coerce").astype(float)
    bad = value.isna() & ~missing
    return value, missing, bad


def _shown(series: pd.Series) -> pd.Series:
    """Values as a message shows them: 1e308 as 1e+308, never 309 digits; long text cut at 40 characters."""
    def one(v: object) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:.6g}"
        text = str(v).strip()
        if isinstance(v, int | np.integer) and len(text.lstrip("-")) > 20:   # a float read back as a 309-digit int
            digits = text.lstrip("-")
            return f"{text[:len(text) - len(digits)]}{digits[0]}.{digits[1:6]}e+{len(digits) - 1}"
        return text if len(text) <= 40 else text[:40] + "…"
    return pd.Series([one(v) for v in series], index=series.index, dtype=object)


class _Collector:
    """Collects problems per row (by position) and for the file."""

    def __init__(self, name: str, rows: np.ndarray) -> None:
        self.name, self.rows = name, rows
        self.problems: list[Problem] = []
        self.by_pos: dict[int, list[str]] = {}

    def file(self, message: str) -> None:
        self.problems.append(Problem(self.name, None, None, None, message))

    def rows_where(self, mask: np.ndarray, column: str | None, values: pd.Series | None, message: str) -> None:
        for pos in np.flatnonzero(mask):
            value = None if values is None else ("" if values.iloc[pos] is None else str(values.iloc[pos]))
            p = Problem(self.name, int(self.rows[pos]), column, value, message)
            self.problems.append(p)
            self.by_pos.setdefault(int(pos), []).append(p.short())


def _village_types(values: pd.Series | None, rules: Rules, header: str | None,
                   col: _Collector) -> pd.Series:
    default = rules.area.default_type
    if values is None:
        col.file(f"没有「是否中心村/村庄类型」列：全部按「{rules.area.type_by_id(default).name_zh}」核定")
        return pd.Series(default, index=range(len(col.rows)), dtype=object)
    lookup = {}
    for t in rules.area.types:
        for v in (*t.values, t.name_zh, t.id):
            lookup[_norm_value(v)] = t.id
    text = _text(values)
    norm = [None if v is None else _norm_value(v) for v in text]
    given = [v for v in norm if v is not None]
    if given and not any(v in lookup for v in given):
        # a column of something else under a type header (村庄分类: 集聚提升类, 城郊融合类 — the planning classes, which
        # do not say 中心村): not the village type; as without the column, said once
        seen = list(dict.fromkeys(v[:20] for v in text if v is not None))
        shown = "、".join(seen[:4]) + ("……" if len(seen) > 4 else "")
        known = "、".join(t.name_zh for t in rules.area.types)
        col.file(f"列「{header}」的值（{shown}）都不是规则文件中的村庄类型（{known}），未采用："
                 f"全部按「{rules.area.type_by_id(default).name_zh}」核定；如另有是否中心村的列，请指定列映射")
        return pd.Series(default, index=range(len(col.rows)), dtype=object)
    types = pd.Series([default if v is None else lookup.get(v) for v in norm], dtype=object)
    blank = np.array([v is None for v in norm], dtype=bool)
    col.rows_where(blank, header, text,
                   f"村庄类型未填写，按「{rules.area.type_by_id(default).name_zh}」核定")
    unknown = (~blank) & types.isna().to_numpy()
    known = "、".join(t.name_zh for t in rules.area.types)
    col.rows_where(unknown, header, text, f"无法识别的村庄类型（规则文件中的类型：{known}），面积无法判定")
    return types


_DMS = (r"^\s*(\d{1,3})\s*[°度]\s*(?:(\d{1,2}(?:\.\d+)?)\s*(?:′|'|分)(?!′|')\s*)?"
        r"(?:(\d{1,2}(?:\.\d+)?)\s*(?:″|\"|′′|''|秒)?)?\s*[NSEW东西南北]?\s*$")


def _degrees(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Coordinates as decimal degrees: numbers, or degrees-minutes-seconds as some sheets write them
    (115°58′48.5″, 36度27分). Returns (value, missing, not_a_number) like :func:`_numbers`."""
    value, missing, bad = _numbers(series)
    if bad.any():
        text = series.astype("string").str.normalize("NFKC")
        parts = text[bad].str.extract(_DMS).astype(float)
        dms = parts[0] + parts[1].fillna(0) / 60 + parts[2].fillna(0) / 3600
        value = value.copy()
        value[bad] = dms
        bad = bad & dms.reindex(bad.index).isna()
    return value, missing, bad


def _coordinates(lon_s: pd.Series, lat_s: pd.Series, crs_s: pd.Series | None, *, default_crs: str,
                 headers: dict[str, str], col: _Collector) -> tuple[np.ndarray, np.ndarray]:
    lon, lon_missing, lon_bad = _degrees(lon_s)
    lat, lat_missing, lat_bad = _degrees(lat_s)
    lon, lat = lon.to_numpy(copy=True), lat.to_numpy(copy=True)
    col.rows_where(lon_bad.to_numpy(), headers["lon"], lon_s, "经度不是数字，该村不上图")
    col.rows_where(lat_bad.to_numpy(), headers["lat"], lat_s, "纬度不是数字，该村不上图")
    none = (lon_missing & lat_missing).to_numpy()
    col.rows_where(none, None, None, "缺少经纬度，该村不上图")
    one = (lon_missing ^ lat_missing).to_numpy()
    col.rows_where(one, None, None, "经度或纬度只填了一个，该村不上图")
    swapped = ~coords.in_china(lon, lat) & coords.in_china(lat, lon)
    both = pd.Series(lon).astype(str) + ", " + pd.Series(lat).astype(str)
    col.rows_where(swapped, f"{headers['lon']}/{headers['lat']}", both, "经纬度可能填反，已按互换处理")
    lon[swapped], lat[swapped] = lat[swapped], lon[swapped].copy()
    outside = ~coords.in_china(lon, lat) & ~np.isnan(lon) & ~np.isnan(lat)
    col.rows_where(outside, f"{headers['lon']}/{headers['lat']}", both, "坐标不在中国境内，该村不上图")
    lon[outside] = lat[outside] = np.nan

    crs = pd.Series(default_crs, index=range(len(lon)), dtype=object)
    if crs_s is not None:
        lookup = {_norm_value(v): name for name, values in CRS_VALUES.items() for v in values}
        text = _text(crs_s)
        given = pd.Series([None if v is None else lookup.get(_norm_value(v), "?") for v in text], dtype=object)
        bad = (given == "?").to_numpy()
        col.rows_where(bad, headers["coord_system"], text, "无法识别的坐标系（可用：WGS84、GCJ-02/高德、BD-09/百度），该村不上图")
        crs = given.where(given.notna(), default_crs)
        lon[bad] = lat[bad] = np.nan
    for name in ("gcj02", "bd09"):
        sel = (crs == name).to_numpy()
        if sel.any():
            lon[sel], lat[sel] = coords.to_wgs84(lon[sel], lat[sel], name)
    return lon, lat


def _points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) of each feature: a point as it is, another shape by a point inside it (an invalid one repaired
    first); NaN when there is none or GEOS cannot find one."""
    out = np.full((len(geoms), 2), np.nan)
    kinds = shapely.get_type_id(geoms)          # -1: no geometry
    points = kinds == 0
    out[points, 0], out[points, 1] = shapely.get_x(geoms[points]), shapely.get_y(geoms[points])
    with np.errstate(invalid="ignore"):   # a vertex at inf or NaN: reported by the caller, not warned about here
        for k in np.flatnonzero(kinds > 0):
            geom = geoms[k]
            try:
                inside = shapely.point_on_surface(geom if shapely.is_valid(geom) else shapely.make_valid(geom))
            except shapely.errors.GEOSException:
                continue
            if not shapely.is_empty(inside):
                out[k] = shapely.get_coordinates(inside)[0]
    return out[:, 0], out[:, 1]


def _canonical_from_frame(frame: pd.DataFrame, fields: dict[str, str], rules: Rules, *, name: str,
                          default_crs: str, geometry: gpd.GeoSeries | None, overflow: np.ndarray | None = None,
                          ) -> tuple[gpd.GeoDataFrame, _Collector]:
    rows = frame["__row"].to_numpy()
    col = _Collector(name, rows)
    n = len(frame)
    if overflow is not None:
        col.rows_where(overflow, None, None, "本行的字段比表头多（数字里的逗号没有加引号？如 1,200 应写作 \"1,200\" 或 "
                                             "1200）：各值已不在各自的列下，面积无法判定")
    out = pd.DataFrame(index=range(n))
    get = {f: frame[h].reset_index(drop=True) for f, h in fields.items()}

    for fld in ("village_code", "village_name", "township", "county"):
        out[fld] = _text(get[fld]) if fld in get else pd.Series([None] * n, dtype=object)
    if "village_code" in get:
        sci = out["village_code"].map(lambda v: isinstance(v, str) and bool(re.fullmatch(r"\d(\.\d+)?e\+?\d+", v.lower())))
        col.rows_where(sci.to_numpy(), fields["village_code"], out["village_code"],
                       "村代码被写成了科学计数法，末几位已丢失；请把该列设为文本后重新导出")
        codes = out["village_code"]
        dup = (codes.notna() & codes.duplicated(keep=False)).to_numpy()
        for _, positions in pd.Series(np.flatnonzero(dup)).groupby(codes[dup].to_numpy()):
            # At most a few rows are named: 500 copies of a code must not make 500 messages of 500 rows each.
            where = "、".join(str(rows[p]) for p in positions[:_DUPLICATES_LISTED])
            where = f"第{where}行" if len(positions) <= _DUPLICATES_LISTED else f"第{where}行等，共 {len(positions)} 行"
            mask = np.zeros(n, dtype=bool)
            mask[positions.to_numpy()] = True
            col.rows_where(mask, fields["village_code"], codes, f"村代码重复（{where}）")
    else:
        col.file("没有村代码列：无法检查重复，导出中村代码为空")
    blank_name = out["village_name"].isna().to_numpy()
    col.rows_where(blank_name, fields["village_name"], out["village_name"], "村名为空")

    types = _village_types(get.get("village_type"), rules, fields.get("village_type"), col)
    out["village_type"] = types
    central = {t.id: t.central for t in rules.area.types}
    out["is_central"] = pd.Series([central.get(t) for t in types], dtype=object)

    for fld, label, limit in (("households", "户数", MAX_HOUSEHOLDS), ("floor_area_m2", "面积", MAX_FLOOR_AREA_M2)):
        value, missing, bad = _numbers(get[fld])
        header = fields[fld]
        col.rows_where(missing.to_numpy(), header, _text(get[fld]), f"{label}缺失，面积无法判定")
        col.rows_where(bad.to_numpy(), header, get[fld], f"{label}不是有效数字，面积无法判定")
        # inf, 1e309 and 400-digit numbers parse as inf; 1e308 is finite but no village's, and overflows later
        beyond = (value.notna() & ~(value.abs() <= limit)).to_numpy()
        col.rows_where(beyond, header, _shown(get[fld]),
                       f"{label}超出可处理的范围（绝对值上限 {limit:,}），面积无法判定")
        value[beyond] = np.nan
        negative = (value < 0).to_numpy()
        col.rows_where(negative, header, get[fld], f"{label}为负数，面积无法判定")
        value[negative] = np.nan
        if overflow is not None:
            value[overflow] = np.nan
        out[fld] = value

    if geometry is not None:
        pts = geometry.reset_index(drop=True)
        lon, lat = _points(pts.to_numpy())
        if default_crs != "wgs84":
            lon, lat = coords.to_wgs84(lon, lat, default_crs)
        col.rows_where(np.isnan(lon), None, None, "要素没有几何，该村不上图")
        unusable = ~np.isnan(lon) & ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
        col.rows_where(unusable, None, None, "要素坐标无效（不是有限的经纬度），该村不上图")
        lon[unusable] = lat[unusable] = np.nan
    elif "lon" in get and "lat" in get:
        lon, lat = _coordinates(get["lon"], get["lat"], get.get("coord_system"), default_crs=default_crs,
                                headers=fields, col=col)
    else:
        col.file("没有经纬度列：村庄不上图")
        lon = lat = np.full(n, np.nan)
    out["excel_row"] = rows.astype(int)
    out["problems"] = [col.by_pos.get(i, []) for i in range(n)]
    ordered = [c for c in CANONICAL if c != "geometry"] + ["village_type", "excel_row", "problems", "geometry"]
    # Other columns are kept as the sheet has them (a column named like one of ours keeps its values, renamed).
    extras = {}
    for c in frame.columns:
        if c in fields.values() or c in ("__row", "geometry"):
            continue
        name = str(c)
        while name in ordered or name in extras:
            name += "（原表）"
        extras[name] = frame[c].reset_index(drop=True).to_numpy()
    out = pd.concat([out, pd.DataFrame(extras, index=out.index)], axis=1) if extras else out
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    gdf.loc[np.isnan(lon) | np.isnan(lat), "geometry"] = None
    return gdf[ordered + list(extras)], col


def _check_file(path: Path) -> None:
    if not path.exists():
        raise RegistryError(f"文件不存在：{path}")
    if not path.is_file():
        raise RegistryError(f"{path.name}: 不是文件")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RegistryError(f"{path.name}: 文件大小 {size:,} 字节，超出上限 {MAX_FILE_BYTES:,} 字节；请把名册拆分成几个文件")
    if size == 0:
        raise RegistryError(f"{path.name}: 文件为空（0 字节）")


def registry_from_file(path: str | Path, *, rules: Rules | None = None, crs: str = "wgs84",
                       columns: Mapping[str, str] | None = None) -> Registry:
    """Read a village registry into the canonical GeoDataFrame.

    Parameters
    ----------
    path
        XLSX/XLS/CSV (a header row, possibly below title rows), or GeoJSON/GPKG/zipped SHP.
    rules
        Rules whose village types map 是否中心村/村庄类型 values (default rules when None).
    crs
        Coordinate system of the coordinates: ``wgs84``, ``gcj02`` (Gaode) or ``bd09`` (Baidu); a 坐标系
        column overrides it per row. Output is always WGS84.
    columns
        Explicit header → field mappings, e.g. ``{"村庄": "village_name"}``.

    Raises
    ------
    RegistryError
        Unreadable file, unknown format, or a required column missing (the message lists the headers seen
        and how to map one with ``--column``).
    """
    path = Path(path)
    rules = rules or load_rules()
    if crs not in coords.CRS_NAMES:
        raise RegistryError(f"'crs' should be one of {coords.CRS_NAMES}, got '{crs}' instead")
    _check_file(path)
    suffix = path.suffix.lower()
    geometry = None
    sheet_note = None
    overflow = None
    if suffix in TABULAR:
        tables = _read_tables(path)
        frame, sheet, unheaded = _frame_from_tables(tables, path.name)
        if suffix in (".csv", ".txt") and unheaded:
            # cells right of the last headed column: a CSV row split into more fields than its header (an unquoted
            # 1,200) — its values no longer sit under their headers
            overflow = frame[unheaded].map(lambda v: _cell_text(v) is not None).any(axis=1).to_numpy()
        if len(tables) > 1 and sheet != next(iter(tables)):
            sheet_note = f"读取的是工作表「{sheet}」（表头最完整的一张）"
    elif suffix in SPATIAL:
        gdf = _read_spatial(path)
        geometry = gdf.geometry
        frame = _finite(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)))
        frame["__row"] = np.arange(len(frame)) + 2  # the attribute table's row, header on row 1
    else:
        raise RegistryError(f"{path.name}: 不支持的文件类型「{suffix}」（支持 XLSX、XLS、ODS、CSV、GeoJSON、GPKG、SHP 压缩包）")

    headers = [str(c) for c in frame.columns if c != "__row"]
    fields, guessed, unsure = _match_fields(headers, columns or {}, name=path.name)
    if geometry is not None:
        fields.pop("lon", None), fields.pop("lat", None)
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        need = "、".join(f"{FIELD_ZH[f]}（{f}）" for f in missing)
        shown = "、".join(h[:40] for h in headers[:30]) + ("……" if len(headers) > 30 else "")
        raise RegistryError(
            f"{path.name}: 缺少必需的列：{need}。表中的表头：{shown}。{''.join(f'{n.short()}。' for n in unsure)}"
            f"如某列就是所需字段，请把它的表头改为「{FIELD_ZH[missing[0]]}」，或指定列映射（命令行："
            f"--column {headers[0][:40] if headers else '表头'}={missing[0]}）")

    # 合计/总计/小计 rows are summaries, not villages: drop and report them. The word may sit in any text
    # column (often 序号), so every column is looked at, but only as the whole cell's leading word.
    cells = frame.drop(columns="__row").astype("string").fillna("")
    is_total = cells.apply(lambda s: s.str.replace(r"\s", "", regex=True).str.contains(_TOTAL_ROW)).any(axis=1)
    is_total = is_total.to_numpy()
    dropped = [Problem(path.name, int(r), None, None, "合计/小计行，不是村庄，已剔除")
               for r in frame.loc[is_total, "__row"]]
    frame = frame[~is_total].reset_index(drop=True)
    if overflow is not None:
        overflow = overflow[~is_total]
    if geometry is not None:
        geometry = geometry[~is_total]
    if frame.empty:
        raise RegistryError(f"{path.name}: 除合计/小计行外没有村庄数据行")

    villages, col = _canonical_from_frame(frame, fields, rules, name=path.name, default_crs=crs,
                                          geometry=geometry, overflow=overflow)
    col.problems[:0] = ([Problem(path.name, None, None, None, sheet_note)] if sheet_note else []) + guessed + unsure
    return Registry(villages=villages, source=str(path), problems=col.problems, dropped=dropped,
                    columns=fields)


def townships_from_file(path: str | Path, *, name_column: str | None = None) -> gpd.GeoDataFrame:
    """Read a township boundary layer (GeoJSON/GPKG/zipped SHP) as ``township, geometry`` in WGS84."""
    path = Path(path)
    if path.suffix.lower() not in SPATIAL:
        raise RegistryError(f"{path.name}: 乡镇边界须为 GeoJSON、GPKG 或 SHP 压缩包")
    _check_file(path)
    gdf = _read_spatial(path)
    headers = [c for c in gdf.columns if c != gdf.geometry.name]
    column = name_column or match_headers(headers).fields.get("township")
    if column is None or column not in gdf.columns:
        raise RegistryError(f"{path.name}: 找不到乡镇名称列；现有列：{'、'.join(headers)}")
    out = gpd.GeoDataFrame({"township": _text(gdf[column]).to_numpy()},
                           geometry=_township_areas(gdf.geometry.to_numpy(), path.name), crs="EPSG:4326")
    return out


_POLYGONAL = (3, 6)   # shapely type ids of Polygon and MultiPolygon


def _polygonal_part(geom: object) -> object:
    """The polygons of a geometry (``make_valid`` may return a collection with lines and points beside them)."""
    if geom is None or shapely.get_type_id(geom) in _POLYGONAL:
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in _POLYGONAL]
    return shapely.multipolygons(parts) if parts else shapely.Polygon()


def _township_areas(geoms: np.ndarray, name: str) -> np.ndarray:
    """Township polygons checked on entry: every vertex a finite longitude and latitude, every feature a polygon;
    an invalid polygon (a ring crossing itself, as hand-drawn layers have) repaired as GIS software does."""
    geoms = geoms.copy()
    xy, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    if bad.any():
        k = int(np.argmax(bad))
        raise RegistryError(f"{name}: 第 {int(index[k]) + 1} 个要素的坐标（{xy[k, 0]:.6g}, {xy[k, 1]:.6g}）"
                            "不是有效的经纬度，乡镇边界无法使用")
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    kinds = shapely.get_type_id(geoms)
    wrong = present & ~np.isin(kinds, _POLYGONAL)
    if wrong.any():
        k = int(np.argmax(wrong))
        what = {0: "点", 1: "线", 2: "线", 4: "多点", 5: "多线", 7: "几何集合"}.get(int(kinds[k]), "其他几何")
        raise RegistryError(f"{name}: 第 {k + 1} 个要素是{what}，不是面；乡镇边界须为面（Polygon）图层")
    invalid = present & ~shapely.is_valid(geoms)
    for k in np.flatnonzero(invalid):
        try:
            geoms[k] = _polygonal_part(shapely.make_valid(geoms[k]))
        except shapely.errors.GEOSException as exc:
            raise RegistryError(f"{name}: 第 {k + 1} 个要素的边界无效且无法修复（{exc}）") from None
    return geoms
