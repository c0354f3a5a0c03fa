"""``echolite``: thin click commands that parse options, call one library function and print what it returns.

Heavy imports (TensorFlow, Keras) happen inside the commands so ``echolite --help`` stays instant.
User errors (``EcholiteError``) and file-system errors print as one line and exit with status 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from echolite.cli.ablation import ablate, cross_evaluate
from echolite.cli.clinical import measure
from echolite.cli.common import batch_counter, quiet_console, show_library_notes
from echolite.cli.data import data
from echolite.cli.evaluation import compare, evaluate
from echolite.cli.export import export
from echolite.config import AUGMENTATIONS, LOSSES, SCHEDULERS, SEED_MAX, STRATEGIES, TrainConfig
from echolite.errors import EcholiteError, check_writable
from echolite.presets import PRESETS, QUICKSTART, preset_table
from echolite.run import RunDir
from echolite.version import __version__
from echolite_edge.bench import DEFAULT_RUNS
from echolite_edge.files import owner_of, write_json
from echolite_edge.pretrained import WEIGHTS, describe_shipped
from echolite_edge.words import counted

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ logging below errors (see also --verbose)

DEFAULTS = TrainConfig()


class EcholiteGroup(click.Group):
    """User errors, option errors and file-system errors (disk full, permissions) as one line on stderr, status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EcholiteError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()} (see --help)", err=True)
            sys.exit(1)
        except OSError as exc:  # the user's file system (disk full, permissions), not a bug: name the file
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)


@click.group(cls=EcholiteGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="echolite")
@click.option("--verbose", is_flag=True, help="Show the messages of TensorFlow, the TFLite converter and interpreter.")
@click.pass_context
def main(ctx, verbose) -> None:
    """Lightweight cardiac ultrasound segmentation (LV, myocardium, left atrium) in Keras 3."""
    ctx.obj = {"verbose": verbose}
    show_library_notes()
    if not verbose:
        quiet_console(ctx)


for _command in (evaluate, compare, measure, export, data, ablate, cross_evaluate):
    main.add_command(_command)


