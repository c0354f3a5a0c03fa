"""Helpers the commands share: choosing a split's frames, loading any model kind, predicting."""

from __future__ import annotations

from pathlib import Path

from echolite.data.splits import frames_for_split, load_with_split, select_split  # noqa: F401  (the commands' API)
from echolite.errors import EcholiteError


def load_any_model(path: Path):
    """A Keras model (run folder, .keras) or a TFLite segmenter (.tflite)."""
    if path.suffix == ".tflite":
        from echolite.tflite_model import TFLiteSegmenter

        if not path.exists():
            raise EcholiteError(f"{path}: file not found")
        return TFLiteSegmenter(path)
    from echolite.predict import load_keras_model

    return load_keras_model(path)


def run_of(model: Path) -> Path | None:
    """The run folder a model belongs to (for its split): the folder itself, or the folder holding the file."""
    for candidate in (model, model.parent):
        if (candidate / "config.json").exists():
            return candidate
    return None


def input_size(network) -> int:
    return network.input_size if hasattr(network, "input_size") else network.input_shape[1]


def predict(network, frames):
    if hasattr(network, "predict_labels"):
        return network.predict_labels(frames.images)
    from echolite.predict import predict_labels

    return predict_labels(network, frames.images)


def read_predictions(folder: Path, frames):
    from echolite.predict import read_predictions

    return read_predictions(folder, frames)


def without_nan(value):
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def num(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt9(value) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.3f}"
