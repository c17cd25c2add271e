"""Tests of the synthetic facade generator (audit.model.synth)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.model.synth import CLASS_NAMES, generate_scene, write_scene
from audit.model.synth import catalogue as cat
from audit.model.synth.textures import HELD_OUT_WALLS, TRAIN_WALLS
from audit.signs.fonts import faces_for

FIXTURES = Path(__file__).parent / "fixtures" / "scenes"
SEEDS = list(range(12))


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _labels(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()]


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = write_scene(generate_scene(5), tmp_path / "a", "s")
    b = write_scene(generate_scene(5), tmp_path / "b", "s")
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes()
    c = generate_scene(6)
    assert c.jpeg_bytes() != Path(a[0]).read_bytes()


@pytest.mark.parametrize("held_out", [False, True])
def test_labels_inside_image_and_match_truth(tmp_path: Path, held_out: bool) -> None:
    n_labels = 0
    for seed in SEEDS:
        scene = generate_scene(seed, held_out=held_out)
        jpg, txt, js = write_scene(scene, tmp_path, f"s{seed}")
        truth = json.loads(js.read_text(encoding="utf-8"))
        w, h = _size(jpg)
        assert (w, h) == (truth["image"]["width"], truth["image"]["height"])
        assert max(w, h) == 640
        labels = _labels(txt)
        labelled = [p for p in truth["plaques"] if p["labelled"]]
        assert len(labels) == len(labelled)
        for (c, cx, cy, bw, bh), p in zip(labels, labelled, strict=True):
            assert int(c) == p["yolo_class"] and CLASS_NAMES[int(c)] == p["class_name"]
            assert 0 <= cx - bw / 2 + 1e-6 and cx + bw / 2 <= 1 + 1e-6
            assert 0 <= cy - bh / 2 + 1e-6 and cy + bh / 2 <= 1 + 1e-6
            x1, y1, x2, y2 = p["box"]
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            assert abs(cx * w - (x1 + x2) / 2) < 0.01 and abs(bw * w - (x2 - x1)) < 0.01
            assert abs(cy * h - (y1 + y2) / 2) < 0.01 and abs(bh * h - (y2 - y1)) < 0.01
        n_labels += len(labels)
        assert truth["split"] == ("held_out" if held_out else "train")
        assert truth["village"] in (cat.HELD_OUT_VILLAGES if held_out else cat.TRAIN_VILLAGES)
        assert truth["wall"] in (HELD_OUT_WALLS if held_out else TRAIN_WALLS)
        assert 40 <= truth["jpeg_quality"] <= 95
    assert n_labels > 2 * len(SEEDS)


def test_boxes_match_rendered_boards() -> None:
    """The box of every fully visible board is the bounding box of its projected pixels."""
    checked = 0
    for seed in range(40):
        scene = generate_scene(seed, with_masks=True)
        assert scene.masks is not None
        for k, p in enumerate(scene.truth["plaques"]):
            if not p["labelled"] or p["visible"] < 0.99:
                continue
            ys, xs = np.nonzero(scene.masks == k + 1)
            assert len(xs), (seed, k)
            mask_box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            assert max(abs(a - b) for a, b in zip(mask_box, p["box"], strict=True)) <= 2.0, (seed, k)
            checked += 1
    assert checked > 50


def test_truth_fields_and_rules() -> None:
    specs, townships = cat.load_catalogue()
    ids = {s.id for s in specs}
    assert {"party_org", "militia", "service_centre_sign", "governance_centre"} <= ids
    assert townships
    seen_types: set[str] = set()
    seen_sides: set[str] = set()
    for seed in range(60):
        t = generate_scene(seed).truth
        seen_sides.add(t["side"])
        for p in t["plaques"]:
            seen_types.add(p["type"])
            assert p["type"] in ids or p["type"] == "other_sign"
            if p["type"] in ids:
                spec = next(s for s in specs if s.id == p["type"])
                assert any(cat.fill(pat, t["village"], t["township"]) == p["text"] for pat in spec.patterns)
                if spec.text_colour and "text_colour" not in p["violations"]:
                    assert p["text_colour"] == spec.text_colour
                if spec.placement != t["side"] and not spec.identity_sign:
                    assert "misplaced" in p["violations"]
                if spec.identity_sign:
                    assert p["class_name"] == "identity"
            if p["class_name"] == "strip":
                assert p["shape"] == "vertical_strip"
            for key in ("text", "text_colour", "typeface", "font", "shape", "violations", "box", "size_cm"):
                assert key in p
    assert seen_sides == {"external", "internal"}
    assert len(seen_types) >= 8


def test_the_generator_does_not_read_the_matchers_lexicon() -> None:
    """Fixture truth must not agree with the matcher by construction: the generator's names come from its own
    vocabulary, which paints forms the rules' example patterns do not list."""
    from audit.rules import load_rules

    rules = load_rules()
    specs, _ = cat.load_catalogue()
    painted = {pat for s in specs for pat in s.patterns}
    listed = {pat for p in rules.plaques for pat in p.patterns}
    assert painted - listed  # e.g. {核}村民委员会, {镇}{村}股份经济合作社
    source = (Path(cat.__file__).read_text(encoding="utf-8") + Path(cat.__file__).with_name("scene.py").read_text(
        encoding="utf-8"))
    assert "default.toml" not in source and "load_rules" not in source


def test_village_lists_disjoint_and_held_out_fonts() -> None:
    assert not set(cat.TRAIN_VILLAGES) & set(cat.HELD_OUT_VILLAGES)
    assert not set(TRAIN_WALLS) & set(HELD_OUT_WALLS)
    for typeface in ("song", "hei"):
        train = {f.path for f in faces_for(typeface, False)}
        held = {f.path for f in faces_for(typeface, True)}
        assert not train & held
    assert all(f.typeface == "song" for f in faces_for("song", False))


def test_long_side_and_speed() -> None:
    import time

    t0 = time.perf_counter()
    for seed in range(10):
        generate_scene(100 + seed)
    per_scene = (time.perf_counter() - t0) / 10
    assert per_scene < 0.5  # target < 0.3 s on a laptop core; loose for a busy CI
    big = generate_scene(3, long_side=1280)
    assert max(big.image.shape[:2]) == 1280


def test_fixture_scenes_consistent() -> None:
    jsons = sorted(FIXTURES.glob("*.json"))
    assert 3 <= len(jsons) <= 5
    for js in jsons:
        truth = json.loads(js.read_text(encoding="utf-8"))
        jpg, txt = js.with_suffix(".jpg"), js.with_suffix(".txt")
        assert jpg.stat().st_size < 200_000
        assert _size(jpg) == (truth["image"]["width"], truth["image"]["height"])
        assert len(_labels(txt)) == sum(p["labelled"] for p in truth["plaques"]) > 0
