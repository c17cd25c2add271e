"""Photo intake: decode any phone photo safely into an upright RGB image, with its EXIF position and time.

Formats are recognised by content (JPEG, PNG, WebP, HEIC/HEIF via pillow-heif), never by extension. EXIF
orientation is applied first. CMYK, greyscale, 16-bit and alpha images become 8-bit RGB (16-bit is scaled,
not clipped). Large photos are decoded at a reduced scale where the codec allows it (JPEG draft mode) and
downscaled to the working size; boxes found on the working image are mapped back with ``Photo.scale``. A photo
larger than that keeps its bytes: ``Photo.detail()`` decodes it again, once, at up to twice the working size, for
the style checks of boards too small on the working image.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, TiffImagePlugin, UnidentifiedImageError

from audit.errors import AuditError
from audit.rules import PhotoRules, Rules, load_rules

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306
_OFFSET_ORIGINAL = 36881


class PhotoError(AuditError):
    """A photo that cannot be audited; the message says why, in Chinese."""


@dataclass(frozen=True)
class Photo:
    """An upright photo ready for the audit.

    ``image`` is RGB at the working size; ``scale`` multiplies its pixel coordinates into the upright
    full-resolution photo (``full_size``).
    """

    name: str
    image: Image.Image
    full_size: tuple[int, int]
    scale: float
    format: str
    sha256: str
    gps: tuple[float, float] | None = None  # (lon, lat), WGS84 as phones record it
    taken_at: dt.datetime | None = None
    # The photo's own bytes and rules, for :meth:`detail` (a photo made without them has no detail image).
    source: bytes | None = field(default=None, repr=False, compare=False)
    limits: PhotoRules | None = field(default=None, repr=False, compare=False)
    _detail: dict = field(default_factory=dict, repr=False, compare=False)

    def detail(self) -> tuple[np.ndarray, float] | None:
        """The upright photo at up to ``DETAIL_FACTOR`` times the working size, decoded on first use, and its
        pixels per working-image pixel; None when the photo is not at least ``DETAIL_MIN_GAIN`` times larger
        than the working image (nothing to gain) or cannot be decoded again. Small boards' style checks read
        it: a 12-MP photo's characters have twice the pixels the working image keeps."""
        if self.source is None or self.limits is None or self.scale < DETAIL_MIN_GAIN:
            return None
        with _DETAIL_LOCK:
            if "image" not in self._detail:
                self._detail["image"] = _detail_of(self.source, self.limits, self.image.size)
            return self._detail["image"]

    def to_full(self, box: tuple[float, float, float, float]) -> list[float]:
        """A box on the working image in pixels of the full-resolution upright photo."""
        w, h = self.full_size
        x1, y1, x2, y2 = (v * self.scale for v in box)
        return [round(min(max(x1, 0), w), 1), round(min(max(y1, 0), h), 1),
                round(min(max(x2, 0), w), 1), round(min(max(y2, 0), h), 1)]


# Pillow's names of the formats the README documents (JPEG, PNG, WebP, HEIC) and the store saves; a phone's
# multi-picture JPEG (MPO) opens through the JPEG plugin. No other decoder is ever tried on a user's bytes.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
# HEIF major brands the store keeps (audit.records.photos.photo_ext): still images, not AVIF.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis")
_FORMATS_ZH = "JPEG、PNG、WebP、HEIC"
# EXIF Orientation → the transpose that makes the photo upright (as ImageOps.exif_transpose, without rewriting
# the EXIF block, which can fail on a NaN or an infinite value elsewhere in it).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ORIENTATION_TAG = 0x0112
# EXIF numbers are bounded before any arithmetic: a GPS coordinate is degrees, minutes, seconds (EXIF 2.3, count
# 3; fewer are read as given), each finite and within these bounds; anything else is no position.
_GPS_COMPONENT_MAX = (180.0, 60.0, 60.0)
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")  # EXIF OffsetTimeOriginal, e.g. +08:00
_DATETIME_TEXT_MAX = 32
# A JPEG is decoded at the smallest draft scale whose long side is at least this share of the working size (the
# models need no more: boards read the same on a 12-MP photo decoded at 2000 px as resampled to 2048, and the
# decode takes a fraction of the time; bench/speed.py).
DRAFT_SLACK = 0.9
# The detail image (Photo.detail): at most this many times the working size, and only for a photo at least
# DETAIL_MIN_GAIN times larger than its working image.
DETAIL_FACTOR = 2.0
DETAIL_MIN_GAIN = 1.5
_DETAIL_LOCK = threading.Lock()


