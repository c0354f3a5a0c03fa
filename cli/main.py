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


@main.command()
@click.option("--preset", default="lw-unet", show_default=True, help="Model preset: unet0-3, nnunet, lw-unet.")
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
def train(preset, data, split_file, skip_bad, epochs, batch_size, lr, patience, loss, ds_weight, augment, no_augment, phantom_frames, seed, image_size, out, resume):
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
        split_file=str(split_file) if split_file else None, skip_bad=skip_bad,
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
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, help="Data folder (any supported layout) or 'phantom'.")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True,
              help="Frames to score: the run's saved split, else the data's own, else seeded 80/10/10.")
@click.option("--predictions", type=click.Path(path_type=Path), help="Score masks made by another tool instead of MODEL.")
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax (no largest-component filtering).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for frames.csv, summary.json, worst-frame overlays.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def evaluate(model, data_path, split, predictions, no_postprocess, out, as_json):
    """Dice, Hausdorff (px and mm) and anatomical outliers of MODEL (run folder, .keras or .tflite) on --data."""
    import json

    from echolite.evaluate import score_frames, summarize
    from echolite.postprocess import PostprocessConfig

    if (model is None) == (predictions is None):
        raise EcholiteError("give either MODEL or --predictions DIR")
    if predictions:
        frames = _frames_for_split(data_path, split, None, 256).frames
        labels = _read_predictions(predictions, frames)
    else:
        network = _load_any_model(model)
        frames = _frames_for_split(data_path, split, _run_of(model), _input_size(network)).frames
        labels = _predict(network, frames)
    with click.progressbar(length=len(frames), label="scoring", file=sys.stderr) as bar:
        scores = score_frames(labels, frames, None if no_postprocess else PostprocessConfig(), progress=bar.update)
    summary = summarize(scores)
    if out:
        _write_evaluation(out, scores, summary, frames, labels)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_table(summary, "post-processed" if not no_postprocess else "raw argmax"))


@main.command()
@click.argument("model_a", type=click.Path(path_type=Path))
@click.argument("model_b", type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder or 'phantom' (not needed for two evaluation outputs).")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True)
@click.option("--no-postprocess", is_flag=True, help="Compare the raw argmax.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("compare.png"), show_default=True,
              help="Boxplot PNG (Fig. 3 of the paper).")
@click.option("--json", "as_json", is_flag=True, help="Print the test table as JSON.")
def compare(model_a, model_b, data_path, split, no_postprocess, out, as_json):
    """Paired Wilcoxon signed-rank tests between A and B on the same frames: Dice and Hausdorff per structure,
    boxplots. A and B are `evaluate --out` folders, run folders, .keras files or folders of predicted masks."""
    import json

    from echolite.plots import save_comparison_boxplots
    from echolite.stats import paired_tests

    if all((m / "frames.csv").exists() for m in (model_a, model_b)):
        from echolite.evaluate import read_frame_csv

        scores = [read_frame_csv(m / "frames.csv") for m in (model_a, model_b)]
    elif data_path is None:
        raise EcholiteError("--data is needed unless A and B are both evaluation outputs (folders with frames.csv)")
    else:
        scores = _score_models(model_a, model_b, data_path, split, no_postprocess)
    rows = paired_tests(*scores)
    save_comparison_boxplots(*scores, (model_a.name, model_b.name), out)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{len(scores[0])} frames; A = {model_a}, B = {model_b}; paired Wilcoxon signed-rank, two-sided")
    click.echo(f"{'metric':<8}{'struct':<7}{'n':>5}{'mean A':>9}{'mean B':>9}{'B - A':>9}{'median':>9}{'p':>10}  verdict")
    for r in rows:
        p = "-" if r["p"] is None else f"{r['p']:.3g}"
        click.echo(f"{r['metric']:<8}{r['structure']:<7}{r['n']:>5}{_f(r['mean_a'])}{_f(r['mean_b'])}{_f(r['diff'])}"
                   f"{_f(r['median_diff'])}{p:>10}  {r['verdict']}")
    click.echo(f"boxplots: {out}")


def _score_models(model_a: Path, model_b: Path, data_path: str, split: str, no_postprocess: bool):
    from echolite.evaluate import score_frames
    from echolite.postprocess import PostprocessConfig

    networks = [_maybe_model(m) for m in (model_a, model_b)]
    sizes = {n.input_shape[1] for n in networks if n is not None} or {256}
    if len(sizes) > 1:
        raise EcholiteError(f"the two models take different input sizes {sorted(sizes)}; compare models of one size")
    frames = _frames_for_split(data_path, split, model_a if networks[0] is not None else None, sizes.pop()).frames
    post = None if no_postprocess else PostprocessConfig()
    scores = []
    for source, network in zip((model_a, model_b), networks):
        labels = _read_predictions(source, frames) if network is None else _predict(network, frames)
        scores.append(score_frames(labels, frames, post))
    return scores


def _maybe_model(source: Path):
    """A Keras model when SOURCE is a run folder or .keras file; None for a folder of predicted masks."""
    if source.suffix == ".keras" or (source / "model.keras").exists():
        from echolite.predict import load_keras_model

        return load_keras_model(source)
    return None


def _load_any_model(path: Path):
    """A Keras model (run folder, .keras) or a TFLite segmenter (.tflite)."""
    if path.suffix == ".tflite":
        from echolite.tflite_model import TFLiteSegmenter

        if not path.exists():
            raise EcholiteError(f"{path}: file not found")
        return TFLiteSegmenter(path)
    from echolite.predict import load_keras_model

    return load_keras_model(path)


def _run_of(model: Path) -> Path | None:
    """The run folder a model belongs to (for its split): the folder itself, or the folder holding the file."""
    for candidate in (model, model.parent):
        if (candidate / "config.json").exists():
            return candidate
    return None


def _input_size(network) -> int:
    return network.input_size if hasattr(network, "input_size") else network.input_shape[1]


def _predict(network, frames):
    if hasattr(network, "predict_labels"):
        return network.predict_labels(frames.images)
    from echolite.predict import predict_labels

    return predict_labels(network, frames.images)


def _f(value) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.3f}"


