"""The detector's decoding, non-maximum suppression and box mapping on crafted model outputs with known boxes,
its letterbox, and the engine's refusal to run without it (unless OCR-only is asked for)."""

from __future__ import annotations

import numpy as np
import pytest

from audit.errors import AuditError
from audit.signs.detect import CLASS_NAMES, Detector, default_onnx_path, detections_from_output, letterbox
from audit.signs.engine import Engine

NAMES = list(CLASS_NAMES)


def _output(anchors: list[tuple[float, float, float, float, int, float]], n_classes: int = 4) -> np.ndarray:
    """A YOLO output (4 + classes, anchors) from (cx, cy, w, h, class, score) in letterbox pixels."""
    out = np.zeros((4 + n_classes, len(anchors)), dtype=np.float32)
    for j, (cx, cy, w, h, cls, score) in enumerate(anchors):
        out[:4, j] = (cx, cy, w, h)
        out[4 + cls, j] = score
    return out


def test_boxes_map_back_to_the_photo_and_one_nms_runs_across_classes():
    # A 1000 x 500 photo letterboxed to 640: scale 0.64, 320 rows high, 160 rows of padding on top.
    scale, left, top = 0.64, 0, 160
    strip = (128.0, 320.0, 128.0, 256.0, 0, 0.9)    # photo box (100, 50, 300, 450)
    same_board = (130.0, 322.0, 126.0, 250.0, 1, 0.6)  # the same board called a plaque: suppressed
    faint = (500.0, 300.0, 40.0, 40.0, 2, 0.1)       # under the confidence threshold
    honour = (416.0, 256.0, 64.0, 64.0, 3, 0.8)      # photo box (600, 100, 700, 200)
    dets = detections_from_output(_output([honour, strip, same_board, faint]), scale=scale, left=left, top=top,
                                  size=(500, 1000), names=NAMES, conf=0.25, iou=0.5)
    assert [d.cls for d in dets] == ["strip", "honour"]  # left to right
    assert dets[0].box == pytest.approx((100.0, 50.0, 300.0, 450.0), abs=1e-3)
    assert dets[1].box == pytest.approx((600.0, 100.0, 700.0, 200.0), abs=1e-3)
    assert dets[0].conf == pytest.approx(0.9) and dets[1].conf == pytest.approx(0.8)


def test_boxes_are_clipped_to_the_photo_and_nothing_over_threshold_gives_nothing():
    edge = (10.0, 200.0, 60.0, 100.0, 0, 0.7)  # starts 20 px left of the letterbox: x1 < 0 in the photo
    dets = detections_from_output(_output([edge]), scale=1.0, left=0, top=0, size=(400, 640), names=NAMES)
    assert dets[0].box == pytest.approx((0.0, 150.0, 40.0, 250.0), abs=1e-3)
    assert detections_from_output(_output([edge]), scale=1.0, left=0, top=0, size=(400, 640), names=NAMES,
                                  conf=0.8) == []


def test_an_unknown_class_index_is_named_by_its_number():
    dets = detections_from_output(_output([(50, 50, 20, 20, 4, 0.9)], n_classes=5), scale=1.0, left=0, top=0,
                                  size=(100, 100), names=NAMES)
    assert [d.cls for d in dets] == ["4"]


def test_letterbox_keeps_the_aspect_and_pads_with_grey():
    image = np.zeros((500, 1000, 3), dtype=np.uint8)
    blob, scale, left, top = letterbox(image, 640)
    assert blob.shape == (1, 3, 640, 640) and blob.dtype == np.float32
    assert (scale, left, top) == (0.64, 0, 160)
    assert blob[0, :, 0, 0] == pytest.approx([114 / 255] * 3)   # padding
    assert blob[0, :, 320, 320] == pytest.approx([0.0] * 3)      # the photo


def test_the_shipped_engine_has_its_detector():
    assert default_onnx_path().exists(), "models/plaques.onnx is shipped"
    engine = Engine.load()
    assert isinstance(engine.detector, Detector) and engine.detector.names == NAMES


def test_without_the_model_the_engine_refuses_unless_ocr_only_is_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("VILLAGE_AUDIT_MODEL", str(tmp_path / "absent.pt"))
    with pytest.raises(AuditError, match="找不到牌子检测模型.*--no-detector"):
        Engine.load()
    with pytest.raises(AuditError, match="找不到牌子检测模型"):
        Engine.load(model=tmp_path / "absent.onnx")
    assert Engine.load(use_detector=False).detector is None
