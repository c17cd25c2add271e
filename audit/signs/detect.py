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


@dataclass(frozen=True)
class Detection:
    """One detected board: box ``[x1, y1, x2, y2]`` in pixels of the image given, class name, confidence."""

    box: tuple[float, float, float, float]
    cls: str
    conf: float


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

    def detect(self, image: np.ndarray, *, conf: float = 0.25, iou: float = 0.5) -> list[Detection]:
        """Boxes in ``image`` (RGB uint8, any size): letterboxed to the model's input, NMS across classes."""
        blob, scale, left, top = letterbox(image, self.imgsz)
        out = self._session.run(None, {self._input: blob})[0][0]  # (4 + classes, anchors)
        return detections_from_output(out, scale=scale, left=left, top=top, size=image.shape[:2], names=self.names,
                                      conf=conf, iou=iou)


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
    import cv2

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
    idx = cv2.dnn.NMSBoxes(boxes.tolist(), best[keep].tolist(), conf, iou)
    dets = []
    for i in np.asarray(idx).reshape(-1):
        bx, by, bw_, bh_ = boxes[i]
        box = (max(0.0, bx), max(0.0, by), min(float(w), bx + bw_), min(float(h), by + bh_))
        name = names[cls[keep][i]] if cls[keep][i] < len(names) else str(cls[keep][i])
        dets.append(Detection(tuple(float(v) for v in box), name, float(best[keep][i])))
    return sorted(dets, key=lambda d: d.box[0])
