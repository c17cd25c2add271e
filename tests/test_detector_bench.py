"""The independent evaluation renderer for the detector (bench/signage_plain.py) and its bench
(bench/detector_plain.py): truth from the boards' own pixels, kept apart from the training generator."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import detector_plain  # noqa: E402
import signage_plain  # noqa: E402


def test_renderer_shares_nothing_with_the_training_generator() -> None:
    import ast

    tree = ast.parse((BENCH / "signage_plain.py").read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported and not any(m.startswith("audit.model") for m in imported), imported


def test_boards_and_families() -> None:
    seen_kinds, seen_families = set(), set()
    for seed in range(12):
        data, boards = signage_plain.detector_scene(seed, long_side=640)
        again, _ = signage_plain.detector_scene(seed, long_side=640)
        assert data == again  # deterministic
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
        assert max(w, h) == 640
        for b in boards:
            x1, y1, x2, y2 = b["box"]
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
            assert b["family"] in signage_plain.FAMILIES[b["kind"]]
            seen_kinds.add(b["kind"])
            seen_families.add(b["family"])
    assert seen_kinds == set(signage_plain.FAMILIES)
    assert len(seen_families) >= 10


def test_board_pixels_reach_the_edges_of_its_box() -> None:
    """Labelling policy (whole board): every family's opaque pixels reach the four sides of its rectangle, so the
    box from the id mask is the whole board, disc, caps and frame included."""
    import random

    for kind, families in signage_plain.FAMILIES.items():
        for family in families:
            w, h = (60, 300) if kind == "strip" else ((400, 90) if kind == "identity" else (140, 100))
            img = signage_plain._board(family, "测试文字牌子", w, h, random.Random(1))
            ys, xs = np.nonzero(np.asarray(img.getchannel("A")) > 0)
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (0, 0, w, h), family


@dataclass
class _Det:
    box: list[float]
    conf: float


class _Oracle:
    """A detector that returns the truth (and one false box), to check the bench's arithmetic."""

    def __init__(self, scenes: list) -> None:
        self.boxes = [[b["box"] for b in boards] for _, boards in scenes]
        self.i = -1

    def detect(self, image: np.ndarray, *, conf: float = 0.25) -> list[_Det]:
        self.i += 1
        return [_Det(list(b), 0.9) for b in self.boxes[self.i]] + [_Det([0, 0, 5, 5], 0.5)]


def test_score_on_an_oracle() -> None:
    scenes = [signage_plain.detector_scene(s, long_side=640) for s in range(4)]
    res = detector_plain.score(scenes, _Oracle(scenes))
    n = sum(len(b) for _, b in scenes)
    assert res["n_boards"] == n and res["box_recall"] == 1.0
    assert res["merged_precision"] == n / (n + 4)
    assert all(v["recall"] == 1.0 for v in res["recall_by_kind"].values())
    if "identity" in res["recall_by_kind"]:
        assert res["identity_median_iou"] == 1.0
    assert "independent renderer" in detector_plain.format_figures(res)
