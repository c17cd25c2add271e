"""The plaque detector on boards of designs it has never seen (issue 13): box recall per board kind and per
design family, merged precision, and how whole the identity signboards are boxed.

Photos come from the independent renderer of ``bench/signage_plain.py`` (:func:`signage_plain.detector_scene`:
its own code, fonts, shapes and look-alikes, never used for training). The detector runs as the engine runs
it (``audit.signs.detect.Detector``: the ONNX model, its letterbox, one NMS across classes). Predictions at
confidence ≥ ``--conf`` are matched one-to-one to the labelled boards at IoU ≥ 0.5 whatever the class (OCR
decides the type); precision counts every prediction that matches no board (look-alikes, wall, part of a
board) as false. The identity figure is, for each identity signboard, the best IoU of any prediction with
the whole board (emblem and frame included), then the median.

    .venv/bin/python bench/detector_plain.py --n 200 [--onnx models/plaques.onnx] [--zoom] [--json-out out.json]

Done-when of issue 13: recall ≥ 0.97 for every kind, merged precision ≥ 0.90, identity median IoU ≥ 0.8.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

SEED0 = 30_000_000  # photos of this bench: seeds SEED0 .. SEED0 + n - 1
WEAK = 0.05  # the engine's weak boxes (audit.signs.engine.WEAK_BOX_CONF), which also send the zoom pass to look


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def _match(pred: np.ndarray, conf: np.ndarray, gt: np.ndarray, thr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching, highest confidence first: flags of matched boards and of matched predictions."""
    used, hit = np.zeros(len(gt), bool), np.zeros(len(pred), bool)
    if len(pred) == 0 or len(gt) == 0:
        return used, hit
    order = np.argsort(-conf)
    for k, row in zip(order, _iou(pred[order], gt), strict=True):
        row = np.where(used, -1.0, row)
        j = int(np.argmax(row))
        if row[j] >= thr:
            used[j] = hit[k] = True
    return used, hit


def score(scenes: list[tuple[bytes, list[dict]]], detector, *, conf: float = 0.25,  # noqa: ANN001
          zoom: bool = False) -> dict:
    """Figures of a detector on rendered scenes (see the module docstring); with ``zoom``, as the engine runs it:
    down to its weak boxes with the zoom pass (``Detector.detect(..., zoom=True)``), then those at ``conf``."""
    by_kind: dict[str, list[int]] = {}
    by_family: dict[str, list[int]] = {}
    n_pred = n_hit = 0
    identity_iou: list[float] = []
    identity_by_family: dict[str, list[float]] = {}
    unmatched = {"on part of a board": 0, "over several boards": 0, "off the boards (look-alikes, wall)": 0}
    for data, boards in scenes:
        with Image.open(io.BytesIO(data)) as im:
            dets = detector.detect(np.asarray(im.convert("RGB")), conf=min(conf, WEAK), zoom=True) if zoom \
                else detector.detect(np.asarray(im.convert("RGB")), conf=conf)
        dets = [d for d in dets if d.conf >= conf]
        pred = np.array([d.box for d in dets], float).reshape(-1, 4)
        pc = np.array([d.conf for d in dets], float)
        gt = np.array([b["box"] for b in boards], float).reshape(-1, 4)
        used, hit = _match(pred, pc, gt)
        n_pred += len(pred)
        n_hit += int(hit.sum())
        ious = _iou(gt, pred)
        for j in np.nonzero(~hit)[0]:
            unmatched[_cause(pred[j], gt)] += 1
        for b, ok, row in zip(boards, used, ious, strict=True):
            for table, key in ((by_kind, b["kind"]), (by_family, b["family"])):
                cell = table.setdefault(key, [0, 0])
                cell[0] += int(ok)
                cell[1] += 1
            if b["kind"] == "identity":
                identity_iou.append(float(row.max()) if len(row) else 0.0)
                identity_by_family.setdefault(b["family"], []).append(identity_iou[-1])
    n_boards = sum(t for _, t in by_kind.values())
    return {
        "n_photos": len(scenes),
        "n_boards": n_boards,
        "n_predictions": n_pred,
        "conf": conf,
        "box_recall": sum(h for h, _ in by_kind.values()) / max(1, n_boards),
        "merged_precision": n_hit / max(1, n_pred),
        "recall_by_kind": {k: {"recall": h / t, "boards": t} for k, (h, t) in sorted(by_kind.items())},
        "recall_by_family": {k: {"recall": h / t, "boards": t} for k, (h, t) in sorted(by_family.items())},
        "identity_median_iou": float(np.median(identity_iou)) if identity_iou else 0.0,
        "identity_iou_below_0_8": int(sum(v < 0.8 for v in identity_iou)),
        "identity_median_iou_by_family": {k: float(np.median(v)) for k, v in sorted(identity_by_family.items())},
        "unmatched_predictions": unmatched,
    }


