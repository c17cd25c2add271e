"""Reading text with RapidOCR (PP-OCRv4 ONNX models shipped inside the wheel; no download).

Two uses: recognition only on a plaque's crop (fast: one recogniser pass per orientation; a tall crop is
turned 90° so that its column of characters reads as a line), and detection + recognition over a whole
photo, the second source of plaques next to the YOLO detector. RapidOCR 1.4 already turns tall text boxes
before recognising them, so a second full pass over the photo rotated by 90° found the same lines on the
generated facades we compared (seeds 7000, 7001, 7005, 7010) at twice the cost; it stays available as
``lines(..., rotated=True)``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from audit import settings

_STREAM = "ocr-stream"  # name prefix of the reader's stream threads


@dataclass(frozen=True)
class TextLine:
    """A line of text found in a photo: its text, recogniser score and box ``[x1, y1, x2, y2]`` (pixels)."""

    text: str
    score: float
    box: tuple[float, float, float, float]
    vertical: bool


class Reader:
    """A RapidOCR engine, created once and reused (model load ≈ 1 s)."""

    def __init__(self, *, threads: int | None = None) -> None:
        from rapidocr_onnxruntime import RapidOCR

        n = threads or settings.threads()
        # "max": text detection looks at an image at its own size, up to 960, 1500 or 2000 px on its long side by
        # RapidOCR 1.4's size tiers (its det_limit_side_len is not honoured with this type; the default "min"
        # enlarges small images to a 736-px short side). The pixels it looks at are set by the caller:
        # :meth:`lines_at`'s ``scale``.
        options = {"det_limit_type": "max", "intra_op_num_threads": n, "inter_op_num_threads": 1,
                   "print_verbose": False}
        self._engine = RapidOCR(**options)
        # Crops (the boxes' recognition and the second look at small boards) run in their own sessions: feeding
        # the photo's sessions crops of many sizes made their next whole-photo pass about 25 % slower (0.72 ->
        # 0.87 s on the 12-MP bench photo). These sessions take one thread each and ``n`` crops are read at once:
        # a crop is too small a job to share between threads (46 box crops of six 12-MP photos: 0.85-0.91 s in
        # two streams of one thread against 1.06-1.49 s in one stream of two threads, same readings).
        self._crop_engine = RapidOCR(**{**options, "intra_op_num_threads": 1})
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix=_STREAM) if n > 1 else None

    def map(self, fn, items: list) -> list:
        """``fn`` over ``items``, in the crop streams when there are several, results in order (also lends the
        streams to the engine's per-board work, the style checks)."""
        if self._pool is None or len(items) < 2 or threading.current_thread().name.startswith(_STREAM):
            return [fn(x) for x in items]  # (inside a stream: waiting on the same streams could wait for ever)
        return list(self._pool.map(fn, items))

    def recognise_many(self, crops: list[np.ndarray], *, batched: bool = False) -> list[tuple[str, float]]:
        """Recognition only, on many one-line crops: one recogniser call each, or with ``batched`` RapidOCR's
        batches (sorted by width, six at a time, each padded to its widest crop). The engine reads one crop at a
        time: batching changes readings (a crop padded to its neighbour's width reads differently: 14 of 34 board
        views on four 12-MP photos), which the engine's thresholds were not measured with, and was not
        consistently faster on two loaded cores (bench/speed_options.py)."""
        if not batched:
            return self.map(self.recognise, crops)
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        ok = [i for i, c in enumerate(crops) if c.size and min(c.shape[:2]) >= 4]
        if ok:
            result, _ = self._engine.text_rec([np.ascontiguousarray(crops[i]) for i in ok])
            for i, (text, score) in zip(ok, result, strict=True):
                out[i] = (str(text), float(score))
        return out

    def read_plaques(self, crops: list[np.ndarray]) -> list[list[tuple[str, float]]]:
        """:meth:`read_plaque` of many crops (their views read in the crop streams)."""
        return self.read_plaques_scored(crops)[0]

    def read_plaques_scored(self, crops: list[np.ndarray]) -> tuple[list[list[tuple[str, float]]],
                                                                     list[list[np.ndarray]]]:
        """:meth:`read_plaques`, and from the same recogniser pass each crop's :meth:`char_scores`."""
        views, owner = [], []
        for k, crop in enumerate(crops):
            for view in _plaque_views(crop) if crop.size else []:
                views.append(view)
                owner.append(k)
        readings: list[list[tuple[str, float]]] = [[] for _ in crops]
        scores: list[list[np.ndarray]] = [[] for _ in crops]
        for k, (text, score, logp) in zip(owner, self.map(self._recognised, views), strict=True):
            if text:
                readings[k].append((text, score))
            if logp is not None:
                scores[k].append(logp)
        return [sorted(r, key=lambda r: -r[1]) for r in readings], scores

    def line_scores(self, crop: np.ndarray, lines: list[TextLine]) -> list[np.ndarray]:
        """The recogniser's scores (as :meth:`char_scores`) of a board's ``lines`` found by :meth:`read_board`
        (boxes in the crop's pixels), each cut from the crop with a margin of a quarter of its short side (a column
        turned as a strip is), and for two lines or more all of them one after the other in reading order: where
        the crop read whole squeezes a small line (one line on a large plate, a 60 × 40 plaque's two lines)."""
        parts = []
        for ln in reading_order(lines):
            x1, y1, x2, y2 = (int(round(v)) for v in ln.box)
            pad = max(2, min(x2 - x1, y2 - y1) // 4)
            part = crop[max(0, y1 - pad):y2 + pad, max(0, x1 - pad):x2 + pad]
            parts.append(np.rot90(part, 1) if ln.vertical else part)
        got = [logp for _, _, logp in self.map(self._recognised, parts) if logp is not None]
        return got + ([np.concatenate(got)] if 2 <= len(got) == len(parts) else [])

    def char_scores(self, crops: list[np.ndarray]) -> list[list[np.ndarray]]:
        """For each plaque crop, for each of its views (as :meth:`read_plaque` reads it), the recogniser's natural
        log-probabilities: one row per column of the line, one column per character of :attr:`alphabet` (what
        :mod:`audit.signs.spotting` aligns names to)."""
        return self.read_plaques_scored(crops)[1]

    @cached_property
    def alphabet(self) -> dict[str, int]:
        """The recogniser's characters and their columns in :meth:`char_scores` (0 is CTC's blank)."""
        return {ch: i for i, ch in enumerate(self._crop_engine.text_rec.postprocess_op.character) if i}

    def recognise(self, crop: np.ndarray) -> tuple[str, float]:
        """Recognition only, on a crop holding one line of text (horizontal)."""
        text, score, _ = self._recognised(crop)
        return text, score

    def _recognised(self, crop: np.ndarray) -> tuple[str, float, np.ndarray | None]:
        """Recognition of one line as RapidOCR's call with recognition only does it (its size limits, the
        recogniser's input of 48 px height, greedy CTC decoding), with the recogniser's log-probabilities."""
        if crop.size == 0 or min(crop.shape[:2]) < 4:
            return "", 0.0, None
        engine = self._crop_engine
        rec = engine.text_rec
        _, height, width = rec.rec_image_shape
        img, _, _ = engine.preprocess(np.ascontiguousarray(crop))
        ratio = max(width / height, img.shape[1] / img.shape[0])
        probs = rec.session(rec.resize_norm_img(img, ratio)[np.newaxis].astype(np.float32))[0]
        text, score = rec.postprocess_op(probs)[0][:2]
        return str(text), float(score), np.log(np.maximum(probs[0], 1e-12))

    def read_plaque(self, crop: np.ndarray) -> list[tuple[str, float]]:
        """Candidate readings of a plaque crop: as it is, and — for a tall crop — rotated 90° counter-
        clockwise (top-to-bottom text then reads left to right). Best recogniser score first."""
        readings = self.map(self.recognise, _plaque_views(crop))
        return sorted((r for r in readings if r[0]), key=lambda r: -r[1])

    def read_board(self, crop: np.ndarray, *, short_side: int = 160) -> list[TextLine]:
        """A second look at a board that recognition alone could not read (several lines, faint or small text):
        text detection + recognition on the crop in grey levels, contrast stretched and enlarged so that its
        short side is about ``short_side`` pixels (at most 4×). Boxes are in pixels of the crop."""
        import cv2

        h, w = crop.shape[:2]
        if min(h, w) < 8:
            return []
        k = float(np.clip(short_side / min(h, w), 1.0, 4.0))
        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, (round(w * k), round(h * k)), interpolation=cv2.INTER_CUBIC)
        lo, hi = np.percentile(grey, (2, 98))
        if hi - lo < 8:
            return []
        grey = np.clip((grey.astype(np.float32) - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8)
        lines = self._lines(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), vertical=False, min_score=0.5,
                            engine=self._crop_engine)
        return [TextLine(ln.text, ln.score, tuple(v / k for v in ln.box), ln.vertical) for ln in lines]

    def read_boards(self, crops: list[np.ndarray]) -> list[list[TextLine]]:
        """:meth:`read_board` of several crops, read at once in the crop streams."""
        return self.map(self.read_board, crops)

    def lines(self, image: np.ndarray, *, rotated: bool = False, min_score: float = 0.5) -> list[TextLine]:
        """Detect and read every text line in a photo (and, with ``rotated``, in its 90° rotation)."""
        out = self._lines(image, vertical=False, min_score=min_score)
        if rotated:
            w = image.shape[1]
            for line in self._lines(np.rot90(image, 1), vertical=True, min_score=min_score):
                # np.rot90(·, 1): a point (x', y') of the rotated image is (w - 1 - y', x') of the original.
                x1, y1, x2, y2 = line.box
                out.append(TextLine(line.text, line.score, (w - y2, x1, w - y1, x2), True))
        return out

    def lines_at(self, image: np.ndarray, *, skip: list[tuple[float, float, float, float]] = (),
                 keep: list[tuple[float, float, float, float]] = (), min_score: float = 0.5,
                 scale: float = 1.0) -> list[TextLine]:
        """Every text line of a photo (or a region of it), found on a copy reduced by ``scale`` (text detection's
        cost follows the pixels it looks at) and read on the image itself. Lines whose centre lies in a box of
        ``skip`` (boards already read) are not read again, unless it also lies in a box of ``keep`` (grown by 15 %
        on each side: a box still in doubt, which may hold the neighbour's line). Boxes are in pixels of
        ``image``."""
        import cv2

        engine = self._engine
        image = np.ascontiguousarray(image)
        small = image
        if scale < 1.0:
            h, w = image.shape[:2]
            small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        quads, _ = engine.text_det(small)
        if quads is None or len(quads) == 0:
            return []
        if small is not image:
            quads = np.asarray(quads, dtype=np.float32) * np.float32(
                [image.shape[1] / small.shape[1], image.shape[0] / small.shape[0]])
        quads = [np.asarray(q, dtype=np.float32) for q in engine.sorted_boxes(np.asarray(quads))]

        def within(cx: float, cy: float, box: tuple[float, float, float, float], margin: float) -> bool:
            x1, y1, x2, y2 = box
            mx, my = (x2 - x1) * margin, (y2 - y1) * margin
            return x1 - mx <= cx <= x2 + mx and y1 - my <= cy <= y2 + my

        def skipped(q: np.ndarray) -> bool:
            cx, cy = float(q[:, 0].mean()), float(q[:, 1].mean())
            return any(within(cx, cy, b, 0.0) for b in skip) and not any(within(cx, cy, b, 0.15) for b in keep)

        quads = [q for q in quads if not skipped(q)]
        if not quads:
            return []
        crops = engine.get_crop_img_list(image, quads)
        crops, _, _ = engine.text_cls(crops)
        # Each line read alone in the crop streams (a batch pads every line to its widest one's width).
        result = self.map(lambda c: self._crop_engine.text_rec(c)[0][0], crops)
        lines = []
        for quad, (text, score) in zip(quads, result, strict=True):
            if float(score) < min_score or not str(text).strip():
                continue
            box = (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))
            tall = (box[3] - box[1]) > 1.5 * (box[2] - box[0])
            lines.append(TextLine(str(text), float(score), box, tall))
        return lines

    def _lines(self, image: np.ndarray, *, vertical: bool, min_score: float, engine=None) -> list[TextLine]:
        result, _ = (engine or self._engine)(np.ascontiguousarray(image))
        lines = []
        for quad, text, score in result or []:
            if float(score) < min_score or not str(text).strip():
                continue
            pts = np.asarray(quad, dtype=float)
            box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            tall = (box[3] - box[1]) > 1.5 * (box[2] - box[0])
            lines.append(TextLine(str(text), float(score), box, vertical or tall))
        return lines


