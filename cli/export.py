"""``echolite export``: TFLite models with metadata and a parity gate."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from echolite.errors import EcholiteError
from echolite.export.formats import DEFAULT_MODE, FLOAT_OPS, FORMATS, ExportSettings

DEFAULTS = ExportSettings()


def _mode_flags(command):
    """One flag per export format (--int8, --fp16, ...), from the formats table, handed to ``command`` as ``mode``
    (None when none is given); two of them are an error, not a silent choice."""

    @functools.wraps(command)
    def with_mode(*args, **kwargs):
        given = [mode for mode in FORMATS if kwargs.pop(f"mode_{mode}")]
        if len(given) > 1:
            raise EcholiteError(f"give one export format, not {' and '.join('--' + m for m in given)}")
        return command(*args, mode=given[0] if given else None, **kwargs)

    for fmt in reversed(list(FORMATS.values())):
        with_mode = click.option(
            f"--{fmt.mode}",
            f"mode_{fmt.mode}",
            is_flag=True,
            help=fmt.description[0].upper() + fmt.description[1:] + ".",
        )(with_mode)
    return with_mode


@click.command(short_help="Export a run to TFLite with metadata, gated on Dice.")
@click.argument("run", type=click.Path(path_type=Path))
@_mode_flags
@click.option("--calib-data", help="Data for calibration and the parity gate (default: the run's own data).")
@click.option(
    "--calib-samples",
    type=int,
    default=DEFAULTS.calib_samples,
    show_default=True,
    help="Training frames for int8 calibration.",
)
@click.option(
    "--float-ops",
    type=click.Choice(FLOAT_OPS),
    default=DEFAULTS.float_ops,
    show_default=True,
    help="auto: keep Mish's ops in float in int8 models; none: quantize everything.",
)
@click.option(
    "--parity-threshold",
    type=float,
    default=DEFAULTS.parity_threshold,
    show_default=True,
    help="Largest Dice loss per structure allowed against the float model.",
)
@click.option(
    "--qat",
    "qat_epochs",
    type=int,
    default=DEFAULTS.qat_epochs,
    show_default=True,
    help="int8 only: fine-tune this many epochs with quantization-aware training (tfmot) before converting.",
)
@click.option(
    "--qat-lr", type=float, default=DEFAULTS.qat_lr, show_default=True, help="Learning rate of the QAT fine-tuning."
)
@click.option(
    "--averaged",
    is_flag=True,
    help="Export model_averaged.keras (the weights averaged over the last epochs, train --average-last) "
    "instead of model.keras.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Output .tflite (default RUN/model_<mode>.tflite, RUN/model_averaged_<mode>.tflite with --averaged).",
)
def export(run, mode, calib_data, calib_samples, float_ops, parity_threshold, qat_epochs, qat_lr, averaged, out):
    """Export RUN (a run folder) to TFLite with metadata, gated on validation Dice against the float model."""
    from echolite.workflows.export import export_run  # on use: keeps `echolite --help` fast

    settings = ExportSettings(
        mode or DEFAULT_MODE, calib_data, calib_samples, float_ops, parity_threshold, qat_epochs, qat_lr, averaged
    )
    result = export_run(run, settings, out, log=lambda line: click.echo(f"export: {line}"))
    click.echo(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB) and {result.metadata_path}")
    click.echo(f"next: echolite evaluate {result.path} --data {result.data} --split {result.split}")
