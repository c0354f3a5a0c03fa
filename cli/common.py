"""Helpers the commands share: choosing a split's frames, loading any model kind, predicting."""

from __future__ import annotations

from pathlib import Path

from echolite.errors import EcholiteError


def frames_for_split(data_path: str, split: str, model: Path | None, size: int):
    """The data restricted to one split, on the model's grid (see ``load_with_split``)."""
    loaded, chosen = load_with_split(data_path, model, size)
    return select_split(loaded, chosen, split, data_path)


def load_with_split(data_path: str, model: Path | None, size: int):
    """The data on the model's grid and its patient split: the run's saved split (and phantom settings) when
    MODEL is a run folder, else the data's own split, else a seeded 80/10/10 patient split."""
    from echolite.config import TrainConfig, load_run_config
    from echolite.data import load_data
    from echolite.train import choose_split

    config_file = model / "config.json" if model is not None and Path(model).is_dir() else None
    saved = load_run_config(config_file) if config_file is not None and config_file.exists() else None
    train_config = saved[1] if saved else TrainConfig()
    loaded = load_data(data_path, size, train_config.phantom_frames, train_config.seed)
    if saved:
        present = set(loaded.frames.patients)
        return loaded, {k: [p for p in v if p in present] for k, v in saved[2]["split"].items()}
    return loaded, choose_split(loaded, train_config)


def select_split(loaded, chosen: dict, split: str, data_path: str):
    from dataclasses import replace

    if split == "all":
        return loaded
    if not chosen[split]:
        raise EcholiteError(f"{data_path}: the {split} split has no patients here; use --split val, train or all")
    return replace(loaded, frames=loaded.frames.for_patients(chosen[split]))


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
