"""Train, evaluate and export the plaque detector on synthetic scenes (offline, CPU).

Classes are visual kinds (see :data:`audit.model.synth.CLASS_NAMES`): ``strip`` (vertical strip), ``plaque``
(horizontal white plaque), ``identity`` (identity signboard), ``honour`` (honour plaque or other coloured
board). The plaque's type is read later by OCR. Ultralytics is imported inside the functions, after
:func:`audit.settings.configure_ultralytics`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from audit import settings
from audit.model.synth import CLASS_NAMES, generate_scene, write_scene

DEFAULT_IMGSZ = 480
DEFAULT_MODEL_YAML = "yolo11n.yaml"
HELD_OUT_SEED = 10_000_000
VAL_SEED_OFFSET = 5_000_000


def _ultralytics() -> Any:
    settings.configure_ultralytics()
    from PIL import Image

    pil_open = Image.open
    import ultralytics

    # Ultralytics replaces PIL.Image.open for the whole process (to install pi-heif on an unidentified file, which
    # offline fails as ModuleNotFoundError): the engine's intake in the same process must keep Pillow's own.
    Image.open = pil_open
    return ultralytics


def write_data_yaml(root: Path, *, train: str | None, val: str) -> Path:
    """Write ``data.yaml`` for an Ultralytics dataset under ``root`` (ASCII class names)."""
    lines = [f"path: {root.resolve()}"]
    lines.append(f"train: {train or val}")
    lines.append(f"val: {val}")
    lines.append("names:")
    lines += [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    path = root / "data.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dataset_from_synth(
    out_dir: Path | str,
    *,
    n: int,
    seed: int,
    val_fraction: float = 0.1,
    long_side: int = 640,
    held_out: bool = False,
    internal_fraction: float | None = None,
    randomised_fraction: float = 0.0,
    jobs: int = 1,
) -> Path:
    """Write an Ultralytics dataset of synthetic scenes.

    Parameters
    ----------
    out_dir : path
        Dataset root; ``images/{train,val}``, ``labels/{train,val}``, ``truth/{train,val}`` (JSON) and
        ``data.yaml`` are written there.
    n : int
        Number of scenes (train + val).
    seed : int
        Scene ``i`` of the training part uses seed ``seed + i``; validation scenes use
        ``seed + VAL_SEED_OFFSET + i``, so the two parts never share a scene.
    val_fraction : float
        Share of the scenes in ``val`` (at least one scene). With ``held_out=True`` all scenes go to ``val``.
    long_side : int
        Long side of the photos in pixels.
    held_out : bool
        Held-out scenes (village names, wall textures and fonts never used in training).
    internal_fraction : float, optional
        Force this share of internal (hall) scenes; by default the generator's own mix (about 20 %).
    randomised_fraction : float
        Share of the scenes drawn with domain randomisation (``generate_scene(..., randomise=True)``); which
        scenes depends only on their seed. The others are the first generator's scenes.
    jobs : int
        Processes that draw the scenes (the files do not depend on it).

    Returns
    -------
    Path
        The ``data.yaml`` file.
    """
    root = Path(out_dir)
    n_val = n if held_out else max(1, int(round(n * val_fraction)))
    n_train = n - n_val
    rng = np.random.default_rng(seed)
    parts = [("train", n_train, seed), ("val", n_val, seed + (0 if held_out else VAL_SEED_OFFSET))]
    tasks: list[tuple[int, str | None, bool, str]] = []
    for split, count, base in parts:
        for i in range(count):
            side = None
            if internal_fraction is not None:
                side = "internal" if rng.random() < internal_fraction else "external"
            s = base + i
            randomise = bool(np.random.default_rng([s, 13]).random() < randomised_fraction)
            tasks.append((s, side, randomise, split))
    job = _SceneJob(root, long_side, held_out)
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(job, tasks, chunksize=16))
    else:
        for t in tasks:
            job(t)
    meta = {
        "n_train": n_train,
        "n_val": n_val,
        "seed": seed,
        "long_side": long_side,
        "held_out": held_out,
        "classes": list(CLASS_NAMES),
        "generator": "audit.model.synth v1" if randomised_fraction == 0 else "audit.model.synth v2",
        "randomised_fraction": randomised_fraction,
        "randomised_scenes": sum(t[2] for t in tasks),
    }
    (root / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return write_data_yaml(root, train=None if held_out else "images/train", val="images/val")


REAL_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")  # what the export writes, and Ultralytics reads


def _real_photos(folder: Path) -> list[tuple[Path, list[str]]]:
    """The photos of an ``audit export-dataset`` folder with their label lines, checked: the folder's ``data.yaml``
    names the detector's classes in its order, every photo has a label file (empty for a photo without boards) and
    every line is ``class cx cy w h`` with a known class and coordinates in [0, 1]. Errors name the file and line."""
    import yaml  # Ultralytics' own dependency: there whenever a model can be trained

    from audit.errors import AuditError

    data_yaml = folder / "data.yaml"
    if not data_yaml.is_file():
        raise AuditError(f"{folder}：不是导出的数据集（缺少 data.yaml；请用 audit export-dataset 导出）")
    try:
        names = (yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}).get("names")
    except (yaml.YAMLError, AttributeError) as exc:
        raise AuditError(f"{data_yaml}：无法读取（{' '.join(str(exc).split())}）") from None
    names = [names[k] for k in sorted(names)] if isinstance(names, dict) else names
    if names != list(CLASS_NAMES):
        raise AuditError(f"{data_yaml}：类别为 {names}，检测模型的类别是 {list(CLASS_NAMES)}（须同名同序）")
    images = sorted(f for f in (folder / "images").glob("*") if f.is_file())
    out = []
    for image in images:
        if image.suffix.lower() not in REAL_IMAGE_SUFFIXES:  # never skipped without a word
            raise AuditError(f"{image}：不支持的图片格式（可用 {'、'.join(REAL_IMAGE_SUFFIXES)}）")
        label = folder / "labels" / f"{image.stem}.txt"
        if not label.is_file():
            raise AuditError(f"{label}：照片 {image.name} 没有标注文件")
        lines = [ln.strip() for ln in label.read_text(encoding="ascii", errors="replace").splitlines() if ln.strip()]
        for i, ln in enumerate(lines, 1):
            parts = ln.split()
            try:
                ok = (len(parts) == 5 and 0 <= int(parts[0]) < len(CLASS_NAMES)
                      and all(0.0 <= float(v) <= 1.0 for v in parts[1:]))
            except ValueError:
                ok = False
            if not ok:
                raise AuditError(f"{label} 第 {i} 行：「{ln}」不是「类别 cx cy w h」（类别 0–{len(CLASS_NAMES) - 1}，"
                                 "坐标 0–1）")
        out.append((image, lines))
    return out


def dataset_from_reviewed(
    real_dirs: list[Path | str],
    out_dir: Path | str,
    *,
    synthetic_per_real: float = 1.0,
    seed: int = 0,
    val_fraction: float = 0.2,
    long_side: int = 640,
    randomised_fraction: float = 0.5,
    jobs: int = 1,
) -> Path:
    """A fine-tuning dataset from a county's reviewed photos (folders of ``audit export-dataset``) mixed with
    synthetic scenes, so that the detector learns the boards the county really hangs without forgetting the rest.

    Each real photo goes to ``val`` or ``train`` by a hash of its file's bytes (a photo exported twice, or by
    two counties, lands on the same side; nothing the photo's order or name could change); photos are linked,
    not copied, into ``out_dir/real/{split}`` with their labels. ``synthetic_per_real`` synthetic scenes per
    real training photo (``randomised_fraction`` of them with randomised board designs) join the training part
    only: the validation part is the real photos alone, so the run's figures are figures on the county's own
    photos. Needs at least two real photos (one to train on, one to check). Returns ``out_dir/data.yaml``."""
    from audit.errors import AuditError

    root = Path(out_dir)
    photos = [ph for d in real_dirs for ph in _real_photos(Path(d))]
    if len(photos) < 2:
        raise AuditError(f"复核照片只有 {len(photos)} 张：微调至少需要 2 张（训练、验证各一张）")
    digest = {image: hashlib.sha256(image.read_bytes()).hexdigest() for image, _ in photos}
    unique = {digest[image]: (image, lines) for image, lines in photos}  # a photo exported twice counts once
    order = sorted(unique)  # by content: the split does not depend on names or folder order
    val = {h for h in order if int(h[:8], 16) / 0x100000000 < val_fraction}
    if not val:
        val = {order[0]}
    if len(val) == len(order):
        val.discard(order[-1])
    for split in ("train", "val"):
        for sub in ("images", "labels"):
            folder = root / "real" / sub / split
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
    for h in order:
        image, lines = unique[h]
        split = "val" if h in val else "train"
        link = root / "real" / "images" / split / f"{h[:16]}{image.suffix.lower()}"
        link.symlink_to(image.resolve())
        (root / "real" / "labels" / split / f"{h[:16]}.txt").write_text("".join(f"{ln}\n" for ln in lines),
                                                                           encoding="ascii")
    n_train = len(order) - len(val)
    n_synth = int(round(synthetic_per_real * n_train))
    train = ["real/images/train"]
    synth = root / "synthetic"
    if (synth / "dataset.json").is_file():  # scenes of another mix would stay in the folders: start again
        was = json.loads((synth / "dataset.json").read_text(encoding="utf-8"))
        if [was.get(k) for k in ("seed", "long_side", "randomised_fraction")] != [seed, long_side, randomised_fraction] \
                or was.get("n_train", 0) + was.get("n_val", 0) != n_synth:
            shutil.rmtree(synth)
    if n_synth > 0:  # every synthetic scene trains (the generator's own val split included)
        dataset_from_synth(synth, n=n_synth, seed=seed, long_side=long_side,
                           randomised_fraction=randomised_fraction, jobs=jobs)
        train += [f"synthetic/images/{split}" for split in ("train", "val") if (synth / "images" / split).is_dir()]
    elif synth.exists():
        shutil.rmtree(synth)
    meta = {"real_dirs": [str(Path(d).resolve()) for d in real_dirs], "real_train": n_train, "real_val": len(val),
            "synthetic_train": n_synth, "seed": seed, "randomised_fraction": randomised_fraction}
    (root / "dataset.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    lines = [f"path: {root.resolve()}", f"train: [{', '.join(train)}]", "val: real/images/val", "names:"]
    lines += [f"  {i}: {n}" for i, n in enumerate(CLASS_NAMES)]
    (root / "data.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root / "data.yaml"


class _SceneJob:
    """Draw and write one scene (picklable, for a process pool)."""

    def __init__(self, root: Path, long_side: int, held_out: bool) -> None:
        self.root, self.long_side, self.held_out = root, long_side, held_out

    def __call__(self, task: tuple[int, str | None, bool, str]) -> None:
        s, side, randomise, split = task
        if (self.root / "truth" / split / f"scene_{s:08d}.json").exists():  # written last: resume an interrupted run
            return
        scene = generate_scene(s, long_side=self.long_side, held_out=self.held_out, side=side, randomise=randomise)
        write_scene(
            scene,
            self.root / "images" / split,
            f"scene_{s:08d}",
            label_dir=self.root / "labels" / split,
            json_dir=self.root / "truth" / split,
        )


def _hardware() -> dict[str, Any]:
    import torch

    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),  # Ultralytics resets it to the core count for CPU training
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def train(
    data_yaml: Path | str,
    out_dir: Path | str,
    *,
    model_yaml: str = DEFAULT_MODEL_YAML,
    imgsz: int = DEFAULT_IMGSZ,
    epochs: int = 30,
    time_hours: float | None = None,
    batch: int = 16,
    seed: int = 0,
    resume: bool = True,
    workers: int = 0,
    init_weights: Path | str | None = None,
    lr0: float | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Train a YOLO detector from scratch on CPU (no pretrained weights, no network).

    Parameters
    ----------
    data_yaml : path
        Dataset (see :func:`dataset_from_synth`).
    out_dir : path
        Run folder; weights go to ``out_dir/weights`` with ``train_recipe.json`` next to them.
    model_yaml : str
        Architecture yaml known to Ultralytics (``yolo11n.yaml``) or a path.
    imgsz, epochs, batch, seed, workers : int
        Usual Ultralytics settings.
    time_hours : float, optional
        Wall-time budget; Ultralytics then fits the number of epochs (and the LR schedule) to it.
    resume : bool
        Continue from ``out_dir/weights/last.pt`` when it exists.
    init_weights : path, optional
        Start from these weights (a finished run's ``last.pt``, or ``models/plaques.pt`` to fine-tune on real
        photos) with a fresh schedule instead of from the yaml. The weights' SHA-256 goes into the recipe.
    lr0 : float, optional
        Initial learning rate with AdamW (default: Ultralytics' automatic choice). A lower one suits
        ``init_weights``.
    extra : dict, optional
        More Ultralytics training arguments (augmentation...).

    Returns
    -------
    Path
        ``best.pt`` (or ``last.pt`` when there is no best).
    """
    ul = _ultralytics()
    out = Path(out_dir).resolve()
    weights = out / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    recipe_path = weights / "train_recipe.json"
    args: dict[str, Any] = {
        "data": str(Path(data_yaml).resolve()),
        "imgsz": imgsz,
        "epochs": epochs,
        "batch": batch,
        "seed": seed,
        "deterministic": True,
        "workers": workers,
        "device": "cpu",
        "amp": False,
        "pretrained": False,
        "project": str(out.parent),
        "name": out.name,
        "exist_ok": True,
        "plots": False,
        "verbose": True,
        "patience": 1000,
        "mosaic": 0.5,
        "scale": 0.3,
        "close_mosaic": 2,
    }
    if time_hours is not None:
        args["time"] = time_hours
    if init_weights is not None:
        args.update({"pretrained": True, "warmup_epochs": 0.0})
    if lr0 is not None:
        args.update({"optimizer": "AdamW", "lr0": lr0})
    args.update(extra or {})
    last = weights / "last.pt"
    started = time.time()
    recipe: dict[str, Any] = {}
    if recipe_path.exists():
        recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
    data_meta = Path(data_yaml).resolve().parent / "dataset.json"
    recipe.update(
        {
            "model_yaml": model_yaml,
            "classes": list(CLASS_NAMES),
            "train_args": args,
            "dataset": json.loads(data_meta.read_text()) if data_meta.exists() else None,
            "seed": seed,
            "ultralytics": ul.__version__,
            "hardware": _hardware(),
        }
    )
    run: dict[str, Any] = {"started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "resumed": False}
    if init_weights is not None:
        init = Path(init_weights)
        run["init_weights"] = {"path": str(init), "sha256": hashlib.sha256(init.read_bytes()).hexdigest()}
    run["train_args"] = args
    run["dataset"] = recipe["dataset"]
    recipe.setdefault("runs", []).append(run)
    if resume and last.exists():
        recipe["runs"][-1]["resumed"] = True
        recipe_path.write_text(json.dumps(recipe, indent=1), encoding="utf-8")
        model = ul.YOLO(str(last))
        model.train(resume=True)
    else:
        recipe_path.write_text(json.dumps(recipe, indent=1), encoding="utf-8")
        model = ul.YOLO(str(init_weights) if init_weights is not None else model_yaml)
        model.train(**args)
    recipe["runs"][-1]["wall_time_s"] = round(time.time() - started, 1)
    recipe["runs"][-1]["finished_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    recipe["hardware"]["torch_threads_after_training"] = _hardware()["torch_threads"]
    recipe["wall_time_s_total"] = round(sum(r.get("wall_time_s", 0) for r in recipe["runs"]), 1)
    recipe_path.write_text(json.dumps(recipe, indent=1), encoding="utf-8")
    best = weights / "best.pt"
    return best if best.exists() else last


def finalize(run_dir: Path | str, dest: Path | str | None = None, *, use: str = "best") -> Path:
    """Copy a run's weights (optimizer stripped) and recipe to ``models/``.

    Parameters
    ----------
    run_dir : path
        Training run folder (with ``weights/``).
    dest : path, optional
        Destination ``.pt`` (default :func:`audit.settings.model_path`).
    use : {"best", "last"}
        Which checkpoint to ship (falls back to the other one).

    Returns
    -------
    Path
        The shipped weights.
    """
    _ultralytics()
    from ultralytics.utils.torch_utils import strip_optimizer

    weights = Path(run_dir) / "weights"
    order = ["best.pt", "last.pt"] if use == "best" else ["last.pt", "best.pt"]
    src = next((weights / f for f in order if (weights / f).exists()), None)
    if src is None:
        raise FileNotFoundError(f"no best.pt or last.pt in {weights}")
    dest = Path(dest) if dest is not None else settings.model_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp.pt")
    shutil.copy2(src, tmp)
    strip_optimizer(str(tmp))
    tmp.replace(dest)
    recipe = weights / "train_recipe.json"
    if recipe.exists():
        data = json.loads(recipe.read_text(encoding="utf-8"))
        data["shipped_checkpoint"] = src.name
        (dest.parent / "train_recipe.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return dest


def average_weights(a: Path | str, b: Path | str, dest: Path | str, *, alpha: float) -> Path:
    """Interpolate two stripped checkpoints of one architecture: ``alpha * b + (1 - alpha) * a``.

    Weight-space ensembling of a model and its fine-tuned successor ("WiSE-FT", Wortsman et al., *Robust
    fine-tuning of zero-shot models*, CVPR 2022) keeps much of the fine-tuned model's gain on the new data while
    giving back less on the old. Floating-point tensors (weights, batch-norm statistics) are interpolated,
    integer buffers and the metadata come from ``b``; the result is stored in half precision like
    :func:`finalize`'s, with ``averaged`` recording the inputs' SHA-256 and ``alpha``.

    Returns
    -------
    Path
        ``dest``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha should be between 0 and 1, got {alpha} instead")
    _ultralytics()
    import copy

    import torch

    ca = torch.load(str(a), map_location="cpu", weights_only=False)
    cb = torch.load(str(b), map_location="cpu", weights_only=False)
    sa, sb = ca["model"].float().state_dict(), cb["model"].float().state_dict()
    if sa.keys() != sb.keys() or any(sa[k].shape != sb[k].shape for k in sa):
        raise ValueError(f"{a} and {b} are not the same architecture")
    mixed = {k: sa[k] * (1 - alpha) + sb[k] * alpha if sb[k].is_floating_point() else sb[k] for k in sb}
    model = copy.deepcopy(cb["model"]).float()
    model.load_state_dict(mixed)
    out = dict(cb)
    out["model"] = model.half()
    out["averaged"] = {"a_sha256": hashlib.sha256(Path(a).read_bytes()).hexdigest(),
                       "b_sha256": hashlib.sha256(Path(b).read_bytes()).hexdigest(), "alpha": alpha}
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, str(dest))
    return dest


def export_onnx(weights: Path | str, dest: Path | str | None = None, *, imgsz: int = DEFAULT_IMGSZ) -> Path:
    """Export weights to ONNX (simplified with onnxslim), next to the weights by default."""
    ul = _ultralytics()
    weights = Path(weights)
    model = ul.YOLO(str(weights))
    out = Path(model.export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False, device="cpu"))
    dest = Path(dest) if dest is not None else weights.with_suffix(".onnx")
    if out.resolve() != dest.resolve():
        shutil.move(str(out), dest)
    return dest


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``[x1, y1, x2, y2]`` boxes."""
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


def _match(pred: np.ndarray, conf: np.ndarray, gt: np.ndarray, iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching (highest confidence first): flags of the matched ground-truth boxes and of
    the matched predictions."""
    used, hit = np.zeros(len(gt), bool), np.zeros(len(pred), bool)
    if len(pred) == 0 or len(gt) == 0:
        return used, hit
    order = np.argsort(-conf)
    for k, row in zip(order, _iou(pred[order], gt), strict=True):
        row = np.where(used, -1.0, row)
        j = int(np.argmax(row))
        if row[j] >= iou:
            used[j] = hit[k] = True
    return used, hit


def matched_truth(pred: np.ndarray, conf: np.ndarray, gt: np.ndarray, iou: float = 0.5) -> np.ndarray:
    """Greedy one-to-one matching (highest confidence first); flags of the matched ground-truth boxes."""
    return _match(pred, conf, gt, iou)[0]


def match_boxes(pred: np.ndarray, conf: np.ndarray, gt: np.ndarray, iou: float = 0.5) -> int:
    """Number of one-to-one matches at IoU ≥ ``iou`` (see :func:`matched_truth`)."""
    return int(matched_truth(pred, conf, gt, iou).sum())


def unmatched_cause(box: np.ndarray, labelled: np.ndarray, unlabelled: np.ndarray) -> str:
    """Why a prediction matched no labelled board: it covers part of one (or a second box on it), an
    unlabelled board (less than 30 % visible, or tiny), several boards at once, or background (wall texture,
    poster, banner, notice board, shop sign)."""
    def inside(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # share of each box of a inside box b
        ix = np.clip(np.minimum(a[:, 2], b[2]) - np.maximum(a[:, 0], b[0]), 0, None)
        iy = np.clip(np.minimum(a[:, 3], b[3]) - np.maximum(a[:, 1], b[1]), 0, None)
        return ix * iy / np.maximum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), 1e-9)

    if len(labelled) and (inside(labelled, box) > 0.8).sum() >= 2:
        return "several boards"
    if len(labelled) and (_iou(box[None], labelled).max() >= 0.2
                          or max(inside(box[None], g)[0] for g in labelled) > 0.7):
        return "part of a labelled board"
    if len(unlabelled) and _iou(box[None], unlabelled).max() >= 0.2:
        return "unlabelled board"
    return "background"


def _size_bin(box: list[float]) -> str:
    side = min(box[2] - box[0], box[3] - box[1])  # short side of the box, pixels of the photo
    lower = 0
    for limit in (12, 24, 48):
        if side < limit:
            return f"{lower}-{limit}px"
        lower = limit
    return ">=48px"


def evaluate(
    weights: Path | str | None = None,
    *,
    data_dir: Path | str | None = None,
    n: int = 200,
    seed: int = HELD_OUT_SEED,
    imgsz: int = DEFAULT_IMGSZ,
    conf: float = 0.25,
    long_side: int = 640,
    batch: int = 8,
    shipped: bool = True,
    verbose: bool = True,
    randomised: bool = False,
) -> dict[str, Any]:
    """Evaluate the detector on held-out synthetic scenes.

    The held-out scenes use another seed, village names, wall textures and fonts than training. By default
    (``shipped``) the figures measure what the engine runs: ``models/plaques.onnx`` through
    :class:`audit.signs.detect.Detector` (onnxruntime, its letterbox and one NMS across classes); with
    ``shipped=False``, the ``.pt`` weights through Ultralytics. Prints mAP50, mAP50-95, per-class
    precision/recall, and the class-agnostic box recall/precision at IoU ≥ 0.5 (predictions at confidence
    ≥ ``conf``).

    Parameters
    ----------
    weights : path, optional
        Model: the ``.onnx`` file (default beside :func:`audit.settings.model_path`), or with ``shipped=False``
        the ``.pt`` weights (default :func:`audit.settings.model_path`).
    data_dir : path, optional
        Held-out dataset folder (generated there when missing; default ``<cache>/heldout_<seed>_<n>``).
    n, seed, long_side : int
        Held-out set size, seed and photo size.
    imgsz, batch : int
        Inference size and batch of the Ultralytics path (the ONNX file carries its own input size).
    conf : float
        Confidence threshold of the class-agnostic box figures.
    verbose : bool
        Print the figures.
    randomised : bool
        Held-out scenes with randomised board designs (``generate_scene(..., randomise=True)``; default folder
        ``<cache>/heldout_<seed>_<n>_<long_side>_randomised``).

    Returns
    -------
    dict
        ``path`` (``onnx`` or ``pt``), ``map50``, ``map50_95``, ``per_class`` {name: {precision, recall, map50,
        map50_95, instances}}, ``box_recall``, ``box_precision``, ``n_images``, ``n_boxes``, ``n_predictions``,
        ``box_recall_by`` (merged-class recall by class, box size, lighting, side, visibility, yaw) and
        ``unmatched_predictions`` (predictions matching no labelled board, by cause: see :func:`unmatched_cause`).
    """
    suffix = "_randomised" if randomised else ""
    root = Path(data_dir) if data_dir is not None else settings.cache_dir() / f"heldout_{seed}_{n}_{long_side}{suffix}"
    data_yaml = root / "data.yaml"
    if not data_yaml.exists():
        dataset_from_synth(root, n=n, seed=seed, held_out=True, long_side=long_side,
                           randomised_fraction=1.0 if randomised else 0.0)
    truth_dir = root / "truth" / "val"
    images = sorted((root / "images" / "val").glob("*.jpg"))
    truths = {img.stem: json.loads((truth_dir / f"{img.stem}.json").read_text(encoding="utf-8")) for img in images}
    if shipped:
        from PIL import Image

        from audit.signs.detect import Detector, default_onnx_path

        path = Path(weights) if weights is not None else default_onnx_path()
        detector = Detector(path)
        preds = {}
        for img in images:
            with Image.open(img) as im:
                dets = detector.detect(np.asarray(im.convert("RGB")), conf=0.001)
            preds[img.stem] = (np.array([d.box for d in dets], float).reshape(-1, 4),
                               np.array([d.conf for d in dets], float), [CLASS_NAMES.index(d.cls) for d in dets])
        per_class = _ap_per_class(truths, preds)
        map50 = float(np.mean([c["map50"] for c in per_class.values()]))
        map50_95 = float(np.mean([c["map50_95"] for c in per_class.values()]))
        used_imgsz = detector.imgsz
    else:
        ul = _ultralytics()
        path = Path(weights) if weights is not None else settings.model_path()
        model = ul.YOLO(str(path))
        metrics = model.val(data=str(data_yaml), imgsz=imgsz, batch=batch, device="cpu", workers=0, plots=False,
                            verbose=False, split="val", project=str(settings.cache_dir() / "val_runs"),
                            name="heldout", exist_ok=True)
        box = metrics.box
        instances = _instances(truths)
        per_class = {}
        for k, c in enumerate(box.ap_class_index):
            p, r, ap50, ap = box.class_result(k)
            per_class[CLASS_NAMES[int(c)]] = {"precision": float(p), "recall": float(r), "map50": float(ap50),
                                              "map50_95": float(ap), "instances": instances[CLASS_NAMES[int(c)]]}
        map50, map50_95, used_imgsz = float(box.map50), float(box.map), imgsz
        preds = {}
        for i in range(0, len(images), batch):
            chunk = images[i : i + batch]
            for img, res in zip(chunk, model.predict([str(q) for q in chunk], imgsz=imgsz, conf=conf, device="cpu",
                                                     verbose=False), strict=True):
                preds[img.stem] = (res.boxes.xyxy.cpu().numpy().reshape(-1, 4), res.boxes.conf.cpu().numpy().reshape(-1),
                                   [int(c) for c in res.boxes.cls.cpu().numpy().reshape(-1)])
    out = {"path": "onnx" if shipped else "pt", "weights": str(path), "data": str(data_yaml), "n_images": len(images),
           "imgsz": used_imgsz, "conf": conf, "map50": map50, "map50_95": map50_95, "per_class": per_class,
           **_box_figures(truths, preds, conf)}
    if verbose:
        print(format_report(out))
    return out


def _instances(truths: dict[str, dict]) -> dict[str, int]:
    counts = {name: 0 for name in CLASS_NAMES}
    for truth in truths.values():
        for p in truth["plaques"]:
            if p["labelled"]:
                counts[p["class_name"]] += 1
    return counts


def _ap(tp: np.ndarray, conf: np.ndarray, n_gt: int) -> float:
    """Average precision (all-point interpolation) of predictions flagged true/false positive."""
    if n_gt == 0 or len(tp) == 0:
        return 0.0
    order = np.argsort(-conf)
    tps = np.cumsum(tp[order])
    recall = tps / n_gt
    precision = tps / np.arange(1, len(tp) + 1)
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def _ap_per_class(truths: dict[str, dict], preds: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """Per-class AP50, AP50-95 (mean over IoU 0.50:0.05:0.95), and precision/recall at confidence 0.25."""
    instances = _instances(truths)
    out = {}
    for k, name in enumerate(CLASS_NAMES):
        aps = []
        for thr in np.arange(0.5, 0.96, 0.05):
            tp_all, conf_all = [], []
            for stem, truth in truths.items():
                gt = np.array([p["box"] for p in truth["plaques"] if p["labelled"] and p["class_name"] == name],
                              float).reshape(-1, 4)
                boxes, conf, cls = preds[stem]
                mine = np.array([c == k for c in cls], bool)
                _, hit = _match(boxes[mine], conf[mine], gt, float(thr))
                tp_all.append(hit)
                conf_all.append(conf[mine])
            tp, cf = np.concatenate(tp_all) if tp_all else np.zeros(0), np.concatenate(conf_all) if conf_all else np.zeros(0)
            aps.append(_ap(tp.astype(float), cf, instances[name]))
            if abs(thr - 0.5) < 1e-9:
                sure = cf >= 0.25
                precision = float(tp[sure].mean()) if sure.any() else 0.0
                recall = float(tp[sure].sum() / instances[name]) if instances[name] else 0.0
        out[name] = {"precision": precision, "recall": recall, "map50": aps[0], "map50_95": float(np.mean(aps)),
                     "instances": instances[name]}
    return out


def _box_figures(truths: dict[str, dict], preds: dict[str, tuple], conf: float) -> dict[str, Any]:
    """Class-agnostic figures at IoU ≥ 0.5 and confidence ≥ ``conf``: recall and precision, recall by group,
    and the predictions that match no labelled board by cause."""
    n_gt = n_pred = n_match = 0
    groups: dict[str, dict[str, list[int]]] = {}
    unmatched: dict[str, int] = {}

    def count(key: str, value: str, hit: bool) -> None:
        g = groups.setdefault(key, {}).setdefault(value, [0, 0])
        g[0] += int(hit)
        g[1] += 1

    for stem, truth in truths.items():
        labelled = [p for p in truth["plaques"] if p["labelled"]]
        gt = np.array([p["box"] for p in labelled], float).reshape(-1, 4)
        boxes, scores, _ = preds[stem]
        keep = scores >= conf
        pb, pc = boxes[keep], scores[keep]
        hits, pred_hits = _match(pb, pc, gt, 0.5)
        n_gt += len(gt)
        n_pred += len(pb)
        n_match += int(hits.sum())
        hidden = np.array([p["box"] for p in truth["plaques"] if not p["labelled"]
                           and p["box"][2] > p["box"][0] and p["box"][3] > p["box"][1]], float).reshape(-1, 4)
        for pred_box in pb[~pred_hits]:
            cause = unmatched_cause(pred_box, gt, hidden)
            unmatched[cause] = unmatched.get(cause, 0) + 1
        for p, hit in zip(labelled, hits, strict=True):
            count("class", p["class_name"], hit)
            count("size", _size_bin(p["box"]), hit)
            count("lighting", truth["lighting"], hit)
            count("side", truth["side"], hit)
            count("visible", "<0.9" if p["visible"] < 0.9 else ">=0.9", hit)
            yaw = abs(truth["camera"]["yaw_deg"])
            count("yaw", "<20deg" if yaw < 20 else ">=20deg", hit)
    return {
        "n_boxes": n_gt,
        "n_predictions": n_pred,
        "box_recall": n_match / n_gt if n_gt else 0.0,
        "box_precision": n_match / n_pred if n_pred else 0.0,
        "box_recall_by": {k: {v: {"recall": h / t, "boxes": t} for v, (h, t) in sorted(d.items())} for k, d in groups.items()},
        "unmatched_predictions": dict(sorted(unmatched.items(), key=lambda kv: -kv[1])),
    }


CARD_BEGIN = "<!-- eval-model:begin (written by `audit eval-model --card`; do not edit by hand) -->"
CARD_END = "<!-- eval-model:end -->"


def write_card_section(card: Path | str, res: dict[str, Any], *, command: str) -> None:
    """Replace the model card's held-out section (between :data:`CARD_BEGIN` and :data:`CARD_END`, appended when
    absent) with the figures of :func:`evaluate` and the command that produced them."""
    card = Path(card)
    text = card.read_text(encoding="utf-8") if card.exists() else ""
    section = f"{CARD_BEGIN}\nFigures from `{command}`:\n\n```\n{format_report(res)}\n```\n{CARD_END}"
    if CARD_BEGIN in text and CARD_END in text:
        head, rest = text.split(CARD_BEGIN, 1)
        text = head + section + rest.split(CARD_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Held-out figures of the shipped model\n\n" + section + "\n"
    card.write_text(text, encoding="utf-8")


def format_report(res: dict[str, Any]) -> str:
    """Human-readable evaluation figures (as printed by :func:`evaluate`)."""
    lines = [
        f"held-out set: {res['n_images']} images, {res['n_boxes']} labelled boxes ({res['data']})",
        f"weights: {res['weights']} ({'ONNX through the engine' if res.get('path', 'onnx') == 'onnx' else 'Ultralytics .pt'})"
        f"  imgsz={res['imgsz']}",
        f"mAP50 {res['map50']:.3f}   mAP50-95 {res['map50_95']:.3f}",
        f"{'class':<10}{'instances':>10}{'precision':>11}{'recall':>8}{'mAP50':>8}{'mAP50-95':>10}",
    ]
    for name in CLASS_NAMES:
        c = res["per_class"].get(name)
        if c is None:
            lines.append(f"{name:<10}{'-':>10}")
            continue
        lines.append(
            f"{name:<10}{c['instances']:>10}{c['precision']:>11.3f}{c['recall']:>8.3f}{c['map50']:>8.3f}{c['map50_95']:>10.3f}"
        )
    lines.append(
        f"all classes merged, IoU>=0.5, conf>={res['conf']}: box recall {res['box_recall']:.3f}, "
        f"box precision {res['box_precision']:.3f} ({res['n_predictions']} predictions)"
    )
    for key, d in res.get("box_recall_by", {}).items():
        parts = ", ".join(f"{v} {x['recall']:.2f} (n={x['boxes']})" for v, x in d.items())
        lines.append(f"  box recall by {key}: {parts}")
    if res.get("unmatched_predictions"):
        parts = ", ".join(f"{k} {v}" for k, v in res["unmatched_predictions"].items())
        lines.append(f"  unmatched predictions: {parts}")
    return "\n".join(lines)