@main.command(short_help="Train a model (default: lw-unet on the built-in phantom).")
@click.option("--preset", default=DEFAULTS.preset, show_default=True, help=f"Model preset: {', '.join(PRESETS)}.")
@click.option(
    "--data",
    default=DEFAULTS.data,
    show_default=True,
    help="'phantom' or a data folder: CAMUS NIfTI/MHD release, PNG export, or images/ + masks/.",
)
@click.option(
    "--split-file",
    type=click.Path(path_type=Path),
    help="YAML/JSON with train, val, test patient lists (default: the data's own split, else seeded 80/10/10).",
)
@click.option("--skip-bad", is_flag=True, help="Skip unreadable or inconsistent frames (listed) instead of stopping.")
@click.option(
    "--epochs",
    type=int,
    help=f"Epochs [default: {DEFAULTS.epochs}, the paper's; phantom quickstart: {QUICKSTART['epochs']}].",
)
@click.option(
    "--batch-size",
    type=int,
    help=f"Batch size [default: the preset's; phantom quickstart: {QUICKSTART['batch_size']}].",
)
@click.option("--lr", type=float, help=f"Adam learning rate [default: {DEFAULTS.learning_rate}].")
@click.option("--patience", type=int, help=f"Early stopping on validation Dice [default: {DEFAULTS.patience}].")
@click.option(
    "--scheduler",
    type=click.Choice(SCHEDULERS),
    help="Learning-rate schedule: none (constant, the paper's), "
    "plateau (halved after 10 epochs without a better validation Dice), poly (nnU-Net's decay over --epochs) "
    "[default: the preset's].",
)
@click.option("--loss", type=click.Choice(LOSSES), help="Loss [default: the preset's].")
@click.option(
    "--ds-weight", type=float, help=f"Weight λ of each deep-supervision loss [default: {DEFAULTS.ds_weight}]."
)
@click.option(
    "--size-weight",
    type=click.FloatRange(0),
    help="Weight of the per-frame size term added to the loss "
    f"(relative error of each structure's soft area; not in the paper) [default: {DEFAULTS.size_weight}, off].",
)
@click.option(
    "--augment",
    help=f"Augmentation preset: {', '.join(AUGMENTATIONS)} (affine: Table VII, I-V: Table II, scanner: for other "
    f"scanners' frames) [default: the preset's: scanner for edge-rt, {DEFAULTS.augment} for the others].",
)
@click.option("--no-augment", is_flag=True, help="Same as --augment none.")
@click.option(
    "--phantom-frames", type=int, help=f"Frames generated for --data phantom [default: {QUICKSTART['phantom_frames']}]."
)
@click.option("--seed", type=int, help=f"Seed for split, initialisation and augmentation [default: {DEFAULTS.seed}].")
@click.option("--image-size", type=int, help="Input size in pixels [default: the preset's, 256 as in the paper].")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default runs/PRESET-TIMESTAMP).")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last completed epoch.")
@click.option(
    "--average-last",
    type=click.IntRange(0),
    help="Also write model_averaged.keras: the mean of the last N epochs' weights (checkpoint averaging, "
    "batch-norm statistics recomputed) [default: 0, off].",
)
@click.option(
    "--init",
    metavar="MODEL",
    help="Fine-tune: start from MODEL's weights (a shipped model's name such as camus-lw-unet, or a run folder); "
    "the architecture is MODEL's, and so is the preset unless --preset is given.",
)
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    help="mirrored: all visible GPUs of this machine "
    f"(tf.distribute); multi-worker: several machines via TF_CONFIG [default: {DEFAULTS.strategy}].",
)
def train(
    preset,
    data,
    split_file,
    skip_bad,
    epochs,
    batch_size,
    lr,
    patience,
    scheduler,
    loss,
    ds_weight,
    size_weight,
    augment,
    no_augment,
    phantom_frames,
    seed,
    image_size,
    out,
    resume,
    average_last,
    init,
    strategy,
):
    """Train a model. With no options: the paper's final model (lw-unet) on the built-in phantom."""
    from echolite.workflows.train import plan_training, run_training  # on use: keeps `echolite --help` fast

    settings = {
        "data": data,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": lr,
        "patience": patience,
        "scheduler": scheduler,
        "loss": loss,
        "ds_weight": ds_weight,
        "size_weight": size_weight,
        "augment": "none" if no_augment else augment,
        "phantom_frames": phantom_frames,
        "seed": seed,
        "input_size": image_size,
        "skip_bad": skip_bad or None,
        "split_file": str(split_file) if split_file else None,
        "strategy": strategy,
        "average_last": average_last,
        "init": init,
    }
    plan = plan_training(preset, settings, _given_settings(), out, resume)
    if plan.ignored:
        click.echo("resume: the run keeps its saved settings; ignored " + ", ".join(plan.ignored), err=True)
    config = plan.train
    click.echo(
        f"echolite train: {config.preset} on {config.data}, {counted(config.epochs, 'epoch')}, "
        f"batch {config.batch_size}, augment {config.augment}{f', from {config.init}' if config.init else ''} -> "
        f"{plan.out}{' (resuming)' if resume else ''}"
    )
    result = run_training(plan, log=click.echo, progress=batch_counter)
    for line in result.skipped:
        click.echo(f"skipped: {line}")
    if not result.chief:
        click.echo(
            f"\nworker done: {counted(result.epochs_done, 'epoch')}; the chief wrote the run folder {result.run_dir}"
        )
        return
    dice = "  ".join(f"{k} {v:.3f}" for k, v in result.val_dice.items())
    click.echo(
        f"\nparameters {result.parameters:,}  best epoch {result.best_epoch}/{result.epochs_done}  "
        f"time {result.seconds / 60:.1f} min"
    )
    click.echo(
        f"validation Dice, the mean over frames  {dice}  (epoch lines: pixels pooled over all frames)"
        if dice
        else "no validation patients: the best epoch is the one of best training Dice"
    )
    if result.averaged_val_dice:
        averaged = "  ".join(f"{k} {v:.3f}" for k, v in result.averaged_val_dice.items())
        click.echo(f"validation Dice of model_averaged.keras  {averaged}")
    click.echo(f"run folder: {result.run_dir}  (model.keras, history.csv, curves.png, summary.json)")
    if dice:
        click.echo(f"next: echolite evaluate {result.run_dir} --data {config.data} --split val")


SETTING_OF_OPTION = {"lr": "learning_rate", "image_size": "input_size", "no_augment": "augment"}
"""The train options named otherwise than the setting they give."""


def _given_settings() -> dict[str, str]:
    """The settings given on the command line, each with its option as the user reads it in --help."""
    ctx = click.get_current_context()
    return {
        SETTING_OF_OPTION.get(p.name, p.name): p.opts[0]
        for p in ctx.command.params
        if p.name not in ("out", "resume")
        and ctx.get_parameter_source(p.name) == click.core.ParameterSource.COMMANDLINE
    }


