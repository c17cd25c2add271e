"""The plaque detector: the shipped YOLO model's ONNX export, run with onnxruntime.

Ultralytics (and torch) train and export the model; inference uses onnxruntime because importing torch
alone takes seconds on this class of machine, while the ONNX session loads in a fraction of one (see
``bench/signage_bench.py``). Class names and the input size come from the ONNX file's metadata.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audit import settings
from audit.errors import AuditError

CLASS_NAMES: tuple[str, ...] = ("strip", "plaque", "identity", "honour")
"""The detector's classes (visual kinds; the plaque type is read later by OCR). The generator labels its
scenes with them and the dataset export writes them; the shipped ONNX file carries its own copy in metadata."""

# The zoom pass (``Detector.detect(..., zoom=True)``, the engine's call): a board whose box comes to under
# ZOOM_BELOW_PX on its short side in the model's input is small for the model (a 60 × 40 plate a few metres off
# on a 12-MP photo is 6–10 px there; the model card measures recall 0.40 under 12 px), and small boards hang
# together: 60 × 40 plates stacked in columns beside a strip, the two internal plaques one above the other. The
# photo is looked at again around such boxes, enlarged (slicing-aided inference, Akyon et al. 2022, "SAHI"):
# each small box with ZOOM_CONTEXT times its short side around it on every side, overlapping windows joined, a
# window at least the model's input / ZOOM_MAX across (so at most ZOOM_MAX times enlarged) and taken only when
# it enlarges at least ZOOM_MIN times, at most ZOOM_WINDOWS windows a photo (the ones whose small boxes are surest;
# each window costs one more pass of the model, ~45 ms on two cores).
# Seed 270000003 at 4000 px (a 3 × 3 grid of 60 × 40 plates, 35 px on the working image): the whole photo gave
# three boxes, each over two or three plates; the window around them gave each plate its own box at 0.91–0.97.
ZOOM_BELOW_PX = 14.0
ZOOM_CONTEXT = 2.0
ZOOM_MAX = 4.0
ZOOM_MIN = 1.5
ZOOM_WINDOWS = 6
# Enlarged, a wall's stones and tiles look like plates: a window's box is kept only at ZOOM_CONF or surer and lying
# over ZOOM_INSIDE of its area in a small box of the whole image (the zoom looks closer at what the whole photo
# half saw; it finds no board where the whole photo saw none). Seed 270000039 at 4000 px: a stone wall's window
# gave 40 boxes, 14 of them at 0.4–0.85, most of them over no box of the whole photo.
ZOOM_CONF = 0.25
ZOOM_INSIDE = 0.5


@dataclass(frozen=True)
class Detection:
    """One detected board: box ``[x1, y1, x2, y2]`` in pixels of the image given, class name, confidence."""

    box: tuple[float, float, float, float]
    cls: str
    conf: float
    zoomed: bool = False  # found by the zoom pass (ZOOM_BELOW_PX), not by the whole image


def default_onnx_path() -> Path:
    """``models/plaques.onnx`` beside the configured ``.pt`` weights."""
    return settings.model_path().with_suffix(".onnx")


class Detector:
    """A YOLO detector loaded once and reused."""

    def __init__(self, path: str | Path | None = None, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.path = Path(path) if path is not None else default_onnx_path()
        if not self.path.exists():
            raise AuditError(f"找不到牌子检测模型：{self.path}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or settings.threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        meta = self._session.get_modelmeta().custom_metadata_map
        names = ast.literal_eval(meta.get("names", "{}"))
        self.names = [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)
        shape = self._session.get_inputs()[0].shape
        fixed = [d for d in shape[2:] if isinstance(d, int)]
        imgsz = ast.literal_eval(meta["imgsz"]) if "imgsz" in meta else fixed or [640, 640]
        self.imgsz = int(max(imgsz if isinstance(imgsz, list | tuple) else [imgsz]))
        self._input = self._session.get_inputs()[0].name

    def detect(self, image: np.ndarray, *, conf: float = 0.25, iou: float = 0.5, zoom: bool = False) -> list[Detection]:
        """Boxes in ``image`` (RGB uint8, any size): letterboxed to the model's input, NMS across classes; with
        ``zoom``, small boards looked at again enlarged (see :data:`ZOOM_BELOW_PX`, :func:`zoomed`)."""
        first = self._detect(image, conf=conf, iou=iou)
        if not zoom:
            return first
        return zoomed(first, image, self.imgsz, lambda crop: self._detect(crop, conf=conf, iou=iou), iou=iou)

    def _detect(self, image: np.ndarray, *, conf: float, iou: float) -> list[Detection]:
        blob, scale, left, top = letterbox(image, self.imgsz)
        out = self._session.run(None, {self._input: blob})[0][0]  # (4 + classes, anchors)
        return detections_from_output(out, scale=scale, left=left, top=top, size=image.shape[:2], names=self.names,
                                      conf=conf, iou=iou)


Box = tuple[float, float, float, float]


def zoom_windows(small: list[tuple[Box, float]], size: tuple[int, int], imgsz: int) -> list[tuple[int, int, int, int]]:
    """The windows of the zoom pass around the ``small`` boxes (each with its confidence) of an image of ``size``
    (height, width), the ones holding the surest boxes first (see :data:`ZOOM_BELOW_PX`). Surest box first, each
    box's window reaches :data:`ZOOM_CONTEXT` times its short side beyond it; a box already well inside a window
    (half its short side from the window's edges) adds none, and a window overlapping another is joined to it where
    the two together still enlarge :data:`ZOOM_MIN` times."""
    h, w = size
    most = imgsz / ZOOM_MIN   # the largest window, in pixels of the image
    windows: list[list[float]] = []   # x1, y1, x2, y2, summed confidence of the boxes it holds
    for (x1, y1, x2, y2), conf in sorted(small, key=lambda s: -s[1]):
        short = min(x2 - x1, y2 - y1)
        m = short / 2
        holder = next((win for win in windows if win[0] <= x1 - m and win[1] <= y1 - m and x2 + m <= win[2]
                       and y2 + m <= win[3]), None)
        if holder is not None:
            holder[4] += conf
            continue
        c = ZOOM_CONTEXT * short   # the board's scale, whichever way it stands
        g = [max(0.0, x1 - c), max(0.0, y1 - c), min(w, x2 + c), min(h, y2 + c), conf]
        for win in windows:
            union = [min(win[0], g[0]), min(win[1], g[1]), max(win[2], g[2]), max(win[3], g[3])]
            if win[0] < g[2] and g[0] < win[2] and win[1] < g[3] and g[1] < win[3] \
                    and max(union[2] - union[0], union[3] - union[1]) <= most:
                win[:4] = union
                win[4] += conf
                break
        else:
            if max(g[2] - g[0], g[3] - g[1]) <= most:   # a box alone wider than a window: seen whole at its size
                windows.append(g)
    least = imgsz / ZOOM_MAX
    out = []
    for x1, y1, x2, y2, _ in sorted(windows, key=lambda g: -g[4])[:ZOOM_WINDOWS]:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half_w, half_h = max(x2 - x1, least) / 2, max(y2 - y1, least) / 2
        out.append((max(0, int(cx - half_w)), max(0, int(cy - half_h)), min(w, int(np.ceil(cx + half_w))),
                    min(h, int(np.ceil(cy + half_h)))))
    return out


def zoomed(first: list[Detection], image: np.ndarray, imgsz: int, detect, *,  # noqa: ANN001
           iou: float = 0.5) -> list[Detection]:
    """The boxes ``first`` of a whole ``image`` with its small boards looked at again: ``detect(pixels)`` on each
    :func:`zoom_windows` window. A window's box is kept when it is sure (:data:`ZOOM_CONF`) and lies in a small box of
    the whole image that the window holds whole (:data:`ZOOM_INSIDE`; seed 320000037 at 4000 px: a wide identity
    sign, its short side small, reached into a strip's window, which saw a piece of it; the whole image alone sees it
    whole); a small box of the whole image that a kept box lies in is replaced by what the window saw there (two
    plates under one box become two) when it was weak or the window saw two boards or more in it; then one NMS
    across all, surest first, left to right as :meth:`Detector.detect` gives them."""
    h, w = image.shape[:2]
    scale = imgsz / max(h, w)
    small = [d for d in first if min(d.box[2] - d.box[0], d.box[3] - d.box[1]) * scale < ZOOM_BELOW_PX]
    if not small:
        return first

    found: list[tuple[Detection, list[int]]] = []
    for x1, y1, x2, y2 in zoom_windows([(d.box, d.conf) for d in small], (h, w), imgsz):
        for d in detect(image[y1:y2, x1:x2]):
            b = (d.box[0] + x1, d.box[1] + y1, d.box[2] + x1, d.box[3] + y1)
            under = [k for k, s in enumerate(small) if covered(b, s.box) > ZOOM_INSIDE
                     and covered(s.box, (x1, y1, x2, y2)) == 1.0]
            if d.conf >= ZOOM_CONF and under:
                found.append((Detection(b, d.cls, d.conf, zoomed=True), under))
    # A sure box of the whole image that the window sees as one board again keeps its own extent (the window's box
    # of an 18-px strip was 2–4 px tighter on each side and cut the characters it read); it is replaced only when
    # the window sees two boards or more in it (one board seen by two overlapping windows is counted once).
    once = {id(d) for d in nms([d for d, _ in found], iou)}
    found = [(d, under) for d, under in found if id(d) in once]
    count = [sum(k in under for _, under in found) for k in range(len(small))]
    seen: list[Detection] = []
    replaced: set[int] = set()
    for d, under in found:
        if any(small[k].conf < ZOOM_CONF or count[k] >= 2 for k in under):
            seen.append(d)
            replaced.update(under)
    if not seen:
        return first
    kept = [d for d in first if not any(d is small[k] for k in replaced)]
    return nms(kept + seen, iou)


def intersection(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The area two boxes ``[x1, y1, x2, y2]`` share."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box: 1 when one box lies inside the other."""
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return intersection(a, b) / smaller if smaller > 0 else 0.0


def covered(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The share of box ``a``'s area that lies in box ``b``."""
    area = (a[2] - a[0]) * (a[3] - a[1])
    return intersection(a, b) / area if area > 0 else 0.0


def nms(dets: list[Detection], iou: float = 0.5) -> list[Detection]:
    """One non-maximum suppression across classes, surest first; left to right."""
    import cv2

    if not dets:
        return []
    boxes = [[d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]] for d in dets]
    idx = cv2.dnn.NMSBoxes(boxes, [d.conf for d in dets], 0.0, iou)
    return sorted((dets[i] for i in np.asarray(idx).reshape(-1)), key=lambda d: d.box[0])


def letterbox(image: np.ndarray, imgsz: int) -> tuple[np.ndarray, float, int, int]:
    """The model's input: ``image`` scaled to fit ``imgsz`` × ``imgsz`` on grey (114), as Ultralytics letterboxes
    it, as a float32 NCHW blob in [0, 1]; with the scale and the left and top padding to map boxes back."""
    import cv2

    h, w = image.shape[:2]
    s = imgsz / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    canvas = np.full((imgsz, imgsz, 3), 114, dtype=np.uint8)
    top, left = (imgsz - nh) // 2, (imgsz - nw) // 2
    canvas[top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas.transpose(2, 0, 1)[None].astype(np.float32) / 255.0, s, left, top


def detections_from_output(out: np.ndarray, *, scale: float, left: int, top: int, size: tuple[int, int],
                           names: list[str], conf: float = 0.25, iou: float = 0.5) -> list[Detection]:
    """Decode a YOLO output ``(4 + classes, anchors)`` (centre x, centre y, width, height in letterbox pixels, then
    one score per class): boxes over ``conf``, one non-maximum suppression across classes (a board is one board
    whatever its class), mapped back to the image (``size`` = height, width) and clipped to it; left to right."""
    h, w = size
    scores = out[4:]
    cls = scores.argmax(axis=0)
    best = scores[cls, np.arange(scores.shape[1])]
    keep = best >= conf
    if not keep.any():
        return []
    cx, cy, bw, bh = out[:4, keep]
    x1 = (cx - bw / 2 - left) / scale
    y1 = (cy - bh / 2 - top) / scale
    boxes = np.stack([x1, y1, bw / scale, bh / scale], axis=1)
    dets = [Detection((float(bx), float(by), float(bx + bw_), float(by + bh_)), names[c] if c < len(names) else str(c),
                      float(score)) for (bx, by, bw_, bh_), c, score in zip(boxes, cls[keep], best[keep], strict=True)]
    clipped = [Detection((max(0.0, d.box[0]), max(0.0, d.box[1]), min(float(w), d.box[2]), min(float(h), d.box[3])),
                         d.cls, d.conf) for d in nms(dets, iou)]
    return sorted(clipped, key=lambda d: (d.box[0], -d.conf))
