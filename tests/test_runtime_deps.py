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
    # mplfonts (107 MB of fonts, with matplotlib) serves the synthetic scenes; the runtime's labels use a system font.
    assert "mplfonts" not in runtime and "mplfonts" in train


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


@pytest.fixture
def fresh_font_caches():
    from audit.signs import annotate, fonts

    fonts.available_faces.cache_clear()
    annotate.label_font.cache_clear()
    yield fonts
    fonts.available_faces.cache_clear()
    annotate.label_font.cache_clear()


def _without_mplfonts(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mplfonts" else real(name, *a))


def test_runtime_labels_take_a_system_cjk_font_without_mplfonts(monkeypatch, tmp_path, fresh_font_caches):
    # The runtime has no mplfonts (the train extra): the annotated photos' labels take a system CJK font, the
    # Regular weight where the system holds several (here the test's own folder, holding mplfonts' Noto Sans CJK).
    fonts = fresh_font_caches
    sans = Path(fonts.available_faces()["sans"].path)
    system = tmp_path / "opentype" / "noto"
    system.mkdir(parents=True)
    for name in ("NotoSansCJK-Black.otf", "NotoSansCJK-Regular.otf"):
        (system / name).symlink_to(sans)
    fonts.available_faces.cache_clear()
    _without_mplfonts(monkeypatch)
    monkeypatch.setattr(fonts, "SYSTEM_FONT_DIRS", (str(tmp_path), str(tmp_path / "absent")))
    faces = fonts.available_faces()
    assert list(faces) == ["sans"] and faces["sans"].path == str(system / "NotoSansCJK-Regular.otf")
    from audit.signs.annotate import label_font

    assert label_font(20).getname()[0] == "Noto Sans CJK SC"
    with pytest.raises(RuntimeError, match="train extra"):
        fonts.faces_for("song", held_out=False)  # the synthetic scenes need mplfonts' Song fonts


def test_no_cjk_font_at_all_names_what_to_install(monkeypatch, tmp_path, fresh_font_caches):
    fonts = fresh_font_caches
    _without_mplfonts(monkeypatch)
    monkeypatch.setattr(fonts, "SYSTEM_FONT_DIRS", (str(tmp_path),))
    with pytest.raises(RuntimeError, match="no CJK font found in .*fonts-wqy-microhei"):
        fonts.available_faces()


def test_with_mplfonts_only_its_files_are_used(fresh_font_caches):
    # The training scenes and the typeface model were made with mplfonts' files: the machine's fonts never mix in.
    fonts = fresh_font_caches
    root = fonts._font_dirs()
    assert len(root) == 1 and root[0].name == "mplfonts"
    assert all(Path(f.path).is_relative_to(root[0]) for f in fonts.available_faces().values())
