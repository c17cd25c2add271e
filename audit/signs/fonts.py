"""CJK fonts found on disk (nothing is downloaded): the ``mplfonts`` wheel's, else the system's.

The ``mplfonts`` wheel (107 MB of fonts, with matplotlib) is in the ``train`` extra: the synthetic scenes, the
typeface model and the tests use its files, and where it is installed only its files are used. A runtime install
(``pip install .``) has no mplfonts; there the annotated photos' labels, the only use at run time, take a CJK font
of the system (Debian's ``fonts-noto-cjk``, or ``fonts-wqy-microhei`` that ``make install`` puts in when neither is
there).

Typefaces: ``song`` (the required 宋体) and ``hei`` (the 'wrong' typefaces of style violations; no Kai face
is shipped). Training scenes use Noto Serif CJK SC (song) and Noto Sans CJK SC / Noto Sans Mono CJK SC (hei);
held-out scenes use Source Han Serif SC (song) and SimHei (hei), files never used in training.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class FontFace:
    """A font file and face index.

    Attributes
    ----------
    name : str
        Family name as stored in the font.
    path : str
        Font file.
    index : int
        Face index inside a ``.ttc`` collection.
    typeface : str
        ``"song"`` or ``"hei"``.
    """

    name: str
    path: str
    index: int
    typeface: str


# Where a runtime install without mplfonts looks for CJK fonts (Debian's font packages install under the first).
SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")


def _font_dirs() -> list[Path]:
    """mplfonts' folder when the package is installed (only it: the training scenes' files must not change with
    the machine's fonts), else the system's font folders."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is not None and spec.origin is not None:
        return [Path(spec.origin).parent]
    return [Path(d) for d in SYSTEM_FONT_DIRS if Path(d).is_dir()]


def _sc_index(path: Path) -> tuple[int, str]:
    """Index and family name of the Simplified Chinese face of a font file (0 for a single font)."""
    if path.suffix.lower() != ".ttc":
        return 0, ImageFont.truetype(str(path), 12).getname()[0]
    first: tuple[int, str] | None = None
    for i in range(16):
        try:
            family = ImageFont.truetype(str(path), 12, index=i).getname()[0]
        except OSError:
            break
        if first is None:
            first = (i, family)
        if family.endswith(" SC") or " SC " in family:
            return i, family
    if first is None:
        raise RuntimeError(f"no face in {path}")
    return first


# key -> (file-name fragment, typeface). The last is never in mplfonts: WenQuanYi Micro Hei, a system's small CJK
# sans (fonts-wqy-microhei), enough for the labels of annotated photos.
_FILES: dict[str, tuple[str, str]] = {
    "serif": ("notoserifcjk", "song"),
    "sourcehan_serif": ("sourcehanserif", "song"),
    "sans": ("notosanscjk", "hei"),
    "sans_mono": ("notosansmonocjk", "hei"),
    "simhei": ("simhei", "hei"),
    "wqy_microhei": ("wqy-microhei", "hei"),
}


@lru_cache(maxsize=1)
def available_faces() -> dict[str, FontFace]:
    """Faces found in mplfonts (else in the system's fonts), keyed as in ``_FILES`` (missing files are absent).

    Returns
    -------
    dict
        Key to :class:`FontFace`.

    Raises
    ------
    RuntimeError
        When no CJK face is found at all.
    """
    roots = _font_dirs()
    # A family's Regular weight first (the system holds Black, Bold, Light … of Noto CJK side by side).
    files = sorted((p for root in roots for p in root.rglob("*") if p.suffix.lower() in {".ttf", ".otf", ".ttc"}),
                   key=lambda p: ("regular" not in p.name.lower(), p.name.lower(), str(p)))
    faces: dict[str, FontFace] = {}
    for p in files:
        low = p.name.lower()
        match = [(k, t) for k, (pat, t) in _FILES.items() if pat in low and k not in faces]
        if not match:
            continue
        key, typeface = match[0]
        idx, family = _sc_index(p)
        faces[key] = FontFace(name=family, path=str(p), index=idx, typeface=typeface)
    if not faces:
        where = ", ".join(str(r) for r in roots) or "nowhere (no mplfonts, no system font folder)"
        raise RuntimeError(f"no CJK font found in {where}: install the train extra (mplfonts) or Debian's "
                           "fonts-noto-cjk or fonts-wqy-microhei")
    return faces


def faces_for(typeface: str, held_out: bool) -> list[FontFace]:
    """Faces usable for a typeface in a split.

    Parameters
    ----------
    typeface : str
        ``"song"`` or ``"hei"``.
    held_out : bool
        Held-out split: ``hei`` comes from SimHei when available (never used in training).
    """
    f = available_faces()
    if typeface == "song":
        keys = ("sourcehan_serif",) if held_out else ("serif",)
    else:
        keys = ("simhei",) if held_out else ("sans", "sans_mono")
    out = [f[k] for k in keys if k in f]
    if not out and "serif" not in f:
        raise RuntimeError("Noto Serif CJK (Song) not found: the synthetic scenes need the train extra (mplfonts)")
    return out or [f["serif"]]


@lru_cache(maxsize=256)
def has_bitmap_strike(face: FontFace, size: int) -> bool:
    """Whether FreeType draws ``face`` at ``size`` pixels from an embedded screen bitmap (AR PL UMing holds
    one-pixel-stroke bitmaps at 12–16 px): a plain, unshaded glyph that no camera would see on a board. Pillow
    cannot switch such strikes off, so a renderer draws these sizes larger and shrinks them."""
    img = Image.new("L", (4 * size, 2 * size), 255)
    ImageDraw.Draw(img).text((size // 2, size // 2), "國会", font=font(face, size), fill=0)
    a = np.asarray(img)
    ink = int((a < 250).sum())
    return ink > 0 and int(((a > 5) & (a < 250)).sum()) < 0.05 * ink


@lru_cache(maxsize=512)
def font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """Cached PIL font of a face at a pixel size."""
    return ImageFont.truetype(face.path, max(4, int(size)), index=face.index)