@main.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder with ED and ES frames, or 'phantom'. MODEL: run, .keras or .tflite.")
@click.option("--sequence", type=click.Path(path_type=Path),
              help="A cine loop instead (NIfTI/MHD sequence, .npy stack, or folder of frames): ED/ES found from the LV area.")
@click.option("--spacing", type=float, help="Pixel size in mm for a --sequence whose format carries none.")
@click.option("--ground-truth", is_flag=True, help="Measure the ground-truth masks instead of a model's.")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="all", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for measurements.csv and bland_altman.png.")
@click.option("--json", "as_json", is_flag=True, help="Print per-patient values and agreement as JSON.")
def measure(model, data_path, sequence, spacing, ground_truth, split, out, as_json):
    """LV volumes (method of disks) and ejection fraction per patient, from MODEL's masks or the ground truth;
    or, with --sequence, EF from a whole cine loop."""
    import dataclasses
    import json

    from echolite.clinical import agreement, measure_patients
    from echolite.postprocess import PostprocessConfig, postprocess

    if sequence is not None:
        if model is None:
            raise EcholiteError("--sequence needs MODEL (the loop has no ground truth to measure)")
        return _measure_cine(model, sequence, spacing, out, as_json)
    if data_path is None:
        raise EcholiteError("give --data PATH (or --sequence LOOP)")
    if (model is None) != ground_truth:
        raise EcholiteError("give either MODEL or --ground-truth")
    if model is not None:
        network = _load_any_model(model)
        loaded = _frames_for_split(data_path, split, _run_of(model), _input_size(network))
        masks = postprocess(_predict(network, loaded.frames), PostprocessConfig())
    else:
        loaded = _frames_for_split(data_path, split, None, 256)
        masks = loaded.frames.masks
    reference = _reference_ef(loaded.info)
    results = measure_patients(masks, loaded.frames, reference)
    report = {"source": "ground truth" if ground_truth else str(model),
              "patients": [dataclasses.asdict(r) for r in results]}
    if model is not None:
        truth = measure_patients(loaded.frames.masks, loaded.frames)
        report["ef_vs_ground_truth_masks"] = agreement([r.ef for r in results], [t.ef for t in truth])
    if reference:
        report["ef_vs_reference"] = agreement([r.ef for r in results], [r.reference_ef for r in results])
    if out:
        _write_measurements(out, results)
    if as_json:
        click.echo(json.dumps(_without_nan(report), indent=2))
        return
    click.echo(f"{'patient':<14}{'method':<26}{'EDV mL':>8}{'ESV mL':>8}{'EF %':>7}{'ref EF':>8}  problem")
    for r in results:
        click.echo(f"{r.patient:<14}{r.method:<26}{r.edv_ml:>8.1f}{r.esv_ml:>8.1f}{r.ef:>7.1f}{r.reference_ef:>8.1f}  {r.problem}")
    for key in ("ef_vs_ground_truth_masks", "ef_vs_reference"):
        if key in report:
            a = report[key]
            click.echo(f"{key}: n {a['n']}, MAE {_num(a['mae'])} points, bias {_num(a['bias'])}, r {_num(a['r'])}")