# A crop at least this many times as tall as wide holds a column of text (a strip), read turned 90°; the engine
# judges a box's reading by the same shape.
STRIP_ASPECT = 1.6


def _plaque_views(crop: np.ndarray) -> list[np.ndarray]:
    """The views of a plaque crop to recognise: as it is, or turned 90° counter-clockwise when tall (top-to-
    bottom text then reads left to right); both when squarish (a 60 × 40 plaque may hold two lines)."""
    h, w = crop.shape[:2]
    views = [np.rot90(crop, 1)] if h > STRIP_ASPECT * w else [crop]
    if 0.6 * w <= h <= STRIP_ASPECT * w:
        views.append(np.rot90(crop, 1))
    return views


# Layout of one board (the safety net for boards the detector misses): lines of one board lie on one background,
# in one text colour, with nothing but that background between them. Colour distances are Euclidean in RGB.
SAME_BACKGROUND = 40.0   # two lines' backgrounds this close are one surface (JPEG, light falling off)
SAME_INK = 90.0          # and their text colours this close are one lettering (gold on red vs black on white)
GAP_SHARE = 0.9          # share of the gap between two lines that must be that background (a frame or wall breaks it)
MAX_LINE_GAP = 3.0       # lines of one board are at most this many line heights apart


def _dominant(px: np.ndarray) -> np.ndarray:
    """The most frequent colour of pixels ``(N, 3)``: the densest cube of 24 levels a side (bins of 8 levels
    summed with their neighbours, so a colour on a bin's border is not split) and the median of its pixels."""
    q = np.minimum(px // 8, 31).astype(np.intp)
    hist = np.bincount((q[:, 0] * 32 + q[:, 1]) * 32 + q[:, 2], minlength=32 ** 3).reshape(32, 32, 32)
    p = np.pad(hist, 1)
    dense = sum(p[i:i + 32, j:j + 32, k:k + 32] for i in range(3) for j in range(3) for k in range(3))
    centre = np.array(np.unravel_index(int(np.argmax(dense)), dense.shape))
    return np.median(px[np.all(np.abs(q - centre) <= 1, axis=1)], axis=0)


def _colours(image: np.ndarray, box: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray] | None:
    """(background, ink) colour of a text line: the most frequent colour of its box (:func:`_dominant`; not the
    median, which falls on the wall when text and the wall a line box spills onto together make half the box) and
    the mean of its pixels at least half as far from it as the farthest one (the strokes' cores, not their
    anti-aliased edges)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    px = image[y1:y2, x1:x2].reshape(-1, 3).astype(np.float32)
    bg = _dominant(px)
    d = np.linalg.norm(px - bg, axis=1)
    far = px[d >= 0.5 * d.max()] if d.max() > 0 else px
    return bg, far.mean(axis=0)


def _gap_region(a: TextLine, b: TextLine) -> tuple[int, int, int, int] | None:
    """The stretch of board between two stacked lines (rows for horizontal lines, columns for vertical ones),
    over the span the two share; None when they are not stacked (no shared span, or too far apart)."""
    def along(box):  # vertical columns are measured as horizontal lines with x and y swapped
        x1, y1, x2, y2 = box
        return (y1, x1, y2, x2) if a.vertical else (x1, y1, x2, y2)

    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = along(a.box), along(b.box)
    lo, hi = max(ax1, bx1), min(ax2, bx2)
    thick = max(ay2 - ay1, by2 - by1)
    g1, g2 = min(ay2, by2), max(ay1, by1)
    if hi - lo < 0.3 * min(ax2 - ax1, bx2 - bx1) or g2 - g1 > MAX_LINE_GAP * thick:
        return None
    if g2 <= g1:
        return (0, 0, 0, 0)
    return tuple(int(v) for v in along((lo, g1, hi, g2)))


def board_groups(lines: list[TextLine], image: np.ndarray) -> list[list[TextLine]]:
    """Lines that belong to one board, by layout: same orientation, stacked (rows of a plate, columns of a
    strip) at most :data:`MAX_LINE_GAP` line heights apart, on the same background in the same ink, with only
    that background between them (a frame, an edge or a strip of wall between two lines makes two boards).
    ``image`` is the photo the line boxes are in."""
    colours = [_colours(image, ln.box) for ln in lines]
    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            a, b = lines[i], lines[j]
            if a.vertical != b.vertical or colours[i] is None or colours[j] is None:
                continue
            (bg_a, ink_a), (bg_b, ink_b) = colours[i], colours[j]
            if np.linalg.norm(bg_a - bg_b) > SAME_BACKGROUND or np.linalg.norm(ink_a - ink_b) > SAME_INK:
                continue
            gap = _gap_region(a, b)
            if gap is None:
                continue
            x1, y1, x2, y2 = gap
            region = image[max(0, y1):max(0, y2), max(0, x1):max(0, x2)].reshape(-1, 3).astype(np.float32)
            if region.size:
                bg = (bg_a + bg_b) / 2
                if np.mean(np.linalg.norm(region - bg, axis=1) <= SAME_BACKGROUND) < GAP_SHARE:
                    continue
            parent[find(i)] = find(j)
    groups: dict[int, list[TextLine]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(find(i), []).append(ln)
    return list(groups.values())


def reading_order(group: list[TextLine]) -> list[TextLine]:
    """The lines of one board in the order it is read. Rows (horizontal lines) top to bottom, each row left to
    right: a line belongs to a row when it overlaps the row's height by half its own, so a tilted or centred
    second line (服务工作站 under 柏树湾村法律, starting further left) still comes second. Columns (vertical
    text) left to right; :func:`group_texts` also offers them right to left."""
    if any(ln.vertical for ln in group):
        return sorted(group, key=lambda ln: ln.box[0])
    rows: list[list[TextLine]] = []
    for ln in sorted(group, key=lambda ln: (ln.box[1] + ln.box[3]) / 2):
        row = rows[-1] if rows else None
        if row is not None:
            top, bottom = min(r.box[1] for r in row), max(r.box[3] for r in row)
            if min(bottom, ln.box[3]) - max(top, ln.box[1]) >= 0.5 * (ln.box[3] - ln.box[1]):
                row.append(ln)
                continue
        rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def group_texts(group: list[TextLine]) -> list[tuple[str, float]]:
    """Candidate readings of a group, each with its recogniser score: each line, then the lines joined in the
    orders a board is read — its :func:`reading_order` first, then columns left to right and right to left, rows
    top to bottom — scored as the recogniser scores a line: the mean of its characters' scores (each line's score
    weighted by its length)."""
    texts = [(ln.text, ln.score) for ln in group]
    if len(group) > 1:
        chars = sum(len(ln.text) for ln in group)
        score = sum(ln.score * len(ln.text) for ln in group) / chars if chars else 0.0
        by_x = sorted(group, key=lambda ln: ln.box[0])
        by_y = sorted(group, key=lambda ln: ln.box[1])
        for order in (reading_order(group), by_x, by_x[::-1], by_y):
            joined = ("".join(ln.text for ln in order), score)
            if joined not in texts:
                texts.append(joined)
    return texts
