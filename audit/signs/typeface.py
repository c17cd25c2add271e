"""The typeface of a board's characters: 宋体 (Song/Ming), 黑体 (Hei), 楷体 (Kai), or cannot tell.

Run time is onnxruntime only (``models/typeface.onnx``, and ``models/typeface_small.onnx`` for text lines under
:data:`SMALL_CHAR_PX`, both trained by ``audit.model.typeface``; their card is ``models/TYPEFACE_CARD.md``). The
characters are found in the board's crop itself, without the OCR's boxes: each pixel's ink is its absorption
against the board's own local white (the darkest channel after dividing by the white, so red, black and blue ink
look alike), the text lines are the runs of the ink's profile across the writing direction (columns of a vertical
strip, rows of a 60 × 40 plaque), a board seen at an angle is stretched back until its characters are about square
(:func:`foreshortening`), and square windows about one character wide slide along each line. The small CNN
scores every window; the board's reading is the mean of their probabilities. It is advisory: a board gets
``unknown`` (cannot tell) when its characters are smaller than :data:`MIN_CHAR_PX` (with the small-character
model, :data:`SMALL_MODEL_MIN_CHAR_PX`), blurred (:data:`MIN_SHARPNESS`) or smeared one way by a shaken photo
(:data:`MAX_COHERENCE`), or too few; :func:`matches` says whether the board is in a required typeface, is not, or
cannot be told (between :data:`MISMATCH_AT` and :data:`MATCH_AT`; :data:`SMALL_MODEL_MISMATCH_AT` for lines under
:data:`SMALL_CHAR_PX`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from audit import settings

Typeface = Literal["song", "hei", "kai", "unknown"]
CLASSES: tuple[str, ...] = ("song", "hei", "kai")
INPUT_PX = 48  # the classifier's window side (pixels)
WINDOW_EM = 1.2  # window side in line widths (a line's ink is about 0.9 em wide)
# Gates, measured on the validation fonts (models/TYPEFACE_CARD.md): below these a board is "cannot tell".
MIN_CHAR_PX = 24.0  # line width in pixels (about 29 px characters): smaller Song loses its serifs
MIN_SHARPNESS = 0.22  # edge steepness of the normalised windows (ink contrast per window pixel)
# A shaken photo smears every stroke one way: the edges left sharp all run along the motion, so the windows'
# gradients line up (structure-tensor coherence of all windows together, 0 for edges every way, 1 for one way).
# Steep edges along the smear passed the sharpness gate, and the classifier called smeared Song "Hei" (P(song)
# 0.01 on 12-MP scenes with a 20–50-px motion blur, bench/style_eval.py --scenes 60 --long-side 4000). Clean
# boards of the held-out fonts, 24–130 px characters, seven lights: coherence at most 0.35 (99 % under 0.31, 300
# boards); motion-blurred scene boards 0.53–0.94.
MAX_COHERENCE = 0.5
# The check asks "is it the required typeface?" from that typeface's mean probability P over the windows:
MATCH_AT = 0.30  # P at least this: it is (the held-out Song fonts' P ranges from 0.16 up; Hei/Kai stay under 0.2)
MISMATCH_AT = 0.15  # P at most this: it is not; in between: cannot tell
# Lines of 24–28 px are judged "not" only at a lower P. Generated boards in the held-out fonts (two sets of their
# own seeds, 35000000 and 36000000, apart from bench/style_eval.py's 31000000), 24–28 px: in-order Song had
# P <= 0.15 on 9 of 108, P <= 0.10 on 1, P <= 0.05 on none; Hei/Kai P <= 0.05 on 23 of 82 (0.10: 62). Whole
# generator scenes (bench/style_eval.py --scenes, seeds 31/32/34 million), 24–28 px: Song P 0.076 and 0.113 on 2 of
# 28 boards (the 0.10 first chosen flagged the first, a clean Source Han Serif strip), Hei P <= 0.05 on 3 of 7.
# Below 24 px the held-out Song had P <= 0.10 on 11 of 113 boards (20–24 px) and the check does not judge.
SMALL_CHAR_PX = 28.0
SMALL_MISMATCH_AT = 0.05
# Lines under SMALL_CHAR_PX are read by a second model trained on small characters only (9–34 px,
# ``models/typeface_small.onnx``, 32/64/96 channels since 2026-12-03; its windows scaled to the 99.5th percentile
# of ink, so that a Song's thin horizontals stay fainter than its verticals). Generated boards in the held-out fonts
# (bench/style_eval.py's renderer, seeds 41000000 and 42000000, 5,400 boards of 14–34 px characters; not the
# bench's own seed): with the small model, in-order Song had P <= 0.10 on 1 of 268 boards of 22–28 px lines
# (Hei/Kai: 180 of 206); on 20–22 px lines P <= 0.05 on 2 of 249 (Hei/Kai: 133 of 224); on 16–20 px lines P <= 0.03
# on 4 of 704 (Hei/Kai: 143 of 689; area under the curve Song against Hei/Kai 0.92, was 0.83–0.85 with the
# 16/32/48-channel model, which judged only from 20 px). Under 16 px (AUC 0.79): not judged. Without the small
# model the main model's rules above apply (lines from 24 px).
SMALL_MODEL_MIN_CHAR_PX = 16.0
SMALL_MODEL_INK_QUANTILE = 0.995
SMALL_MODEL_MISMATCH_AT = ((22.0, 0.10), (20.0, 0.05), (SMALL_MODEL_MIN_CHAR_PX, 0.03))  # (lines from, P at most)
INK_QUANTILE = 0.95  # the main model's windows: this quantile of the characters' ink is 1
MIN_WINDOWS = 2
LINE_RUN_SHARE = 0.6  # two runs of the ink's profile both at least this share of the widest are two lines
LINE_VALLEY = 0.4  # a run of the profile dipping to this share of its peaks on both sides is two lines …
LINE_SIDE_SHARE = 0.3  # … when each side is at least this share of the run
MAX_WINDOWS = 48  # windows scored per board (evenly chosen): bounds the time of a large board
# A board seen at an angle is foreshortened: a strip photographed from the side has its characters narrowed, so
# the Song's vertical strokes come out as thin as its horizontals and it looks like Hei (seed 32000018 at 4000 px:
# two Source Han Serif strips narrowed to about 0.6 of their width, P(song) 0.12 and 0.09, "suspected Hei";
# stretched back by hand 1.55 ×, 0.64 and 0.52). Square-on, a character's ink is about as wide as it is high: the
# median over a board's characters (character_runs) of their extent across the line over their extent along it
# was 0.90–0.92 (10th–90th percentile 0.81–0.98) for Song, Hei and Kai in vertical lines and 0.92–1.00 (0.86–1.05)
# across horizontal ones, and it follows the narrowing (vertical lines narrowed to 0.8 / 0.65 / 0.5: 0.73–0.75 /
# 0.59–0.61 / 0.46–0.48) (bench/style_eval.py's renderer, held-out fonts, 300 boards of 20–130 px characters, seed
# 51000000). A board off CHAR_ASPECT by more than FORESHORTENED either way is stretched back before its windows
# are cut. Measured on 400 other boards (seed 52000000, half Song; each also narrowed), Song called "not Song" /
# Hei and Kai caught, without → with: narrowed to 0.8, 24 → 2 of 200 / 153 → 148 of 200; to 0.65, 67 → 1 /
# 135 → 135; to 0.5, 56 → 2 / 80 → 94; as rendered (perspective up to ±12 %), 1 → 1 / 164 → 164. Characters run
# together (CHAR_RUN_TOGETHER: tight spacing, dusk noise) had looked narrowed: a 28-px Song line at dusk of
# bench/style_eval.py --n 700 was stretched 1.26 × and called Hei, a dusk SimHei strip went undecided.
CHAR_ASPECT = (0.92, 1.0)  # square-on median of a character's ink across / along its line: vertical, horizontal text
FORESHORTENED = 0.85
MAX_STRETCH = 2.5  # a board off by more than this is not seen at an angle: its lines were not found right
CHAR_GAP = 0.08  # a gap along a line under this share of its width is inside a character (the strokes of 三)
CHAR_LINE_SHARE = 0.8  # characters are measured on lines at least this share of the widest
CHAR_PIECE = 0.6  # a run along a line shorter than this share of its width or of a typical character is a piece …
CHAR_JOINED = 1.2  # … joined to its neighbour while the two are at most this share of a typical character long
CHAR_RUN_TOGETHER = 1.6  # a run longer than this times its line's median is characters run together: not measured
MIN_CHARS = 3


@dataclass(frozen=True)
class TypefaceReading:
    """What the classifier says about one board.

    Attributes
    ----------
    typeface : str
        The most probable of ``song``, ``hei``, ``kai``, or ``unknown`` when the board could not be scored.
    confidence : float
        Mean probability of ``typeface`` over the windows (0 when ``unknown``).
    char_px : float
        Width of the text lines in pixels (about the characters' size).
    windows : int
        Windows scored.
    reason : str
        Why ``unknown``: ``no_text``, ``small``, ``blurred``; empty otherwise.
    probabilities : dict
        Mean probability of each typeface.
    small_model : bool
        Read by the small-character model (lines under :data:`SMALL_CHAR_PX`), whose thresholds differ.
    stretched : float
        The characters were stretched back by this factor before reading (a board seen at an angle,
        :func:`foreshortening`); 1 when not. ``char_px`` is then the line width over it: the detail the photo
        holds in the narrowed direction, which the size gates and thresholds judge.
    """

    typeface: Typeface
    confidence: float
    char_px: float = 0.0
    windows: int = 0
    reason: str = ""
    probabilities: dict[str, float] = field(default_factory=dict)
    small_model: bool = False
    stretched: float = 1.0


def model_path() -> Path:
    """``models/typeface.onnx`` in the repository."""
    return settings.REPO_DIR / "models" / "typeface.onnx"


def small_model_path() -> Path:
    """``models/typeface_small.onnx`` in the repository: the model for lines under :data:`SMALL_CHAR_PX`."""
    return settings.REPO_DIR / "models" / "typeface_small.onnx"


def local_white(image: np.ndarray, size: int) -> np.ndarray:
    """Each channel's local maximum over a ``size`` square, smoothed: the board's own white around each pixel
    (strokes narrower than ``size`` vanish from it). ``image`` is ``H × W × 3`` float."""
    k = max(3, int(size) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    white = cv2.dilate(np.ascontiguousarray(image, dtype=np.float32), kernel)
    return cv2.blur(white, (k, k))


def absorption_of(crop: np.ndarray) -> np.ndarray:
    """Ink of each pixel in [0, 1]: one minus the darkest channel after dividing by the local white."""
    img = np.asarray(crop, dtype=np.float32)
    h, w = img.shape[:2]
    white = local_white(img, max(5, min(h, w) // 4))
    balanced = img / np.maximum(white, 1.0)
    return np.clip(1.0 - channel_min(balanced), 0.0, 1.0)


def channel_min(image: np.ndarray) -> np.ndarray:
    """The darkest channel of an ``H × W × 3`` array: ``image.min(axis=2)``, the same values about 20 × faster
    (numpy reduces a last axis of three slowly; it was most of a board's typeface time)."""
    return np.minimum(np.minimum(image[..., 0], image[..., 1]), image[..., 2])


def channel_max(image: np.ndarray) -> np.ndarray:
    """The brightest channel of an ``H × W × 3`` array: ``image.max(axis=2)``, faster (see :func:`channel_min`)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open runs of True in a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def text_mask(a: np.ndarray, *, reference: float | None = None) -> np.ndarray:
    """Ink pixels of an absorption map (:func:`absorption_of`), less the components that touch the crop's edge
    (a frame, the wall, a neighbour's edge) and specks. The threshold is a share of the strongest ink
    (``reference``; by default the map's 99.5th percentile)."""
    hi = float(np.quantile(a, 0.995)) if reference is None else float(reference)
    if hi < 0.12:
        return np.zeros(a.shape, bool)
    labels, edge, area = components_at_edge(a > max(0.1, 0.45 * hi))
    keep = ~edge & (area >= 3)
    keep[0] = False
    return keep[labels]


def components_at_edge(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 8-connected components of a boolean mask: each pixel's label, and per label whether the component
    touches the image's edge (a frame, the wall, a neighbour's edge) and its area. Label 0 is the background."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    h, w = mask.shape
    x, y, cw, ch, area = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], stats[:, 4]
    return labels, (x == 0) | (y == 0) | (x + cw >= w) | (y + ch >= h), area


def _split_at_valleys(profile: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """A run ``[a, b)`` of the ink's profile across the lines, split at its deepest valley while that valley is
    at most :data:`LINE_VALLEY` of the peaks on both sides and both sides are at least :data:`LINE_SIDE_SHARE`
    of the run: two lines of small, blurred characters whose profiles overlap. The profile is first smoothed
    over a quarter of the run, so that the dips between the strokes of one line's characters (to 0.2–0.3 of
    its peaks in a column of large Song characters) are not taken for the gap between two lines."""
    if b - a < 5:
        return [(a, b)]
    k = max(3, (b - a) // 4)
    seg = np.convolve(profile[a:b], np.ones(k, np.float32) / k, mode="same")
    lo, hi = k // 2 + 1, (b - a) - k // 2 - 1
    if hi - lo < 1:
        return [(a, b)]
    v = lo + int(np.argmin(seg[lo:hi]))
    side = LINE_SIDE_SHARE * (b - a)
    if v < side or (b - a) - v - 1 < side or seg[v] > LINE_VALLEY * min(seg[:v].max(), seg[v + 1:].max()):
        return [(a, b)]
    return _split_at_valleys(profile, a, a + v) + _split_at_valleys(profile, a + v + 1, b)


# A board seen from below, from the side or hung askew has its lines slanted in the crop, and its characters turned:
# the ink's profile across the lines runs two lines of a 60 × 40 plate together (bench/style_eval.py --scenes 60
# --seed 33000000 --long-side 4000, scene 33000053: a SimHei plate ~10° off level read as one line 178 px wide in two
# windows, "Song" at P 0.99), and a Hei character turned a few degrees loses the level strokes the classifier tells
# it by (renderer boards turned 5°, -8°, 12°: Hei/Kai passed as Song on 14, 52 and 61 of 150). The crop is turned
# upright first: of the slants up to MAX_SLANT (tan), in steps of SLANT_STEP, the one whose profile across the lines
# is sharpest (sum of squares of the column counts of ink, which a slant spreads), when it beats the crop as taken
# by SLANT_GAIN and is at least MIN_SLANT. The ink mask is turned with the map, not found again (on the turned map
# the frame and the wall no longer touch the crop's edge and would be taken for text: a first version cut Song
# strips into 17–23-px "lines" that way).
MAX_SLANT = 0.36  # about 20°
SLANT_STEP = 0.02
SLANT_GAIN = 1.1
MIN_SLANT = 0.06  # about 3.5°: less is read as well as taken (a 62-px strip at 0.04 of seed 32000003)


def line_slant(ink: np.ndarray) -> float:
    """The slant (tan of the angle) of the text columns of an ink mask (characters stacked top to bottom): the
    shear ``x - t·(y - h/2)`` that makes its column profile sharpest; 0 unless it beats no shear by
    :data:`SLANT_GAIN` and is at least :data:`MIN_SLANT`."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return 0.0
    yc = ys.astype(np.float32) - ink.shape[0] / 2

    def sharpness(t: float) -> float:
        x = np.round(xs - t * yc).astype(np.int64)
        counts = np.bincount(x - x.min()).astype(np.float64)
        return float((counts * counts).sum())

    slants = np.arange(-MAX_SLANT, MAX_SLANT + 1e-9, SLANT_STEP)
    scores = [sharpness(float(t)) for t in slants]
    best = int(np.argmax(scores))
    t = float(slants[best])
    return t if abs(t) >= MIN_SLANT and scores[best] > SLANT_GAIN * sharpness(0.0) else 0.0


def upright(image: np.ndarray, t: float, *, nearest: bool = False) -> np.ndarray:
    """``image`` (2-D, lines down its columns) turned so that lines slanted by ``t`` (:func:`line_slant`) run
    straight down, on a canvas grown so that nothing is cut; 0 outside. A turn, not a shear: the characters'
    horizontal strokes come level too (the classifier tells Song from Hei by them). With ``nearest`` (a mask),
    nearest-neighbour and a mask back."""
    h, w = image.shape
    angle = math.degrees(math.atan(t))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    c, s_ = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(w * c + h * s_)), int(math.ceil(w * s_ + h * c))
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    out = cv2.warpAffine(np.ascontiguousarray(image, np.float32), m, (nw, nh), flags=flags,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out > 0.5 if nearest else out


def _text_lines(ink: np.ndarray) -> list[tuple[int, int]]:
    """The text columns of an ink mask (characters stacked top to bottom): half-open column runs."""
    profile = ink.sum(axis=0).astype(np.float32)
    if profile.max() <= 0:
        return []
    profile = np.convolve(profile, np.ones(3, np.float32) / 3, mode="same")
    runs = [r for a_, b in runs_of(profile > 0.2 * profile.max()) for r in _split_at_valleys(profile, a_, b)]
    if not runs:
        return []
    widest = max(b - a_ for a_, b in runs)
    # merge runs split by a narrow gap (a character with a gap down its middle, like 川 or 非), but never two
    # runs of about a line's width each: two lines close together (small, blurred characters) are two lines,
    # and a window over both reads neither (bench/style_eval.py --scenes 60 --seed 32000000: a Song plaque of
    # two 12-px lines read as one 35-px line was called Hei, P(song) 0.02)
    merged: list[list[int]] = []
    for x0, x1 in runs:
        two_lines = merged and min(x1 - x0, merged[-1][1] - merged[-1][0]) >= LINE_RUN_SHARE * widest
        if merged and x0 - merged[-1][1] < 0.25 * widest and not two_lines:
            merged[-1][1] = x1
        else:
            merged.append([x0, x1])
    widest = max(b - a_ for a_, b in merged)
    return [(x0, x1) for x0, x1 in merged if x1 - x0 >= 0.5 * widest]


def char_aspect(ink: np.ndarray, lines: list[tuple[int, int]]) -> float | None:
    """The median over a board's characters of their ink's extent across the line over its extent along it, on
    the text columns of ``ink`` that :func:`_text_lines` found (those at least :data:`CHAR_LINE_SHARE` of the
    widest); None under :data:`MIN_CHARS` characters. The characters are :func:`character_runs`; a run longer than
    :data:`CHAR_RUN_TOGETHER` times its line's median is two or more characters run together, not measured."""
    ratios = []
    widest = max((x1 - x0 for x0, x1 in lines), default=0)
    for x0, x1 in lines:
        if x1 - x0 < CHAR_LINE_SHARE * widest:  # half of a line split at a valley (监, 督): not a whole line
            continue
        column = ink[:, x0:x1]
        chars = character_runs(column.any(axis=1), x1 - x0)
        usual = float(np.median([r1 - r0 for r0, r1 in chars])) if chars else 0.0
        for r0, r1 in chars:
            if r1 - r0 > CHAR_RUN_TOGETHER * usual:  # characters run together (tight spacing, blur, noise)
                continue
            cols = np.flatnonzero(column[r0:r1].any(axis=0))
            ratios.append((cols[-1] - cols[0] + 1) / (r1 - r0))
    return float(np.median(ratios)) if len(ratios) >= MIN_CHARS else None


def character_runs(inked: np.ndarray, width: float) -> list[tuple[int, int]]:
    """The characters along one text line of ``width`` pixels, from its inked rows ``inked`` (1-D, along the
    line): half-open runs, those closer than :data:`CHAR_GAP` of the width joined, then the pieces of one character
    (:func:`_pieces_joined`)."""
    chars: list[list[int]] = []
    for r0, r1 in runs_of(inked):
        if chars and r0 - chars[-1][1] < CHAR_GAP * width:
            chars[-1][1] = r1
        else:
            chars.append([r0, r1])
    return [(r0, r1) for r0, r1 in _pieces_joined(chars, width)]


def _pieces_joined(runs: list[list[int]], width: float) -> list[list[int]]:
    """Runs along a line that are pieces of one character joined. The line's characters are about
    ``typical`` long (the upper quartile of the runs' lengths: a character split in two leaves its whole
    neighbours); a run shorter than :data:`CHAR_PIECE` of that or of the line's ``width`` (a stroke of 三, half of
    村 in a horizontal line) joins its closer neighbour while the two together are at most :data:`CHAR_JOINED` of
    ``typical``. Characters all narrowed alike along the line (a horizontal line seen from the side) are none of
    them a piece."""
    runs = [list(r) for r in runs]
    if not runs:
        return runs
    typical = float(np.quantile([r1 - r0 for r0, r1 in runs], 0.75))
    piece = CHAR_PIECE * min(width, typical)
    while True:
        best = None
        for i, (r0, r1) in enumerate(runs):
            if r1 - r0 >= piece:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < len(runs):
                    lo, hi = min(r0, runs[j][0]), max(r1, runs[j][1])
                    gap = max(runs[j][0] - r1, r0 - runs[j][1])
                    if hi - lo <= CHAR_JOINED * typical and (best is None or gap < best[0]):
                        best = (gap, min(i, j))
        if best is None:
            return runs
        k = best[1]
        runs[k:k + 2] = [[runs[k][0], runs[k + 1][1]]]


def foreshortening(ink: np.ndarray, lines: list[tuple[int, int]], vertical: bool) -> tuple[float, float]:
    """How much to stretch a board's text columns back, (across the lines, along them): both 1 unless the
    characters' :func:`char_aspect` is off its square-on value (:data:`CHAR_ASPECT`) by more than
    :data:`FORESHORTENED` either way; not when it is off by more than :data:`MAX_STRETCH` (no board is read at such an
    angle: its lines or characters were not found right, as in a line of 三 and 王 taken for three lines)."""
    aspect = char_aspect(ink, lines)
    if aspect is None:
        return 1.0, 1.0
    ratio = aspect / CHAR_ASPECT[0 if vertical else 1]
    if ratio < 1.0 / MAX_STRETCH or ratio > MAX_STRETCH:  # no angle a board is read at: lines not found right
        return 1.0, 1.0
    if ratio < FORESHORTENED:
        return 1.0 / ratio, 1.0
    if ratio > 1.0 / FORESHORTENED:
        return 1.0, ratio
    return 1.0, 1.0


def _line_windows(a: np.ndarray, ink: np.ndarray, lines: list[tuple[int, int]]) -> tuple[list[np.ndarray], float]:
    """Windows along the text columns ``lines`` of ``a`` (characters stacked top to bottom) and the column
    width."""
    out: list[np.ndarray] = []
    widths = []
    for x0, x1 in lines:
        width = x1 - x0
        widths.append(width)
        rows = np.flatnonzero(ink[:, x0:x1].any(axis=1))
        if rows.size == 0:
            continue
        y0, y1 = int(rows[0]), int(rows[-1]) + 1
        side = max(4, int(round(WINDOW_EM * width)))
        span = y1 - y0
        n = 1 if span <= side else int(math.ceil((span - side) / (side / 2))) + 1
        centres = [(y0 + y1) / 2] if n == 1 else np.linspace(y0 + side / 2, y1 - side / 2, n).tolist()
        cx = (x0 + x1) / 2
        padded = np.pad(a, side, mode="constant")
        pink = np.pad(ink, side, mode="constant")
        for cy in centres:
            top, left = int(round(cy - side / 2)) + side, int(round(cx - side / 2)) + side
            win_ink = pink[top:top + side, left:left + side]
            if win_ink.mean() < 0.04:
                continue
            out.append(padded[top:top + side, left:left + side])
    return out, float(np.median(widths)) if widths else 0.0


def windows_of_crop(crop: np.ndarray, *, ink_quantile: float = INK_QUANTILE) -> tuple[np.ndarray, float]:
    """The classifier's inputs for a board's crop: ``N × 1 × 48 × 48`` float32 ink windows (0 paper, 1 the
    ``ink_quantile`` of the characters' ink) and the text lines' width in pixels (over the stretch of a board seen
    at an angle, :func:`foreshortening`). Vertical text when the crop is taller than wide."""
    windows = _ink_windows(crop)
    return windows.scaled(ink_quantile), windows.width


@dataclass(frozen=True)
class _InkWindows:
    """A board's windows before scaling: the absorption resized to the classifier's input, the board's paper
    level and its characters' ink; :meth:`scaled` makes the classifier's inputs (found once, scaled per model)."""

    raw: np.ndarray  # N × 1 × 48 × 48 float32 absorption
    width: float
    paper: float = 0.0
    inked: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    stretched: float = 1.0  # the characters stretched back by this factor (:func:`foreshortening`)

    def scaled(self, ink_quantile: float) -> np.ndarray:
        """The windows with the paper at 0 and the ``ink_quantile`` of the characters' ink at 1, clipped."""
        if len(self.raw) == 0:
            return self.raw
        scale = max(float(np.quantile(self.inked, ink_quantile)) - self.paper, 1e-3)
        return np.clip((self.raw - self.paper) / scale, 0.0, 1.0)


def _ink_windows(crop: np.ndarray) -> _InkWindows:
    """Windows about one character wide along the text lines of a board's crop (see :func:`windows_of_crop`)."""
    none = np.zeros((0, 1, INPUT_PX, INPUT_PX), np.float32)
    crop = np.asarray(crop)
    if crop.ndim != 3 or crop.shape[0] < 8 or crop.shape[1] < 8:
        return _InkWindows(none, 0.0)
    h, w = crop.shape[:2]
    dy, dx = int(h * 0.03), int(w * 0.03)
    a = absorption_of(crop[dy:h - dy or h, dx:w - dx or w])
    ink = text_mask(a)
    vertical = a.shape[0] > 1.3 * a.shape[1]
    if not vertical:  # from here on the lines run down the columns
        a, ink = np.ascontiguousarray(a.T), np.ascontiguousarray(ink.T)
    lines = _text_lines(ink)
    slant = line_slant(ink)
    if slant:  # slanted lines turned upright
        # (the ink mask turned with the map, not found again: on the turned map the frame and the wall no longer
        # touch the crop's edge, and would be taken for text)
        a, ink = np.clip(upright(a, slant), 0.0, 1.0), upright(ink, slant, nearest=True)
        lines = _text_lines(ink)
    across, along = foreshortening(ink, lines, vertical)
    if (across, along) != (1.0, 1.0):  # seen at an angle: the characters stretched back square
        size = (round(a.shape[1] * across), round(a.shape[0] * along))
        a = np.clip(cv2.resize(a, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
        ink = cv2.resize(ink.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool) if slant \
            else text_mask(a)
        lines = _text_lines(ink)
    wins, width = _line_windows(a, ink, lines)
    stretched = max(across, along)
    # sizes are judged on what the photo holds: a 3-px line stretched back to 17 px is still 3 px of detail
    width /= stretched
    if not vertical:
        wins = [wnd.T for wnd in wins]
    if not wins:
        return _InkWindows(none, width, stretched=stretched)
    if len(wins) > MAX_WINDOWS:
        wins = [wins[i] for i in np.linspace(0, len(wins) - 1, MAX_WINDOWS).round().astype(int)]
    raw = np.empty((len(wins), 1, INPUT_PX, INPUT_PX), np.float32)
    for i, wnd in enumerate(wins):
        interp = cv2.INTER_AREA if wnd.shape[0] >= INPUT_PX else cv2.INTER_LINEAR
        raw[i, 0] = cv2.resize(np.ascontiguousarray(wnd), (INPUT_PX, INPUT_PX), interpolation=interp)
    return _InkWindows(raw, width, float(np.median(a[~ink])) if (~ink).any() else 0.0, a[ink], stretched)


def gradients_of(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each window's horizontal and vertical gradients (Sobel, in ink contrast per window pixel), ``N × 48 × 48``
    each: what both blur gates measure, computed once."""
    gx = np.empty((len(batch), INPUT_PX, INPUT_PX), np.float32)
    gy = np.empty_like(gx)
    for i, wnd in enumerate(batch[:, 0]):
        gx[i] = cv2.Sobel(wnd, cv2.CV_32F, 1, 0, ksize=3) / 8
        gy[i] = cv2.Sobel(wnd, cv2.CV_32F, 0, 1, ksize=3) / 8
    return gx, gy


def sharpness_of(batch: np.ndarray, grads: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Edge steepness of normalised windows: the 98th percentile of the gradient magnitude, in ink contrast
    per window pixel, median over windows (a sharp glyph's edges rise over one or two pixels). ``grads``:
    :func:`gradients_of` ``batch``, when already computed."""
    if len(batch) == 0:
        return 0.0
    gx, gy = grads if grads is not None else gradients_of(batch)
    mags = np.hypot(gx, gy).reshape(len(batch), -1)
    return float(np.median(np.quantile(mags, 0.98, axis=1).astype(np.float64)))  # one call for all windows


def coherence_of(batch: np.ndarray, grads: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """How much the windows' edges run one way: the coherence ``(λ1 − λ2) / (λ1 + λ2)`` of the gradient structure
    tensor summed over all windows (0 when edges run every way, as a board's strokes do; near 1 when smeared).
    ``grads``: :func:`gradients_of` ``batch``, when already computed."""
    gx, gy = grads if grads is not None else gradients_of(batch)
    jxx, jyy = float((gx * gx).sum(dtype=np.float64)), float((gy * gy).sum(dtype=np.float64))
    jxy = float((gx * gy).sum(dtype=np.float64))
    trace = jxx + jyy
    if trace <= 0:
        return 0.0
    return math.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / trace


class TypefaceClassifier:
    """The ONNX typeface models (one session each, one thread: a board is a few dozen 48-px windows): the main
    model, and the small-character model for lines under :data:`SMALL_CHAR_PX` when it is installed."""

    def __init__(self, path: str | Path | None = None, small_path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else model_path()
        if not self.path.is_file():
            raise FileNotFoundError(f"typeface model not found: {self.path}")
        self._session = _session(self.path)
        small = Path(small_path) if small_path is not None else small_model_path()
        self._small = _session(small) if small.is_file() else None
        # the narrowest text line judged: the small-character model reads lines the main model cannot
        self.min_char_px = SMALL_MODEL_MIN_CHAR_PX if self._small is not None else MIN_CHAR_PX

    def probabilities(self, batch: np.ndarray, *, small: bool = False) -> np.ndarray:
        """Softmax probabilities ``N × 3`` (order of :data:`CLASSES`) of ``N × 1 × 48 × 48`` windows, by the
        small-character model when ``small``."""
        if len(batch) == 0:
            return np.zeros((0, len(CLASSES)), np.float32)
        session = self._small if small else self._session
        if session is None:
            raise FileNotFoundError(f"small-character typeface model not found: {small_model_path()}")
        logits = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(batch, np.float32)})[0]
        z = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def reading(self, crop: np.ndarray) -> TypefaceReading:
        """The typeface of a board's crop, or ``unknown`` with the reason."""
        windows = _ink_windows(crop)
        batch, width, stretched = windows.scaled(INK_QUANTILE), windows.width, round(windows.stretched, 2)
        if len(batch) == 0:
            return TypefaceReading("unknown", 0.0, char_px=round(width, 1), reason="no_text",
                                   stretched=stretched)
        small = self._small is not None and width < SMALL_CHAR_PX
        if width < self.min_char_px:
            return TypefaceReading("unknown", 0.0, char_px=round(width, 1), windows=len(batch), reason="small",
                                   stretched=stretched)
        if len(batch) < MIN_WINDOWS:
            return TypefaceReading("unknown", 0.0, char_px=round(width, 1), windows=len(batch), reason="no_text",
                                   stretched=stretched)
        grads = gradients_of(batch)
        if sharpness_of(batch, grads) < MIN_SHARPNESS or coherence_of(batch, grads) > MAX_COHERENCE:
            return TypefaceReading("unknown", 0.0, char_px=round(width, 1), windows=len(batch), reason="blurred",
                                   stretched=stretched)
        if small:  # the same windows, scaled as the small model was trained
            batch = windows.scaled(SMALL_MODEL_INK_QUANTILE)
        probs = self.probabilities(batch, small=small).mean(axis=0)
        best = int(np.argmax(probs))
        named = {c: round(float(p), 3) for c, p in zip(CLASSES, probs, strict=True)}
        return TypefaceReading(CLASSES[best], round(float(probs[best]), 3), round(width, 1), len(batch), "",  # type: ignore[arg-type]
                               named, small, stretched)


def _session(path: Path):  # noqa: ANN202 - onnxruntime is imported here only
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def matches(reading: TypefaceReading, typeface: str) -> bool | None:
    """Whether a scored board is in ``typeface`` (True), is not (False), or cannot be told (None)."""
    if reading.typeface == "unknown" or typeface not in reading.probabilities:
        return None
    p = reading.probabilities[typeface]
    if p >= MATCH_AT:
        return True
    if reading.small_model:
        limit = next((t for w, t in SMALL_MODEL_MISMATCH_AT if reading.char_px >= w), 0.0)
    else:
        limit = SMALL_MISMATCH_AT if reading.char_px < SMALL_CHAR_PX else MISMATCH_AT
    if p <= limit:
        return False
    return None


@lru_cache(maxsize=2)
def classifier(path: str | None = None) -> TypefaceClassifier | None:
    """The shipped classifier, loaded once; None when ``models/typeface.onnx`` is missing."""
    try:
        return TypefaceClassifier(path)
    except FileNotFoundError:
        return None


def typeface_of_crop(crop: np.ndarray) -> TypefaceReading | None:
    """The typeface of a board's crop with the shipped model; None when the model is not installed."""
    model = classifier()
    return None if model is None else model.reading(crop)