def register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def photo_format(data: bytes) -> str | None:
    """The accepted format of a photo from its first bytes (``jpg``, ``png``, ``webp``, ``heic``), or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    return None


def _component(value: object, bound: float) -> float | None:
    """One GPS component as a float within [0, bound], or None; never divides or converts an unbounded value."""
    if isinstance(value, TiffImagePlugin.IFDRational):
        num, den = value.numerator, value.denominator
        if not (isinstance(num, int | float) and isinstance(den, int | float)) or not den:
            return None
        if not (math.isfinite(num) and math.isfinite(den)) or abs(num) > 2**32 or abs(den) > 2**32:
            return None
        result = num / den
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > 2**32:
            return None
        result = float(value)
    elif isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        num, den = value
        if not den or abs(num) > 2**32 or abs(den) > 2**32:
            return None
        result = num / den
    else:
        return None
    return result if math.isfinite(result) and 0 <= result <= bound else None


def _degrees(value: object) -> float | None:
    parts = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(parts) <= len(_GPS_COMPONENT_MAX):
        return None
    total = 0.0
    for part, bound, unit in zip(parts, _GPS_COMPONENT_MAX, (1, 60, 3600), strict=False):
        number = _component(part, bound)
        if number is None:
            return None
        total += number / unit
    return total


def _ref(value: object, default: str) -> str:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return text.strip("\x00 ").upper()[:1] if isinstance(text, str) else default


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a malformed GPS block is treated as no position
        return None
    if not isinstance(gps, dict) or 2 not in gps or 4 not in gps:
        return None
    lat, lon = _degrees(gps[2]), _degrees(gps[4])
    if lat is None or lon is None:
        return None
    if _ref(gps.get(1, "N"), "N") == "S":
        lat = -lat
    if _ref(gps.get(3, "E"), "E") == "W":
        lon = -lon
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return (lon, lat)


def _text_value(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str) or len(value) > _DATETIME_TEXT_MAX:
        return None
    return value.strip("\x00 ")


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001 - a malformed EXIF sub-block is treated as absent
        sub = {}
    if not isinstance(sub, dict):
        sub = {}
    raw = _text_value(sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME))
    if not raw:
        return None
    try:
        when = dt.datetime.strptime(raw, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = _OFFSET.match(_text_value(sub.get(_OFFSET_ORIGINAL)) or "")
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3))
        if hours <= 14 and minutes < 60:  # UTC-12:00 … UTC+14:00, so the timezone is always valid
            delta = dt.timedelta(hours=hours, minutes=minutes)
            when = when.replace(tzinfo=dt.timezone(-delta if sign == "-" else delta))
    return when


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(_ORIENTATION_TAG)
    return value if isinstance(value, int) and value in _ORIENTATION else 1


def _reduced(img: Image.Image, long_side: int) -> tuple[Image.Image, bool]:
    """A large photo shrunk by a whole factor while still at its own bit depth and mode, so that the conversions
    after it work on an image near ``long_side`` (a 100-megapixel PNG otherwise needs several of its own size at once);
    and whether its samples were 16-bit. JPEG has been decoded small already (draft mode)."""
    sixteen = img.mode.startswith("I;16")
    k = max(img.size) // long_side
    if k < 2:
        return img, sixteen
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "1":
        img = img.convert("L")
    elif sixteen:
        img = img.convert("I")
    return img.reduce(k), sixteen


def _to_rgb(img: Image.Image, *, sixteen: bool = False) -> Image.Image:
    """8-bit RGB: alpha composited on white, CMYK/greyscale/palette converted, 16-bit scaled down."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if sixteen or img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(np.nan_to_num(arr) / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB") if img.mode != "RGB" else img


