"""Small valid files to mutate, built from the repository's fixtures and demo data (never downloaded):

* photos: two signage fixtures at 640 × 480 as JPEG, PNG, WebP and HEIC, each with an EXIF block (orientation,
  GPS, time and offset), plus a JPEG without EXIF;
* registries: the demo county's first 12 villages as XLSX (title row, header, a 合计 row), XLS, CSV (UTF-8 and
  GBK), GeoJSON, GeoPackage and a zipped Shapefile;
* rules: the shipped rules file;
* townships: approximate township areas of those villages as GeoJSON, GeoPackage and a zipped Shapefile.

Small on purpose: the fuzzer's time goes into many inputs, not into big ones.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PHOTO_FIXTURES = ("external_full.jpg", "external_partial.jpg")
VILLAGES = 12


@dataclass(frozen=True)
class Seed:
    name: str
    suffix: str
    data: bytes


def exif_block(*, orientation: int | None = 6, gps: tuple[float, float] | None = (115.98, 36.45),
               when: str | None = "2026:11:20 09:30:00", offset: str | None = "+08:00") -> bytes:
    """A little-endian EXIF block as phones write it (IFD0 → Orientation, ExifIFD, GPS IFD)."""
    def rationals(value: float) -> bytes:
        d = int(value)
        m = int((value - d) * 60)
        s = round((value - d - m / 60) * 3600 * 1000)
        return struct.pack("<6I", d, 1, m, 1, s, 1000)

    sub = {}
    if when:
        sub[36867] = (2, when.encode() + b"\0")
    if offset:
        sub[36881] = (2, offset.encode() + b"\0")
    gps_ifd = {}
    if gps:
        lon, lat = gps
        gps_ifd = {1: (2, b"N\0"), 2: (5, rationals(lat)), 3: (2, b"E\0"), 4: (5, rationals(lon))}
    ifd0 = {}
    if orientation is not None:
        ifd0[0x0112] = (3, struct.pack("<H", orientation))
    return build_exif(ifd0, sub, gps_ifd)


_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8, 11: 4, 12: 8}


def build_exif(ifd0: dict, sub: dict, gps: dict) -> bytes:
    """EXIF bytes from IFDs given as {tag: (tiff type, payload bytes)} (sub-IFDs linked from IFD0)."""
    ifd0 = dict(ifd0)
    layout = [("ifd0", ifd0)]
    if sub:
        ifd0[0x8769] = (4, b"\0\0\0\0")
        layout.append(("sub", sub))
    if gps:
        ifd0[0x8825] = (4, b"\0\0\0\0")
        layout.append(("gps", gps))

    def size(ifd: dict) -> int:
        return 2 + 12 * len(ifd) + 4 + sum(len(p) for _, p in ifd.values() if len(p) > 4)

    offsets, at = {}, 8
    for name, ifd in layout:
        offsets[name] = at
        at += size(ifd)
    if sub:
        ifd0[0x8769] = (4, struct.pack("<I", offsets["sub"]))
    if gps:
        ifd0[0x8825] = (4, struct.pack("<I", offsets["gps"]))
    out = b"II*\0" + struct.pack("<I", 8)
    for name, ifd in layout:
        start = offsets[name]
        data_at = start + 2 + 12 * len(ifd) + 4
        head, extra = struct.pack("<H", len(ifd)), b""
        for tag in sorted(ifd):
            typ, payload = ifd[tag]
            count = max(len(payload) // _TYPE_SIZE.get(typ, 1), 1)
            if len(payload) <= 4:
                head += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, typ, count, data_at + len(extra))
                extra += payload
        out += head + b"\0\0\0\0" + extra
    return b"Exif\0\0" + out


def _encode(img, fmt: str, **kw) -> bytes:  # noqa: ANN001 - a PIL image
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@cache
def photo_seeds() -> tuple[Seed, ...]:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = []
    for i, fixture in enumerate(PHOTO_FIXTURES):
        img = Image.open(REPO / "tests" / "fixtures" / "signage" / fixture).convert("RGB")
        img = img.resize((640, 480) if img.width >= img.height else (480, 640))
        exif = exif_block(orientation=(1, 6)[i % 2])
        out += [Seed(f"p{i}.jpg", ".jpg", _encode(img, "JPEG", quality=85, exif=exif)),
                Seed(f"p{i}.png", ".png", _encode(img, "PNG", exif=exif)),
                Seed(f"p{i}.webp", ".webp", _encode(img, "WEBP", quality=80, exif=exif)),
                Seed(f"p{i}.heic", ".heic", _encode(img, "HEIF", quality=70, exif=exif))]
        if i == 0:
            out.append(Seed("plain.jpg", ".jpg", _encode(img, "JPEG", quality=85)))
    return tuple(out)


@cache
def _demo_frames():
    import geopandas as gpd
    import pandas as pd

    raw = pd.read_excel(REPO / "data" / "demo" / "demo_county.xlsx", header=None, engine="calamine")
    title, header = raw.iloc[0, 0], [str(h) for h in raw.iloc[1].tolist()]
    body = raw.iloc[2:2 + VILLAGES].astype(object).where(raw.iloc[2:2 + VILLAGES].notna(), None)
    gdf = gpd.read_file(REPO / "data" / "demo" / "demo_county.gpkg").head(VILLAGES)
    return title, header, body.values.tolist(), gdf


def _zipped_shapefile(gdf, stem: str) -> bytes:  # noqa: ANN001 - a GeoDataFrame
    with tempfile.TemporaryDirectory() as tmp:
        gdf.to_file(Path(tmp) / f"{stem}.shp", encoding="utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(Path(tmp).iterdir()):
                zf.write(f, f.name)
        return buf.getvalue()


def _gis(gdf, driver: str, suffix: str) -> bytes:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"layer{suffix}"
        gdf.to_file(path, driver=driver)
        return path.read_bytes()


@cache
def registry_seeds() -> dict[str, tuple[Seed, ...]]:
    """Seeds per registry format: xlsx, xls, ods, csv, geojson, gpkg, shp."""
    import openpyxl
    import pandas as pd
    import xlwt

    title, header, rows, gdf = _demo_frames()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "村级服务设施"
    ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.append(["合计", None, None, None, None, None, sum(r[6] or 0 for r in rows), None, None, None, None])
    buf = io.BytesIO()
    wb.save(buf)
    xlsx = buf.getvalue()

    # Excel's own layout: shared strings, styles, a number format (xlsxwriter writes them as Excel does)
    import xlsxwriter
    buf = io.BytesIO()
    with xlsxwriter.Workbook(buf, {"in_memory": True}) as book:
        sheet = book.add_worksheet("村级服务设施")
        money = book.add_format({"num_format": "0.00", "bold": True})
        sheet.write(0, 0, title)
        sheet.write_row(1, 0, header)
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is not None:
                    sheet.write(2 + i, j, v, money if isinstance(v, float) else None)
        sheet.merge_range(len(rows) + 2, 0, len(rows) + 2, 3, "合计")
    excel_like = buf.getvalue()

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("村级服务设施")
    sheet.write(0, 0, title)
    for j, h in enumerate(header):
        sheet.write(1, j, h)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                sheet.write(2 + i, j, v)
    buf = io.BytesIO()
    book.save(buf)
    xls = buf.getvalue()

    buf = io.BytesIO()   # LibreOffice's and WPS's OpenDocument, written by odfpy through pandas
    with pd.ExcelWriter(buf, engine="odf") as writer:
        table = [[title] + [None] * (len(header) - 1), header, *rows]
        pd.DataFrame(table).to_excel(writer, sheet_name="村级服务设施", index=False, header=False)
    ods = buf.getvalue()

    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    text = "\n".join(lines) + "\n"
    short = gdf.rename(columns={"行政村名称": "村名", "统计用区划代码": "村代码", "户籍户数": "户数",
                                "党群服务中心面积（㎡）": "面积", "乡镇（街道）": "乡镇", "村庄类型": "类型",
                                "县（市、区）": "县"})
    return {
        "xlsx": (Seed("registry.xlsx", ".xlsx", xlsx), Seed("excel.xlsx", ".xlsx", excel_like)),
        "xls": (Seed("registry.xls", ".xls", xls),),
        "ods": (Seed("registry.ods", ".ods", ods),),
        "csv": (Seed("registry.csv", ".csv", text.encode("utf-8")), Seed("gbk.csv", ".csv", text.encode("gbk"))),
        "geojson": (Seed("registry.geojson", ".geojson", _gis(gdf, "GeoJSON", ".geojson")),),
        "gpkg": (Seed("registry.gpkg", ".gpkg", _gis(gdf, "GPKG", ".gpkg")),),
        "shp": (Seed("registry.zip", ".zip", _zipped_shapefile(short.to_crs("EPSG:4549"), "villages")),),
    }


@cache
def township_layer():
    import geopandas as gpd

    from audit.area.registry import registry_from_file
    from audit.area.townships import townships_from_villages

    villages = registry_from_file(REPO / "data" / "demo" / "demo_county.gpkg").villages
    areas = townships_from_villages(villages)
    return gpd.GeoDataFrame({"乡镇名称": areas["township"].to_numpy()}, geometry=areas.geometry.to_numpy(),
                            crs="EPSG:4326")


@cache
def township_seeds() -> tuple[Seed, ...]:
    towns = township_layer()
    short = towns.rename(columns={"乡镇名称": "乡镇"})
    return (Seed("towns.geojson", ".geojson", _gis(towns, "GeoJSON", ".geojson")),
            Seed("towns.gpkg", ".gpkg", _gis(towns, "GPKG", ".gpkg")),
            Seed("towns.zip", ".zip", _zipped_shapefile(short, "towns")))


@cache
def rules_seeds() -> tuple[Seed, ...]:
    return (Seed("county.toml", ".toml", (REPO / "audit" / "rules" / "default.toml").read_bytes()),)


def seeds(kind: str) -> tuple[Seed, ...]:
    """The seeds of one kind: photo, xlsx, xls, ods, csv, geojson, gpkg, shp, rules, townships."""
    if kind == "photo":
        return photo_seeds()
    if kind == "rules":
        return rules_seeds()
    if kind == "townships":
        return township_seeds()
    return registry_seeds()[kind]
