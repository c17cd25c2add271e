"""Fine-tuning on a county's reviewed photos (``audit train --real EXPORT``): the mixed dataset, its checks and a
real (tiny) run. The export folders here have the layout and data.yaml of ``audit export-dataset``
(tests/test_store.py goes through the store itself)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from audit.errors import AuditError
from audit.model.synth import CLASS_NAMES, generate_scene, write_scene
from audit.model.training import dataset_from_reviewed

# Ultralytics (and torch) are imported inside the tests that need them, never at collection: the fuzz slice forks
# children from the pytest process under a 2 GiB data limit, which torch in the parent alone brought close.


def _export(folder: Path, seeds: list[int]) -> Path:
    """An export-dataset folder of held-out generator photos (as a county's reviewed photos would be)."""
    for s in seeds:
        write_scene(generate_scene(s, long_side=256, held_out=True), folder / "images", f"{s:064x}",
                    label_dir=folder / "labels", json_dir=folder / "truth")
    shutil.rmtree(folder / "truth")
    lines = [f"path: {folder.resolve()}", "train: images", "val: images", "names:"]
    lines += [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)] + ['exported_by: "admin"']
    (folder / "data.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    return _export(tmp_path_factory.mktemp("export") / "ds", [20_000_100 + i for i in range(6)])


def _split(root: Path) -> dict[str, dict[str, str]]:
    """Per split, each linked photo's target file name and its label text."""
    out = {}
    for split in ("train", "val"):
        out[split] = {p.resolve().name: (root / "real" / "labels" / split / f"{p.stem}.txt").read_text()
                      for p in (root / "real" / "images" / split).iterdir()}
    return out


def test_reviewed_photos_train_and_validate_and_synthetic_scenes_only_train(county, tmp_path):
    data_yaml = dataset_from_reviewed([county], tmp_path / "mix", synthetic_per_real=0.5, seed=5, long_side=256,
                                      val_fraction=0.34)
    split = _split(tmp_path / "mix")
    assert len(split["train"]) + len(split["val"]) == 6 and split["train"] and split["val"]
    for photos in split.values():  # each photo linked with its own labels
        for name, label in photos.items():
            assert label == (county / "labels" / f"{Path(name).stem}.txt").read_text()
    meta = json.loads((tmp_path / "mix" / "dataset.json").read_text())
    assert meta["synthetic_train"] == round(0.5 * len(split["train"]))
    n_synth = sum(len(list((tmp_path / "mix" / "synthetic" / "images" / s).glob("*.jpg"))) for s in ("train", "val")
                  if (tmp_path / "mix" / "synthetic" / "images" / s).is_dir())
    assert n_synth == meta["synthetic_train"]

    check_det_dataset = pytest.importorskip("ultralytics.data.utils").check_det_dataset

    data = check_det_dataset(str(data_yaml))  # Ultralytics reads the mix: real + synthetic train, real val alone
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    assert str(tmp_path / "mix" / "real" / "images" / "val") == str(Path(data["val"]))
    mix = tmp_path / "mix"
    assert [Path(p) for p in data["train"]] == [mix / "real" / "images" / "train"] + [
        mix / "synthetic" / "images" / s for s in ("train", "val") if (mix / "synthetic" / "images" / s).is_dir()]
    assert any("synthetic" in str(p) for p in data["train"])


def test_the_split_follows_the_photos_not_their_names_and_a_photo_exported_twice_counts_once(county, tmp_path):
    renamed = tmp_path / "renamed"
    shutil.copytree(county, renamed)
    for image in sorted((renamed / "images").iterdir()):
        new = f"z{image.stem[::-1]}"
        image.rename(image.with_name(new + image.suffix))
        (renamed / "labels" / f"{image.stem}.txt").rename(renamed / "labels" / f"{new}.txt")
    dataset_from_reviewed([county], tmp_path / "a", synthetic_per_real=0)
    dataset_from_reviewed([renamed, county], tmp_path / "b", synthetic_per_real=0)
    a, b = _split(tmp_path / "a"), _split(tmp_path / "b")
    assert {s: sorted(v.values()) for s, v in a.items()} == {s: sorted(v.values()) for s, v in b.items()}
    assert sum(len(v) for v in b.values()) == 6
    assert not (tmp_path / "b" / "synthetic").exists()


def test_an_export_that_does_not_fit_the_detector_is_refused_naming_file_and_line(county, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(county, bad)
    label = sorted((bad / "labels").iterdir())[1]
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\n")
    n = len(label.read_text().splitlines())
    with pytest.raises(AuditError, match=rf"{label.name} 第 {n} 行：「7 0.5 0.5 0.1 0.1」"):
        dataset_from_reviewed([bad], tmp_path / "out")
    label.unlink()
    with pytest.raises(AuditError, match=f"{label.name}：照片 .* 没有标注文件"):
        dataset_from_reviewed([bad], tmp_path / "out")
    label.write_text("")  # a photo without boards: a negative example, fine
    (bad / "images" / "notes.heic").write_bytes(b"x")
    with pytest.raises(AuditError, match="notes.heic：不支持的图片格式"):
        dataset_from_reviewed([bad], tmp_path / "out")
    (bad / "images" / "notes.heic").unlink()
    label.unlink()
    with pytest.raises(AuditError, match=f"{label.name}：照片 .* 没有标注文件"):
        dataset_from_reviewed([bad], tmp_path / "out")
    text = (bad / "data.yaml").read_text().replace("0: strip", "0: board")
    (bad / "data.yaml").write_text(text)
    with pytest.raises(AuditError, match="类别为 \\['board', 'plaque', 'identity', 'honour'\\]"):
        dataset_from_reviewed([bad], tmp_path / "out")
    with pytest.raises(AuditError, match="缺少 data.yaml"):
        dataset_from_reviewed([tmp_path], tmp_path / "out")
    one = _export(tmp_path / "one", [20_000_200])
    with pytest.raises(AuditError, match="复核照片只有 1 张"):
        dataset_from_reviewed([one], tmp_path / "out")


@pytest.mark.slow
def test_audit_train_fine_tunes_on_the_county_photos(county, tmp_path):
    pytest.importorskip("ultralytics")
    from typer.testing import CliRunner

    from audit.cli.main import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--real", str(county), "--data-dir", str(tmp_path / "mix"),
                                      "--synthetic-per-real", "0.5", "--long-side", "256", "--imgsz", "128",
                                      "--epochs", "1", "--batch", "4", "--out-dir", str(out), "--no-resume"])
    assert result.exit_code == 0, result.output
    assert "real photos: " in result.output and (out / "weights" / "last.pt").exists()
    recipe = json.loads((out / "weights" / "train_recipe.json").read_text(encoding="utf-8"))
    assert recipe["train_args"]["data"] == str(tmp_path / "mix" / "data.yaml")
    bad = CliRunner().invoke(app, ["train", "--real", str(tmp_path), "--data-dir", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "缺少 data.yaml" in bad.output
