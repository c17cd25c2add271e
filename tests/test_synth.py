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


def _boxes_match_masks(scene, seed: int) -> list[dict]:
    """Asserts that the box of every fully visible labelled board is the extent of its projected pixels (within
    2 px); returns those boards."""
    assert scene.masks is not None
    boards = []
    for k, p in enumerate(scene.truth["plaques"]):
        if not p["labelled"] or p["visible"] < 0.99:
            continue
        ys, xs = np.nonzero(scene.masks == k + 1)
        assert len(xs), (seed, k)
        mask_box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert max(abs(a - b) for a, b in zip(mask_box, p["box"], strict=True)) <= 2.0, (seed, k)
        boards.append(p)
    return boards


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
    checked = sum(len(_boxes_match_masks(generate_scene(seed, with_masks=True), seed)) for seed in range(40))
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


def test_long_side() -> None:
    # The generator's speed is a bench figure (bench/signage_bench.py), not a timed test.
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


# ------------------------------------------------------------------- randomised designs (issue 13)
MAGENTA = np.array([255, 0, 255], np.uint8)


def _styled(seed: int):  # noqa: ANN202 - (board, style, ppm)
    from audit.model.synth import designs as ds
    from audit.model.synth.objects import Board

    rng = np.random.default_rng(seed)
    kind = ("official", "honour", "identity", "other")[seed % 4]
    style = ds.random_style(rng, kind)
    aspect = ds.random_aspect(rng)
    area = float(rng.uniform(0.1, 2.0))
    w, h = float(np.sqrt(area * aspect)), float(np.sqrt(area / aspect))
    board = Board(w, h, "white", ["先进基层党组织"], "black", faces_for("song", False)[0], h > 1.6 * w,
                  design="honour" if kind == "honour" else "plain", sub_lines=("某某县委员会", "二〇二三年"),
                  style=style)
    return board, style, float(rng.uniform(60, 400)), rng


def test_labelling_policy_box_is_the_whole_board() -> None:
    """The labelling policy: a board's box is the whole physical board, frame and emblem included. A board of
    every kind of randomised design, rendered on a flat background of a colour no material has, covers
    exactly the rectangle the scene labels: its non-background pixels reach all four edges."""
    from audit.model.synth import designs as ds

    seen = set()
    for seed in range(160):
        board, style, ppm, rng = _styled(seed)
        img = ds.render_styled(board, style, ppm, rng)
        w, h = max(3, round(board.w_m * ppm)), max(3, round(board.h_m * ppm))
        assert img.size == (w, h) and img.mode == "RGBA"
        pad = 10
        bg = Image.new("RGB", (w + 2 * pad, h + 2 * pad), tuple(MAGENTA))
        bg.paste(img, (pad, pad), img)
        ys, xs = np.nonzero(np.any(np.asarray(bg) != MAGENTA, axis=2))
        extent = (xs.min() - pad, ys.min() - pad, xs.max() + 1 - pad, ys.max() + 1 - pad)
        assert max(abs(a - b) for a, b in zip(extent, (0, 0, w, h), strict=True)) <= 1, (seed, style, extent)
        seen |= {style.emblem, f"band_{style.band}"}
    # emblems beside, above and on discs standing out of every edge, bands along every edge, were all checked
    assert seen == set(ds.EMBLEMS) | {f"band_{b}" for b in ds.BANDS}


def test_randomised_boxes_match_rendered_boards() -> None:
    """In randomised scenes too, the box of every fully visible board is the extent of its projected pixels
    (masks from the boards' own opaque pixels, rounded corners and emblem discs included)."""
    boards = [p for seed in range(24)
              for p in _boxes_match_masks(generate_scene(seed, with_masks=True, randomise=True), seed)]
    checked, styled = len(boards), sum("design" in p for p in boards)
    assert checked > 50 and styled > 40


