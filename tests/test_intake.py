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


def test_exif_gps_and_time(rules):
    data = encode(picture(), "JPEG", exif=exif_with(gps=(115.98, 36.45), when="2026:11:20 09:30:00"))
    photo = photo_from_bytes(data, "gps.jpg", rules=rules)
    assert photo.gps == pytest.approx((115.98, 36.45), abs=1e-6)
    assert photo.taken_at == dt.datetime(2026, 11, 20, 9, 30)
    assert photo_from_bytes(encode(picture(), "JPEG"), "plain.jpg", rules=rules).gps is None


def test_distance():
    assert distance_m(115.98, 36.45, 115.98, 36.46) == pytest.approx(1112, rel=0.01)
