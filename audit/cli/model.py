"""``audit train`` and ``audit eval-model``: plain functions with typer-style annotations.

Registered in :mod:`audit.cli.main`. Nothing heavy is imported at module import time. Both need the training
stack, which the runtime install leaves out (``pip install '.[train]'``): without it they stop with a message
naming the extra and the missing packages, before any work.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

TRAIN_EXTRA = "pip install '.[train]'（或 make test）"


def require_training(*modules: str) -> None:
    """Stop with a one-line message (exit code 2) when a package of the ``train`` extra is not installed."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        typer.echo(f"此命令需要训练依赖（缺少 {'、'.join(missing)}）：{TRAIN_EXTRA}", err=True)
        raise typer.Exit(2)


def train(
    out_dir: Annotated[Path, typer.Option(help="Run folder (weights in OUT_DIR/weights).")] = Path(".cache/train/plaques"),
    data_dir: Annotated[Path | None, typer.Option(help="Dataset folder: the synthetic one (generated when missing; "
                                                       "default .cache/synth_train) or, with --real, the mixed one "
                                                       "(rebuilt; default .cache/finetune_data).")] = None,
    real: Annotated[list[Path] | None, typer.Option(help="A folder of `audit export-dataset` (a county's reviewed "
                                                         "photos); repeat for several. The run then fine-tunes on "
                                                         "them mixed with synthetic scenes and validates on them "
                                                         "alone.")] = None,
    synthetic_per_real: Annotated[float, typer.Option(help="With --real: synthetic scenes per real training photo "
                                                           "(half with randomised board designs).")] = 1.0,
    n: Annotated[int, typer.Option(help="Scenes to generate (train + val).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the scenes and of training.")] = 0,
    val_fraction: Annotated[float, typer.Option(help="Share of the scenes used for validation.")] = 0.1,
    long_side: Annotated[int, typer.Option(help="Long side of the generated photos (px).")] = 640,
    randomised_fraction: Annotated[float, typer.Option(help="Share of generated scenes with randomised board "
                                                            "designs (domain randomisation).")] = 0.0,
    jobs: Annotated[int, typer.Option(help="Processes that generate the scenes.")] = 1,
    imgsz: Annotated[int, typer.Option(help="Network input size.")] = 480,
    epochs: Annotated[int, typer.Option(help="Epochs (ignored when --hours is given).")] = 30,
    hours: Annotated[float | None, typer.Option(help="Wall-time budget in hours.")] = None,
    batch: Annotated[int, typer.Option(help="Batch size.")] = 16,
    model_yaml: Annotated[str, typer.Option(help="Architecture yaml.")] = "yolo11n.yaml",
    resume: Annotated[bool, typer.Option(help="Resume from OUT_DIR/weights/last.pt when present.")] = True,
    init_weights: Annotated[
        Path | None, typer.Option(help="Start from these weights with a fresh schedule (a finished run, or models/plaques.pt).")
    ] = None,
    lr0: Annotated[float | None, typer.Option(help="Initial learning rate (AdamW); default: Ultralytics' choice.")] = None,
    ship: Annotated[bool, typer.Option(help="Copy the stripped weights to models/plaques.pt and export ONNX.")] = False,
) -> None:
    """Train the plaque detector on CPU: on synthetic scenes (generated when missing) or, with --real, on a
    county's reviewed photos (audit export-dataset) mixed with synthetic scenes."""
    require_training("torch", "ultralytics", "onnx", "onnxslim", "skimage")
    from audit.model import training

    if real:
        from audit.errors import AuditError

        data_dir = data_dir or Path(".cache/finetune_data")
        try:
            data_yaml = training.dataset_from_reviewed(real, data_dir, synthetic_per_real=synthetic_per_real, seed=seed,
                                                       long_side=long_side, jobs=jobs)
        except AuditError as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(2) from None
        meta = json.loads((data_dir / "dataset.json").read_text(encoding="utf-8"))
        typer.echo(f"real photos: {meta['real_train']} to train on, {meta['real_val']} to validate on; "
                   f"synthetic scenes: {meta['synthetic_train']} ({data_dir})")
    else:
        data_dir = data_dir or Path(".cache/synth_train")
        data_yaml = data_dir / "data.yaml"
    if not data_yaml.exists():
        typer.echo(f"generating {n} scenes in {data_dir} ...")
        data_yaml = training.dataset_from_synth(data_dir, n=n, seed=seed, val_fraction=val_fraction, long_side=long_side,
                                                randomised_fraction=randomised_fraction, jobs=jobs)
    weights = training.train(
        data_yaml,
        out_dir,
        model_yaml=model_yaml,
        imgsz=imgsz,
        epochs=epochs,
        time_hours=hours,
        batch=batch,
        seed=seed,
        resume=resume,
        init_weights=init_weights,
        lr0=lr0,
    )
    typer.echo(f"weights: {weights}")
    if ship:
        dest = training.finalize(out_dir)
        onnx = training.export_onnx(dest, imgsz=imgsz)
        typer.echo(f"shipped: {dest} and {onnx}")


def eval_model(
    weights: Annotated[Path | None, typer.Option(help="Model (default models/plaques.onnx; --pt: plaques.pt).")] = None,
    pt: Annotated[bool, typer.Option("--pt", help="Score the .pt weights through Ultralytics instead of the shipped "
                                                  "ONNX path the engine runs.")] = False,
    n: Annotated[int, typer.Option(help="Held-out scenes.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the held-out scenes.")] = 10_000_000,
    imgsz: Annotated[int, typer.Option(help="Network input size (Ultralytics path).")] = 480,
    conf: Annotated[float, typer.Option(help="Confidence threshold of the merged-class box figures.")] = 0.25,
    data_dir: Annotated[Path | None, typer.Option(help="Held-out dataset folder.")] = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write the figures to this JSON file.")] = None,
    card: Annotated[Path | None, typer.Option(help="Rewrite the held-out section of this model card with the figures.")] = None,
    randomised: Annotated[bool, typer.Option(
        "--randomised", help="Held-out scenes with randomised board designs (not with --card: the card's block is the "
                             "plain set).")] = False,
) -> None:
    """Evaluate the plaque detector on held-out synthetic scenes (unseen names, walls and fonts): by default the
    shipped ONNX model through the engine's own detector code."""
    # The held-out scenes are drawn by the synthetic generator (scikit-image textures); --pt runs Ultralytics.
    require_training(*(("skimage", "torch", "ultralytics") if pt else ("skimage",)))
    from audit.model import training

    if card is not None and randomised:
        raise typer.BadParameter("--card takes the figures of the plain held-out set; drop --randomised")
    res = training.evaluate(weights, data_dir=data_dir, n=n, seed=seed, imgsz=imgsz, conf=conf, shipped=not pt,
                            randomised=randomised)
    if json_out is not None:
        json_out.write_text(json.dumps(res, indent=1), encoding="utf-8")
    if card is not None:
        training.write_card_section(card, res, command=f"audit eval-model --n {n} --seed {seed}"
                                    + (" --pt" if pt else "") + f" --card {card}")
