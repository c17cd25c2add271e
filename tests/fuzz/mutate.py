"""Seeded mutators: ``mutate(kind, seed, rng)`` returns new bytes from a valid seed.

Half of the time a structure-aware mutator edits what a parser trusts (a JPEG's frame size, a PNG's IHDR with a
fixed CRC, a WebP's canvas, a HEIF's ``ispe``, EXIF numbers, a worksheet's cell positions and dimension, BIFF
records, ZIP headers, CSV cells and lines, GeoJSON values, GeoPackage rows and blobs, Shapefile and DBF headers,
rules keys); the other half flips, overwrites, truncates, deletes, duplicates or splices bytes. One to three
mutations are stacked. The same (kind, seed, rng seed) always gives the same bytes.
"""

from __future__ import annotations

import io
import json
import math
import random
import re
import sqlite3
import struct
import tempfile
import tomllib
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from tests.fuzz.seeds import Seed, build_exif

INTERESTING_INTS = (0, 1, 2, 7, 8, 15, 16, 127, 128, 255, 256, 480, 479, 4096, 32767, 32768, 65499, 65500, 65535,
                    65536, 2**24 - 1, 2**31 - 1, 2**31, 2**32 - 1)
INTERESTING_NUMBERS = ("inf", "-inf", "Infinity", "NaN", "nan", "1e309", "-1e309", "1e308", "-1e308", "9" * 400,
                       "0", "-0", "-1", "1e-320", "0x10", "1,000,000,000", "１２０", "120㎡", "", " ", "—", "1e5",
                       "4294967296", "18446744073709551616", "3.71521E+11", "=1+1", "NULL", "115°58′48″")
INTERESTING_TEXT = ("", " ", "\x00", "合计", "小计", "=cmd|' /C calc'!A0", "<script>", "\u202e", "\ufeff", "村" * 5000,
                    "a\nb", '"', "'", ",", ";", "\t", "\\", "%s%n", "../../etc/passwd", "NaN", "None", "是", "否")
CELL_REFS = ("XFD1048576", "A1048576", "XFD1", "ZZZZ1", "A0", "A99999999", "", "a1", "1A", "GS1", "A500001",
             "AAA1", "A-1", "A 1", "&#88;FD1", "A1:XFD1048576")


# --- bytes ------------------------------------------------------------------------------------------------------

def flip_bits(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
    return bytes(out)


def set_int(data: bytes, rng: random.Random, *, at: int | None = None) -> bytes:
    if len(data) < 4:
        return data
    width, order = rng.choice((("H", 2), ("I", 4))), rng.choice("<>")
    fmt, size = width
    i = rng.randrange(len(data) - size) if at is None else min(at, len(data) - size)
    value = rng.choice(INTERESTING_INTS) & (0xFFFF if fmt == "H" else 0xFFFFFFFF)
    return data[:i] + struct.pack(order + fmt, value) + data[i + size:]


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data) + 1)] if data else data


def delete_chunk(data: bytes, rng: random.Random) -> bytes:
    if len(data) < 2:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, min(4096, len(data) - i)):]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    chunk = data[i:i + rng.randint(1, 2048)]
    j = rng.randrange(len(data) + 1)
    return data[:j] + chunk * rng.randint(1, 16) + data[j:]


