"""``echolite``: thin click commands that parse options, call the library and print.

Heavy imports (TensorFlow, Keras) happen inside the commands so ``echolite --help`` stays instant.
User errors (``EcholiteError``) print as one line and exit with status 1.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from echolite import __version__
from echolite.cli.clinical import measure
from echolite.cli.data import data
from echolite.cli.evaluation import compare, evaluate
from echolite.cli.study import ablate, cross_evaluate
from echolite.cli.export import export
from echolite.errors import EcholiteError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out of the output

QUICKSTART = {"epochs": 8, "batch_size": 8, "phantom_frames": 96}
"""Defaults when training on the phantom without explicit values: a few minutes on a laptop CPU."""


class EcholiteGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EcholiteError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=EcholiteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="echolite")
def main() -> None:
    """Lightweight cardiac ultrasound segmentation (LV, myocardium, left atrium) in Keras 3."""


for _command in (evaluate, compare, measure, export, data, ablate, cross_evaluate):
    main.add_command(_command)


@main.command()
@click.option("--preset", default="lw-unet", show_default=True, help="Model preset: unet0-3, nnunet, lw-unet, lw-unet-relu.")
@click.option("--data", default="phantom", show_default=True,
              help="'phantom' or a data folder: CAMUS NIfTI/MHD release, PNG export, or images/ + masks/.")
@click.option("--split-file", type=click.Path(path_type=Path),
              help="YAML/JSON with train, val, test patient lists (default: the data's own split, else seeded 80/10/10).")
@click.option("--skip-bad", is_flag=True, help="Skip unreadable or inconsistent frames (listed) instead of stopping.")
@click.option("--epochs", type=int, help=f"Epochs (paper: 100; phantom quickstart: {QUICKSTART['epochs']}).")
@click.option("--batch-size", type=int, help="Batch size (default: the preset's, 32 for lw-unet; phantom quickstart: 8).")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate.")
@click.option("--patience", type=int, default=50, show_default=True, help="Early stopping on validation Dice.")
@click.option("--loss", type=str, help="dice, ce or dice_ce (default: the preset's).")
@click.option("--ds-weight", type=float, default=0.3, show_default=True, help="Weight λ of each deep-supervision loss.")
@click.option("--augment", default="affine", show_default=True,
              help="Augmentation preset: none, affine (Table VII), I-V (Table II), nnunet.")
@click.option("--no-augment", is_flag=True, help="Same as --augment none.")
@click.option("--phantom-frames", type=int, help=f"Frames generated for --data phantom (default {QUICKSTART['phantom_frames']}).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for split, initialisation and augmentation.")
@click.option("--image-size", type=int, default=256, show_default=True, help="Input size in pixels (the paper: 256).")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default runs/PRESET-TIMESTAMP).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last completed epoch.")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]), default="default", show_default=True,
              help="mirrored: train on all visible GPUs (tf.distribute); multi-worker: several machines via TF_CONFIG.")
def train(preset, data, split_file, skip_bad, epochs, batch_size, lr, patience, loss, ds_weight, augment, no_augment, phantom_frames, seed, image_size, out, resume, strategy):
    """Train a model. With no options: the paper's final model (lw-unet) on the built-in phantom."""
    from dataclasses import replace

    from echolite.config import TrainConfig, get_preset

    chosen = get_preset(preset)
    model_config = replace(chosen.model, input_size=image_size)
    quick = data == "phantom"
    if resume and out is None:
        raise EcholiteError("--resume needs --out RUN_DIR (the run to continue)")
    config = TrainConfig(
        preset=preset, data=data,
        epochs=_pick(epochs, QUICKSTART["epochs"] if quick else 100),
        batch_size=_pick(batch_size, QUICKSTART["batch_size"] if quick else chosen.batch_size),
        learning_rate=lr, patience=patience, scheduler=chosen.scheduler, loss=loss or chosen.loss,
        ds_weight=ds_weight, augment="none" if no_augment else augment, seed=seed,
        phantom_frames=_pick(phantom_frames, QUICKSTART["phantom_frames"]),
        split_file=str(split_file) if split_file else None, skip_bad=skip_bad, strategy=strategy,
    )
    out = out or Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}"
    click.echo(f"echolite train: {preset} on {data}, {config.epochs} epochs, batch {config.batch_size}, "
               f"augment {config.augment} -> {out}{' (resuming)' if resume else ''}")

    from echolite.train import train as run_training

    result = run_training(config, out, model_config=model_config, resume=resume, epochs_given=epochs is not None)
    for line in result.skipped:
        click.echo(f"skipped: {line}")
    dice = "  ".join(f"{k} {v:.3f}" for k, v in result.val_dice.items())
    click.echo(f"\nparameters {result.parameters:,}  best epoch {result.best_epoch}/{result.epochs_done}  "
               f"time {result.seconds / 60:.1f} min")
    click.echo(f"validation Dice  {dice}")
    click.echo(f"model: {out / 'model.keras'}")


