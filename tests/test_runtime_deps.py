"""The runtime install (``pip install .``) holds no training stack: the app's library, the engine and the CLI
never import torch or Ultralytics, and the training commands say which extra they need when it is missing."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
TRAINING = ("torch", "torchvision", "ultralytics", "onnx", "onnxslim", "skimage")


def test_runtime_dependencies_leave_the_training_stack_to_the_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {d.split("==")[0].split("[")[0].lower() for d in project["dependencies"]}
    train = {d.split("==")[0].lower() for d in project["optional-dependencies"]["train"]}
    assert not runtime & {"torch", "torchvision", "ultralytics", "onnx", "onnxslim", "scikit-image"}
    assert {"torch", "torchvision", "ultralytics", "onnx", "onnxslim", "scikit-image"} <= train
    assert {"onnxruntime", "rapidocr-onnxruntime", "streamlit", "geopandas"} <= runtime


@pytest.mark.slow
def test_engine_and_cli_import_no_training_stack():
    # A fresh interpreter: loading the engine (detector and reader) and the whole command line.
    code = (
        "import sys\n"
        "import audit.cli.main, audit.signs.batch, audit.records.db\n"
        "from audit.signs.engine import Engine\n"
        "Engine.load()\n"
        f"bad = sorted(m for m in {TRAINING!r} if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


@pytest.mark.parametrize(("args", "missing"), [
    (["train"], "torch"),
    (["eval-model", "--pt"], "ultralytics"),
    (["eval-model"], "skimage"),
])
def test_training_commands_name_the_extra_when_it_is_missing(monkeypatch, args, missing):
    from audit.cli.main import app

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert missing in result.output and ".[train]" in result.output