def insert_random(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.randbytes(rng.randint(1, 256)) + data[i:]


BYTE_MUTATORS = (flip_bits, set_bytes, set_int, truncate, delete_chunk, duplicate_chunk, insert_random)


def byte_mutation(data: bytes, rng: random.Random, *, head: int | None = None) -> bytes:
    """One byte-level mutation; with ``head``, two times in three it lands in the first ``head`` bytes (headers)."""
    fn = rng.choice(BYTE_MUTATORS)
    if head and len(data) > head and rng.random() < 0.67 and fn in (flip_bits, set_bytes, set_int):
        return fn(data[:head], rng) + data[head:]
    return fn(data, rng)


# --- EXIF -------------------------------------------------------------------------------------------------------

def random_exif(rng: random.Random) -> bytes:
    """An EXIF block with hostile numbers: GPS components by the hundred, NaN and inf doubles, zero denominators,
    odd types, orientations and time offsets; or a valid block with one corrupted byte."""
    def component(typ: int) -> bytes:
        if typ in (5, 10):
            num = rng.choice((0, 1, 36, 2**31 - 1, 2**32 - 1, rng.randrange(2**32)))
            den = rng.choice((0, 1, 60, 1000, 2**32 - 1))
            return struct.pack("<II", num, den)
        if typ == 12:
            return struct.pack("<d", rng.choice((math.nan, math.inf, -math.inf, 1e308, -1.0, 36.45, 0.0)))
        if typ == 11:
            return struct.pack("<f", rng.choice((math.nan, math.inf, 36.45)))
        if typ == 2:
            return rng.choice((b"N\0", b"S\0", b"\xff\0", b"", b"NORTH" * 40))
        return struct.pack("<I", rng.choice(INTERESTING_INTS))

    def gps_value() -> tuple[int, bytes]:
        typ = rng.choice((5, 5, 12, 10, 11, 2, 4, 3))
        count = rng.choice((0, 1, 2, 3, 3, 3, 4, 100, 300, 1000))
        return typ, b"".join(component(typ) for _ in range(count))

    ifd0 = {}
    if rng.random() < 0.8:
        ifd0[0x0112] = (3, struct.pack("<H", rng.choice((1, 3, 6, 8, 0, 9, 255, 65535))))
    gps = {1: (2, rng.choice((b"N\0", b"S\0", b"", b"\0", b"X" * 50))), 2: gps_value(),
           3: (2, rng.choice((b"E\0", b"W\0", b""))), 4: gps_value()}
    sub = {36867: (2, rng.choice((b"2026:11:20 09:30:00\0", b"9999:99:99 99:99:99\0", b"\0", b"x" * 300,
                                  b"2026:02:30 25:61:61\0"))),
           36881: (2, rng.choice((b"+08:00\0", b"+99:00\0", b"-999999999999:00\0", b"+14:60\0", b"8\0", b"")))}
    block = build_exif(ifd0, sub, gps)
    if rng.random() < 0.3:
        block = block[:6] + byte_mutation(block[6:], rng)
    if rng.random() < 0.05:
        block += b"\0" * rng.choice((70_000, 300_000))
    return block


# --- photos -----------------------------------------------------------------------------------------------------

def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(marker offset, segment end) of each segment before the scan."""
    out, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((i, i + 2 + length))
        i += 2 + length
    return out


def mutate_jpeg(data: bytes, rng: random.Random) -> bytes:
    segs = _jpeg_segments(data)
    choice = rng.randrange(5)
    if choice == 0:                                   # the frame header's declared size
        for start, _ in segs:
            if data[start + 1] in (0xC0, 0xC1, 0xC2):
                h, w = rng.choice(INTERESTING_INTS) & 0xFFFF, rng.choice(INTERESTING_INTS) & 0xFFFF
                which = rng.randrange(3)
                out = bytearray(data)
                if which in (0, 2):
                    out[start + 5:start + 7] = struct.pack(">H", h)
                if which in (1, 2):
                    out[start + 7:start + 9] = struct.pack(">H", w)
                return bytes(out)
    if choice == 1:                                   # a hostile EXIF block in APP1
        exif = random_exif(rng)[:65533]
        app1 = b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
        segs_app1 = [(s, e) for s, e in segs if data[s + 1] == 0xE1]
        if segs_app1:
            s, e = segs_app1[0]
            return data[:s] + app1 + data[e:]
        return data[:2] + app1 + data[2:]
    if choice == 2 and segs:                          # a segment's length field
        start, _ = rng.choice(segs)
        return set_int(data, rng, at=start + 2)
    if choice == 3:                                   # many or big APPn segments
        seg = b"\xff" + bytes([rng.randrange(0xE0, 0xF0)]) + struct.pack(">H", 65535) + rng.randbytes(65533)
        return data[:2] + seg * rng.randint(1, 8) + data[2:]
    return byte_mutation(data, rng, head=segs[-1][1] if segs else 600)


def _png_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    out, i = [], 8
    while i + 8 <= len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        out.append((i, data[i + 4:i + 8], length))
        i += 12 + length
    return out


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def mutate_png(data: bytes, rng: random.Random) -> bytes:
    chunks = _png_chunks(data)
    choice = rng.randrange(5)
    ihdr = next(((i, n) for i, k, n in chunks if k == b"IHDR"), None)
    if choice == 0 and ihdr:                          # IHDR with a correct CRC: the decoder trusts it
        i, n = ihdr
        body = bytearray(data[i + 8:i + 8 + n])
        field = rng.randrange(5)
        if field == 0:
            body[0:4] = struct.pack(">I", rng.choice(INTERESTING_INTS))
        elif field == 1:
            body[4:8] = struct.pack(">I", rng.choice(INTERESTING_INTS))
        elif field == 2:
            body[8] = rng.choice((1, 2, 4, 8, 16, 3, 0, 255))
        elif field == 3:
            body[9] = rng.choice((0, 2, 3, 4, 6, 1, 7, 255))
        else:
            body[12] = rng.choice((0, 1, 2))
        return data[:i] + png_chunk(b"IHDR", bytes(body)) + data[i + 12 + n:]
    if choice == 1:                                   # an eXIf chunk with hostile numbers
        exif = random_exif(rng)[6:]
        at = (ihdr[0] + 12 + ihdr[1]) if ihdr else 8
        return data[:at] + png_chunk(b"eXIf", exif) + data[at:]
    if choice == 2 and chunks:                        # a chunk's length
        i, _, _ = rng.choice(chunks)
        return set_int(data, rng, at=i)
    if choice == 3:                                   # text and profile chunks (a zlib bomb among them)
        kind = rng.choice((b"zTXt", b"iCCP", b"tEXt", b"iTXt"))
        body = b"k\0\0" + zlib.compress(b"\0" * rng.choice((10, 10_000_000)), 9)
        return data[:33] + png_chunk(kind, body) + data[33:]
    idat = [(i, n) for i, k, n in chunks if k == b"IDAT"]
    if idat and rng.random() < 0.5:                   # corrupt compressed pixels behind a valid CRC
        i, n = rng.choice(idat)
        body = byte_mutation(data[i + 8:i + 8 + n], rng)
        return data[:i] + png_chunk(b"IDAT", body) + data[i + 12 + n:]
    return byte_mutation(data, rng, head=64)


def mutate_webp(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(4)
    if choice == 0 and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):   # declared canvas or frame size
        out = bytearray(data)
        if data[12:16] == b"VP8X":
            out[24:27] = struct.pack("<I", rng.choice(INTERESTING_INTS))[:3]
            out[27:30] = struct.pack("<I", rng.choice(INTERESTING_INTS))[:3]
        elif data[12:16] == b"VP8 ":
            out[26:28] = struct.pack("<H", rng.choice(INTERESTING_INTS) & 0xFFFF)
            out[28:30] = struct.pack("<H", rng.choice(INTERESTING_INTS) & 0xFFFF)
        else:
            out[21:25] = struct.pack("<I", rng.choice(INTERESTING_INTS))
        return bytes(out)
    if choice == 1:                                   # a hostile EXIF chunk (and a VP8X header that announces it)
        exif = random_exif(rng)[6:]
        chunk = b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\0" if len(exif) % 2 else b"")
        body = data[12:] + chunk
        return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body
    if choice == 2:                                   # the RIFF size
        return set_int(data, rng, at=4)
    return byte_mutation(data, rng, head=64)


def mutate_heif(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(3)
    at = data.find(b"ispe")
    if choice == 0 and at > 0:                        # the image's declared width and height
        out = bytearray(data)
        out[at + 8:at + 12] = struct.pack(">I", rng.choice(INTERESTING_INTS))
        out[at + 12:at + 16] = struct.pack(">I", rng.choice(INTERESTING_INTS))
        return bytes(out)
    if choice == 1:                                   # a box size
        boxes = [m.start() - 4 for m in re.finditer(rb"ftyp|meta|hdlr|pitm|iloc|iinf|iprp|ipco|ipma|mdat|Exif|infe",
                                                      data[:4096]) if m.start() >= 4]
        if boxes:
            return set_int(data, rng, at=rng.choice(boxes))
    return byte_mutation(data, rng, head=2048)


def mutate_photo(seed: Seed, rng: random.Random) -> bytes:
    data = seed.data
    structured = {".jpg": mutate_jpeg, ".png": mutate_png, ".webp": mutate_webp, ".heic": mutate_heif}[seed.suffix]
    for _ in range(rng.choice((1, 1, 2, 3))):
        data = structured(data, rng) if rng.random() < 0.6 else byte_mutation(data, rng)
    return data


# --- ZIP and XML ------------------------------------------------------------------------------------------------

def _rezip(data: bytes, edit: Callable[[str, bytes], bytes | None], rng: random.Random) -> bytes:
    """The archive with one member edited (``edit`` returns None to drop it)."""
    try:
        zin = zipfile.ZipFile(io.BytesIO(data))
        infos = zin.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return byte_mutation(data, rng)
    out = io.BytesIO()
    with zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            try:
                member = zin.read(info)
            except Exception:  # noqa: BLE001 - a member already broken by an earlier mutation
                member = b""
            member = edit(info.filename, member)
            if member is not None:
                zout.writestr(info.filename, member)
    return out.getvalue()


def mutate_xml(text: bytes, rng: random.Random) -> bytes:
    """Edit what a spreadsheet reader trusts: cell positions, the dimension, values and their types, structure."""
    choice = rng.randrange(10)
    refs = list(re.finditer(rb'\br="([^"]*)"', text))
    if choice == 0 and refs:
        m = rng.choice(refs)
        return text[:m.start(1)] + rng.choice(CELL_REFS).encode() + text[m.end(1):]
    if choice == 1:
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:' + rng.choice(CELL_REFS).encode() + b'"', text)
    if choice == 2 and refs:                          # positions left out: readers place cells one after another
        return re.sub(rb' r="[^"]*"', b"", text, count=rng.randint(1, len(refs)))
    values = list(re.finditer(rb"<v>([^<]*)</v>", text))
    if choice == 3 and values:
        m = rng.choice(values)
        return text[:m.start(1)] + rng.choice(INTERESTING_NUMBERS).encode() + text[m.end(1):]
    types = list(re.finditer(rb'\bt="([^"]*)"', text))
    if choice == 4 and types:
        m = rng.choice(types)
        return text[:m.start(1)] + rng.choice((b"s", b"b", b"e", b"d", b"str", b"inlineStr", b"n", b"zz")) + \
            text[m.end(1):]
    rows = list(re.finditer(rb"<row\b.*?</row>", text, re.S))
    if choice == 5 and rows:                          # a row repeated (each copy its own position)
        m = rng.choice(rows)
        copies = b"".join(m.group(0) for _ in range(rng.choice((2, 10, 200))))
        return text[:m.end()] + copies + text[m.end():]
    if choice == 6:                                   # a far cell appended to a row
        ref = rng.choice(CELL_REFS).encode()
        cell = b'<c r="' + ref + b'" t="inlineStr"><is><t>x</t></is></c>'
        return text.replace(b"</row>", cell + b"</row>", 1)
    if choice == 7:
        return text.replace(b"utf-8", rng.choice((b"utf-16", b"gbk", b"ebcdic", b"UTF-8"))).replace(
            b"UTF-8", rng.choice((b"utf-16", b"latin-1", b"UTF-8")))
    numbers = list(re.finditer(rb'\b[\w:]+="(\d+)"', text))
    if choice == 8 and numbers and rng.random() < 0.5:   # a count, index or size attribute
        m = rng.choice(numbers)
        return text[:m.start(1)] + str(rng.choice(INTERESTING_INTS + (10**12, 2**64))).encode() + text[m.end(1):]
    if choice == 8:                                   # broken structure
        tags = list(re.finditer(rb"</?[A-Za-z:]+", text))
        if tags:
            m = rng.choice(tags)
            return text[:m.start()] + text[m.end():]
    return byte_mutation(text, rng)


def mutate_xlsx(seed: Seed, rng: random.Random) -> bytes:
    data = seed.data
    for _ in range(rng.choice((1, 1, 2))):
        choice = rng.random()
        if choice < 0.6:
            data = _rezip(data, lambda n, b: mutate_xml(b, rng) if n.endswith("sheet1.xml") else b, rng)
        elif choice < 0.8:
            target = rng.choice(("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml",
                                 "xl/styles.xml", "xl/sharedStrings.xml", "xl/sharedStrings.xml", "docProps/app.xml"))
            data = _rezip(data, lambda n, b, t=target: (None if rng.random() < 0.2 else mutate_xml(b, rng))
                          if n == t else b, rng)
        else:
            data = mutate_zip_bytes(data, rng)
    return data


def mutate_ods(seed: Seed, rng: random.Random) -> bytes:
    """content.xml: a row's or cell's repeat count (the reader repeats a cell holding a value as often as it
    says), its XML; the manifest (gone, or saying the content is encrypted); or the ZIP itself."""
    data = seed.data
    for _ in range(rng.choice((1, 1, 2))):
        choice = rng.random()
        if choice < 0.4:
            def repeat(text: bytes) -> bytes:
                tags = list(re.finditer(rb"<table:table-(row|cell)\b", text))
                if not tags:
                    return byte_mutation(text, rng)
                m = rng.choice(tags)
                attr = b"number-rows-repeated" if m.group(1) == b"row" else b"number-columns-repeated"
                count = str(rng.choice(INTERESTING_INTS + (10**6, 10**9, 10**12, -1))).encode()
                return text[:m.end()] + b" table:" + attr + b'="' + count + b'"' + text[m.end():]
            data = _rezip(data, lambda n, b: repeat(b) if n == "content.xml" else b, rng)
        elif choice < 0.7:
            data = _rezip(data, lambda n, b: mutate_xml(b, rng) if n == "content.xml" else b, rng)
        elif choice < 0.8:
            data = _rezip(data, lambda n, b: (None if rng.random() < 0.5 else b.replace(
                b"</manifest:file-entry>", b"<manifest:encryption-data/></manifest:file-entry>", 1))
                if n == "META-INF/manifest.xml" else b, rng)
        else:
            data = mutate_zip_bytes(data, rng)
    return data


def mutate_zip_bytes(data: bytes, rng: random.Random) -> bytes:
    """ZIP structure: a local or central header's sizes, method, name length or offset; or bytes."""
    heads = [m.start() for m in re.finditer(rb"PK\x03\x04|PK\x01\x02|PK\x05\x06", data)]
    if heads and rng.random() < 0.7:
        at = rng.choice(heads)
        sig = data[at:at + 4]
        field = {b"PK\x03\x04": (8, 18, 22, 26, 28), b"PK\x01\x02": (10, 20, 24, 28, 42),
                 b"PK\x05\x06": (8, 10, 12, 16)}[sig]
        return set_int(data, rng, at=at + rng.choice(field))
    return byte_mutation(data, rng)


# --- XLS --------------------------------------------------------------------------------------------------------

def _biff_records(stream: bytes) -> list[tuple[int, int, int]]:
    out, at = [], 0
    while at + 4 <= len(stream):
        rtype, length = struct.unpack_from("<HH", stream, at)
        out.append((at, rtype, length))
        at += 4 + length
    return out


def mutate_xls(seed: Seed, rng: random.Random) -> bytes:
    """BIFF records (cell positions, DIMENSIONS, lengths, BOUNDSHEET offsets) repackaged in a valid compound
    file, or the compound file's own header, FAT and directory."""
    if rng.random() < 0.6:
        from xlwt.CompoundDoc import XlsDoc

        from audit.area._sheet_extent import _cfb_streams
        try:
            [stream] = _cfb_streams(seed.data, ("workbook",))
        except Exception:  # noqa: BLE001
            return byte_mutation(seed.data, rng)
        stream = bytearray(stream)
        records = _biff_records(bytes(stream))
        for _ in range(rng.randint(1, 3)):
            at, rtype, length = rng.choice(records)
            cells = [r for r in records if r[1] in (0x0203, 0x00FD, 0x027E, 0x0204, 0x00BD, 0x0201, 0x0200)]
            declared = [r for r in records if r[1] in (0x0200, 0x0085, 0x00FC, 0x0208, 0x00FD, 0x00E0, 0x0031,
                                                        0x041E, 0x0809, 0x00FF) and r[2] >= 4]
            if declared and rng.random() < 0.4:      # a count, offset, index or size that a reader trusts
                at, rtype, length = rng.choice(declared)
                field = 2 * rng.randrange(max((length - 2) // 2, 1))
                size = 4 if field + 4 <= length and rng.random() < 0.5 else 2
                value = rng.choice(INTERESTING_INTS) & (0xFFFFFFFF if size == 4 else 0xFFFF)
                stream[at + 4 + field:at + 4 + field + size] = value.to_bytes(size, "little")
            elif cells and rng.random() < 0.6:
                at, rtype, length = rng.choice(cells)
                field = rng.choice((0, 2)) if rtype != 0x0200 else rng.choice((0, 4, 8, 10))
                size = 4 if rtype == 0x0200 and field in (0, 4) else 2
                value = rng.choice(INTERESTING_INTS) & (0xFFFFFFFF if size == 4 else 0xFFFF)
                stream[at + 4 + field:at + 4 + field + size] = value.to_bytes(size, "little")
            elif rng.random() < 0.5:
                stream[at + 2:at + 4] = (rng.choice(INTERESTING_INTS) & 0xFFFF).to_bytes(2, "little")
            else:
                stream[at + 4:at + 4 + length] = byte_mutation(bytes(stream[at + 4:at + 4 + length]), rng)[:length] \
                    .ljust(length, b"\0")
        buf = io.BytesIO()
        XlsDoc().save(buf, bytes(stream))
        return buf.getvalue()
    return byte_mutation(seed.data, rng, head=1536)


# --- CSV --------------------------------------------------------------------------------------------------------

def mutate_csv(seed: Seed, rng: random.Random) -> bytes:
    encoding = "gbk" if seed.name.startswith("gbk") else "utf-8"
    lines = seed.data.decode(encoding).split("\n")
    for _ in range(rng.choice((1, 1, 2, 3))):
        lines = lines or [""]
        choice = rng.randrange(10)
        i = rng.randrange(len(lines))
        cells = lines[i].split(",")
        if choice <= 2:                               # one cell becomes a hostile value
            j = rng.randrange(len(cells))
            cells[j] = rng.choice(INTERESTING_NUMBERS + INTERESTING_TEXT)
            lines[i] = ",".join(cells)
        elif choice == 3:                             # more columns than a sheet has
            lines[i] += "," * rng.choice((5, 199, 200, 250, 20_000))
        elif choice == 4:                             # a very long line or field
            lines[i] += rng.choice(('"', "", "x")) + rng.choice(('",', "x", "村")) * rng.choice((1000, 40_000, 150_000))
        elif choice == 5:                             # quotes that never close, or delimiters changed
            lines[i] = lines[i].replace(",", rng.choice((";", "\t", "|", '","', '"'))) if rng.random() < 0.5 \
                else '"' + lines[i]
        elif choice == 6:                             # lines repeated, removed or emptied
            op = rng.randrange(3)
            if op == 0:
                lines[i:i] = [lines[i]] * rng.choice((2, 50, 2000))
            elif op == 1:
                del lines[i]
                lines = lines or [""]
            else:
                lines = lines[:1] + [""] * rng.randint(0, 3)
        elif choice == 7:
            lines[i] = lines[i].replace(",", "\x00,", 1) if rng.random() < 0.5 else "\ufeff" + lines[i]
        elif choice == 8:
            lines = lines[: rng.randint(0, 2)]
        else:
            return byte_mutation("\n".join(lines).encode(encoding, "replace"), rng)
    newline = rng.choice(("\n", "\n", "\r\n", "\r"))
    return newline.join(lines).encode(rng.choice((encoding, encoding, "utf-16", "gb18030")), "replace")


# --- GeoJSON ----------------------------------------------------------------------------------------------------

def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:50]):
            out += _paths(v, (*prefix, i))
    return out


def _set(node: object, path: tuple, value: object) -> object:
    if not path:
        return value
    parent = node
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return node


HOSTILE_JSON = (None, True, [], {}, "", 1e308, -1e308, 2**70, "村" * 10_000, [[[]]], [1e308, 1e308], [0], [1, 2, 3, 4],
                {"type": "Point", "coordinates": [1e308, -1e308]}, {"type": "Polygon", "coordinates": [[[0, 0]]]},
                {"type": "GeometryCollection", "geometries": []}, {"type": "Nope"}, [[[[[[[[[[1]]]]]]]]]],
                {"type": "name", "properties": {"name": "EPSG:999999"}},
                {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}})
