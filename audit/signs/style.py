"""Style checks on a plaque's crop: white background, text colour (red for the party organisation, black for
the others), shape (vertical strip or 60 × 40 plaque), simplified characters.

The background is judged after dividing out the light's colour (the photo's illuminant). The text colour is
judged from the characters' own pixels against the board's own local white (:func:`text_colour_of_crop`), so
that shade, dusk, a phone's white balance, glare and blur do not turn red into black; a board too dark or too
washed out, or ink between colours, is ``not_checked`` rather than guessed. The typeface comes from a small
classifier (:mod:`audit.signs.typeface`): advisory, with its confidence, ``not_checked`` when it cannot tell.
What a photo cannot show — material, absolute size — is reported as ``not_checked``, never as passed. The two
identity signs have their own designs and are ``exempt`` from the background, text-colour, shape and typeface
checks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import cv2
import numpy as np

from audit.rules import PlaqueRule, Rules
from audit.signs.typeface import (
    TypefaceReading,
    absorption_of,
    channel_max,
    character_runs,
    components_at_edge,
    local_white,
    matches,
    runs_of,
    text_mask,
    typeface_of_crop,
)

Status = Literal["pass", "fail", "not_checked", "exempt"]


@dataclass(frozen=True)
class Check:
    status: Status
    severity: str
    detail: str = ""


def _trim(crop: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    h, w = crop.shape[:2]
    dy, dx = int(h * fraction), int(w * fraction)
    inner = crop[dy:h - dy or h, dx:w - dx or w]
    return inner if inner.size else crop


# The light's colour is read from the photo's whitest surfaces: the pixels whose darkest channel is near the
# photo's highest (a white board, a white wall, lit alike), not each channel's own maximum, which a blue sky
# takes for blue while a red brick wall takes it for red (scene 31000008 of bench/style_eval.py --scenes: sunlit
# white strips judged orange). Burnt-out pixels carry no colour and are left out.
WHITE_PATCH_QUANTILE = 0.999  # the photo's "highest" darkest channel: a robust maximum
WHITE_PATCH_NEAR = 0.9  # pixels whose darkest channel is at least this share of it are the white patch
BURNT_OUT = 254.0


def illuminant_of(image: np.ndarray) -> np.ndarray:
    """The photo's light colour as RGB: the median colour of its whitest pixels (white patch on the darkest
    channel; see :data:`WHITE_PATCH_QUANTILE`)."""
    px = np.asarray(image)[::4, ::4].reshape(-1, 3).astype(np.float64)
    lit = px[px.max(axis=1) < BURNT_OUT]
    if len(lit) >= 100:
        px = lit
    darkest = px.min(axis=1)
    patch = px[darkest >= WHITE_PATCH_NEAR * np.quantile(darkest, WHITE_PATCH_QUANTILE)]
    return np.maximum(np.median(patch, axis=0), 1.0)


# Text colour, measured on generated boards (bench/style_eval.py): the board's own white must be bright enough
# to judge against, the ink must stand out from it, and its hue must be clearly red, grey or another colour.
DARK_WHITE = 40.0  # the board's white (brightest channel, 0–255) below this: too dark to judge
MIN_INK_CONTRAST = 0.12  # the ink's absorption against the local white below this: washed out (thin, blurred
# strokes of small characters reach 0.15–0.2 and still show their colour)
FAINT_INK = 0.05  # the strongest absorption in the crop below this: no text at all
BLACK_MIN_SHARE = 0.72  # every channel absorbs at least this share of the strongest: black (grey)
RED_MAX_SHARE = 0.6  # red passes: its absorption at most this share of the strongest …
RED_MIN_SHARE = 0.8  # … while green and blue both absorb at least this share
OTHER_MAX_SHARE = 0.6  # some channel at most this share, and not red: another colour
PAPER_MAX_INK = 0.12  # a pixel darker than its local white by more than this is not paper
COLOUR_PIXELS = 40_000  # larger crops are reduced to about this many pixels first
# Paper burnt out to 255 (sun, glare) no longer shows the light's colour, so the ink keeps a cast: there black
# may look brown, and only a clearly coloured ink is another colour.
SATURATED = 253.0
SATURATED_BLACK_MIN_SHARE = 0.65
SATURATED_OTHER_MAX_SHARE = 0.5
# "Another colour" (neither red nor black) is believed only on text lines at least this wide (pixels,
# TextGeometry.line_px): on the official plaques of bench/style_eval.py --scenes 60 at seeds 31000000 and
# 32000000, 6 of the 7 "other" readings on narrower lines (5–11 px, or no line found: strokes of a pixel, whose
# colour a JPEG keeps at half resolution) were red or black ink, 3 of them on plaques in order, and 1 was blue;
# from 12 px up 7 of 8 were blue (the eighth black ink on a pale-coloured board).
MIN_OTHER_COLOUR_CHAR_PX = 12.0


@dataclass(frozen=True)
class TextColour:
    """The text colour of a board, judged against the board's own white.

    Attributes
    ----------
    colour : str
        ``red``, ``black``, ``other``; or why it was not judged: ``none`` (no text found), ``dark`` (the board
        too dark), ``washed_out`` (the ink barely stands out: glare, fading), ``unsure`` (between colours).
    ink : tuple of float
        Absorption of the ink in R, G, B, as shares of the strongest channel (black ≈ (1, 1, 1), red ≈ (0.2, 1, 1)).
    contrast : float
        Absorption of the strongest ink (0 paper, 1 black).
    """

    colour: str
    ink: tuple[float, float, float] = (0.0, 0.0, 0.0)
    contrast: float = 0.0


def _ink_colour(share: np.ndarray, *, saturated: bool = False) -> str:
    r, g, b = (float(v) for v in share)
    if min(r, g, b) >= (SATURATED_BLACK_MIN_SHARE if saturated else BLACK_MIN_SHARE):
        return "black"
    if r <= RED_MAX_SHARE and min(g, b) >= RED_MIN_SHARE:
        return "red"
    if min(r, g, b) <= (SATURATED_OTHER_MAX_SHARE if saturated else OTHER_MAX_SHARE):
        return "other"
    return "unsure"


def _paper(img: np.ndarray, ink: np.ndarray, faint: np.ndarray, size: int, fallback: np.ndarray) -> np.ndarray:
    """The board's paper colour around each pixel: the local mean of the pixels that are neither near ink nor
    faintly inked themselves (a mean, not a maximum: noise must not make the paper brighter than it is)."""
    k = max(3, int(size) | 1)
    near = cv2.dilate(ink.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    free = (~near & ~faint).astype(np.float32)
    num = cv2.blur(img * free[..., None], (k, k))
    den = cv2.blur(free, (k, k))[..., None]
    if free.mean() < 0.05:  # no paper to speak of: the local white will do
        return fallback
    whole = img[free > 0].mean(axis=0)
    return np.where(den > 0.05, num / np.maximum(den, 1e-6), whole)


def _ink_of_text(first: np.ndarray, hi: float | None = None) -> np.ndarray:
    """The characters' pixels in an absorption map: :func:`~audit.signs.typeface.text_mask`, whose threshold is a
    share of the crop's strongest ink; when that finds (almost) no text and the strongest ink was in what
    touches the crop's edge (the wall, a frame, a neighbour), the threshold is taken again from the ink away
    from the edge. A wall darker than a sunlit board otherwise sets the bar above small, blurred characters,
    and the board is "no text" (bench/style_eval.py --scenes: sunlit 60 × 40 plaques about 60 px wide). ``hi`` is
    the map's strongest ink (its 99.5th percentile), when the caller has it already."""
    hi = float(np.quantile(first, 0.995)) if hi is None else hi
    ink = text_mask(first, reference=hi)
    if ink.sum() >= max(20, 0.002 * ink.size):
        return ink
    labels, edge, _ = components_at_edge(first > max(0.1, 0.45 * hi))
    edge[0] = False
    rest = first[~edge[labels]]
    away = float(np.quantile(rest, 0.995)) if rest.size else hi
    return ink if away >= hi else text_mask(first, reference=away)