def _check_declared(name: str, size: tuple[int, int], limits: PhotoRules) -> None:
    """Refuse a photo by the size its header declares, before any pixel is decoded."""
    w, h = size
    if w * h > limits.max_pixels:
        raise PhotoError(f"{name}：图像过大（{w}×{h} 像素，上限 {limits.max_pixels:,} 像素），可能是恶意文件")
    if min(w, h) < limits.min_side_px:
        raise PhotoError(f"{name}：图片太小（{w}×{h} 像素，短边至少 {limits.min_side_px} 像素）")
    if w * h < limits.min_pixels:
        raise PhotoError(f"{name}：图片太小（{w}×{h} 像素，至少 {limits.min_pixels:,} 像素）")
    if max(w, h) > limits.max_aspect_ratio * min(w, h):
        raise PhotoError(f"{name}：图片长宽比过大（{w}×{h} 像素，约 {max(w, h) / min(w, h):.0f}:1，"
                         f"上限 {limits.max_aspect_ratio:g}:1），请拍摄普通照片而不是长图或全景图")


def _decode(data: bytes, name: str, limits: PhotoRules, *,
            long_side: int | None = None) -> tuple[Image.Image, tuple[int, int], str, Image.Exif]:
    """(decoded image, declared size, format, EXIF) with every declared size checked before decoding; a JPEG is
    decoded at the draft scale for ``long_side`` (default: the working size)."""
    if photo_format(data) is None:
        raise PhotoError(f"{name}：不是可识别的图片（支持 {_FORMATS_ZH}）")
    register_heif()
    Image.MAX_IMAGE_PIXELS = limits.max_pixels  # explicit, and checked below as well
    with warnings.catch_warnings():
        # A corrupt EXIF block or a short read is reported by Pillow as a warning; it is handled here (no
        # position, or a refusal), so the warning says nothing more to anyone. A bomb is an error.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        fmt = img.format or "unknown"
        declared = img.size
        _check_declared(name, declared, limits)
        raw_exif = img.info.get("exif")
        if isinstance(raw_exif, bytes) and len(raw_exif) > limits.max_exif_bytes:
            raise PhotoError(f"{name}：EXIF 元数据过大（{len(raw_exif):,} 字节，上限 {limits.max_exif_bytes:,} 字节）")
        # The JPEG decoder's draft scale (1/2, 1/4, 1/8) may land a little under the working size: a 4000-px
        # phone photo decodes at 2000 px (a quarter of the work of decoding 12 MP and resampling it to 2048).
        target = int((long_side or limits.work_long_side_px) * DRAFT_SLACK)
        w0, h0 = declared
        if fmt in ("JPEG", "MPO") and max(w0, h0) > 2 * target:
            # Both sides stay >= 1: the aspect ratio and the short side were checked above.
            img.draft("RGB", (max(1, w0 * target // max(w0, h0)), max(1, h0 * target // max(w0, h0))))
        img.load()
        if img.size[0] < 1 or img.size[1] < 1:
            raise PhotoError(f"{name}：图片文件损坏或不完整（解码后尺寸为 {img.size[0]}×{img.size[1]}）")
        raw_exif = img.info.get("exif")  # a PNG may carry its eXIf chunk after the pixels
        if isinstance(raw_exif, bytes) and len(raw_exif) > limits.max_exif_bytes:
            raise PhotoError(f"{name}：EXIF 元数据过大（{len(raw_exif):,} 字节，上限 {limits.max_exif_bytes:,} 字节）")
        try:
            exif = img.getexif()
        except Exception:  # noqa: BLE001 - a malformed EXIF block is treated as absent
            exif = Image.Exif()
    return img, declared, fmt, exif


def photo_from_bytes(data: bytes, name: str = "photo", *, rules: Rules | None = None) -> Photo:
    """Decode a photo for the audit, or refuse it with a clear ``PhotoError``.

    Accepted: JPEG, PNG, WebP and HEIC, recognised by content. Refused before decoding: empty files, files over
    ``photos.max_bytes``, other formats, images whose header declares more than ``photos.max_pixels``, a short
    side under ``photos.min_side_px``, fewer pixels than ``photos.min_pixels`` or an aspect ratio over
    ``photos.max_aspect_ratio``, and EXIF blocks over ``photos.max_exif_bytes``; refused while decoding: truncated or
    corrupt files. A malformed EXIF position, time or orientation is read as absent.
    """
    rules = rules or load_rules()
    limits = rules.photos
    if not data:
        raise PhotoError(f"{name}：文件为空（0 字节）")
    if len(data) > limits.max_bytes:
        raise PhotoError(f"{name}：文件过大（{len(data):,} 字节，上限 {limits.max_bytes:,} 字节）")
    try:
        img, (w0, h0), fmt, exif = _decode(data, name, limits)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"{name}：图像像素数超过安全上限（{limits.max_pixels:,}），拒绝处理") from None
    except UnidentifiedImageError:
        raise PhotoError(f"{name}：不是可识别的图片（支持 {_FORMATS_ZH}）") from None
    except MemoryError:
        raise PhotoError(f"{name}：图片解码所需内存超出限制，拒绝处理") from None
    except Exception as exc:  # noqa: BLE001 - a decoder failing on a user's bytes means a corrupt file
        raise PhotoError(f"{name}：图片文件损坏或不完整（{type(exc).__name__}: {str(exc)[:200]}）") from None

    orientation = _orientation(exif)
    try:
        img = _upright_rgb(img, orientation, limits.work_long_side_px)
    except MemoryError:
        raise PhotoError(f"{name}：图片处理所需内存超出限制，拒绝处理") from None
    # The full-resolution size is the declared one (upright), whatever scale the pixels were decoded or reduced at.
    full_size = (h0, w0) if orientation in (5, 6, 7, 8) else (w0, h0)
    scale = full_size[0] / img.size[0]
    return Photo(name=name, image=img, full_size=full_size, scale=scale, format=fmt,
                 sha256=hashlib.sha256(data).hexdigest(), gps=_gps(exif), taken_at=_taken_at(exif),
                 source=data, limits=limits)


def _upright_rgb(img: Image.Image, orientation: int, long_side: int) -> Image.Image:
    """A decoded photo made upright 8-bit RGB, at most ``long_side`` pixels long."""
    img, sixteen = _reduced(img, long_side)
    if orientation != 1:
        img = img.transpose(_ORIENTATION[orientation])
    img = _to_rgb(img, sixteen=sixteen)
    if max(img.size) > long_side:
        factor = long_side / max(img.size)
        img = img.resize((max(1, round(img.size[0] * factor)), max(1, round(img.size[1] * factor))),
                         Image.Resampling.LANCZOS)
    return img


def _detail_of(data: bytes, limits: PhotoRules, work_size: tuple[int, int]) -> tuple[np.ndarray, float] | None:
    """The photo decoded again at up to DETAIL_FACTOR × the working size (see Photo.detail)."""
    long_side = int(round(max(work_size) * DETAIL_FACTOR))
    try:
        img, _, _, exif = _decode(data, "photo", limits, long_side=long_side)
        img = _upright_rgb(img, _orientation(exif), long_side)
    except Exception:  # noqa: BLE001 - the photo decoded once already; no detail image is no worse than before
        return None
    factor = img.size[0] / work_size[0]
    return (np.asarray(img), factor) if factor >= DETAIL_MIN_GAIN else None


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def sharpness(image: Image.Image) -> float:
    """How sharp a photo is: the 99th percentile of |Laplacian| of its grey image at 1024 px long side.
    Motion blur and defocus bring it down; readable plaque text needs roughly 40 or more."""
    import cv2

    grey = image.convert("L")
    grey.thumbnail((1024, 1024))
    lap = cv2.Laplacian(np.asarray(grey, dtype=np.float32), cv2.CV_32F)
    return float(np.quantile(np.abs(lap), 0.99))