JSON_LITERALS = (b"1e309", b"-1e309", b"NaN", b"Infinity", b"-0", b"1" * 400, b"1e-400")


def mutate_geojson(seed: Seed, rng: random.Random) -> bytes:
    data = seed.data
    for _ in range(rng.choice((1, 1, 2))):
        choice = rng.random()
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return byte_mutation(data, rng)
        if choice < 0.5:
            path = rng.choice(_paths(doc)[1:] or [()])
            doc = _set(doc, path, rng.choice(HOSTILE_JSON)) if path else doc
            data = json.dumps(doc, ensure_ascii=False).encode()
        elif choice < 0.7:                            # a number written as JSON cannot hold it
            numbers = list(re.finditer(rb"-?\d+\.\d+", data))
            if numbers:
                m = rng.choice(numbers)
                data = data[:m.start()] + rng.choice(JSON_LITERALS) + data[m.end():]
        elif choice < 0.8 and isinstance(doc, dict) and isinstance(doc.get("features"), list) and doc["features"]:
            feature = rng.choice(doc["features"])
            if isinstance(feature, dict):
                feature["properties"] = {f"p{k}": k for k in range(rng.choice((10, 250, 400)))} \
                    if rng.random() < 0.5 else None
            data = json.dumps(doc, ensure_ascii=False).encode()
        else:
            data = byte_mutation(data, rng)
    return data


