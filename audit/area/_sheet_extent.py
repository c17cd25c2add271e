"""How far a workbook's sheets really reach, read from the file's own bytes before any spreadsheet reader allocates.

calamine (the native reader behind ``pd.read_excel``) allocates a dense grid from A1 to the last cell with a value:
one value in XFD1048576 asks for 17 billion cells and aborts the process, which no ``except`` can catch. So the
extent is measured first, in pure Python and in bounded memory:

* XLSX: the ZIP's declared sizes, then each worksheet's ``<dimension ref>`` and a streaming scan of its ``<row>``
  and ``<c>`` tags (explicit ``r`` positions and implicit ones, which follow the previous cell), stopping at the
  first cell beyond a limit. Empty self-closing cells (``<c r="XFD1" s="3"/>``) move the position but are not
  counted: calamine skips them too.
* XLS: the compound file's ``Workbook`` stream, walked record by record for cell records (BLANK and MULBLANK are
  skipped, as calamine skips them).
* ODS: the ZIP's declared sizes, then ``content.xml`` streamed through expat (no tree, no DTD), rows and cells
  counted with their repeats (``number-rows-repeated``, ``number-columns-repeated``): calamine repeats a cell
  holding a value as often as it says (20,000 rows × 1,000 columns of one repeated value took 2.2 GB), and skips
  empty ones.

Every function raises :class:`~audit.errors.RegistryError` with the file, the sheet and the limit; none returns
a value that says "too big".
"""

from __future__ import annotations

import posixpath
import re
import struct
import xml.etree.ElementTree as ET
import xml.parsers.expat as expat
import zipfile
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path, PurePosixPath

from audit.errors import RegistryError


@dataclass(frozen=True)
class SheetLimits:
    """The largest sheet accepted: rows and columns from A1 (title rows included), and their product."""

    rows: int
    columns: int
    cells: int
    uncompressed_bytes: int

    def describe(self) -> str:
        return f"最多 {self.rows:,} 行、{self.columns:,} 列、{self.cells:,} 个单元格"


def column_letters(col: int) -> str:
    """1 → A, 16384 → XFD."""
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _over(rows: int, cols: int, limits: SheetLimits) -> bool:
    return rows > limits.rows or cols > limits.columns or rows * cols > limits.cells


def _refuse_extent(name: str, sheet: str, rows: int, cols: int, limits: SheetLimits, *, declared: bool) -> None:
    what = "声明的范围" if declared else "的数据"
    raise RegistryError(
        f"{name}: 工作表「{sheet}」{what}延伸到第 {rows:,} 行、第 {cols:,} 列（{column_letters(cols)}{rows}），"
        f"超出上限（{limits.describe()}）；请删除多余的行和列后另存，或把名册拆分成几个文件")


# --- XLSX -----------------------------------------------------------------------------------------------------

_CELL_REF = re.compile(rb"^([A-Za-z]{1,3})(\d{1,7})$")
_ROW_REF = re.compile(rb"^\d{1,7}$")
_RANGE_END = re.compile(rb"^(?:[A-Za-z]{1,3}\d{1,7}:)?([A-Za-z]{1,3})(\d{1,7})$")
# A <row> or <c> start tag, any namespace prefix, attributes in either quote (a '>' may sit inside a quoted value).
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>")
_TAG_START = re.compile(rb"<(?:[\w.-]+:)?(?:row|c)(?:[\s/>]|$)")
# Fast path: a row or cell tag with r="…" first gives all three groups, any other gives empty ones.
_FAST_TAG = re.compile(rb"<(row|c)(?:\s+r=\"([A-Za-z]{0,3})(\d{1,7})\"|(?=[\s/>]))")
_PREFIXED_TAG = re.compile(rb":(?:row|c)[\s/>]")
_R_ATTR = re.compile(rb"(?:^|\s)r\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s+[^>]*?ref\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_ENCODING = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']")
_CHUNK = 1 << 20
_MAX_TAG = 1 << 20          # a start tag longer than this is not a spreadsheet's
_MAX_SMALL_XML = 16 << 20   # workbook.xml and its relationships are read whole


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet member → the sheet's name as Excel shows it (best effort: unreadable metadata gives none)."""
    try:
        book = zf.getinfo("xl/workbook.xml")
        rels = zf.getinfo("xl/_rels/workbook.xml.rels")
        if book.file_size > _MAX_SMALL_XML or rels.file_size > _MAX_SMALL_XML:
            return {}
        targets = {}
        for rel in ET.fromstring(zf.read(rels)):
            target = rel.get("Target", "")
            path = posixpath.normpath(target.lstrip("/") if target.startswith("/") else f"xl/{target}")
            targets[rel.get("Id")] = path
        out = {}
        for el in ET.fromstring(zf.read(book)).iter():
            if el.tag.endswith("}sheet") or el.tag == "sheet":
                rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
                if rid in targets:
                    out[targets[rid]] = el.get("name", "")
        return out
    except Exception:  # noqa: BLE001 - names are for messages only; the scan then takes every worksheet member
        return {}


