"""Reading text with RapidOCR (PP-OCRv4 ONNX models shipped inside the wheel; no download).

Two uses: recognition only on a plaque's crop (fast: one recogniser pass per orientation; a tall crop is
turned 90° so that its column of characters reads as a line), and detection + recognition over a whole
photo, the second source of plaques next to the YOLO detector. RapidOCR 1.4 already turns tall text boxes
before recognising them, so a second full pass over the photo rotated by 90° found the same lines on the
generated facades we compared (seeds 7000, 7001, 7005, 7010) at twice the cost; it stays available as
``lines(..., rotated=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audit import settings


@dataclass(frozen=True)
class TextLine:
    """A line of text found in a photo: its text, recogniser score and box ``[x1, y1, x2, y2]`` (pixels)."""

    text: str
    score: float
    box: tuple[float, float, float, float]
    vertical: bool


class Reader:
    """A RapidOCR engine, created once and reused (model load ≈ 1 s)."""

    def __init__(self, *, det_long_side: int = 1280, threads: int | None = None) -> None:
        from rapidocr_onnxruntime import RapidOCR

        n = threads or settings.threads()
        options = {"det_limit_side_len": det_long_side, "det_limit_type": "max", "intra_op_num_threads": n,
                   "inter_op_num_threads": 1, "print_verbose": False}
        self._engine = RapidOCR(**options)
        # The second look at small crops runs in its own sessions: feeding the photo's sessions crops of many
        # sizes made their next whole-photo pass about 25 % slower (0.72 -> 0.87 s on the 12-MP bench photo).
        self._board_engine = RapidOCR(**options)

    def recognise(self, crop: np.ndarray) -> tuple[str, float]:
        """Recognition only, on a crop holding one line of text (horizontal)."""
        if crop.size == 0 or min(crop.shape[:2]) < 4:
            return "", 0.0
        result, _ = self._engine(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
        if not result:
            return "", 0.0
        text, score = result[0]
        return str(text), float(score)

    def read_plaque(self, crop: np.ndarray) -> list[tuple[str, float]]:
        """Candidate readings of a plaque crop: as it is, and — for a tall crop — rotated 90° counter-
        clockwise (top-to-bottom text then reads left to right). Best recogniser score first."""
        h, w = crop.shape[:2]
        views = [np.rot90(crop, 1)] if h > 1.6 * w else [crop]
        if 0.6 * w <= h <= 1.6 * w:  # squarish: a 60 × 40 plaque may hold two lines; try the rotation too
            views.append(np.rot90(crop, 1))
        readings = [self.recognise(v) for v in views]
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
                            engine=self._board_engine)
        return [TextLine(ln.text, ln.score, tuple(v / k for v in ln.box), ln.vertical) for ln in lines]

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


def line_groups(lines: list[TextLine]) -> list[list[TextLine]]:
    """Lines that belong to one board: same orientation, boxes touching once grown by about one character
    (the two columns of a long name on a strip, the two lines of a 60 × 40 plaque)."""
    def grown(ln: TextLine) -> tuple[float, float, float, float]:
        x1, y1, x2, y2 = ln.box
        g = 0.7 * min(x2 - x1, y2 - y1)
        return x1 - g, y1 - g, x2 + g, y2 + g

    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    boxes = [grown(ln) for ln in lines]
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            a, b = boxes[i], boxes[j]
            if lines[i].vertical == lines[j].vertical and a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                parent[find(i)] = find(j)
    groups: dict[int, list[TextLine]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(find(i), []).append(ln)
    return list(groups.values())


def group_texts(group: list[TextLine]) -> list[str]:
    """Candidate readings of a group: each line, and the lines joined in the orders a board is read
    (columns right to left or left to right; rows top to bottom)."""
    texts = [ln.text for ln in group]
    if len(group) > 1:
        by_x = sorted(group, key=lambda ln: ln.box[0])
        by_y = sorted(group, key=lambda ln: ln.box[1])
        texts += ["".join(ln.text for ln in by_x), "".join(ln.text for ln in reversed(by_x)),
                  "".join(ln.text for ln in by_y)]
    return texts