@main.command()
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for images, masks and preview.")
@click.option("-n", "count", type=int, default=16, show_default=True, help="Number of frames (ED/ES pairs).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=int, default=256, show_default=True, help="Frame size in pixels.")
def phantom(out, count, seed, size):
    """Write synthetic echo frames (img/, ref/ in CAMUS PNG-export layout) and a preview grid."""
    from echolite.data.phantom import make_phantom
    from echolite.data.writers import write_png_export
    from echolite.plots import save_preview_grid

    if count < 1 or size < 32:
        raise EcholiteError(f"need -n >= 1 and --size >= 32, got -n {count}, --size {size}")
    frames = make_phantom(count, seed=seed, size=size)
    write_png_export(frames, out)
    save_preview_grid(frames, out / "preview.png")
    click.echo(f"wrote {count} frames to {out}/img, masks to {out}/ref, preview {out / 'preview.png'}")


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--threads", type=int, default=2, show_default=True, help="TFLite interpreter threads.")
@click.option("--runs", type=int, default=30, show_default=True)
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Also write the rows as JSON.")
@click.option("--image", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Frame for the end-to-end timing (default: a phantom frame at the model's size).")
def bench(models, threads, runs, json_file, image):
    """Latency of Keras float, TFLite fp32 and TFLite int8 in one table (MODELS: run folders or model files)."""
    import json

    from echolite.bench import bench_run

    frame = None
    if image:
        from echolite_edge.runner import read_image

        try:
            frame = read_image(image)
        except ValueError as exc:
            raise EcholiteError(str(exc)) from None
    rows = bench_run(list(models), runs, threads, frame=frame)
    # baselines per run folder: its Keras model, and the same measure of its fp32 export
    keras_ms = {r["source"]: r["mean_ms"] for r in rows if r["kind"].startswith("keras")}
    fp32_ms = {(r["source"], r["kind"]): r["mean_ms"] for r in rows if "fp32" in r["name"]}
    ratio = lambda base, ms: f"{base / ms:>9.2f}x" if base else f"{'-':>10}"  # noqa: E731
    click.echo(f"{'model':<36}{'measure':<28}{'mean ms':>9}{'p50 ms':>9}{'p90 ms':>9}{'vs keras':>10}{'vs fp32':>10}")
    for r in rows:
        name = f"{r['source']}/{r['name']}"[-35:]
        click.echo(f"{name:<36}{r['kind']:<28}{r['mean_ms']:>9.1f}{r['p50_ms']:>9.1f}{r['p90_ms']:>9.1f}"
                   f"{ratio(keras_ms.get(r['source']), r['mean_ms'])}"
                   f"{ratio(fp32_ms.get((r['source'], r['kind'])), r['mean_ms'])}")
    click.echo(f"{runs} runs, batch 1, {threads} TFLite threads; ratios: how many times faster than the Keras model "
               "and than the same measure of the fp32 TFLite model, all measured in this run")
    if json_file:
        json_file.write_text(json.dumps(rows, indent=2) + "\n")


@main.command()
def presets():
    """List the model presets with their parameter counts."""
    from echolite.config import PRESETS
    from echolite.models import build_model

    click.echo(f"{'preset':<9} {'params':>12}  description")
    for name, preset in PRESETS.items():
        click.echo(f"{name:<9} {build_model(name).count_params():>12,}  {preset.description}")


def _pick(value, default):
    return default if value is None else value


if __name__ == "__main__":
    main()

