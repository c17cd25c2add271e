"""The shipped detector path measured as the engine runs it: ``audit eval-model`` scores models/plaques.onnx
through audit.signs.detect by default; its average precision is checked on hand-made cases, and the ONNX model
and the .pt weights it was exported from find the same boards on the fixture scenes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.model import training
from audit.signs.detect import Detector, default_onnx_path

SCENES = Path(__file__).parent / "fixtures" / "scenes"


def test_average_precision_on_hand_made_rankings():
    # two truths; predictions ranked: hit, miss, hit -> precision 1 at recall 0.5, 2/3 at recall 1
    assert training._ap(np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.7]), 2) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert training._ap(np.array([1.0, 1.0]), np.array([0.9, 0.1]), 2) == pytest.approx(1.0)
    assert training._ap(np.array([0.0, 0.0]), np.array([0.9, 0.8]), 2) == 0.0
    assert training._ap(np.zeros(0), np.zeros(0), 3) == 0.0


def test_eval_figures_come_from_the_onnx_path_and_reach_the_card(tmp_path):
    data = tmp_path / "heldout"
    res = training.evaluate(data_dir=data, n=4, seed=123, verbose=False)
    assert res["path"] == "onnx" and res["weights"].endswith("plaques.onnx")
    assert res["n_images"] == 4 and res["n_boxes"] > 0
    assert 0.0 <= res["box_recall"] <= 1.0 and set(res["per_class"]) == {"strip", "plaque", "identity", "honour"}
    card = tmp_path / "CARD.md"
    card.write_text("# Card\n\nintro\n", encoding="utf-8")
    training.write_card_section(card, res, command="audit eval-model --n 4")
    training.write_card_section(card, res, command="audit eval-model --n 4")  # replaced, not appended twice
    text = card.read_text(encoding="utf-8")
    assert text.count(training.CARD_BEGIN) == 1 and "audit eval-model --n 4" in text
    assert f"box recall {res['box_recall']:.3f}" in text


@pytest.mark.slow
def test_onnx_and_pt_find_the_same_boards_on_the_fixture_scenes():
    from audit import settings

    settings.configure_ultralytics()
    from ultralytics import YOLO

    pt = YOLO(str(settings.model_path()))
    detector = Detector(default_onnx_path())
    compared = 0
    for jpg in sorted(SCENES.glob("*.jpg")):
        image = np.asarray(Image.open(jpg).convert("RGB"))
        truth = [p for p in json.loads(jpg.with_suffix(".json").read_text(encoding="utf-8"))["plaques"] if p["labelled"]]
        assert truth, jpg.name

        def onnx(conf: float, image: np.ndarray = image) -> np.ndarray:
            return np.array([d.box for d in detector.detect(image, conf=conf)], float).reshape(-1, 4)

        def torch(conf: float, image: np.ndarray = image) -> np.ndarray:
            res = pt.predict(image[:, :, ::-1], imgsz=detector.imgsz, conf=conf, device="cpu", verbose=False)[0]
            return res.boxes.xyxy.cpu().numpy().reshape(-1, 4)

        # every confident board (≥ 0.5) one path finds, the other finds (≥ 0.3) in nearly the same place
        for sure, loose in ((onnx(0.5), torch(0.3)), (torch(0.5), onnx(0.3))):
            if len(sure):
                assert len(loose), jpg.name
                assert training._iou(sure, loose).max(axis=1).min() >= 0.9, jpg.name
            compared += len(sure)
    assert compared >= 5