def _worksheets(zf: zipfile.ZipFile, names: dict[str, str]) -> list[zipfile.ZipInfo]:
    """Every member a reader may take as a worksheet: those the workbook names and all under xl/worksheets/."""
    wanted = set(names) | {i.filename for i in zf.infolist() if i.filename.startswith("xl/worksheets/")
                           and i.filename.endswith(".xml")}
    return [i for i in zf.infolist() if i.filename in wanted]


def _check_encoding(head: bytes, name: str, sheet: str) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:64]:
        raise RegistryError(f"{name}: 工作表「{sheet}」不是 UTF-8 编码的 XML，无法安全读取；请用 Excel 另存后重试")
    m = _ENCODING.search(head[:512])
    if m and m.group(1).lower().replace(b"-", b"").replace(b"_", b"") not in (b"utf8", b"ascii", b"usascii"):
        raise RegistryError(f"{name}: 工作表「{sheet}」的 XML 编码为 {m.group(1).decode('ascii', 'replace')}，"
                            "不是 UTF-8，无法安全读取；请用 Excel 另存后重试")


class _Position:
    """Where the scan stands in one worksheet: the current row and column (1-based, 0: none yet) and the extent
    of the cells seen so far."""

    def __init__(self, name: str, sheet: str, limits: SheetLimits) -> None:
        self.name, self.sheet, self.limits = name, sheet, limits
        self.row = self.col = self.max_row = self.max_col = 0

    def extend(self, row: int, col: int) -> None:
        if row > self.max_row or col > self.max_col:
            self.max_row, self.max_col = max(self.max_row, row, 1), max(self.max_col, col)
            if _over(self.max_row, self.max_col, self.limits):
                _refuse_extent(self.name, self.sheet, self.max_row, self.max_col, self.limits, declared=False)

    def fast(self, region: bytes) -> bool:
        """When every row and cell tag in ``region`` is unprefixed and starts with r="…" (as Excel, openpyxl and
        xlsxwriter write them), the extent is the largest reference, found without a Python step per cell;
        False when any tag is written otherwise (the exact walk then takes the region)."""
        if _PREFIXED_TAG.search(region):
            return False
        refs = _FAST_TAG.findall(region)
        if not refs:
            return True
        numbers = set(map(itemgetter(2), refs))
        columns = set(map(itemgetter(0, 1), refs))
        if b"" in numbers or any((k == b"c") != bool(letters) for k, letters in columns):
            return False   # a tag without r first, a cell without a column or a row with one: the exact walk
        rows = max(map(int, numbers))
        cols = max((_col_number(letters) for k, letters in columns if k == b"c"), default=0)
        self.extend(max(rows, 1), cols)   # empty self-closing cells count here: an over-count, never an under-count
        kind, letters_last, digits_last = refs[-1]
        self.row = int(digits_last)
        self.col = _col_number(letters_last) if kind == b"c" else 0
        return True

    def exact(self, region: bytes) -> None:
        """Follow every tag in order: a row or cell without r="…" comes after the previous one."""
        for m in _TAG.finditer(region):
            attrs = m.group(2)
            ref = _R_ATTR.search(attrs) if attrs else None
            value = None if ref is None else (ref.group(1) if ref.group(1) is not None else ref.group(2)).strip()
            if m.group(1) == b"row":
                if value is None:
                    self.row += 1
                elif _ROW_REF.match(value):
                    self.row = int(value)
                else:
                    raise RegistryError(f"{self.name}: 工作表「{self.sheet}」中有无法识别的行号"
                                        f"「{value[:20].decode('ascii', 'replace')}」")
                self.col = 0
                continue
            if value is None:
                self.col += 1
            else:
                cell = _CELL_REF.match(value)
                if cell is None:
                    raise RegistryError(f"{self.name}: 工作表「{self.sheet}」中有无法识别的单元格位置"
                                        f"「{value[:20].decode('ascii', 'replace')}」")
                self.col, self.row = _col_number(cell.group(1)), max(int(cell.group(2)), 1)
            if not m.group(3):   # <c .../> holds no value: calamine leaves it out
                self.extend(self.row, self.col)