@main.command(short_help="Average the weights of a run's last epochs into one model.")
@click.argument("run", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--last", type=click.IntRange(1), required=True, help="Number of final epochs to average.")
@click.option("--data", default=None, help="The run's training data where it has moved (default: the saved folder).")
def average(run, last, data):
    """Write RUN/model_averaged.keras: the mean of the weights kept for the last epochs (train with
    --average-last N), batch-norm statistics recomputed on the run's training frames."""
    from echolite.training.averaging import average_saved_run  # on use: keeps `echolite --help` fast

    home = RunDir.require(run)
    path, data = average_saved_run(home, last, data)
    click.echo(f"wrote {path} (mean of the weights of the last {counted(last, 'epoch')})")
    for stale in sorted(home.path.glob("model_averaged_*.tflite")):
        click.echo(f"note: {stale.name} holds the earlier average; export again with --averaged", err=True)
    click.echo(f"next: echolite evaluate {path} --data {data} --split val")


@main.command(short_help="Write synthetic echo frames, masks and a preview grid.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for images, masks and preview.")
@click.option(
    "-n",
    "count",
    type=int,
    default=16,
    show_default=True,
    help="Number of frames (each phantom patient has an ED and an ES frame).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, SEED_MAX),
    default=0,
    show_default=True,
    help="Seed of the random anatomy and speckle (the same seed, the same frames).",
)
@click.option("--size", type=int, default=256, show_default=True, help="Frame size in pixels.")
@click.option(
    "--loop",
    is_flag=True,
    help="Write a beating heart instead: loop.gif, 4 s at 25 frames/s (in the file), 72 beats/min.",
)
def phantom(out, count, seed, size, loop):
    """Write synthetic echo frames (img/, ref/ in CAMUS PNG-export layout) and a preview grid, or a cine loop."""
    from echolite.data.writers import write_phantom, write_phantom_loop  # on use: keeps `echolite --help` fast

    if loop:
        path, spacing = write_phantom_loop(out, seed, size)
        click.echo(f"wrote a phantom loop to {path} (pixel size {spacing:g} mm)")
        click.echo(
            f"next: echolite-edge run camus-edge-rt {path} --out {Path(out) / 'cine'} --cine --spacing {spacing:g}"
        )
        return
    preview = write_phantom(out, count, seed, size)
    click.echo(f"wrote {counted(count, 'frame')} to {out}/img, masks to {out}/ref, preview {preview}")
    click.echo(f"next: echolite data inspect {out}   or   echolite train --data {out}")


@main.command(short_help="Latency and cost of models in all their forms, in one table.")
@click.argument("models", nargs=-1, required=True)
@click.option(
    "--threads",
    type=click.IntRange(1),
    multiple=True,
    default=(2,),
    show_default=True,
    help="TFLite interpreter threads; repeat to time each count (--threads 1 --threads 2).",
)
@click.option(
    "--runs", type=click.IntRange(1), default=DEFAULT_RUNS, show_default=True, help="Timed runs per model form."
)
@click.option("--baseline", help="Row the ratios are against: MODEL or MODEL/FORM (default: the first row).")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Also write the rows as JSON.")
@click.option(
    "--image",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Frame for the end-to-end timing (default: a phantom frame at the model's size).",
)
def bench(models, threads, runs, baseline, json_file, image):
    """Latency and cost of models in all their forms, in one table (MODELS: shipped model names, run folders,
    .keras or .tflite files, or preset names for untrained models)."""
    from echolite.workflows.bench import bench as run_bench  # on use: keeps `echolite --help` fast
    from echolite.workflows.bench import format_table  # on use: keeps `echolite --help` fast

    if json_file:  # before the timing, which is the work a bad path would lose
        if json_file.is_dir():
            raise EcholiteError(f"{json_file}: is a folder; give a file name for the JSON report")
        check_writable(json_file.parent, "the JSON report")  # an earlier bench report is replaced
        owner = owner_of(json_file)
        if owner:
            raise EcholiteError(f"{json_file}: a file of {owner}; write the JSON report elsewhere")
    rows = run_bench(list(models), runs, tuple(threads), image=image, baseline=baseline, log=click.echo)
    for line in format_table(rows):
        click.echo(line)
    if json_file:
        write_json(json_file, rows)


@main.command(short_help="List the model presets and the shipped trained models.")
def presets():
    """List the model presets with their parameters, compute per frame (GMAC, counted from the graph) and
    estimated int8 file size, then the trained models that ship with echolite, usable by name."""
    click.echo(f"{'preset':<13} {'params':>12} {'GMAC':>7} {'int8 MB':>8} {'input':>6}  description")
    for row in preset_table():
        click.echo(
            f"{row['name']:<13} {row['parameters']:>12,} {row['gmac']:>7.2f} {row['int8_mb']:>8.2f} "
            f"{row['input_size']:>6}  {row['description']}"
        )
    click.echo("int8 MB: estimated from the weights (one byte each, plus per-channel bias and scale)")
    shipped = describe_shipped()
    if not shipped:
        return
    head = f"{'shipped model':<15} {'preset':<9} {'augment':<9} {'trained on':<19}"
    click.echo(f"\n{head} int8 validation Dice LV/MYO/LA (the export's check)")
    for row in shipped:
        dice = "/".join(f"{row['val_dice_int8'].get(s, float('nan')):.3f}" for s in ("LV", "MYO", "LA"))
        click.echo(f"{row['name']:<15} {row['preset']:<9} {row['augment']:<9} {row['trained_on']:<19} {dice}")
    click.echo("use them by name: echolite evaluate|bench|train --init NAME, echolite-edge run NAME; license and")
    click.echo(f"model card: {WEIGHTS} (CC BY-NC-SA 4.0, trained on CAMUS)")


if __name__ == "__main__":
    main()
