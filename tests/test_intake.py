"""Photo intake: formats by content, EXIF orientation, colour modes, refusals, EXIF GPS and time."""

import datetime as dt
import io

import numpy as np
import pytest
from PIL import Image, TiffImagePlugin

from audit.signs.intake import PhotoError, distance_m, photo_from_bytes


def picture(w=800, h=600) -> Image.Image:
    """A picture whose top-left quadrant is red, so that rotations are visible."""
    arr = np.full((h, w, 3), 240, np.uint8)
    arr[: h // 2, : w // 2] = (220, 20, 20)
    return Image.fromarray(arr)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def exif_with(orientation=None, gps=None, when=None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if when:
        exif[0x8769] = {36867: when}
    if gps:
        lon, lat = gps
        def dms(v):
            d = int(v)
            m = int((v - d) * 60)
            s = (v - d - m / 60) * 3600
            return (TiffImagePlugin.IFDRational(d, 1), TiffImagePlugin.IFDRational(m, 1),
                    TiffImagePlugin.IFDRational(round(s * 1000), 1000))
        exif[0x8825] = {1: "N", 2: dms(lat), 3: "E", 4: dms(lon)}
    return exif.tobytes()


@pytest.mark.parametrize(("fmt", "kw"), [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {"quality": 90})])
def test_formats_recognised_by_content_not_extension(rules, fmt, kw):
    photo = photo_from_bytes(encode(picture(), fmt, **kw), "photo.dat", rules=rules)
    assert photo.format == fmt and photo.full_size == (800, 600) and photo.image.mode == "RGB"


def test_heic(rules):
    from pillow_heif import register_heif_opener
    register_heif_opener()
    photo = photo_from_bytes(encode(picture(), "HEIF", quality=90), "iphone.jpg", rules=rules)
    assert photo.format == "HEIF" and photo.full_size == (800, 600)


@pytest.mark.parametrize(("orientation", "size", "red_corner"), [
    (1, (800, 600), (0, 0)), (3, (800, 600), (1, 1)), (6, (600, 800), (0, 1)), (8, (600, 800), (1, 0)),
])
def test_exif_orientation_applied_first(rules, orientation, size, red_corner):
    data = encode(picture(), "JPEG", quality=95, exif=exif_with(orientation=orientation))
    photo = photo_from_bytes(data, "p.jpg", rules=rules)
    assert photo.full_size == size
    arr = np.asarray(photo.image)
    h, w = arr.shape[:2]
    cy, cx = red_corner
    y, x = (h // 4 if cy == 0 else 3 * h // 4), (w // 4 if cx == 0 else 3 * w // 4)
    assert arr[y, x, 0] > 180 and arr[y, x, 1] < 80


def test_sixteen_bit_png_is_scaled_not_clipped(rules):
    ramp = np.tile(np.linspace(0, 65535, 640).astype(np.uint16), (500, 1))
    photo = photo_from_bytes(encode(Image.fromarray(ramp), "PNG"), "16bit.png", rules=rules)
    arr = np.asarray(photo.image)[:, :, 0].astype(int)
    assert arr[:, 0].max() <= 2 and arr[:, -1].min() >= 253
    assert 100 < arr[:, 320].mean() < 155                      # mid-grey, not white


@pytest.mark.parametrize("mode", ["CMYK", "L", "LA", "RGBA", "P"])
def test_colour_modes(rules, mode):
    img = picture().convert(mode)
    fmt = "JPEG" if mode in ("CMYK", "L") else "PNG"
    photo = photo_from_bytes(encode(img, fmt), f"{mode}.img", rules=rules)
    arr = np.asarray(photo.image)
    assert photo.image.mode == "RGB" and arr[450, 600].min() > 200   # the light part stays light


def test_alpha_is_composited_on_white(rules):
    arr = np.zeros((600, 800, 4), np.uint8)            # fully transparent black
    photo = photo_from_bytes(encode(Image.fromarray(arr, "RGBA"), "PNG"), "a.png", rules=rules)
    assert np.asarray(photo.image).min() == 255


@pytest.mark.parametrize(("data", "message"), [
    (b"", "文件为空"), (b"just text, not a photo", "不是可识别的图片"),
])
def test_refusals(rules, data, message):
    with pytest.raises(PhotoError, match=message):
        photo_from_bytes(data, "x.jpg", rules=rules)


def test_truncated_file_is_refused(rules):
    data = encode(picture(), "JPEG", quality=90)
    with pytest.raises(PhotoError, match="x.jpg：图片文件损坏或不完整"):
        photo_from_bytes(data[: len(data) // 3], "x.jpg", rules=rules)


def test_too_small_is_refused(rules):
    with pytest.raises(PhotoError, match="图片太小（320×200 像素"):
        photo_from_bytes(encode(picture(320, 200), "PNG"), "tiny.png", rules=rules)


def test_decompression_bomb_is_refused(rules):
    # A tiny PNG that claims 20000 × 20000 pixels (400 MP, over the 100 MP limit).
    bomb = encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(PhotoError, match="图像过大|安全上限"):
        photo_from_bytes(bomb, "bomb.png", rules=rules)


def test_large_jpeg_is_downscaled_and_boxes_map_back(rules):
    big = picture(4000, 3000)
    photo = photo_from_bytes(encode(big, "JPEG", quality=85), "12mp.jpg", rules=rules)
    assert photo.full_size == (4000, 3000)
    assert max(photo.image.size) <= rules.photos.work_long_side_px
    w, h = photo.image.size
    assert photo.to_full((0, 0, w / 2, h / 2)) == pytest.approx([0, 0, 2000, 1500], abs=2)
    # decoded at the JPEG's 1/2 draft scale, a little under the working size, and not resampled after it
    assert photo.image.size == (2000, 1500) and photo.scale == 2


@pytest.mark.parametrize(("size", "orientation", "fmt", "factor"), [
    ((4000, 3000), 1, "JPEG", 2.0),  # a 12-MP phone photo: worked on at 2000 px, its detail at 4000
    ((4000, 3000), 6, "JPEG", 2.0),  # shot upright, stored sideways: the detail is upright like the working image
    ((8000, 6000), 1, "JPEG", 2.0),  # 48 MP: the detail is twice the working size, not the whole photo
    ((5000, 3750), 8, "PNG", 2.0),  # worked on at 2048 px, its detail at 4096
])
def test_a_large_photos_detail_is_upright_and_matches_the_working_image(rules, size, orientation, fmt, factor):
    kw = {"quality": 90, "exif": exif_with(orientation=orientation)} if fmt == "JPEG" else {}
    img = picture(*size)
    if fmt == "PNG" and orientation != 1:  # a PNG carries its orientation in an eXIf chunk
        kw["exif"] = exif_with(orientation=orientation)
    photo = photo_from_bytes(encode(img, fmt, **kw), "big", rules=rules)
    detail, f = photo.detail()
    assert f == pytest.approx(factor, rel=0.01)
    work = np.asarray(photo.image)
    assert detail.shape[1] == pytest.approx(work.shape[1] * f, abs=1) and detail.shape[0] == pytest.approx(
        work.shape[0] * f, abs=2)
    # the same picture: the red quadrant in the same place
    small = np.asarray(Image.fromarray(detail).resize(photo.image.size, Image.Resampling.BOX))
    assert np.abs(small.astype(int) - work.astype(int)).mean() < 6
    assert photo.detail()[0] is detail  # decoded once


def test_a_photo_no_larger_than_its_working_image_has_no_detail(rules):
    assert photo_from_bytes(encode(picture(2000, 1500), "JPEG", quality=90), "p.jpg", rules=rules).detail() is None
    assert photo_from_bytes(encode(picture(2900, 2000), "PNG"), "p.png", rules=rules).detail() is None  # 1.4 ×


def test_exif_gps_and_time(rules):
    data = encode(picture(), "JPEG", exif=exif_with(gps=(115.98, 36.45), when="2026:11:20 09:30:00"))
    photo = photo_from_bytes(data, "gps.jpg", rules=rules)
    assert photo.gps == pytest.approx((115.98, 36.45), abs=1e-6)
    assert photo.taken_at == dt.datetime(2026, 11, 20, 9, 30)
    assert photo_from_bytes(encode(picture(), "JPEG"), "plain.jpg", rules=rules).gps is None


def test_distance():
    assert distance_m(115.98, 36.45, 115.98, 36.46) == pytest.approx(1112, rel=0.01)


# --- Bad input (issue 14): every refusal names its limit; a malformed EXIF number is read as absent ----------

def tiff_exif(orientation=None, gps=None, offset=None, when=None) -> bytes:
    """A raw EXIF block written byte by byte (Pillow refuses to write NaN or 300-component rationals).
    ``gps``: {tag: (tiff type, count, payload)}."""
    import struct

    ifd0 = []
    if orientation is not None:
        ifd0.append((0x0112, 3, 1, struct.pack("<HH", orientation, 0)))
    subs = {}
    if gps is not None:
        subs[0x8825] = gps
    if offset is not None or when is not None:
        sub = {}
        if when is not None:
            sub[36867] = ascii_value(when)
        if offset is not None:
            sub[36881] = ascii_value(offset)
        subs[0x8769] = sub
    for tag in subs:
        ifd0.append((tag, 4, 1, None))

    def ifd(entries, start):
        """Bytes of one IFD at ``start`` with out-of-line payloads after it."""
        head = struct.pack("<H", len(entries))
        extra = b""
        data_at = start + 2 + 12 * len(entries) + 4
        for tag, typ, count, payload in entries:
            if len(payload) <= 4:
                head += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, typ, count, data_at + len(extra))
                extra += payload
        return head + b"\0\0\0\0" + extra

    size0 = 2 + 12 * len(ifd0) + 4
    at = 8 + size0
    blocks, entries0 = b"", []
    for tag, typ, count, payload in ifd0:
        if payload is None:
            block = ifd([(t, *subs[tag][t]) for t in sorted(subs[tag])], at + len(blocks))
            payload = struct.pack("<I", at + len(blocks))
            blocks += block
        entries0.append((tag, typ, count, payload))
    head = struct.pack("<H", len(entries0)) + b"".join(
        struct.pack("<HHI", t, ty, c) + p for t, ty, c, p in entries0) + b"\0\0\0\0"
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + head + blocks


def rationals(pairs):
    import struct
    return (5, len(pairs), b"".join(struct.pack("<II", a, b) for a, b in pairs))


def doubles(values):
    import struct
    return (12, len(values), b"".join(struct.pack("<d", v) for v in values))


def ascii_value(text):
    raw = text.encode() + b"\0"
    return (2, len(raw), raw)


def gps_block(lat, lon=None):
    lon = lon or rationals([(115, 1), (58, 1), (48, 1)])
    return {1: ascii_value("N"), 2: lat, 3: ascii_value("E"), 4: lon}


def test_raw_exif_builder_reads_back(rules):
    """The byte-level EXIF writer used below makes blocks Pillow reads as a phone's: position and rotation."""
    data = encode(picture(), "JPEG", exif=tiff_exif(6, gps_block(rationals([(36, 1), (27, 1), (0, 1)]))))
    photo = photo_from_bytes(data, "p.jpg", rules=rules)
    assert photo.full_size == (600, 800)
    assert photo.gps == pytest.approx((115 + 58 / 60 + 48 / 3600, 36.45))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("latitude", [
    rationals([(1, 1)] * 300),                                   # hundreds of components: OverflowError before
    doubles([float("nan"), 0.0, 0.0]),                           # NaN: the EXIF transpose's ValueError before
    doubles([float("inf"), 0.0, 0.0]),
    doubles([1e308, 1e308, 1e308]),
    rationals([(1, 0), (0, 1), (0, 1)]),                        # zero denominator
    rationals([(4294967295, 1), (0, 1), (0, 1)]),               # 4 billion degrees
    doubles([]),                                                 # no component at all
], ids=["300-components", "nan", "inf", "1e308", "zero-denominator", "huge", "empty"])
def test_malformed_gps_is_no_position_and_the_photo_stays_upright(rules, fmt, latitude):
    data = encode(picture(), fmt, exif=tiff_exif(6, gps_block(latitude)))
    photo = photo_from_bytes(data, f"p.{fmt.lower()}", rules=rules)
    assert photo.gps is None
    assert photo.full_size == (600, 800)                         # orientation 6 still applied


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_unknown_orientation_is_upright(rules, orientation):
    data = encode(picture(), "JPEG", exif=tiff_exif(orientation))
    assert photo_from_bytes(data, "p.jpg", rules=rules).full_size == (800, 600)


@pytest.mark.parametrize(("offset", "tz_hours"), [
    ("+08:00", 8), ("-05:30", -5.5), ("+99:00", None), ("+999999999999:00", None), ("8", None), ("+14:60", None),
])
def test_time_offset_is_bounded(rules, offset, tz_hours):
    data = encode(picture(), "JPEG", exif=tiff_exif(when="2026:11:20 09:30:00", offset=offset))
    taken = photo_from_bytes(data, "p.jpg", rules=rules).taken_at
    assert taken.replace(tzinfo=None) == dt.datetime(2026, 11, 20, 9, 30)
    if tz_hours is None:
        assert taken.tzinfo is None
    else:
        assert taken.utcoffset() == dt.timedelta(hours=tz_hours)


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real JPEG whose frame header (SOF0) is rewritten to declare another size."""
    data = bytearray(encode(picture(), "JPEG", quality=80))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 7] = height.to_bytes(2, "big")
    data[sof + 7:sof + 9] = width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize(("width", "height", "message"), [
    (1, 65535, r"图片太小（1×65535 像素，短边至少 100 像素）"),    # ZeroDivisionError in draft decoding before
    (65535, 1, r"图片太小（65535×1 像素，短边至少 100 像素）"),
    (0, 600, r"图片太小|损坏|不是可识别的图片"),                       # Pillow: no such JPEG
    (60000, 60000, r"安全上限（100,000,000）"),                     # Pillow's own bomb check, same limit
    (48000, 480, r"长宽比过大（48000×480 像素，约 100:1，上限 10:1）"),
])
def test_declared_jpeg_size_is_checked_before_decoding(rules, width, height, message):
    with pytest.raises(PhotoError, match=message):
        photo_from_bytes(jpeg_declaring(width, height), "x.jpg", rules=rules)


@pytest.mark.parametrize(("size", "message"), [
    ((480, 80000), r"长宽比过大（480×80000 像素，约 167:1，上限 10:1）"),   # the OCR's resize error before
    ((60000, 480), r"长宽比过大（60000×480 像素，约 125:1，上限 10:1）"),
    ((4801, 480), r"长宽比过大（4801×480 像素，约 10:1，上限 10:1）"),
])
def test_extreme_aspect_ratio_is_refused(rules, size, message):
    data = encode(Image.new("L", size, 200), "PNG")
    with pytest.raises(PhotoError, match=message):
        photo_from_bytes(data, "long.png", rules=rules)


@pytest.mark.parametrize("size", [(4800, 480), (480, 4800), (20000, 2000)])
def test_aspect_ratio_at_the_limit_is_audited(rules, size):
    """The limit leaves room: a 10:1 photo decodes (a large JPEG through draft mode) to a usable working image."""
    fmt = "JPEG" if max(size) > 2 * rules.photos.work_long_side_px else "PNG"
    photo = photo_from_bytes(encode(picture(*size), fmt), "wide", rules=rules)
    assert photo.full_size == pytest.approx(size, abs=8)
    assert min(photo.image.size) >= rules.photos.work_long_side_px // 10 - 1


def _other_formats():
    out = [("TIFF", {}), ("BMP", {}), ("GIF", {}), ("PPM", {}), ("TGA", {}), ("JPEG2000", {}), ("DDS", {}),
           ("PCX", {}), ("SGI", {}), ("ICO", {"sizes": [(256, 256)]}), ("WMF", None)]
    from PIL import features
    if features.check("avif"):
        out.append(("AVIF", {}))               # an HEIF-family container, but not a format the store keeps
    return [(f, kw) for f, kw in out if kw is not None]


@pytest.mark.parametrize(("fmt", "kw"), _other_formats())
def test_only_documented_formats_are_decoded(rules, fmt, kw):
    if fmt == "AVIF":
        import PIL.AvifImagePlugin  # noqa: F401 - registers the writer
    data = encode(picture(), fmt, **kw)
    with pytest.raises(PhotoError, match="不是可识别的图片（支持 JPEG、PNG、WebP、HEIC）"):
        photo_from_bytes(data, f"x.{fmt.lower()}", rules=rules)


@pytest.mark.parametrize(("fmt", "kw"), [("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("HEIF", {}), ("MPO", {})])
def test_what_intake_accepts_the_store_saves(rules, fmt, kw):
    from pillow_heif import register_heif_opener

    from audit.records.photos import photo_ext
    from audit.signs.intake import photo_format
    register_heif_opener()
    data = encode(picture(), fmt, **kw)
    photo_from_bytes(data, "p", rules=rules)
    assert photo_ext(data, "p") == photo_format(data)


def test_what_intake_refuses_by_format_the_store_refuses(rules):
    from audit.errors import StoreError
    from audit.records.photos import photo_ext
    for fmt, kw in _other_formats():
        if fmt == "AVIF":
            import PIL.AvifImagePlugin  # noqa: F401
        data = encode(picture(), fmt, **kw)
        with pytest.raises(StoreError):
            photo_ext(data, "p")


def limited(rules, **photos):
    return rules.model_copy(update={"photos": rules.photos.model_copy(update=photos)})


def test_file_size_limit(rules):
    data = encode(picture(), "PNG")
    with pytest.raises(PhotoError, match=rf"文件过大（{len(data):,} 字节，上限 1,000 字节）"):
        photo_from_bytes(data, "big.png", rules=limited(rules, max_bytes=1000))
    assert photo_from_bytes(data, "big.png", rules=limited(rules, max_bytes=len(data))).full_size == (800, 600)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_oversized_exif_is_refused(rules, fmt):
    exif = tiff_exif(gps=gps_block(rationals([(36, 1), (27, 1), (0, 1)]))) + b"\0" * 300_000
    with pytest.raises(PhotoError, match=r"EXIF 元数据过大（[\d,]+ 字节，上限 262,144 字节）"):
        photo_from_bytes(encode(picture(), fmt, exif=exif), "x", rules=rules)


def test_corrupt_exif_is_read_as_absent(rules):
    exif = b"Exif\0\0II*\0" + b"\xff" * 64                      # IFD offset far outside the block
    photo = photo_from_bytes(encode(picture(), "JPEG", exif=exif), "x.jpg", rules=rules)
    assert photo.gps is None and photo.taken_at is None and photo.full_size == (800, 600)


@pytest.mark.parametrize("mode", ["I;16", "P", "RGBA", "1"])
def test_large_photos_are_reduced_before_conversion(rules, mode):
    """A photo over twice the working size is shrunk at its own depth first (the 100-megapixel PNG needed
    several copies of itself before): 16-bit still scaled, not clipped; the declared size stays the full size."""
    w, h = 4800, 480
    if mode == "I;16":
        img = Image.fromarray(np.tile(np.linspace(0, 65535, w).astype(np.uint16), (h, 1)))
    else:
        img = picture(w, h).convert(mode)
    photo = photo_from_bytes(encode(img, "PNG"), "wide.png", rules=rules)
    assert photo.full_size == (w, h) and max(photo.image.size) == rules.photos.work_long_side_px
    assert photo.scale == pytest.approx(w / photo.image.size[0])
    if mode == "I;16":
        row = np.asarray(photo.image)[h // 20, :, 0].astype(int)
        assert row[2] <= 3 and row[-3] >= 252 and 100 < row[len(row) // 2] < 155