def _measure_cine(model: Path, sequence: Path, spacing: float | None, out: Path | None, as_json: bool) -> None:
    import json
    import time

    from echolite.cine import analyse_cine, read_sequence
    from echolite.postprocess import PostprocessConfig, postprocess

    network = _load_any_model(model)
    loop = read_sequence(sequence, _input_size(network), spacing)
    _predict(network, loop)  # warm-up, so the rate below is steady-state
    start = time.perf_counter()
    masks = postprocess(_predict(network, loop), PostprocessConfig())
    fps = len(loop.images) / (time.perf_counter() - start)
    result = analyse_cine(masks, loop.spacing_mm)
    if out:
        from echolite.plots import save_area_curve

        out.mkdir(parents=True, exist_ok=True)
        save_area_curve(result.lv_area_mm2, result.ed_index, result.es_index, out / "lv_area.png")
    report = {"sequence": str(sequence), "frames": len(loop.images), "ed_frame": result.ed_index,
              "es_frame": result.es_index, "edv_ml": result.edv_ml, "esv_ml": result.esv_ml, "ef": result.ef,
              "frames_per_second": fps}
    if as_json:
        click.echo(json.dumps(_without_nan(report), indent=2))
        return
    click.echo(f"{loop.name}: {len(loop.images)} frames segmented at {fps:.1f} frames/s")
    click.echo(f"ED frame {result.ed_index}, ES frame {result.es_index}: EDV {result.edv_ml:.1f} mL, "
               f"ESV {result.esv_ml:.1f} mL, EF {result.ef:.1f} % (single-plane disks)")


def _reference_ef(info: dict) -> dict[str, float]:
    """CAMUS Info_*.cfg EF per patient (the same value is in both views' files)."""
    reference = {}
    for patient, views in info.items():
        for values in views.values():
            try:
                reference[patient] = float(values["EF"])
            except (KeyError, ValueError):
                continue
    return reference


def _write_measurements(out: Path, results) -> None:
    import csv
    import dataclasses

    from echolite.plots import save_bland_altman

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "measurements.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in dataclasses.fields(results[0])])
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in results)
    if any(r.reference_ef == r.reference_ef for r in results):
        save_bland_altman([r.ef for r in results], [r.reference_ef for r in results], out / "bland_altman.png")


