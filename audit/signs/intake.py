"""Photo intake: decode any phone photo safely into an upright RGB image, with its EXIF position and time.

Formats are recognised by content (JPEG, PNG, WebP, HEIC/HEIF via pillow-heif), never by extension. EXIF
orientation is applied first. CMYK, greyscale, 16-bit and alpha images become 8-bit RGB (16-bit is scaled,
not clipped). Large photos are decoded at a reduced scale where the codec allows it (JPEG draft mode) and
downscaled to the working size; boxes found on the working image are mapped back with ``Photo.scale``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from audit.errors import AuditError
from audit.rules import Rules, load_rules

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

    def to_full(self, box: tuple[float, float, float, float]) -> list[float]:
        """A box on the working image in pixels of the full-resolution upright photo."""
        w, h = self.full_size
        x1, y1, x2, y2 = (v * self.scale for v in box)
        return [round(min(max(x1, 0), w), 1), round(min(max(y1, 0), h), 1),
                round(min(max(x2, 0), w), 1), round(min(max(y2, 0), h), 1)]


def register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _rational(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1]) if value[1] else math.nan
    return float(value)  # PIL's IFDRational


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    try:
        gps = exif.get_ifd(_GPS_IFD)
    except Exception:  # noqa: BLE001 - a malformed GPS block is treated as no position
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    try:
        lat = sum(_rational(v) / 60**i for i, v in enumerate(gps[2]))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(gps[4]))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if str(gps.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(gps.get(3, "E")).upper().startswith("W"):
        lon = -lon
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return (lon, lat)


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001
        sub = {}
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        when = dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_OFFSET_ORIGINAL)
    if offset:
        try:
            sign = -1 if str(offset).startswith("-") else 1
            hours, minutes = str(offset).lstrip("+-").split(":")
            when = when.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes))))
        except ValueError:
            pass
    return when


def _to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB: alpha composited on white, CMYK/greyscale/palette converted, 16-bit scaled down."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB") if img.mode != "RGB" else img


def photo_from_bytes(data: bytes, name: str = "photo", *, rules: Rules | None = None) -> Photo:
    """Decode a photo for the audit, or refuse it with a clear ``PhotoError``.

    Refused: empty files, non-images, truncated files, images over ``photos.max_pixels`` (decompression
    bombs) and images whose short side is under ``photos.min_side_px``.
    """
    rules = rules or load_rules()
    limits = rules.photos
    if not data:
        raise PhotoError(f"{name}：文件为空（0 字节）")
    register_heif()
    Image.MAX_IMAGE_PIXELS = limits.max_pixels  # explicit, and checked below as well
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format or "unknown"
            w0, h0 = img.size
            if w0 * h0 > limits.max_pixels:
                raise PhotoError(f"{name}：图像过大（{w0}×{h0} 像素，上限 {limits.max_pixels:,} 像素），可能是恶意文件")
            exif = img.getexif()
            target = limits.work_long_side_px
            if fmt == "JPEG" and max(w0, h0) > 2 * target:
                img.draft("RGB", (max(w0, h0) * target // max(w0, h0), min(w0, h0) * target // max(w0, h0)))
            img.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"{name}：图像像素数超过安全上限（{limits.max_pixels:,}），拒绝处理") from None
    except UnidentifiedImageError:
        raise PhotoError(f"{name}：不是可识别的图片（支持 JPEG、PNG、WebP、HEIC）") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError(f"{name}：图片文件损坏或不完整（{exc}）") from None

    decoded_scale = w0 / img.size[0]  # > 1 when JPEG draft mode decoded at a reduced scale
    img = _to_rgb(ImageOps.exif_transpose(img))
    full_size = (round(img.size[0] * decoded_scale), round(img.size[1] * decoded_scale))
    if min(full_size) < limits.min_side_px:
        raise PhotoError(f"{name}：图片太小（{full_size[0]}×{full_size[1]} 像素，短边至少 {limits.min_side_px} 像素）")
    scale = decoded_scale
    if max(img.size) > limits.work_long_side_px:
        factor = limits.work_long_side_px / max(img.size)
        img = img.resize((round(img.size[0] * factor), round(img.size[1] * factor)), Image.Resampling.LANCZOS)
        scale = full_size[0] / img.size[0]
    return Photo(name=name, image=img, full_size=full_size, scale=scale, format=fmt,
                 sha256=hashlib.sha256(data).hexdigest(), gps=_gps(exif), taken_at=_taken_at(exif))


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