def _cause(box: np.ndarray, gt: np.ndarray) -> str:
    """Where a prediction that matched no board lies."""
    if len(gt) == 0:
        return "off the boards (look-alikes, wall)"
    ix = np.clip(np.minimum(gt[:, 2], box[2]) - np.maximum(gt[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(gt[:, 3], box[3]) - np.maximum(gt[:, 1], box[1]), 0, None)
    inter = ix * iy
    covered = inter / np.maximum((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]), 1e-9)  # share of each board inside
    if (covered > 0.8).sum() >= 2:
        return "over several boards"
    if (inter / max((box[2] - box[0]) * (box[3] - box[1]), 1e-9)).max() > 0.5 or _iou(box[None], gt).max() >= 0.1:
        return "on part of a board"
    return "off the boards (look-alikes, wall)"


def format_figures(res: dict) -> str:
    """The figures as printed."""
    lines = [
        f"independent renderer: {res['n_photos']} photos, {res['n_boards']} boards; model {res.get('model', '?')}",
        f"merged (all classes, IoU>=0.5, conf>={res['conf']}): box recall {res['box_recall']:.3f}, "
        f"precision {res['merged_precision']:.3f} ({res['n_predictions']} predictions)",
        "recall by kind:   " + ", ".join(f"{k} {v['recall']:.3f} (n={v['boards']})" for k, v in res["recall_by_kind"].items()),
        "recall by family: " + ", ".join(f"{k} {v['recall']:.2f} (n={v['boards']})"
                                         for k, v in res["recall_by_family"].items()),
        f"identity boards: median IoU with the whole board {res['identity_median_iou']:.3f} "
        f"({res['identity_iou_below_0_8']} of {res['recall_by_kind'].get('identity', {}).get('boards', 0)} below 0.8); "
        + ", ".join(f"{k} {v:.2f}" for k, v in res["identity_median_iou_by_family"].items()),
        "unmatched predictions: " + ", ".join(f"{k} {v}" for k, v in res["unmatched_predictions"].items()),
    ]
    return "\n".join(lines)


def _scenes(seed: int, n: int, long_side: int, render) -> list[tuple[bytes, list[dict]]]:  # noqa: ANN001
    """Render the photos, or read them back from ``.cache/detector_plain_<seed>_<n>_<long_side>/`` (the renderer
    is deterministic by seed; comparing two models then scores the same files)."""
    folder = Path(".cache") / f"detector_plain_{seed}_{n}_{long_side}"
    truth = folder / "boards.json"
    if truth.exists():
        boards = json.loads(truth.read_text(encoding="utf-8"))
        return [((folder / f"{seed + i}.jpg").read_bytes(), boards[i]) for i in range(n)]
    scenes = [render(seed + i, long_side=long_side) for i in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    for i, (data, _) in enumerate(scenes):
        (folder / f"{seed + i}.jpg").write_bytes(data)
    truth.write_text(json.dumps([b for _, b in scenes]), encoding="utf-8")
    return scenes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED0)
    parser.add_argument("--long-side", type=int, default=1280)
    parser.add_argument("--onnx", type=Path, default=None, help="model (default: the shipped models/plaques.onnx)")
    parser.add_argument("--conf", type=float, default=0.25)
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--zoom", action="store_true", help="with the engine's zoom pass on small boards")
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from signage_plain import detector_scene

    from audit.signs.detect import Detector, default_onnx_path

    t0 = time.perf_counter()
    scenes = _scenes(args.seed, args.n, args.long_side, detector_scene)
    t1 = time.perf_counter()
    path = args.onnx or default_onnx_path()
    res = score(scenes, Detector(path), conf=args.conf, zoom=args.zoom)
    res.update({"model": str(path), "zoom": args.zoom, "seed": args.seed, "long_side": args.long_side,
                "render_s": round(t1 - t0, 1), "detect_s": round(time.perf_counter() - t1, 1)})
    print(format_figures(res))
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(res, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