def _without_nan(value):
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {k: _without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def _num(value) -> str:
    return "-" if value is None else f"{value:.2f}"


@main.command()
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--int8", "mode", flag_value="int8", help="Full-integer int8 (calibrated). The default.")
@click.option("--fp16", "mode", flag_value="fp16", help="float16 weights.")
@click.option("--dynamic", "mode", flag_value="dynamic", help="Dynamic-range int8 weights, float activations.")
@click.option("--fp32", "mode", flag_value="fp32", help="float32.")
@click.option("--calib-data", help="Data for calibration and the parity gate (default: the run's own data).")
@click.option("--calib-samples", type=int, default=200, show_default=True, help="Training frames for int8 calibration.")
@click.option("--float-ops", type=click.Choice(["auto", "none"]), default="auto", show_default=True,
              help="auto: keep Mish's ops in float in int8 models; none: quantize everything.")
@click.option("--parity-threshold", type=float, default=0.01, show_default=True,
              help="Largest Dice loss per structure allowed against the float model.")
@click.option("--out", type=click.Path(path_type=Path), help="Output .tflite (default RUN/model_<mode>.tflite).")
def export(run, mode, calib_data, calib_samples, float_ops, parity_threshold, out):
    """Export RUN (a run folder) to TFLite with metadata, gated on validation Dice against the float model."""
    from echolite.export import export_tflite
    from echolite.predict import load_keras_model

    mode = mode or "int8"
    if not (run / "config.json").exists():
        raise EcholiteError(f"{run}: not a run folder (no config.json); export needs the run's data and split")
    network = load_keras_model(run)
    size = network.input_shape[1]
    data_path = calib_data or _run_data(run)
    calibration = _frames_for_split(data_path, "train", run, size).frames
    validation = _frames_for_split(data_path, "val", run, size).frames
    if mode == "int8" and len(calibration) < 100:
        click.echo(f"warning: only {len(calibration)} calibration frames (100-500 recommended)", err=True)
    out = out or run / f"model_{mode}.tflite"
    result = export_tflite(network, out, mode, calibration, validation, calib_samples, float_ops, parity_threshold,
                           source=str(run), log=lambda line: click.echo(f"export: {line}"))
    click.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB) and {result.metadata_path}")
    click.echo(f"next: echolite evaluate {result.path} --data {data_path} --split val")


def _run_data(run: Path) -> str:
    from echolite.config import load_run_config

    return load_run_config(run / "config.json")[1].data


@main.group()
def data():
    """Look at a data folder before training on it."""


@data.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
def data_inspect(path):
    """Report layout, patients, views, phases, sizes, spacings, labels and every problem."""
    from echolite.data.inspect import inspect_data

    count = _count_cases(path)
    with click.progressbar(length=count, label="reading", file=sys.stderr) as bar:
        report = inspect_data(path, progress=bar.update)
    click.echo(f"layout    {report.layout}  ({report.root})")
    click.echo(f"patients  {report.patients}")
    click.echo(f"frames    {report.frames}")
    click.echo(f"views     {_counts(report.views)}")
    click.echo(f"phases    {_counts(report.phases)}")
    sizes = report.sizes.most_common()
    click.echo(f"sizes     {len(sizes)} distinct (rows×cols): " + ", ".join(f"{r}×{c} ({n})" for (r, c), n in sizes[:4])
               + (" ..." if len(sizes) > 4 else ""))
    click.echo("spacing   " + ", ".join(f"{s if isinstance(s, str) else f'{s[0]}×{s[1]} mm'} ({n})"
                                         for s, n in report.spacings.most_common(3)))
    click.echo(f"labels    {sorted(report.labels)}")
    split = ", ".join(f"{k} {v}" for k, v in report.split.items()) if report.split else "none (seeded 80/10/10 by patient)"
    click.echo(f"split     {split}")
    click.echo(f"sequences {report.sequences}")
    click.echo(f"problems  {len(report.problems)}")
    for problem in report.problems:
        click.echo(f"  {problem}")