def test_randomised_scenes_vary_and_default_is_unchanged(tmp_path: Path) -> None:
    materials, emblems, classes, negatives, aspects = set(), set(), set(), set(), []
    for seed in range(40):
        t = generate_scene(seed, randomise=True).truth
        assert t["generator"].startswith("audit.model.synth v2")
        negatives |= set(t["unlabelled_objects"])
        for p in t["plaques"]:
            classes.add(p["class_name"])
            if "design" in p:
                materials.add(p["design"]["material"])
                emblems.add(p["design"]["emblem"])
                w, h = p["size_cm"]
                aspects.append(w / h)
            if p["type"] in ("service_centre_sign", "civilisation_station_sign"):
                assert p["class_name"] == "identity"
    assert len(materials) >= 8 and classes == set(CLASS_NAMES)
    assert {"none", "left", "right", "top", "top_out", "left_out", "right_out"} <= emblems
    assert {"poster", "notice_board", "slogan", "banner_v"} <= negatives
    assert min(aspects) < 0.2 and max(aspects) > 4  # tall strips to wide plates
    # randomise=False is the first generator, untouched: same bytes as without the argument
    a, b = generate_scene(7), generate_scene(7, randomise=False)
    assert a.jpeg_bytes() == b.jpeg_bytes() and a.truth == b.truth
    assert a.truth["generator"] == "audit.model.synth v1"


def test_dataset_mixes_randomised_scenes_by_seed(tmp_path: Path) -> None:
    from audit.model.training import dataset_from_synth

    one = dataset_from_synth(tmp_path / "a", n=8, seed=3, val_fraction=0.25, randomised_fraction=0.5)
    two = dataset_from_synth(tmp_path / "b", n=8, seed=3, val_fraction=0.25, randomised_fraction=0.5, jobs=2)
    meta = json.loads((one.parent / "dataset.json").read_text())
    assert meta["randomised_fraction"] == 0.5 and 0 < meta["randomised_scenes"] < 8
    for js in sorted((one.parent / "truth").rglob("*.json")):
        other = two.parent / js.relative_to(one.parent)
        assert js.read_bytes() == other.read_bytes()



def _grey_share(img: Image.Image) -> float:
    """Share of a drawing's ink pixels that are neither paper nor full ink (0 for a one-bit screen bitmap)."""
    a = np.asarray(img.convert("L")).astype(int)
    ink = a < 240
    return float(((a > 30) & ink).sum() / max(int(ink.sum()), 1))


def test_a_fonts_screen_bitmaps_are_not_drawn_on_a_board() -> None:
    """AR PL UMing holds one-pixel-stroke screen bitmaps at 12–16 px, which FreeType (through Pillow) draws
    instead of the outline: a Song then looks like a pixel Hei, which no camera sees on a board. The board renderer
    draws such sizes four times larger and shrinks them, as a photo would; other sizes and fonts as before."""
    from PIL import ImageDraw

    from audit.model.synth.objects import _text_block
    from audit.model.typeface import installed_fonts
    from audit.signs.fonts import FontFace, font, has_bitmap_strike

    if "uming_cn" not in installed_fonts():
        pytest.skip("Debian fonts-arphic-uming is not installed (make system-packages)")
    uming = installed_fonts()["uming_cn"][1]
    assert has_bitmap_strike(uming, 14) and not has_bitmap_strike(uming, 28)
    serif = faces_for("song", False)[0]
    assert not has_bitmap_strike(serif, 14)

    def board(face: FontFace, size: int) -> Image.Image:
        img = Image.new("RGB", (size * 7, size * 2), (246, 246, 242))
        _text_block(ImageDraw.Draw(img), "村民委员会", (0, 0, size * 7, size * 2), face, (20, 20, 22), False,
                    max_size=size)
        return img

    raw = Image.new("L", (14 * 7, 28), 255)
    ImageDraw.Draw(raw).text((0, 0), "村民委员会", font=font(uming, 14), fill=0)
    assert _grey_share(raw) < 0.05  # what Pillow draws by itself: the screen bitmap
    drawn = board(uming, 14)
    assert _grey_share(drawn) > 0.3  # shaded edges, as a photo of the outline
    ink = np.asarray(drawn.convert("L")) < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert 10 <= rows[-1] - rows[0] + 1 <= 15 and 5 * 10 <= cols[-1] - cols[0] + 1 <= 7 * 14  # the same size
    # a font without screen bitmaps is drawn as before, straight from the outline
    direct = Image.new("RGB", (14 * 7, 28), (246, 246, 242))
    draw = ImageDraw.Draw(direct)
    pitch = min(14 * 7 / 5, 14 * 1.12)
    for i, ch in enumerate("村民委员会"):
        draw.text((14 * 7 / 2 - pitch * 5 / 2 + pitch * (i + 0.5), 14), ch, font=font(serif, 14), fill=(20, 20, 22),
                  anchor="mm")
    assert np.array_equal(np.asarray(board(serif, 14)), np.asarray(direct))