def _check_dimension(head: bytes, name: str, sheet: str, limits: SheetLimits) -> None:
    m = _DIMENSION.search(head)
    if m:
        end = _RANGE_END.match((m.group(1) if m.group(1) is not None else m.group(2)).strip())
        if end:
            rows, cols = int(end.group(2)), _col_number(end.group(1))
            if _over(rows, cols, limits):
                _refuse_extent(name, sheet, rows, cols, limits, declared=True)


def _scan_worksheet(fh, name: str, sheet: str, limits: SheetLimits) -> None:  # noqa: ANN001 - a ZipExtFile
    """The declared dimension, then every row and cell position of one worksheet XML stream, read in chunks;
    refuse at the first one beyond a limit."""
    pos = _Position(name, sheet, limits)
    tail = b""
    first = True
    while True:
        chunk = fh.read(_CHUNK)
        if first:
            _check_encoding(chunk, name, sheet)
            _check_dimension(chunk, name, sheet, limits)
            first = False
        buf = tail + chunk
        # A row or cell tag that the chunk boundary may cut is carried into the next round, nothing else is:
        # inside a well-formed tag there is no '<'.
        cut = buf.rfind(b"<")
        if chunk and cut >= 0 and (_TAG_START.match(buf, cut) or len(buf) - cut < 64):
            region, tail = buf[:cut], buf[cut:]
            if len(tail) > _MAX_TAG:
                raise RegistryError(f"{name}: 工作表「{sheet}」中有异常的超长单元格标记，无法安全读取")
        else:
            region, tail = buf, b""
        if not pos.fast(region):
            pos.exact(region)
        if not chunk:
            return


def _check_shared_strings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: SheetLimits) -> None:
    """A shared-string table's declared counts (calamine reserves room for uniqueCount strings up front): never
    more strings than a sheet may have cells."""
    if not info.filename.endswith(".xml") or info.is_dir():
        return
    try:
        with zf.open(info) as fh:
            head = fh.read(4096)
    except Exception as exc:  # noqa: BLE001 - a broken member: the workbook is unreadable
        raise RegistryError(f"{name}: 无法读取文件（{info.filename} 已损坏：{type(exc).__name__}: {exc}）") from None
    if b"sst" not in head:
        return
    for m in re.finditer(rb"<(?:[\w.-]+:)?sst\b([^>]*)>", head):
        for count in re.findall(rb"\b(?:uniqueCount|count)\s*=\s*[\"']\s*(\d+)", m.group(1)):
            if int(count) > limits.cells:
                raise RegistryError(f"{name}: 共享字符串表声明了 {int(count):,} 个字符串，超出上限 "
                                    f"{limits.cells:,} 个（文件可能已损坏）")


def _workbook_zip(path: Path, kind: str, limits: SheetLimits) -> zipfile.ZipFile:
    """The workbook's ZIP, open, once its members' declared sizes add up to at most ``limits.uncompressed_bytes``;
    ``kind`` (XLSX, ODS) names the format in the message when it is no ZIP."""
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # noqa: BLE001 - whatever the ZIP reader says, the workbook is unreadable
        raise RegistryError(f"{path.name}: 无法读取文件（不是有效的 {kind} 工作簿：{type(exc).__name__}: {exc}）") from None
    total = sum(max(i.file_size, 0) for i in zf.infolist())
    if total > limits.uncompressed_bytes:
        zf.close()
        raise RegistryError(f"{path.name}: 解压后共 {total:,} 字节，超出上限 {limits.uncompressed_bytes:,} 字节")
    return zf


def check_xlsx(path: Path, limits: SheetLimits) -> None:
    """Refuse an XLSX/XLSM whose sheets reach beyond ``limits`` (declared or actual), whose ZIP would decompress
    to more than ``limits.uncompressed_bytes``, or that this scan cannot read: a file the scan could not measure
    never reaches the native reader."""
    name = path.name
    with _workbook_zip(path, "XLSX", limits) as zf:
        for info in zf.infolist():
            _check_shared_strings(zf, info, name, limits)
        names = _sheet_names(zf)
        for info in _worksheets(zf, names):
            sheet = names.get(info.filename) or PurePosixPath(info.filename).stem
            try:
                with zf.open(info) as fh:
                    _scan_worksheet(fh, name, sheet, limits)
            except RegistryError:
                raise
            except Exception as exc:  # noqa: BLE001 - zlib, CRC, encryption, unknown compression: all corrupt
                raise RegistryError(f"{name}: 无法读取文件（工作表「{sheet}」已损坏：{type(exc).__name__}: {exc}）") from None