def text_colour_of_crop(crop: np.ndarray) -> TextColour:
    """The text colour of a board's crop, against the board's own white.

    Each channel is divided by the paper around it (the local mean of the pixels away from the strokes: the
    board's white under shade, glare or a colour cast), so each pixel's ink is its absorption per channel. The
    absorption is summed, unclipped, over the characters' strokes and a few pixels around them: mixing an ink
    with the paper (blur, thin strokes, resampling) scales its absorption in every channel alike, so the sum's
    proportions are the ink's own, the colour a JPEG spreads beyond a stroke is still inside the sum, and noise
    cancels. (Camera values, not linear light: JPEG and resampling mix them, and the dark end of linear light
    is dominated by noise.) Red ink lets red through and absorbs green and blue; black absorbs all three
    alike.
    """
    rgb = _trim(np.asarray(crop), 0.08)
    h, w = rgb.shape[:2]
    if h * w > COLOUR_PIXELS:  # averaging neighbours keeps the ink's proportions; it only saves time
        f = math.sqrt(COLOUR_PIXELS / (h * w))
        h, w = max(1, int(h * f)), max(1, int(w * f))
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    img = rgb.astype(np.float32)
    value = channel_max(img)
    board_white = np.median(img[value >= np.quantile(value, 0.55)], axis=0)
    if board_white.max() < DARK_WHITE:
        return TextColour("dark")
    if min(h, w) < 8:
        return TextColour("none")
    size = max(5, int(0.6 * min(h, w)))
    # the white from a median-filtered copy: the maximum of noise is not the board's white
    white = np.maximum(local_white(cv2.medianBlur(np.ascontiguousarray(rgb), 5).astype(np.float32), size), 1.0)
    first = channel_max(np.clip(1.0 - img / white, 0.0, 1.0))
    peak = float(np.quantile(first, 0.995))
    if FAINT_INK <= peak < MIN_INK_CONTRAST:
        return TextColour("washed_out", contrast=round(peak, 3))
    ink = _ink_of_text(first, peak)
    faint = 1.0 - img.sum(axis=2) / white.sum(axis=2) > PAPER_MAX_INK  # channels averaged: less noise
    if ink.sum() < max(20, 0.002 * ink.size):
        return TextColour("none")
    val = img / 255.0
    paper = np.maximum(_paper(val, ink, faint, size, white / 255.0), 1e-4)
    absorbed = 1.0 - val / paper  # not clipped: noise and spread colour must cancel in the sum
    strongest = np.clip(channel_max(absorbed), 0.0, 1.0)
    contrast = float(np.quantile(strongest[ink], 0.9))
    near = cv2.dilate(ink.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    around = near & ~cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    saturated = bool(around.any() and np.median(rgb[around].max(axis=1)) >= SATURATED)
    total = absorbed[near].sum(axis=0)
    if float(total.max()) <= 0.0:
        return TextColour("washed_out", contrast=round(contrast, 3))
    share = np.clip(total / float(total.max()), -1.0, 1.0)
    ink_share = tuple(round(float(v), 3) for v in share)
    if contrast < MIN_INK_CONTRAST:
        return TextColour("washed_out", ink_share, round(contrast, 3))  # type: ignore[arg-type]
    return TextColour(_ink_colour(share, saturated=saturated), ink_share, round(contrast, 3))  # type: ignore[arg-type]


# Background: the board's colour once the light's is divided out, as a saturation (max - min) / max. On the
# official plaques of bench/style_eval.py --scenes 60 white boards reach 0.09 and pale yellow, pale blue and wood
# boards start at 0.15; between the two limits the photo cannot tell (a cast the light estimate missed, a
# faint tint) and the must-fix check abstains.
WHITE_MAX_SATURATION = 0.12
NOT_WHITE_MIN_SATURATION = 0.2
DARK_BACKGROUND = 60.0  # the board's brightest channel at most this: too dark to judge its colour


# The light on the boards is also read from the boards themselves: at dusk the photo's whitest surfaces (a pale
# sky, a bluish wall: white by their darkest channel) may not be lit as the facade is, and white plaques under the
# warm light then read as orange (bench/style_eval.py --scenes 60 --seed 33000000 --long-side 4000: scenes
# 33000045 and 33000052, all their 60 × 40 plates at saturation 0.39–0.41 against the photo's light, 7 false
# must-fixes). With at least this many official boards in the photo, their papers' median colour is the light
# they share (most are white by the standard); a board off-white against the photo's light but white against the
# boards' own is not judged — one board of another colour among white ones is still caught.
MIN_BOARDS_FOR_LIGHT = 3


def _board_pixels(crop: np.ndarray) -> np.ndarray:
    inner = _trim(crop)
    step = max(1, int(math.sqrt(inner.shape[0] * inner.shape[1] / COLOUR_PIXELS)))
    return inner[::step, ::step].reshape(-1, 3).astype(np.float64)


def _paper_of(px: np.ndarray) -> np.ndarray:
    """The median of the brightest 45 % of a board's pixels: its paper."""
    value = px.max(axis=1)
    return np.median(px[value >= np.quantile(value, 0.55)], axis=0)


def _saturation(rgb: np.ndarray) -> float:
    return float((rgb.max() - rgb.min()) / max(rgb.max(), 1.0))


def boards_light(crops: list[np.ndarray]) -> np.ndarray | None:
    """The light the photo's official boards share (their papers' median colour, as taken), or None with fewer
    than :data:`MIN_BOARDS_FOR_LIGHT` boards."""
    papers = [_paper_of(_board_pixels(c)) for c in crops if c.size]
    if len(papers) < MIN_BOARDS_FOR_LIGHT:
        return None
    return np.maximum(np.median(papers, axis=0), 1.0)


def colours_of_crop(crop: np.ndarray, illuminant: np.ndarray | None = None,
                    shared_light: np.ndarray | None = None) -> tuple[str, str, np.ndarray]:
    """(background, text colour, background RGB) of a plaque crop.

    ``illuminant`` (from :func:`illuminant_of` on the whole photo) corrects the light's colour first, so
    that a white plaque at dusk is still white. Background: the median of the brightest 45 % of pixels;
    ``white`` when nearly grey, ``not_white`` when clearly coloured, ``unsure`` in between and ``dark`` when
    too dark to tell; ``light_cast`` when it is white against ``shared_light`` (:func:`boards_light`), the light
    the photo's boards share, though not against the photo's. Text colour: :func:`text_colour_of_crop` (which
    needs no illuminant: it judges against the board's own white).
    """
    raw = _board_pixels(crop)
    px = raw * (illuminant.max() / np.asarray(illuminant, dtype=np.float64)) if illuminant is not None else raw
    bg = _paper_of(px)
    bg_sat = _saturation(bg)
    if bg.max() <= DARK_BACKGROUND:
        background = "dark"
    elif bg_sat <= WHITE_MAX_SATURATION:
        background = "white"
    elif shared_light is not None and _saturation(
            _paper_of(raw) * (shared_light.max() / shared_light)) <= WHITE_MAX_SATURATION:
        background = "light_cast"
    elif bg_sat >= NOT_WHITE_MIN_SATURATION:
        background = "not_white"
    else:
        background = "unsure"
    return background, text_colour_of_crop(crop).colour, bg


# Shape, from the box's proportions (height / width). A phone's view narrows a board (yaw: the wall seen at an
# angle shortens widths by the cosine of the angle, and a board near the photo's edge is seen more obliquely
# still) and leans it (pitch, roll). The pass ranges hold the attachment's proportions (strip 180–250 / 30–40 cm =
# 4.5–8.3, plaque 40 / 60 cm = 0.67) with a tolerance for a moderate angle.
STRIP_BOX_RATIO = (3.2, 11.0)
PLAQUE_BOX_RATIO = (1 / 2.1, 1 / 1.1)
# A board seen at up to about 75° from its normal keeps this share of its width: any box taller than a plaque's
# could be a plaque (or a strip) seen that obliquely, so such a box fails only when the characters show the
# board faces the camera (see FRONTAL_CHAR_ASPECT); otherwise it is "cannot tell". A box wider than a plaque's
# cannot come from an angle (a wall's boards are not narrowed in height by more than pitch allows) and fails.
MIN_FORESHORTENING = 0.25
# The characters of the standard's typefaces are about square: their ink's width / height along a line, median
# over the characters. Drawn boards facing the camera (tests/test_style.py) measure 0.98–1.05, and the same plaque
# narrowed to 0.8 / 0.6 / 0.45 of its width 0.79 / 0.59 / 0.48. On whole-photo scenes (bench/style_eval.py
# --scenes) characters split (a radical apart) or merged (motion blur) spread single readings from 0.1 to 3.8, so
# a board is taken to face the camera only when the middle half of its characters lie in this range, and a
# narrowing is only used to explain a box, never to fail one.
FRONTAL_CHAR_ASPECT = (0.8, 1.35)
MIN_ASPECT_CHAR_PX = 28.0  # text lines narrower than this (pixels) are too small to measure characters on
MIN_ASPECT_CHARS = 1  # characters measured, at least
# Characters are cut along each line by typeface.character_runs (gaps inside a character closed, its pieces
# joined); runs under a third of the line's width are not measured (a lone dot or stroke).
# The text's lean (from the ink's principal axis) explains a leaning board's box, when the ink is elongated
# enough to have an axis (its second moments' ratio at least this; chosen, a single line or column reaches
# 20+) and the lean is below MAX_LEAN_DEG. A block of short lines has no axis: its lean is not measured.
MIN_INK_ELONGATION = 6.0
MAX_LEAN_DEG = 30.0
MAX_FRONTAL_LEAN_DEG = 3.0  # a board whose text leans more is not taken to face the camera


CUT_MARGIN_PX = 2.0  # a box this close to the photo's edge may be cut by it


def box_cut_by_photo(box: tuple[float, float, float, float], image_shape: tuple[int, ...]) -> bool:
    """Whether a box ``(x1, y1, x2, y2)`` touches the edge of a photo of ``image_shape`` (``H × W …``), within
    :data:`CUT_MARGIN_PX`: the board may go on beyond the photo (pass it to :func:`style_checks` as ``cut``)."""
    h, w = image_shape[:2]
    x1, y1, x2, y2 = box
    m = CUT_MARGIN_PX
    return x1 <= m or y1 <= m or x2 >= w - m or y2 >= h - m


def shape_of_box(width: float, height: float) -> str:
    """``vertical_strip``, ``plaque`` (about 60 × 40) or ``other``, from the box's proportions with a
    tolerance for perspective (yaw shortens widths, pitch heights)."""
    if width <= 0 or height <= 0:
        return "other"
    ratio = height / width
    if STRIP_BOX_RATIO[0] <= ratio <= STRIP_BOX_RATIO[1]:
        return "vertical_strip"
    if PLAQUE_BOX_RATIO[0] <= ratio <= PLAQUE_BOX_RATIO[1]:
        return "plaque"
    return "other"


@dataclass(frozen=True)
class TextGeometry:
    """What a board's characters say about how it is seen.

    Attributes
    ----------
    vertical : bool
        The text runs top to bottom.
    lean_deg : float or None
        Angle of the text's axis from upright (vertical text) or level (horizontal text), clockwise in the
        image; None when the ink has no clear axis.
    char_aspect : float or None
        Median width / height of the characters' ink (about 1 seen face on; less when the board is seen at an
        angle); None when the characters are too small or too few to measure.
    char_aspect_quartiles : tuple of float or None
        The lower and upper quartiles of the same (characters split or merged by blur spread them apart).
    line_px : float
        Width of the widest text line across its writing direction, in pixels (about the characters' size).
    """

    vertical: bool
    lean_deg: float | None = None
    char_aspect: float | None = None
    char_aspect_quartiles: tuple[float, float] | None = None
    line_px: float = 0.0

    def facing(self) -> bool:
        """Whether the characters show the board facing the camera: square within :data:`FRONTAL_CHAR_ASPECT`
        (the middle half of them), and upright within :data:`MAX_FRONTAL_LEAN_DEG`."""
        if self.char_aspect_quartiles is None or abs(self.lean_deg or 0.0) > MAX_FRONTAL_LEAN_DEG:
            return False
        lo, hi = self.char_aspect_quartiles
        return FRONTAL_CHAR_ASPECT[0] <= lo and hi <= FRONTAL_CHAR_ASPECT[1]


def _axis_deg(xs: np.ndarray, ys: np.ndarray, vertical: bool) -> float | None:
    """Angle of the ink's principal axis from the writing direction (image y down: positive = clockwise), or
    None when the ink is not elongated enough to have one (:data:`MIN_INK_ELONGATION`) or leans more than
    :data:`MAX_LEAN_DEG`."""
    if len(xs) < 20:
        return None
    evals, evecs = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    if not (evals[0] > 0 and evals[1] / evals[0] >= MIN_INK_ELONGATION):
        return None
    ax, ay = evecs[:, 1]
    deg = math.degrees(math.atan2(-ax, ay) if vertical else math.atan2(ay, ax))
    deg = (deg + 90.0) % 180.0 - 90.0
    return deg if abs(deg) <= MAX_LEAN_DEG else None


LINE_SPLIT_STEP_DEG = 1.0  # angles tried when splitting the ink into lines (see _lean_of)
LINE_AXIS_AGREE_DEG = 3.0  # a line's own axis is used only within this of the angle that split the lines


def _lean_of(ink: np.ndarray, vertical: bool) -> float | None:
    """The text's lean, measured per line: the ink is split into lines across the writing direction at the
    angle where its profile is sharpest (the classic projection-profile deskew; angles up to
    :data:`MAX_LEAN_DEG`), and the lean is the ink-weighted mean of the lines' own principal axes. The axis of
    all the ink together leans whenever lines of unequal length are not centred on each other (a main line
    above a half-length line aligned left reads about 7° on a board facing the camera). A single line is one
    run: its lean is that of all its ink, as before."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 20:
        return None
    fx, fy = xs.astype(np.float64), ys.astype(np.float64)
    best, across, split_deg = -1.0, None, 0.0
    for deg in np.arange(-MAX_LEAN_DEG, MAX_LEAN_DEG + 1e-9, LINE_SPLIT_STEP_DEG):
        t = math.radians(float(deg))
        # the coordinate across the lines once the ink is turned back by ``deg`` (same sign as the lean)
        pos = fx * math.cos(t) + fy * math.sin(t) if vertical else fy * math.cos(t) - fx * math.sin(t)
        pos = np.round(pos - pos.min()).astype(np.int64)
        sharp = float(np.square(np.bincount(pos).astype(np.float64)).sum())
        if sharp > best:
            best, across, split_deg = sharp, pos, float(deg)
    assert across is not None
    profile = np.bincount(across)
    degs, weights = [], []
    for a, b in runs_of(profile > 0):
        sel = (across >= a) & (across < b)
        deg = _axis_deg(xs[sel], ys[sel], vertical)
        # a run whose axis disagrees with the angle that split the lines is not one line (a frame's edge
        # together with the line beside it reads 11° on a level 60 × 40 plaque of bench/style_eval.py)
        if deg is not None and abs(deg - split_deg) <= LINE_AXIS_AGREE_DEG:
            degs.append(deg)
            weights.append(int(sel.sum()))
    if not degs:
        return None
    return float(np.average(degs, weights=weights))


def text_geometry_of_crop(crop: np.ndarray) -> TextGeometry | None:
    """The text's lean and its characters' aspect in a board's crop (None when no text is found): how the
    board is seen, read from the characters rather than from the box."""
    crop = np.asarray(crop)
    if crop.ndim != 3 or min(crop.shape[:2]) < 8:
        return None
    h, w = crop.shape[:2]
    dy, dx = int(h * 0.03), int(w * 0.03)
    ink = text_mask(absorption_of(crop[dy:h - dy or h, dx:w - dx or w]))
    ys, xs = np.nonzero(ink)
    if len(xs) < 20:
        return None
    vertical = ink.shape[0] > 1.3 * ink.shape[1]
    lean = _lean_of(ink, vertical)
    if lean:  # level the text before measuring its characters
        hh, ww = ink.shape
        m = cv2.getRotationMatrix2D((ww / 2, hh / 2), lean, 1.0)
        ink = cv2.warpAffine(ink.astype(np.uint8), m, (ww, hh), flags=cv2.INTER_NEAREST).astype(bool)
    along = ink if vertical else ink.T  # rows run along the text
    profile = along.sum(axis=0)
    if profile.max() <= 0:
        return TextGeometry(vertical, None if lean is None else round(lean, 2))
    # a line is where the profile is strong, widened to all of its ink (the thin ends of strokes included)
    inked = runs_of(profile > 0)
    lines = sorted({next(r for r in inked if r[0] <= a < r[1]) for a, _ in runs_of(profile > 0.2 * profile.max())})
    widest = max(b - a for a, b in lines)
    aspects: list[float] = []
    for a, b in lines:
        width = b - a
        if width < max(MIN_ASPECT_CHAR_PX, 0.5 * widest):
            continue
        for r0, r1 in character_runs(along[:, a:b].any(axis=1), width):
            if r1 - r0 >= 0.3 * width:
                aspects.append(width / (r1 - r0) if vertical else (r1 - r0) / width)
    lean = None if lean is None else round(lean, 2)
    if len(aspects) < MIN_ASPECT_CHARS:
        return TextGeometry(vertical, lean, line_px=float(widest))
    q1, median, q3 = (round(float(v), 3) for v in np.quantile(aspects, [0.25, 0.5, 0.75]))
    return TextGeometry(vertical, lean, median, (q1, q3), float(widest))


def board_proportions(box_wh: tuple[float, float], geometry: TextGeometry | None) -> tuple[float, float]:
    """(width, height) of the board itself: the box less the lean the text shows (a leaning board's box is
    wider and taller than the board)."""
    bw, bh = (float(v) for v in box_wh)
    if geometry is None or not geometry.lean_deg:
        return bw, bh
    t = math.radians(abs(geometry.lean_deg))
    c, s = math.cos(t), math.sin(t)
    det = c * c - s * s
    w0, h0 = (c * bw - s * bh) / det, (c * bh - s * bw) / det
    if w0 <= 0 or h0 <= 0:  # the lean explains more than the box: the box is kept
        return bw, bh
    return w0, h0


def shape_verdict(box_wh: tuple[float, float], geometry: TextGeometry | None) -> tuple[str, str]:
    """(verdict, shape): ``pass`` with ``vertical_strip`` or ``plaque``; ``fail`` with ``other``; or
    ``cannot_tell`` when the box's proportions could be a standard shape seen at an angle and the characters do
    not show that the board faces the camera.

    The box is judged first; what the characters say (:func:`text_geometry_of_crop`) can only explain a box
    that does not fit — a lean, a narrowing — or, when they show a board facing the camera, confirm that it does
    not fit. A wrong reading of the characters therefore never fails a box that fits.
    """
    w, h = (float(v) for v in box_wh)
    shape = shape_of_box(w, h)
    if shape != "other":
        return "pass", shape
    if w <= 0 or h <= 0:
        return "fail", "other"
    ratio = h / w
    if ratio < PLAQUE_BOX_RATIO[0] or ratio * MIN_FORESHORTENING > STRIP_BOX_RATIO[1]:
        return "fail", "other"  # wider than a plaque (no angle widens a board), or too thin for any angle
    if geometry is None:
        return "cannot_tell", "other"
    upright = board_proportions(box_wh, geometry)
    shape = shape_of_box(*upright)
    if shape != "other":
        return "pass", shape
    aspect = geometry.char_aspect
    if aspect is not None and aspect < FRONTAL_CHAR_ASPECT[0]:
        # narrowed characters: the board is seen at an angle, and they say by how much its width is shortened
        shape = shape_of_box(upright[0] / aspect, upright[1])
        if shape != "other":
            return "pass", shape
    return ("fail", "other") if geometry.facing() else ("cannot_tell", "other")


_NO_COLOUR = "未能可靠分辨文字颜色"
_COLOUR_ABSTAIN = {
    "none": _NO_COLOUR,
    "dark": "牌子太暗，无法判断文字颜色（请在光线充足时重拍）",
    "washed_out": "文字与底色反差太小（反光或褪色），无法判断文字颜色",
    "unsure": "文字颜色介于红、黑之间，无法可靠判断",
    "small": "字太小，无法可靠判断是否为其他颜色",
}
_SHAPE_AT_AN_ANGLE = "牌子斜对镜头，无法从照片判断比例（请正对牌子重拍）"
_SHAPE_CUT = "牌子被照片边缘截断，无法判断比例（请把整块牌子拍进照片）"
_BACKGROUND_ABSTAIN = {
    "unsure": "底色略带颜色，照片无法确定是否为白底（可能是光线偏色），请人工确认",
    "light_cast": "底色与照片中其他牌子同样偏色，可能是灯光颜色所致，无法确定是否为白底，请人工确认",
    "dark": "牌子太暗，无法判断底色（请在光线充足时重拍）",
}
TYPEFACE_ZH = {"song": "宋体", "hei": "黑体", "kai": "楷体"}


def typeface_check(reading: TypefaceReading | None, rules: Rules) -> Check:
    """The typeface check from the classifier's reading: advisory, with its confidence; ``not_checked`` when
    the classifier cannot tell (small or blurred characters, doubt) or is not installed."""
    sev = rules.severity["typeface"]
    want, want_zh = rules.plaque_style.typeface, rules.plaque_style.typeface_zh
    if reading is None:
        return Check("not_checked", sev, f"未安装字体识别模型，未判断是否为{want_zh}")
    if want not in TYPEFACE_ZH:
        return Check("not_checked", sev, f"字体识别只分辨宋体、黑体、楷体，无法判断是否为{want_zh}")
    if reading.typeface == "unknown":
        why = {
            "small": f"字太小（约 {reading.char_px:.0f} 像素），无法判断字体",
            "blurred": "文字模糊，无法判断字体",
        }.get(reading.reason, "未找到足够的文字，无法判断字体")
        return Check("not_checked", sev, why)
    p = reading.probabilities[want]
    angle = "，牌子斜拍，字形已按比例校正" if reading.stretched > 1 else ""
    verdict = matches(reading, want)
    if verdict is None:
        return Check("not_checked", sev, f"无法确定是否为{want_zh}（{want_zh}可能性 {p:.2f}{angle}）")
    if verdict:
        return Check("pass", sev, f"{want_zh}（模型判断，{want_zh}可能性 {p:.2f}{angle}）")
    seen = max((c for c in reading.probabilities if c != want), key=reading.probabilities.get)
    return Check("fail", sev, f"疑似{TYPEFACE_ZH[seen]}，应为{want_zh}（模型判断，{want_zh}可能性仅 {p:.2f}{angle}，请人工确认）")


def style_checks(crop: np.ndarray, box_wh: tuple[float, float], plaque: PlaqueRule | None, rules: Rules, *,
                 traditional: bool | None, illuminant: np.ndarray | None = None,
                 shared_light: np.ndarray | None = None, board: bool = True,
                 cut: bool = False) -> dict[str, dict[str, str]]:
    """The style checks of one plaque, each ``{"status", "severity", "detail"}``.

    ``plaque`` is the official plaque the text names (None for other signs: only the characters are checked).
    ``board`` is False when only the text line was located (OCR without a detector box): the crop then
    shows no background margin and no outline, so background and shape are not checked. ``cut`` is True when
    the box touches the photo's edge: the board may go on beyond it, so its proportions are not judged.
    ``illuminant`` is the photo's light (:func:`illuminant_of`), ``shared_light`` the light its official boards
    share (:func:`boards_light`): a background off-white against the one but white against the other is not judged.
    """
    sev = rules.severity
    checks: dict[str, Check] = {}
    identity = plaque is not None and plaque.identity_sign
    if plaque is None:
        for key in ("background", "text_colour", "shape"):
            checks[key] = Check("not_checked", sev[key], "非标准牌子，不检查式样")
    elif identity:
        for key in ("background", "text_colour", "shape", "typeface"):
            checks[key] = Check("exempt", sev[key], "标识牌有专门式样，不适用此项")
    else:
        background, colour, bg = colours_of_crop(crop, illuminant, shared_light)
        geometry = text_geometry_of_crop(crop)
        if colour == "other" and (geometry is None or geometry.line_px < MIN_OTHER_COLOUR_CHAR_PX):
            colour = "small"  # a JPEG's colour is coarser than such strokes: "another colour" is not to be trusted
        if not board:
            checks["background"] = Check("not_checked", sev["background"], "只定位到文字行，未定位到牌子边框")
        else:
            rgb = tuple(int(min(v, 255)) for v in bg)
            if background in _BACKGROUND_ABSTAIN:
                checks["background"] = Check("not_checked", sev["background"], _BACKGROUND_ABSTAIN[background])
            else:
                detail = "白底" if background == "white" else f"底色不是白色（约 RGB{rgb}）"
                checks["background"] = Check("pass" if background == "white" else "fail", sev["background"], detail)
        want = plaque.text_colour
        names = {"red": "红字", "black": "黑字", "other": "其他颜色"}  # what is not one of these abstains
        if colour in _COLOUR_ABSTAIN or (colour == "other" and not board):
            checks["text_colour"] = Check("not_checked", sev["text_colour"], _COLOUR_ABSTAIN.get(colour, _NO_COLOUR))
        else:
            ok = colour == want
            checks["text_colour"] = Check("pass" if ok else "fail", sev["text_colour"],
                                          f"应为{names[want]}，实为{names[colour]}")
        names_shape = {k: v.name_zh for k, v in rules.plaque_style.shapes.items()}
        if not board:
            checks["shape"] = Check("not_checked", sev["shape"], "只定位到文字行，无法判断牌子形状")
        elif cut:
            checks["shape"] = Check("not_checked", sev["shape"], _SHAPE_CUT)
        else:
            verdict, shape = shape_verdict(box_wh, geometry)
            if verdict == "cannot_tell":
                checks["shape"] = Check("not_checked", sev["shape"], _SHAPE_AT_AN_ANGLE)
            else:
                checks["shape"] = Check("pass" if shape in rules.plaque_style.shapes else "fail", sev["shape"],
                                        names_shape.get(shape, "比例不符合竖牌（30–40×180–250 cm）或匾牌（60×40 cm）"))
        checks["typeface"] = typeface_check(typeface_of_crop(crop), rules)
    checks["size"] = Check("not_checked", sev["size"], "照片无法测量实际尺寸")
    checks["material"] = Check("not_checked", "advisory", "照片无法判断材质")
    if traditional is None:
        checks["traditional_characters"] = Check("not_checked", sev["traditional_characters"], "未读出文字")
    else:
        checks["traditional_characters"] = Check("fail" if traditional else "pass", sev["traditional_characters"],
                                                 "含繁体字" if traditional else "简化字")
    return {k: asdict(v) for k, v in checks.items()}
