"""Motion blur taken out of a photo before it is read.

A hand that moves while the shutter is open smears the photo along a short line: the photo is the sharp scene
convolved with a line segment. The segment's spectrum has evenly spaced zeros across the motion, and the photo's
log spectrum inherits them; its cepstrum (the inverse Fourier transform of the log spectrum) shows them as a deep
negative peak at the smear's length and angle (Cannon 1976, "Blind deconvolution of spatially invariant image blurs
with phase"). When a photo's boxes are left unread, :func:`motion_of` looks for that peak (on a photo judged sharp,
only a deep one counts) and :func:`unsmeared_crop` undoes the smear around each such box with a Wiener filter; the
engine reads the box again there and keeps the reading that says more (:mod:`audit.signs.engine`). Defocus and other
blurs leave no such peak at a length worth undoing: nothing is done.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Smears are looked for between these lengths (pixels of the working image, about 2000 px on the long side): under
# MIN_LENGTH_PX the text is still read as it is, and the photo's own textures (brick courses, tile joints, JPEG's
# 8-px blocks) make peaks there; over MAX_LENGTH_PX a smear is longer than most plaques' characters are tall.
MIN_LENGTH_PX = 8
MAX_LENGTH_PX = 64
# The cepstrum's minimum must stand this many robust deviations (1.4826 × the median absolute deviation) below the
# median of the ring of lengths searched: a smear's peak is one narrow point, far below the rest. On a photo the
# engine judges blurred, MIN_PEAK_DEPTH; on one it judges sharp (a short smear along the text's lines leaves the
# photo's other edges sharp), SHARP_PHOTO_PEAK_DEPTH. Held-out scenes judged sharp (seeds 20, 30, 50 and 60
# million, 40 each; the generator's own record of which it smeared): with no smear, the deepest point stood at most
# 12.0 deviations deep (the texture of walls; 9.3 on the last two sets); smeared, 5.6 and 9.1 (9 and 11 px
# smears, which hardly hurt reading) and 18.9-32. (14 was tried: it also restored a 17-px smear of seed 40000000
# peaking at 16.9, reading 3 plaques more, but a shop sign's fragment read there, 移动营, was flagged as a sign.)
MIN_PEAK_DEPTH = 5.0
SHARP_PHOTO_PEAK_DEPTH = 18.0
# The smear is measured on the photo's middle, at most this many pixels square.
ANALYSIS_PX = 1024
# The Wiener filter's noise-to-signal ratio: how much of each frequency the smear had nearly erased is restored.
# Lower sharpens more and amplifies noise and the ringing of a slightly wrong length more.
NOISE_TO_SIGNAL = 0.01


@dataclass(frozen=True)
class Motion:
    """A straight smear: its length (pixels), angle (radians, image axes: x right, y down) and the depth of its
    cepstral peak (robust deviations)."""

    length: float
    angle: float
    depth: float


def motion_of(grey: np.ndarray, *, min_depth: float = MIN_PEAK_DEPTH) -> Motion | None:
    """The straight smear of a grey image, from the deepest point of its cepstrum between :data:`MIN_LENGTH_PX` and
    :data:`MAX_LENGTH_PX` from the origin; None when that point is not ``min_depth`` deviations deep."""
    import cv2

    g = np.asarray(grey, dtype=np.float32)
    r = MAX_LENGTH_PX
    if min(g.shape) < 4 * r:
        return None
    # A camera's smear is the same all over the photo: its middle, at most ANALYSIS_PX square, is enough.
    h, w = min(ANALYSIS_PX, g.shape[0]), min(ANALYSIS_PX, g.shape[1])
    y0, x0 = (g.shape[0] - h) // 2, (g.shape[1] - w) // 2
    g = g[y0: y0 + h, x0: x0 + w]
    window = cv2.createHanningWindow((w, h), cv2.CV_32F)
    spectrum = cv2.dft((g - g.mean()) * window, flags=cv2.DFT_COMPLEX_OUTPUT)
    log_magnitude = np.log1p(cv2.magnitude(spectrum[..., 0], spectrum[..., 1]))
    # (a one-channel input to idft would be read as a packed spectrum: the log magnitude is given as complex)
    cepstrum = cv2.idft(cv2.merge([log_magnitude, np.zeros_like(log_magnitude)]),
                        flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    # the lengths around the origin, with the origin in the middle (the cepstrum is periodic)
    near = np.roll(cepstrum, (r, r), axis=(0, 1))[: 2 * r + 1, : 2 * r + 1]
    yy, xx = np.mgrid[-r: r + 1, -r: r + 1]
    dist = np.hypot(yy, xx)
    ring = (dist >= MIN_LENGTH_PX) & (dist <= MAX_LENGTH_PX)
    values = near[ring]
    median = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - median)))
    if spread <= 0:
        return None
    masked = np.where(ring, near, np.inf)
    iy, ix = np.unravel_index(int(np.argmin(masked)), masked.shape)
    depth = (median - float(masked[iy, ix])) / spread
    if depth < min_depth:
        return None
    dy, dx = iy - r, ix - r
    return Motion(float(math.hypot(dx, dy)), float(math.atan2(dy, dx)), float(depth))


def line_kernel(motion: Motion) -> np.ndarray:
    """The smear as a convolution kernel: a line segment of the motion's length and angle, sampled finely and
    spread over the pixels it crosses, summing to 1."""
    half = motion.length / 2
    size = 2 * math.ceil(half) + 3
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    for t in np.linspace(-half, half, max(8, 4 * math.ceil(motion.length))):
        x, y = c + t * math.cos(motion.angle), c + t * math.sin(motion.angle)
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        kernel[y0, x0] += (1 - fx) * (1 - fy)
        kernel[y0, x0 + 1] += fx * (1 - fy)
        kernel[y0 + 1, x0] += (1 - fx) * fy
        kernel[y0 + 1, x0 + 1] += fx * fy
    return kernel / kernel.sum()


def unsmeared(image: np.ndarray, motion: Motion, *, noise_to_signal: float = NOISE_TO_SIGNAL) -> np.ndarray:
    """``image`` (uint8, grey or RGB) with the smear undone by a Wiener filter, each channel alone; the borders are
    mirrored first (to a size the Fourier transform is quick at) so that the filter's wrap-around does not ring
    across the photo."""
    import cv2

    kernel = line_kernel(motion)
    k = kernel.shape[0]
    h0, w0 = image.shape[:2]
    h, w = cv2.getOptimalDFTSize(h0 + 2 * k), cv2.getOptimalDFTSize(w0 + 2 * k)
    top, left = (h - h0) // 2, (w - w0) // 2
    padded = cv2.copyMakeBorder(np.ascontiguousarray(image), top, h - h0 - top, left, w - w0 - left,
                                cv2.BORDER_REFLECT_101)
    psf = np.zeros((h, w), np.float32)
    psf[:k, :k] = kernel
    otf = cv2.dft(np.roll(psf, (-(k // 2), -(k // 2)), axis=(0, 1)), flags=cv2.DFT_COMPLEX_OUTPUT)
    power = otf[..., 0] ** 2 + otf[..., 1] ** 2 + noise_to_signal
    gain = np.stack([otf[..., 0] / power, -otf[..., 1] / power], axis=-1)   # conj(H) / (|H|^2 + NSR)
    channels = [padded] if padded.ndim == 2 else [padded[..., i] for i in range(padded.shape[2])]
    out = [cv2.idft(cv2.mulSpectrums(cv2.dft(ch.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT), gain, 0),
                    flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)[top: top + h0, left: left + w0] for ch in channels]
    restored = out[0] if padded.ndim == 2 else cv2.merge(out)
    return cv2.convertScaleAbs(cv2.max(restored, 0))   # rounded and saturated to 0-255 (negatives cut to 0 first)


def unsmeared_crop(image: np.ndarray, box: tuple[int, int, int, int], motion: Motion) -> np.ndarray:
    """The pixels ``image[y1:y2, x1:x2]`` of ``box`` with the smear undone: only a region around them, grown by the
    smear's length, is filtered (what is read, not the whole photo), then cut back to the box."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x2 - x1 < 2 or y2 - y1 < 2:
        return image[y1:y2, x1:x2]
    m = math.ceil(motion.length) + 8
    rx1, ry1 = max(0, x1 - m), max(0, y1 - m)
    region = unsmeared(image[ry1: min(h, y2 + m), rx1: min(w, x2 + m)], motion)
    return region[y1 - ry1: y2 - ry1, x1 - rx1: x2 - rx1]
