"""Wall, floor and foliage textures: skimage's real photographs (brick, gravel, grass) plus procedural ones.

Training scenes use ``TRAIN_WALLS``; held-out scenes use ``HELD_OUT_WALLS``, which never appear in training.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

TRAIN_WALLS: tuple[str, ...] = ("brick", "tile", "render", "glass")
HELD_OUT_WALLS: tuple[str, ...] = ("stone", "panel")


@lru_cache(maxsize=4)
def _sk(name: str) -> np.ndarray:
    """skimage sample image as float32 in [0, 1], zero mean-ish detail map."""
    from skimage import data

    img = getattr(data, name)().astype(np.float32)
    if img.ndim == 3:
        img = img.mean(axis=2)
    return img / 255.0


def _tile(tex: np.ndarray, h: int, w: int, period_px: float) -> np.ndarray:
    """Resize a square texture so it spans ``period_px`` and tile it over ``h × w``."""
    side = max(8, int(round(period_px)))
    t = cv2.resize(
        tex, (side, side), interpolation=cv2.INTER_AREA if side < tex.shape[0] else cv2.INTER_LINEAR
    )
    reps = (h // side + 1, w // side + 1)
    return np.tile(t, reps)[:h, :w]


def low_noise(rng: np.random.Generator, h: int, w: int, cells: int = 6) -> np.ndarray:
    """Smooth noise in [-1, 1] (bicubic upsampling of a coarse random grid)."""
    gh = max(2, int(cells * h / max(h, w)) + 2)
    gw = max(2, int(cells * w / max(h, w)) + 2)
    g = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def _colourise(detail: np.ndarray, colour: tuple[float, float, float], strength: float) -> np.ndarray:
    base = np.asarray(colour, np.float32)[None, None, :]
    d = (detail - detail.mean())[..., None] * strength
    return np.clip(base * (1.0 + d), 0, 255)


def wall(kind: str, h: int, w: int, ppm: float, rng: np.random.Generator) -> np.ndarray:
    """A wall texture.

    Parameters
    ----------
    kind : str
        One of ``TRAIN_WALLS + HELD_OUT_WALLS``.
    h, w : int
        Size in pixels.
    ppm : float
        Pixels per metre (sets the scale of bricks and tiles).
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        ``h × w × 3`` float32 RGB in [0, 255].
    """
    if kind == "brick":
        colour = [(150, 72, 52), (172, 96, 70), (128, 118, 110), (186, 150, 120)][int(rng.integers(4))]
        tex = _tile(_sk("brick"), h, w, ppm * rng.uniform(0.9, 1.4))
        out = _colourise(tex, colour, 1.2)
    elif kind == "tile":
        colour = [(236, 232, 222), (222, 214, 196), (210, 210, 210), (232, 222, 206), (196, 180, 160)][
            int(rng.integers(5))
        ]
        tw = rng.uniform(0.1, 0.3) * ppm
        th = tw * rng.choice([0.5, 1.0])
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        row = np.floor(yy / th)
        off = (row % 2) * tw * 0.5 * (rng.random() < 0.5)
        gx = np.mod(xx + off, tw)
        gy = np.mod(yy, th)
        grout = (gx < max(1.0, tw * 0.06)) | (gy < max(1.0, th * 0.06))
        cell = (np.floor((xx + off) / tw) * 7919 + row * 104729) % 97 / 97.0
        out = np.asarray(colour, np.float32)[None, None] * (0.95 + 0.08 * cell[..., None])
        out[grout] *= 0.78
    elif kind == "render":
        colour = [
            (240, 238, 230),
            (236, 226, 196),
            (214, 214, 210),
            (226, 200, 170),
            (200, 120, 100),
            (246, 246, 246),
        ][int(rng.integers(6))]
        n = low_noise(rng, h, w, 5)
        fine = _tile(_sk("gravel"), h, w, ppm * 1.5)
        out = np.asarray(colour, np.float32)[None, None] * (1 + 0.05 * n[..., None])
        out = out * (1 + 0.12 * (fine - fine.mean()))[..., None]
    elif kind == "glass":
        top = np.asarray(rng.uniform([60, 90, 100], [120, 150, 170]), np.float32)
        bottom = top * rng.uniform(0.5, 0.8)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        out = top * (1 - t) + bottom * t
        out = out + 25 * low_noise(rng, h, w, 4)[..., None]
        pw = rng.uniform(1.0, 1.6) * ppm
        ph = rng.uniform(1.2, 2.0) * ppm
        yy, xx = np.mgrid[0:h, 0:w]
        mull = (np.mod(xx, pw) < max(2, 0.05 * ppm)) | (np.mod(yy, ph) < max(2, 0.05 * ppm))
        out = np.broadcast_to(out, (h, w, 3)).copy()
        out[mull] = rng.uniform(150, 200)
    elif kind == "stone":
        colour = [(150, 144, 132), (176, 160, 130), (120, 118, 112)][int(rng.integers(3))]
        tex = _tile(_sk("gravel"), h, w, ppm * rng.uniform(0.6, 1.2))
        out = _colourise(tex, colour, 0.9)
        bh = rng.uniform(0.3, 0.6) * ppm
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        row = np.floor(yy / bh)
        bw = bh * rng.uniform(1.2, 2.2)
        joint = (np.mod(yy, bh) < max(1, bh * 0.05)) | (np.mod(xx + row * bw * 0.37, bw) < max(1, bh * 0.05))
        out[joint] *= 0.6
    elif kind == "panel":
        colour = [(190, 190, 186), (200, 184, 150), (150, 156, 160)][int(rng.integers(3))]
        pw = rng.uniform(0.8, 1.5) * ppm
        ph = rng.uniform(0.5, 1.0) * ppm
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        grad = (np.mod(xx, pw) / pw)[..., None] * 18
        out = np.asarray(colour, np.float32)[None, None] + grad - 9
        joint = (np.mod(xx, pw) < max(1, 0.015 * ppm)) | (np.mod(yy, ph) < max(1, 0.015 * ppm))
        out[joint] *= 0.55
    else:
        raise ValueError(f"unknown wall kind {kind!r}")
    out = np.broadcast_to(out, (h, w, 3)).astype(np.float32)
    stain = low_noise(rng, h, w, 8)
    return np.clip(out * (1 + 0.06 * stain[..., None]), 0, 255)


def foliage(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Leafy texture from skimage's grass photograph, ``h × w × 3`` float32."""
    g = _sk("grass")
    y0 = int(rng.integers(0, g.shape[0] // 2))
    x0 = int(rng.integers(0, g.shape[1] // 2))
    crop = g[y0 : y0 + g.shape[0] // 2, x0 : x0 + g.shape[1] // 2]
    crop = cv2.resize(crop, (max(2, w), max(2, h)), interpolation=cv2.INTER_LINEAR)
    base = np.asarray(rng.uniform([40, 80, 30], [80, 130, 60]), np.float32)
    return np.clip(base[None, None] * (0.5 + 1.2 * crop[..., None]), 0, 255)