# --- GeoPackage (SQLite) ----------------------------------------------------------------------------------------

def mutate_gpkg(seed: Seed, rng: random.Random) -> bytes:
    if rng.random() < 0.3:
        return byte_mutation(seed.data, rng, head=100) if rng.random() < 0.3 else _flip_page(seed.data, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.gpkg"
        path.write_bytes(seed.data)
        con = sqlite3.connect(path)
        try:
            tables = [r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")]
            table = rng.choice(tables)
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            geom = con.execute("SELECT column_name FROM gpkg_geometry_columns").fetchone()[0]
            choice = rng.randrange(6)
            if choice == 0:                           # a value nobody expects
                col = rng.choice([c for c in cols if c != geom])
                value = rng.choice((math.inf, -math.inf, 1e308, -1.0, "村" * 10_000, b"\x00\xff", None, 2**63 - 1,
                                    "inf", "1e309"))
                con.execute(f'UPDATE "{table}" SET "{col}" = ? WHERE rowid IN (SELECT rowid FROM "{table}" '
                            f"ORDER BY random() LIMIT ?)", (value, rng.randint(1, 3)))
            elif choice == 1:                         # a geometry blob with a corrupted header or body
                rows = con.execute(f'SELECT rowid, "{geom}" FROM "{table}"').fetchall()
                rowid, blob = rng.choice(rows)
                blob = bytes(blob or b"")
                blob = (set_int(blob, rng, at=rng.choice((4, 8, 13, 21, 29)))
                        if rng.random() < 0.5 and len(blob) > 33 else
                        blob[:-16] + struct.pack("<dd", rng.choice((math.nan, math.inf, 1e308)), math.inf)
                        if len(blob) > 16 else byte_mutation(blob, rng))
                con.execute(f'UPDATE "{table}" SET "{geom}" = ? WHERE rowid = ?', (blob, rowid))
            elif choice == 2:                         # the spatial reference
                con.execute("UPDATE gpkg_spatial_ref_sys SET definition = ? WHERE srs_id = 4326",
                            (rng.choice(("", "garbage", "GEOGCS[", "PROJCS[\"x\",GEOGCS[\"y\"]]")),))
                if rng.random() < 0.5:
                    con.execute("UPDATE gpkg_geometry_columns SET srs_id = ?", (rng.choice((0, -1, 999999)),))
            elif choice == 3:                         # metadata that lies
                con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = ?",
                            (rng.choice(("POLYGON", "NOPE", "", "GEOMETRYCOLLECTION")),))
                if rng.random() < 0.5:
                    con.execute("UPDATE gpkg_ogr_contents SET feature_count = ?", (rng.choice((2**31, -5, 10**12)),))
            elif choice == 4:                         # more fields than a sheet has
                for k in range(rng.choice((10, 205))):
                    con.execute(f'ALTER TABLE "{table}" ADD COLUMN "f{k}" TEXT')
            else:                                     # rows multiplied, or none left
                if rng.random() < 0.5:
                    con.execute(f'DELETE FROM "{table}"')
                else:
                    others = ", ".join(f'"{c}"' for c in cols if c != "fid")
                    for _ in range(rng.choice((1, 5))):
                        con.execute(f'INSERT INTO "{table}" ({others}) SELECT {others} FROM "{table}"')
            con.commit()
        except sqlite3.Error:
            pass
        finally:
            con.close()
        return path.read_bytes()


def _flip_page(data: bytes, rng: random.Random) -> bytes:
    page = 4096
    pages = max(len(data) // page, 1)
    p = rng.randrange(pages)
    return data[:p * page] + byte_mutation(data[p * page:(p + 1) * page], rng) + data[(p + 1) * page:]


# --- zipped Shapefile -------------------------------------------------------------------------------------------

def mutate_shapefile_member(name: str, data: bytes, rng: random.Random) -> bytes | None:
    lower = name.lower()
    if lower.endswith((".shp", ".shx")) and len(data) >= 100:
        choice = rng.randrange(4)
        if choice == 0:                               # file length, shape type
            return set_int(data, rng, at=rng.choice((24, 32)))
        if choice == 1:                               # the bounding box
            at = rng.choice((36, 44, 52, 60))
            return data[:at] + struct.pack("<d", rng.choice((math.nan, math.inf, -math.inf, 1e308))) + data[at + 8:]
        if choice == 2 and lower.endswith(".shp") and len(data) > 112:   # a record's length or its point
            return set_int(data, rng, at=104) if rng.random() < 0.5 else \
                data[:112] + struct.pack("<d", rng.choice((math.nan, math.inf, 1e308))) + data[120:]
        return byte_mutation(data, rng, head=100)
    if lower.endswith(".dbf") and len(data) >= 32:
        choice = rng.randrange(3)
        if choice == 0:                               # record count, header length, record length
            return set_int(data, rng, at=rng.choice((4, 8, 10)))
        if choice == 1 and len(data) > 64:            # a field's length or type
            at = 32 + 32 * rng.randrange(max((len(data) - 33) // 32, 1))
            out = bytearray(data)
            if at + 17 < len(out):
                out[at + rng.choice((11, 16, 17))] = rng.choice((0, 1, 255, ord("N"), ord("D"), ord("?")))
            return bytes(out)
        return byte_mutation(data, rng)
    if lower.endswith(".prj"):
        return rng.choice((b"", b"garbage", b'PROJCS["x"]', data[: len(data) // 2], None))
    if lower.endswith(".cpg"):
        return rng.choice((b"UTF-8", b"GBK", b"nonsense", b"", None))
    return data


def mutate_shp(seed: Seed, rng: random.Random) -> bytes:
    data = seed.data
    for _ in range(rng.choice((1, 1, 2))):
        if rng.random() < 0.75:
            try:
                names = [i.filename for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                names = []
            target = rng.choice(names) if names else ""
            data = _rezip(data, lambda n, b, t=target: mutate_shapefile_member(n, b, rng) if n == t else b, rng)
        else:
            data = mutate_zip_bytes(data, rng)
    return data


# --- rules (TOML) -----------------------------------------------------------------------------------------------

def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


def toml_dumps(doc: dict) -> str:
    """A small TOML writer (tables inline below the top level): enough for mutated rules files."""
    return "\n".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_value(v)}" for k, v in doc.items()) + "\n"


HOSTILE_TOML = (0, -1, 1, 10**30, 2**63 - 1, math.inf, -math.inf, math.nan, 1e308, -0.0, "", "村" * 5000, True, [],
                {}, [[]], [{}], "500", ["a"] * 300, {"x": 1})


def mutate_rules(seed: Seed, rng: random.Random) -> bytes:
    if rng.random() < 0.3:                            # text: lines deleted, repeated or bytes changed
        lines = seed.data.split(b"\n")
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(i, lines[i])
            else:
                lines[i] = byte_mutation(lines[i], rng)
        return b"\n".join(lines)
    doc = tomllib.loads(seed.data.decode("utf-8"))
    for _ in range(rng.choice((1, 1, 2, 3))):
        path = rng.choice(_paths(doc)[1:])
        op = rng.randrange(4)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if op == 0:
            parent[path[-1]] = rng.choice(HOSTILE_TOML)
        elif op == 1 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == 2 and isinstance(parent, list):
            parent.insert(path[-1], parent[path[-1]])   # a duplicate list item (plaque id, type id)
        elif isinstance(parent, dict):
            parent[f"unknown_{rng.randrange(100)}"] = rng.choice(HOSTILE_TOML)
    return toml_dumps(doc).encode("utf-8")


# --- dispatch ---------------------------------------------------------------------------------------------------

def mutate_spatial(seed: Seed, rng: random.Random) -> bytes:
    return {".geojson": mutate_geojson, ".gpkg": mutate_gpkg, ".zip": mutate_shp}[seed.suffix](seed, rng)


MUTATORS: dict[str, Callable[[Seed, random.Random], bytes]] = {
    "photo": mutate_photo, "xlsx": mutate_xlsx, "xls": mutate_xls, "ods": mutate_ods, "csv": mutate_csv,
    "geojson": mutate_geojson, "gpkg": mutate_gpkg, "shp": mutate_shp, "rules": mutate_rules, "townships": mutate_spatial,
}


def mutate(kind: str, seed: Seed, rng: random.Random) -> bytes:
    """New bytes from ``seed``: structure-aware or byte-level mutations, stacked, as ``rng`` decides."""
    try:
        data = MUTATORS[kind](seed, rng)
    except Exception:  # noqa: BLE001 - a structure broken by an earlier stacked mutation: fall back to bytes
        data = byte_mutation(seed.data, rng)
    if rng.random() < 0.1:                            # occasionally bytes on top of the structure
        data = byte_mutation(data, rng)
    return data
