"""Reading text with RapidOCR (PP-OCRv4 ONNX models shipped inside the wheel; no download).

Two uses: recognition only on a plaque's crop (fast: one recogniser pass per orientation), and detection +
recognition over a whole photo and its 90° rotation (vertical plaques read far better rotated), the
second source of plaques next to the YOLO detector.
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
        self._engine = RapidOCR(det_limit_side_len=det_long_side, det_limit_type="max", intra_op_num_threads=n,
                                inter_op_num_threads=1, print_verbose=False)

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

    def lines(self, image: np.ndarray, *, rotated: bool = True, min_score: float = 0.5) -> list[TextLine]:
        """Detect and read every text line in a photo, and in its 90° rotation (vertical text)."""
        out = self._lines(image, vertical=False, min_score=min_score)
        if rotated:
            w = image.shape[1]
            for line in self._lines(np.rot90(image, 1), vertical=True, min_score=min_score):
                # np.rot90(·, 1): a point (x', y') of the rotated image is (w - 1 - y', x') of the original.
                x1, y1, x2, y2 = line.box
                out.append(TextLine(line.text, line.score, (w - y2, x1, w - y1, x2), True))
        return out

    def _lines(self, image: np.ndarray, *, vertical: bool, min_score: float) -> list[TextLine]:
        result, _ = self._engine(np.ascontiguousarray(image))
        lines = []
        for quad, text, score in result or []:
            if float(score) < min_score or not str(text).strip():
                continue
            pts = np.asarray(quad, dtype=float)
            box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
            lines.append(TextLine(str(text), float(score), box, vertical))
        return lines
