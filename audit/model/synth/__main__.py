"""``python -m audit.model.synth OUT --n 10 --seed 0 [--held-out] [--long-side 640] [--side external] [--randomise]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .scene import generate_scene, write_scene


def main(argv: list[str] | None = None) -> None:
    """Write ``n`` scenes (JPEG, YOLO label, JSON truth) to a folder."""
    ap = argparse.ArgumentParser(prog="python -m audit.model.synth", description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--held-out", action="store_true")
    ap.add_argument("--long-side", type=int, default=640)
    ap.add_argument("--side", choices=["external", "internal"], default=None)
    ap.add_argument("--randomise", action="store_true", help="randomised board designs (domain randomisation)")
    a = ap.parse_args(argv)
    for i in range(a.n):
        s = a.seed + i
        scene = generate_scene(s, long_side=a.long_side, held_out=a.held_out, side=a.side, randomise=a.randomise)
        write_scene(scene, a.out, f"scene_{s:06d}")


if __name__ == "__main__":
    main()
