"""Tests of the shipped plaque detector (models/plaques.pt, .onnx) and of the training code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audit import settings
from audit.model.synth import CLASS_NAMES
from audit.model.training import match_boxes

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
FIXTURES = Path(__file__).parent / "fixtures" / "scenes"
IMGSZ = 480


def _yolo(path: Path):  # noqa: ANN202 - ultralytics type
    settings.configure_ultralytics()
    from ultralytics import YOLO

    return YOLO(str(path))


def test_match_boxes() -> None:
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 40]], float)
    pred = np.array([[1, 1, 10, 10], [0, 0, 10, 10], [21, 22, 30, 40], [50, 50, 60, 60]], float)
    conf = np.array([0.5, 0.9, 0.8, 0.7])
    assert match_boxes(pred, conf, gt, 0.5) == 2
    assert match_boxes(pred[:0], conf[:0], gt) == 0
    assert match_boxes(pred[3:], conf[3:], gt) == 0


def test_unmatched_cause() -> None:
    from audit.model.training import unmatched_cause

    gt = np.array([[0, 0, 10, 40], [20, 0, 30, 40]], float)
    hidden = np.array([[100, 100, 110, 140]], float)
    assert unmatched_cause(np.array([0, 0, 10, 15.0]), gt, hidden) == "part of a labelled board"
    assert unmatched_cause(np.array([-2, -2, 32, 42.0]), gt, hidden) == "several boards"
    assert unmatched_cause(np.array([101, 102, 110, 140.0]), gt, hidden) == "unlabelled board"
    assert unmatched_cause(np.array([200, 200, 240, 220.0]), gt, hidden) == "background"
    assert unmatched_cause(np.array([200, 200, 240, 220.0]), gt[:0], hidden[:0]) == "background"


def test_no_ultralytics_at_import() -> None:
    code = "import sys, audit.cli.model, audit.model.training; assert 'ultralytics' not in sys.modules, 'imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def _thousands(seconds: float) -> str:
    """Whole seconds as the card writes them: ``6 698``."""
    return f"{round(seconds):,}".replace(",", " ")


def test_shipped_files() -> None:
    pt = MODELS / "plaques.pt"
    assert pt.exists() and pt.stat().st_size <= 15 * 1024 * 1024
    assert (MODELS / "plaques.onnx").exists()
    recipe = json.loads((MODELS / "train_recipe.json").read_text(encoding="utf-8"))
    assert recipe["classes"] == list(CLASS_NAMES)
    assert isinstance(recipe["seed"], int)
    assert recipe["wall_time_s_total"] == pytest.approx(sum(run["wall_time_s"] for run in recipe["runs"]))


def test_recipe_starts_from_the_yaml_or_our_own_weights() -> None:
    """From scratch: the first run builds the model from the yaml; every later run starts from our own earlier
    weights, recorded by SHA-256 — never from downloaded pretrained weights. No run is left unchecked."""
    recipe = json.loads((MODELS / "train_recipe.json").read_text(encoding="utf-8"))
    assert recipe["model_yaml"] == "yolo11n.yaml"
    first, *later = recipe["runs"]
    assert first["train_args"]["pretrained"] is False and "init_weights" not in first
    stages = [run["stage"] for run in recipe["runs"]]
    assert stages == list(range(1, len(stages) + 1)) and len(stages) >= 2  # the shipped weights are the last's
    # a run that was not shipped (it lost to the weights shipped) is recorded too and held to the same rule
    for run in later + recipe.get("runs_not_shipped", []):
        # Ultralytics' `pretrained` may also be a path to weights: only True (load the model given) is ours
        assert run["train_args"]["pretrained"] is True, run["stage"]
        start = run["init_weights"]
        assert re.fullmatch(r"[0-9a-f]{64}", start["sha256"]), start
        assert "yolo" not in start["path"].lower(), start
        # our own weights: a run folder of ours, or an earlier stage's shipped file (its SHA-256 recorded there)
        shipped_before = {r.get("shipped_sha256") for r in recipe["runs"] if r["stage"] < run["stage"]}
        assert ".cache/train/" in start["path"] or start["sha256"] in shipped_before, start
    assert recipe["train_args"] == recipe["runs"][-1]["train_args"]  # the summary is the shipped run's


def test_model_card_states_the_recipe() -> None:
    """The card's account of the training is the recipe's: architecture and Ultralytics version, each stage's
    wall time and start, the starting weights' SHA-256 and the total (a retrained model with an old card fails).
    The held-out figures are the eval-model command's to write (``audit eval-model --card``)."""
    recipe = json.loads((MODELS / "train_recipe.json").read_text(encoding="utf-8"))
    card = (MODELS / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"`{recipe['model_yaml']}` (Ultralytics {recipe['ultralytics']})" in card
    for run in recipe["runs"]:
        assert f"**{_thousands(run['wall_time_s'])} s (" in card, run["stage"]
        assert run["started_utc"].replace("T", " ").rstrip("Z") + " UTC" in card, run["stage"]
        if "init_weights" in run:
            assert f"SHA-256 `{run['init_weights']['sha256'][:12]}…`" in card
    assert f"Total training time of the shipped weights: {_thousands(recipe['wall_time_s_total'])} s" in card


@pytest.mark.usefixtures("no_network")
def test_model_finds_plaques_offline() -> None:
    """The shipped model loads with the network refused and finds the fixture boards with their classes."""
    model = _yolo(MODELS / "plaques.pt")
    assert [model.names[i] for i in sorted(model.names)] == list(CLASS_NAMES)
    n_gt = n_found = n_right_class = 0
    for js in sorted(FIXTURES.glob("*.json")):
        truth = json.loads(js.read_text(encoding="utf-8"))
        res = model.predict(str(js.with_suffix(".jpg")), imgsz=IMGSZ, conf=0.25, device="cpu", verbose=False)[0]
        pb = res.boxes.xyxy.numpy()
        pc = res.boxes.cls.numpy().astype(int)
        for p in truth["plaques"]:
            if not p["labelled"]:
                continue
            n_gt += 1
            if len(pb) == 0:
                continue
            g = np.asarray(p["box"], float)
            x1 = np.maximum(pb[:, 0], g[0])
            y1 = np.maximum(pb[:, 1], g[1])
            x2 = np.minimum(pb[:, 2], g[2])
            y2 = np.minimum(pb[:, 3], g[3])
            inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
            union = (pb[:, 2] - pb[:, 0]) * (pb[:, 3] - pb[:, 1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter
            iou = inter / union
            j = int(np.argmax(iou))
            if iou[j] >= 0.5:
                n_found += 1
                n_right_class += int(pc[j] == p["yolo_class"])
    assert n_gt >= 20
    assert n_found / n_gt >= 0.6, (n_found, n_gt)
    assert n_right_class / max(n_found, 1) >= 0.8, (n_right_class, n_found)


def test_onnx_runs() -> None:
    import onnxruntime as ort  # the app's runtime: a broken install must fail here, not skip

    sess = ort.InferenceSession(str(MODELS / "plaques.onnx"), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.zeros((1, 3, IMGSZ, IMGSZ), np.float32)
    out = sess.run(None, {inp.name: x})[0]
    assert out.shape[0] == 1 and out.shape[1] == 4 + len(CLASS_NAMES)


@pytest.mark.slow
def test_training_smoke(tmp_path: Path) -> None:
    """One epoch on four tiny scenes: weights, recipe, stripped copy and evaluation dict."""
    from audit.model import training

    data = training.dataset_from_synth(tmp_path / "ds", n=5, seed=3, val_fraction=0.2, long_side=256)
    assert len(list((tmp_path / "ds" / "images" / "train").glob("*.jpg"))) == 4
    weights = training.train(data, tmp_path / "run", imgsz=128, epochs=1, batch=4, seed=1, resume=False)
    assert weights.exists()
    recipe = json.loads((weights.parent / "train_recipe.json").read_text(encoding="utf-8"))
    assert recipe["seed"] == 1 and recipe["runs"][-1]["wall_time_s"] > 0
    shipped = training.finalize(tmp_path / "run", tmp_path / "out" / "p.pt")
    assert shipped.stat().st_size <= 15 * 1024 * 1024
    # the freshly trained .pt through Ultralytics (the shipped ONNX path is tested in test_model_paths)
    res = training.evaluate(shipped, data_dir=tmp_path / "ho", n=3, imgsz=128, long_side=256, shipped=False,
                            verbose=False)
    assert res["path"] == "pt" and res["n_images"] == 3 and 0.0 <= res["box_recall"] <= 1.0
    assert set(res) >= {"map50", "map50_95", "per_class", "box_precision"}


def test_average_weights(tmp_path: Path) -> None:
    """Interpolating the shipped weights with themselves gives them back; alpha outside [0, 1] is refused."""
    import torch

    from audit.model.training import average_weights

    pt = MODELS / "plaques.pt"
    out = average_weights(pt, pt, tmp_path / "avg.pt", alpha=0.5)
    a = torch.load(str(pt), map_location="cpu", weights_only=False)["model"].float().state_dict()
    got = torch.load(str(out), map_location="cpu", weights_only=False)
    b = got["model"].float().state_dict()
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    assert got["averaged"]["alpha"] == 0.5 and got["averaged"]["a_sha256"] == got["averaged"]["b_sha256"]
    with pytest.raises(ValueError, match="alpha should be between 0 and 1"):
        average_weights(pt, pt, tmp_path / "x.pt", alpha=1.5)


def test_loading_ultralytics_leaves_pillow_alone():
    """Ultralytics replaces PIL.Image.open when imported; the engine's intake in the same process (eval-model, the
    CLI) must keep Pillow's own. A fresh interpreter: the import happens once per process."""
    import subprocess
    import sys

    code = ("from PIL import Image; pillow = Image.open; from audit.model.training import _ultralytics; "
            "_ultralytics(); import ultralytics.utils.patches; assert Image.open is pillow, Image.open")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
