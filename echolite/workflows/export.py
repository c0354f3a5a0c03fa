"""The export workflow: a run folder → its data and split → (optional QAT) → TFLite with metadata, gated on the
run's validation frames against the float model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from echolite.data.run_split import load_with_split, select_split
from echolite.errors import EcholiteError, check_writable
from echolite.export.formats import ExportSettings, get_format
from echolite.export.qat import QATSettings, quantization_aware_int8
from echolite.export.tflite import ExportResult, export_tflite
from echolite.inference import load_keras_model
from echolite.run import RunDir
from echolite_edge.segmenter import metadata_path, read_metadata
from echolite_edge.words import counted

MIN_CALIBRATION_FRAMES = 100


def export_run(
    run_path: Path,
    settings: ExportSettings = ExportSettings(),
    out: Path | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> ExportResult:
    """Export the run's ``model.keras`` (or, with ``settings.averaged``, its ``model_averaged.keras``); ``out``
    defaults to ``RUN/model_[averaged_]<mode>[_qat].tflite``."""

    run = RunDir.require(run_path)  # export needs the run's data and split
    weights = run.averaged_model if settings.averaged else run.model
    if settings.averaged and not weights.exists():
        raise EcholiteError(f"{run.path}: no {run.AVERAGED} to export; train with --average-last N")
    out = Path(out) if out is not None else run.export_path(settings.mode, bool(settings.qat_epochs), settings.averaged)
    check_output(out)
    saved = run.load_config()
    network = load_keras_model(weights)
    size = saved.model.input_size
    if tuple(network.input_shape[1:3]) != (size, size):
        raise EcholiteError(
            f"{weights}: takes {network.input_shape[1]}x{network.input_shape[2]} frames, while "
            f"{run.config} says {size}x{size}; export the run the model was trained in"
        )
    data = run.training_data(settings.calib_data, "--calib-data")
    loaded, chosen = load_with_split(data, run, size)  # read the data once for both splits
    calibration, validation = (
        _role_frames(loaded, chosen, split, data, bool(settings.calib_data), log) for split in ("train", "val")
    )
    used = min(len(calibration), settings.calib_samples)
    if get_format(settings.mode).calibrated and used < MIN_CALIBRATION_FRAMES:
        log(f"warning: only {used} calibration frames ({MIN_CALIBRATION_FRAMES}-500 recommended)")
    content = _quantization_aware(network, saved, calibration, settings, log) if settings.qat_epochs else None
    method = f"quantization-aware, {counted(settings.qat_epochs, 'epoch')}" if settings.qat_epochs else "post-training"
    result = export_tflite(
        network,
        out,
        settings.mode,
        calibration,
        validation,
        settings.calib_samples,
        settings.float_ops,
        settings.parity_threshold,
        source=str(weights),
        log=log,
        content=content,
        method=method,
    )
    result.data, result.split = data, "val" if chosen["val"] else "all"
    return result


def _role_frames(loaded, chosen: dict, split: str, data: str, foreign: bool, log):
    """The run's ``split`` patients of ``data``; for ``--calib-data`` that holds none of them, all its frames
    (the parity gate compares the two models, so frames seen in calibration still serve)."""
    if foreign and not chosen[split]:
        log(
            f"note: {data} holds none of the run's {split} patients; using all its "
            f"{counted(len(loaded.frames), 'frame')}"
        )
        return loaded.frames
    return select_split(loaded, chosen, split, data).frames


def check_output(out: Path) -> None:
    """Before any work: a ``.tflite`` name (evaluate and the device runner go by the suffix) in a writable folder."""
    if out.is_dir():
        raise EcholiteError(f"{out}: is a folder; give a file name ending in .tflite")
    if out.suffix != ".tflite":
        raise EcholiteError(f"{out}: an export is a .tflite file; give a name ending in .tflite")
    if metadata_path(out).is_dir():
        raise EcholiteError(
            f"{metadata_path(out)}: is a folder where the export's metadata goes; remove it or choose another name"
        )
    if metadata_path(out).exists() and not out.exists() and not _has_export_metadata(out):
        raise EcholiteError(
            f"{metadata_path(out)}: exists and is not an export's metadata (the export would "
            "replace it); choose another name"
        )
    check_writable(out.parent, "the export")  # an existing export may be replaced


def _has_export_metadata(out: Path) -> bool:
    """The JSON beside ``out`` was written by an export (a damaged one beside its model is replaced by the next
    export, not refused)."""

    try:
        return str(read_metadata(out).get("format", "")).startswith("echolite-tflite")
    except ValueError:
        return False


def _quantization_aware(network, saved, calibration, settings: ExportSettings, log) -> bytes:
    qat = QATSettings(
        epochs=settings.qat_epochs,
        learning_rate=settings.qat_lr,
        batch_size=min(saved.train.batch_size, 16),
        augment=saved.train.augment,
        loss=saved.train.loss,
        size_weight=saved.train.size_weight,
        seed=saved.train.seed,
        calib_samples=settings.calib_samples,
    )
    return quantization_aware_int8(network, saved.model, calibration, qat, log)
