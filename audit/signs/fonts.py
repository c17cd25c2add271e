"""CJK fonts shipped by the ``mplfonts`` package (found on disk, nothing is downloaded).

Typefaces: ``song`` (the required 宋体) and ``hei`` (the 'wrong' typefaces of style violations; no Kai face
is shipped). Training scenes use Noto Serif CJK SC (song) and Noto Sans CJK SC / Noto Sans Mono CJK SC (hei);
held-out scenes use Source Han Serif SC (song) and SimHei (hei), files never used in training.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


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


def _font_dir() -> Path:
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        raise RuntimeError("the mplfonts package is required for synthetic scenes (pip install mplfonts)")
    return Path(spec.origin).parent


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


# key -> (file-name fragment, typeface)
_FILES: dict[str, tuple[str, str]] = {
    "serif": ("notoserifcjk", "song"),
    "sourcehan_serif": ("sourcehanserif", "song"),
    "sans": ("notosanscjk", "hei"),
    "sans_mono": ("notosansmonocjk", "hei"),
    "simhei": ("simhei", "hei"),
}


@lru_cache(maxsize=1)
def available_faces() -> dict[str, FontFace]:
    """Faces found in mplfonts, keyed as in ``_FILES`` (missing files are absent).

    Returns
    -------
    dict
        Key to :class:`FontFace`.
    """
    root = _font_dir()
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in {".ttf", ".otf", ".ttc"})
    faces: dict[str, FontFace] = {}
    for p in files:
        low = p.name.lower()
        match = [(k, t) for k, (pat, t) in _FILES.items() if pat in low and k not in faces]
        if not match:
            continue
        key, typeface = match[0]
        idx, family = _sc_index(p)
        faces[key] = FontFace(name=family, path=str(p), index=idx, typeface=typeface)
    if "serif" not in faces:
        raise RuntimeError(f"Noto Serif CJK (Song) not found under {root}")
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
    return out or [f["serif"]]


@lru_cache(maxsize=512)
def font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """Cached PIL font of a face at a pixel size."""
    return ImageFont.truetype(face.path, max(4, int(size)), index=face.index)