# --- XLS (BIFF in a compound file) ------------------------------------------------------------------------------

_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE
_BOF, _EOF, _BOUNDSHEET, _DIMENSIONS = 0x0809, 0x000A, 0x0085, 0x0200
# Cell records with a value, row and column in their first four bytes; MULRK carries its last column at the end.
_CELL_RECORDS = {0x0203, 0x0204, 0x00FD, 0x027E, 0x0205, 0x0006, 0x00D6, 0x0003, 0x0002, 0x0004, 0x0005,
                 0x0206, 0x0406}
_MULRK = 0x00BD


class _Corrupt(Exception):
    pass


def _u32(data: bytes | memoryview, at: int) -> int:
    if at < 0 or at + 4 > len(data):
        raise _Corrupt
    return struct.unpack_from("<I", data, at)[0]


def _cfb_streams(data: bytes, wanted: tuple[str, ...]) -> list[bytes]:
    """The streams of a compound file whose names are in ``wanted`` (case-insensitive), read with every chain
    bounded by the file's own sector count."""
    if data[:8] != _CFB_MAGIC or len(data) < 512:
        raise _Corrupt
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    mini_shift = struct.unpack_from("<H", data, 0x20)[0]
    if shift not in (9, 12) or mini_shift != 6:
        raise _Corrupt
    size = 1 << shift
    n_sectors = max((len(data) - size) // size, 0)

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise _Corrupt
        return data[(i + 1) * size:(i + 2) * size]

    difat = list(struct.unpack_from("<109I", data, 0x4C))
    nxt, seen = _u32(data, 0x44), 0
    while nxt < 0xFFFFFFFA:
        seen += 1
        if seen > n_sectors:
            raise _Corrupt
        block = sector(nxt)
        entries = struct.unpack_from(f"<{size // 4}I", block)
        difat.extend(entries[:-1])
        nxt = entries[-1]
    n_fat = _u32(data, 0x2C)
    fat_sectors = [s for s in difat if s < 0xFFFFFFFA][:n_fat]
    if len(fat_sectors) > n_sectors:
        raise _Corrupt
    fat = memoryview(b"".join(sector(s) for s in fat_sectors)).cast("I")

    def chain(start: int, table: memoryview, limit: int) -> list[int]:
        out = []
        while start != _END_OF_CHAIN:
            if start >= len(table) or len(out) >= limit:
                raise _Corrupt
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(s) for s in chain(_u32(data, 0x30), fat, n_sectors))
    entries = []
    for at in range(0, len(directory) - 127, 128):
        name_len = struct.unpack_from("<H", directory, at + 64)[0]
        kind = directory[at + 66]
        start = _u32(directory, at + 116)
        length = struct.unpack_from("<Q", directory, at + 120)[0] & (0xFFFFFFFF if shift == 9 else (1 << 64) - 1)
        name = bytes(directory[at:at + min(name_len, 64)]).decode("utf-16-le", "replace").rstrip("\x00")
        entries.append((name, kind, start, length))
    if not entries:
        raise _Corrupt
    cutoff = _u32(data, 0x38)
    mini = minifat = None
    out = []
    for name, kind, start, length in entries:
        if kind != 2 or name.lower() not in wanted:
            continue
        if length > len(data):
            raise _Corrupt
        if length < cutoff:
            if mini is None:
                _, _, root_start, root_len = entries[0]
                mini = b"".join(sector(s) for s in chain(root_start, fat, n_sectors))[:root_len]
                mf = b"".join(sector(s) for s in chain(_u32(data, 0x3C), fat, n_sectors))
                minifat = memoryview(mf[:len(mf) // 4 * 4]).cast("I")
            sectors = chain(start, minifat, len(mini) // 64 + 1)
            stream = b"".join(mini[s * 64:(s + 1) * 64] for s in sectors)
        else:
            stream = b"".join(sector(s) for s in chain(start, fat, n_sectors))
        out.append(stream[:length])
    return out


def _biff_extent(stream: bytes, sheets: dict[int, str], name: str, limits: SheetLimits) -> None:
    """Walk each sheet's records from its BOF to its EOF, as calamine does; refuse at the first cell beyond a
    limit."""
    budget = 4 * len(stream) + 4096   # sheets pointing into each other cannot make the walk quadratic
    for offset, sheet in sorted(sheets.items()):
        at, max_row, max_col = offset, 0, 0
        while at + 4 <= len(stream):
            rtype, length = struct.unpack_from("<HH", stream, at)
            body = stream[at + 4:at + 4 + length]
            budget -= 4 + length
            if budget < 0:
                raise RegistryError(f"{name}: 文件结构异常（工作表记录相互重叠），无法安全读取")
            at += 4 + length
            if rtype == _EOF:
                break
            if rtype == _DIMENSIONS and len(body) >= 10:   # calamine reserves its grid from it
                first_row, rows, first_col, cols = struct.unpack_from("<IIHH" if len(body) >= 14 else "<HHHH", body)
                if rows and cols and (first_row > rows or first_col > cols):   # last before first: calamine's
                    # size would wrap around (an empty range, 0 rows or columns, is read as empty)
                    raise RegistryError(f"{name}: 工作表「{sheet}」声明的范围无效（首行 {first_row:,} 在末行 {rows:,} 之后，"
                                        f"或首列 {first_col} 在末列 {cols} 之后），文件已损坏")
                if _over(rows, cols, limits):
                    _refuse_extent(name, sheet, rows, cols, limits, declared=True)
                continue
            if rtype in _CELL_RECORDS and len(body) >= 4:
                row, col = struct.unpack_from("<HH", body, 0)
                last_col = col
            elif rtype == _MULRK and len(body) >= 6:
                row, col = struct.unpack_from("<HH", body, 0)
                last_col = struct.unpack_from("<H", body, len(body) - 2)[0]
            else:
                continue
            if row + 1 > max_row or max(col, last_col) + 1 > max_col:
                max_row, max_col = max(max_row, row + 1), max(max_col, col + 1, last_col + 1)
                if _over(max_row, max_col, limits):
                    _refuse_extent(name, sheet, max_row, max_col, limits, declared=False)


def _boundsheet_name(body: bytes) -> str:
    """The sheet name of a BOUNDSHEET record (BIFF8: UTF-16 or compressed Latin-1; BIFF5: bytes), best effort."""
    if len(body) < 8:
        return "?"
    count, flag = body[6], body[7]
    if flag in (0, 1):
        raw = body[8:8 + count * (2 if flag else 1)]
        return raw.decode("utf-16-le" if flag else "latin-1", "replace")
    return body[7:7 + count].decode("gbk", "replace")


def check_xls(path: Path, limits: SheetLimits) -> None:
    """Refuse a legacy XLS whose cells reach beyond ``limits``; a file that is no compound file is left to the
    reader."""
    data = path.read_bytes()
    if data[:8] != _CFB_MAGIC:
        return
    try:
        streams = _cfb_streams(data, ("workbook", "book"))
    except (_Corrupt, struct.error, ValueError, TypeError, IndexError):
        raise RegistryError(f"{path.name}: 文件已损坏（复合文档结构无效），无法读取") from None
    for stream in streams:
        sheets: dict[int, str] = {}
        at = 0
        while at + 4 <= len(stream):   # the globals substream lists where each sheet begins
            rtype, length = struct.unpack_from("<HH", stream, at)
            if rtype == _BOUNDSHEET and length >= 4:
                sheets[struct.unpack_from("<I", stream, at + 4)[0]] = _boundsheet_name(stream[at + 4:at + 4 + length])
            at += 4 + length
            if rtype == _EOF:
                break
        beyond = [n for o, n in sheets.items() if o + 4 > len(stream)]
        if beyond:
            raise RegistryError(f"{path.name}: 文件已损坏（工作表「{beyond[0]}」的位置超出了文件），无法读取")
        _biff_extent(stream, sheets or {0: "1"}, path.name, limits)


# --- ODS (OpenDocument spreadsheet: LibreOffice, WPS) --------------------------------------------------------------

_TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_ODS_CELLS = (f"{_TABLE_NS} table-cell", f"{_TABLE_NS} covered-table-cell")


class _OdsExtent:
    """Streams ``content.xml`` through expat (no tree, no DTD) and keeps the farthest row and column holding a
    value. A row or cell element may stand for many (``table:number-rows-repeated``,
    ``table:number-columns-repeated``): the reader repeats those holding a value, and skips empty ones."""

    def __init__(self, name: str, limits: SheetLimits) -> None:
        self.name, self.limits = name, limits
        self.depth = 0                    # tables open (a table inside a cell is that cell's value)
        self.sheet = ""
        self.row = self.col = 0           # rows before the current row, columns before the current cell
        self.rows_out = self.cols_out = 0  # the extent of the cells with a value, from A1
        self.row_repeat = 1
        self.row_cols = 0                 # the current row's last column with a value
        self.cell_repeat = 0              # the open cell's repeat while it may still show a value, else 0
        self.cell_has_value = False

    @staticmethod
    def _count(attrs: dict[str, str], key: str) -> int:
        raw = attrs.get(f"{_TABLE_NS} {key}", "1")
        if not raw.isdigit() or len(raw) > 9:
            raise ValueError(f"{key}=\"{raw[:20]}\"")
        return max(int(raw), 1)

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_TABLE_NS} table":
            self.depth += 1
            if self.depth == 1:
                self.sheet = attrs.get(f"{_TABLE_NS} name", str(self.sheet or "1"))
                self.row = self.rows_out = self.cols_out = 0
        elif self.depth != 1:
            return
        elif tag == f"{_TABLE_NS} table-row":
            self.row_repeat, self.col, self.row_cols = self._count(attrs, "number-rows-repeated"), 0, 0
        elif tag in _ODS_CELLS:
            self.cell_repeat = self._count(attrs, "number-columns-repeated")
            self.cell_has_value = f"{_OFFICE_NS} value-type" in attrs

    def text(self, data: str) -> None:
        if self.cell_repeat and data.strip():
            self.cell_has_value = True

    def end(self, tag: str) -> None:
        if tag == f"{_TABLE_NS} table":
            self.depth -= 1
        elif self.depth != 1:
            return
        elif tag in _ODS_CELLS:
            self.col += self.cell_repeat
            if self.cell_has_value:
                self.row_cols = self.col
            self.cell_repeat, self.cell_has_value = 0, False
        elif tag == f"{_TABLE_NS} table-row":
            self.row += self.row_repeat
            if self.row_cols:
                self.rows_out, self.cols_out = self.row, max(self.cols_out, self.row_cols)
                if _over(self.rows_out, self.cols_out, self.limits):
                    _refuse_extent(self.name, self.sheet, self.rows_out, self.cols_out, self.limits, declared=False)


def check_ods(path: Path, limits: SheetLimits) -> None:
    """Refuse an ODS whose sheets' cells with a value reach beyond ``limits``, whose ZIP would decompress to more
    than ``limits.uncompressed_bytes``, or that this scan cannot read (no ``content.xml``, not XML, a DTD,
    encrypted): a file the scan could not measure never reaches the native reader."""
    name = path.name
    with _workbook_zip(path, "ODS", limits) as zf:
        members = set(zf.namelist())
        if "content.xml" not in members:
            raise RegistryError(f"{name}: 无法读取文件（不是有效的 ODS 工作簿：缺少 content.xml）")
        extent = _OdsExtent(name, limits)
        parser = expat.ParserCreate(namespace_separator=" ")

        def no_dtd(*_args: object) -> None:
            raise ValueError("DTD")   # entities could expand a small file into a huge one; a spreadsheet has none

        parser.StartDoctypeDeclHandler = no_dtd
        parser.EntityDeclHandler = no_dtd
        parser.StartElementHandler = extent.start
        parser.EndElementHandler = extent.end
        parser.CharacterDataHandler = extent.text
        try:
            manifest = zf.getinfo("META-INF/manifest.xml") if "META-INF/manifest.xml" in members else None
            if manifest is not None and manifest.file_size <= _MAX_SMALL_XML and \
                    b"encryption-data" in zf.read(manifest):
                raise RegistryError(f"{name}: 工作簿设置了密码，无法读取；请取消密码后另存再上传")
            with zf.open("content.xml") as fh:
                while chunk := fh.read(_CHUNK):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except RegistryError:
            raise
        except Exception as exc:  # noqa: BLE001 - zlib, CRC, unknown compression, malformed XML: all unreadable
            raise RegistryError(f"{name}: 无法读取文件（ODS 工作簿内容已损坏：{type(exc).__name__}: {str(exc)[:200]}）") \
                from None
