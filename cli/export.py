"""``echolite export``: TFLite models with metadata and a parity gate."""

from __future__ import annotations

from pathlib import Path

import click

from echolite.errors import EcholiteError
from echolite.cli.common import input_size, load_with_split, select_split


@click.command()
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
@click.option("--qat", "qat_epochs", type=int, default=0, show_default=True,
              help="int8 only: fine-tune this many epochs with quantization-aware training (tfmot) before converting.")
@click.option("--qat-lr", type=float, default=1e-4, show_default=True, help="Learning rate of the QAT fine-tuning.")
@click.option("--out", type=click.Path(path_type=Path), help="Output .tflite (default RUN/model_<mode>.tflite).")
def export(run, mode, calib_data, calib_samples, float_ops, parity_threshold, qat_epochs, qat_lr, out):
    """Export RUN (a run folder) to TFLite with metadata, gated on validation Dice against the float model."""
    from echolite.export import export_tflite
    from echolite.predict import load_keras_model

    from echolite.config import load_run_config

    mode = mode or "int8"
    if qat_epochs and mode != "int8":
        raise EcholiteError("--qat trains for int8: use it with --int8")
    if not (run / "config.json").exists():
        raise EcholiteError(f"{run}: not a run folder (no config.json); export needs the run's data and split")
    model_config, train_config, _ = load_run_config(run / "config.json")
    network = load_keras_model(run)
    data_path = calib_data or train_config.data
    loaded, chosen = load_with_split(data_path, run, input_size(network))  # read the data once for both splits
    calibration = select_split(loaded, chosen, "train", data_path).frames
    validation = select_split(loaded, chosen, "val", data_path).frames
    if mode == "int8" and len(calibration) < 100:
        click.echo(f"warning: only {len(calibration)} calibration frames (100-500 recommended)", err=True)
    log = lambda line: click.echo(f"export: {line}")  # noqa: E731
    content = _quantization_aware(model_config, train_config, network, calibration, qat_epochs, qat_lr, calib_samples,
                                  log) if qat_epochs else None
    out = out or run / f"model_{mode}{'_qat' if qat_epochs else ''}.tflite"
    result = export_tflite(network, out, mode, calibration, validation, calib_samples, float_ops, parity_threshold,
                           source=str(run), log=log, content=content,
                           method=f"quantization-aware, {qat_epochs} epoch(s)" if qat_epochs else "post-training")
    click.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB) and {result.metadata_path}")
    click.echo(f"next: echolite evaluate {result.path} --data {data_path} --split val")


def _quantization_aware(model_config, train_config, network, train, epochs: int, lr: float, calib_samples: int,
                        log) -> bytes:
    from echolite.qat import QATSettings, quantization_aware_int8

    settings = QATSettings(epochs=epochs, learning_rate=lr, batch_size=min(train_config.batch_size, 16),
                           augment=train_config.augment, loss=train_config.loss, seed=train_config.seed,
                           calib_samples=calib_samples)
    return quantization_aware_int8(network, model_config, train, settings, log)