@data.command("preview")
@click.argument("path")
@click.option("--augment", default="affine", show_default=True, help="Augmentation preset to show.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("preview.png"), show_default=True)
@click.option("-n", "count", type=int, default=8, show_default=True, help="Frames to show.")
@click.option("--seed", type=int, default=0, show_default=True)
def data_preview(path, augment, out, count, seed):
    """Write a PNG grid of augmented frames with mask outlines (PATH may be 'phantom')."""
    from echolite.data import load_data
    from echolite.data.augment import Augmenter
    from echolite.plots import save_augmentation_grid

    augmenter = Augmenter(augment)
    frames = load_data(path, phantom_frames=max(count, 2)).frames
    frames = frames.subset(range(min(count, len(frames))))
    pairs = [augmenter(image, mask, seed + i) for i, (image, mask) in enumerate(zip(frames.images, frames.masks))]
    save_augmentation_grid(frames, pairs, augment, out)
    click.echo(f"wrote {out}")


@main.command()
def presets():
    """List the model presets with their parameter counts."""
    from echolite.config import PRESETS
    from echolite.models import build_model

    click.echo(f"{'preset':<9} {'params':>12}  description")
    for name, preset in PRESETS.items():
        click.echo(f"{name:<9} {build_model(name).count_params():>12,}  {preset.description}")


def _frames_for_split(data_path: str, split: str, model: Path | None, size: int):
    """The data restricted to one split, on the model's grid: the run's saved split (and phantom settings) when
    MODEL is a run folder, else the data's own split, else a seeded 80/10/10 patient split."""
    from dataclasses import replace

    from echolite.config import TrainConfig, load_run_config
    from echolite.data import load_data
    from echolite.train import choose_split

    config_file = model / "config.json" if model is not None and Path(model).is_dir() else None
    saved = load_run_config(config_file) if config_file is not None and config_file.exists() else None
    train_config = saved[1] if saved else TrainConfig()
    loaded = load_data(data_path, size, train_config.phantom_frames, train_config.seed)
    if split == "all":
        return loaded
    if saved:
        chosen = {k: [p for p in v if p in set(loaded.frames.patients)] for k, v in saved[2]["split"].items()}
    else:
        chosen = choose_split(loaded, train_config)
    if not chosen[split]:
        raise EcholiteError(f"{data_path}: the {split} split has no patients here; use --split val, train or all")
    return replace(loaded, frames=loaded.frames.for_patients(chosen[split]))


def _read_predictions(folder: Path, frames):
    from echolite.predict import read_predictions

    return read_predictions(folder, frames)


def _write_evaluation(out: Path, scores, summary, frames, labels) -> None:
    import json

    from echolite.evaluate import worst_frames, write_frame_csv
    from echolite.plots import save_overlay

    (out / "worst").mkdir(parents=True, exist_ok=True)
    write_frame_csv(scores, out / "frames.csv")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for i in worst_frames(scores):
        save_overlay(frames.images[i], labels[i], frames.masks[i], out / "worst" / f"{frames.frame_ids[i]}.png",
                     f"{frames.frame_ids[i]}  Dice " + " ".join(f"{d:.2f}" for d in scores[i].dice))


def _table(summary: dict, mode: str) -> str:
    def row(name, values, fmt):
        return f"{name:<16}" + "".join(f"{'-' if values[k] is None else format(values[k], fmt):>8}" for k in ("LV", "MYO", "LA"))

    lines = [f"{summary['n_frames']} frames, {mode}", f"{'':<16}{'LV':>8}{'MYO':>8}{'LA':>8}",
             row("Dice", summary["dice"], ".3f"), row("Hausdorff px", summary["hd_px"], ".2f"),
             row("Hausdorff mm", summary["hd_mm"], ".2f"), f"{'outliers':<16}{summary['outliers']:>8}", ""]
    lines.append(f"{'group':<10}{'frames':>7}{'Dice LV':>9}{'MYO':>7}{'LA':>7}{'HD px LV':>10}{'MYO':>7}{'LA':>7}{'outl.':>7}")
    for group, s in summary["by_view_phase"].items():
        d, h = s["dice"], s["hd_px"]
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        lines.append(f"{group:<10}{s['n_frames']:>7}{fmt(d['LV'], '.3f'):>9}{fmt(d['MYO'], '.3f'):>7}{fmt(d['LA'], '.3f'):>7}"
                     f"{fmt(h['LV'], '.2f'):>10}{fmt(h['MYO'], '.2f'):>7}{fmt(h['LA'], '.2f'):>7}{s['outliers']:>7}")
    return "\n".join(lines)


def _count_cases(path: Path) -> int:
    from echolite.data.layouts import detect_layout

    return len(detect_layout(path).cases)


def _counts(counter) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))


def _pick(value, default):
    return default if value is None else value


if __name__ == "__main__":
    main()
