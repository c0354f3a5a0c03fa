"""Checkpoint averaging (stochastic weight averaging, Izmailov et al. 2018): the mean of the weights of a run's
last N epochs, with batch-norm statistics recomputed for the averaged weights on the training frames.

With a constant learning rate (the paper's schedule) successive epochs sit around a wide minimum; their mean lies
nearer its centre than any one of them. ``TrainConfig.average_last`` keeps the weights of the last N epochs in
``checkpoint/epochs/`` and writes ``model_averaged.keras`` when training ends; ``average_run`` redoes it from the
kept weights (``echolite average``). Batch-norm moving statistics are not averaged: one pass over the training
frames (no augmentation) in training mode sets them to the exact mean of the batch statistics.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import keras
import numpy as np

from echolite.data.run_split import load_with_split, select_split
from echolite.errors import EcholiteError
from echolite.models.layers import load_saved_model
from echolite.run import RunDir
from echolite_edge.files import atomic_path


class EpochWeights(keras.callbacks.Callback):
    """Keep the weights of every epoch from ``first_epoch`` (counted from 1) on, written atomically."""

    def __init__(self, run: RunDir, first_epoch: int):
        super().__init__()
        self.run, self.first_epoch = run, first_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.first_epoch:
            path = self.run.epoch_weights(epoch + 1)
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as tmp:
                self.model.save_weights(tmp)


def kept_epochs(run: RunDir) -> list[int]:
    """Epochs whose weights are kept; other files there (a copy named ``epoch_002 (1).weights.h5``) are ignored."""
    names = {p.name for p in run.epoch_weights_dir.glob("epoch_*.weights.h5")}
    found = (re.fullmatch(r"epoch_(\d+)\.weights\.h5", name) for name in names)
    return sorted(int(m[1]) for m in found if m and run.epoch_weights(int(m[1])).name in names)


def average_run(run: RunDir, last: int, train_images: np.ndarray, batch_size: int) -> Path:
    """Average the weights of the run's last ``last`` kept epochs, recompute batch-norm statistics on
    ``train_images``, and write ``model_averaged.keras``; returns its path."""
    epochs = kept_epochs(run)
    if len(epochs) < last:
        raise EcholiteError(
            f"{run.path}: {len(epochs)} epoch weights kept in {run.epoch_weights_dir}, "
            f"{last} needed; train with --average-last {last} or more"
        )
    chosen = epochs[-last:]
    model = load_saved_model(run.last_model if run.last_model.exists() else run.model)
    total = [np.zeros_like(w) for w in model.get_weights()]
    for epoch in chosen:
        _load_epoch_weights(model, run.epoch_weights(epoch))
        total = [t + w for t, w in zip(total, model.get_weights())]
    model.set_weights([t / len(chosen) for t in total])
    recompute_batch_norm(model, train_images, batch_size)
    with atomic_path(run.averaged_model) as tmp:
        model.save(tmp)
    return run.averaged_model


def _load_epoch_weights(model: keras.Model, path: Path) -> None:
    """One epoch's weights into ``model``; a damaged file or another model's weights is named in one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.filterwarnings("error", "Skipping", UserWarning)  # layers missing from the file: another model
            model.load_weights(path)
    except OSError as exc:  # h5py's errors name no file
        reason = str(exc).splitlines()[0] if str(exc) else "damaged"
        raise EcholiteError(f"{path}: unreadable weights file ({reason})") from None
    except (ValueError, UserWarning):
        raise EcholiteError(f"{path}: not weights of this run's model (another architecture?)") from None


def recompute_batch_norm(model: keras.Model, images: np.ndarray, batch_size: int) -> None:
    """Set every batch-norm layer's moving mean and variance to the mean of its batch statistics over ``images``
    (momentum i/(i+1) at batch i makes the moving average a plain mean)."""
    layers = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for i, start in enumerate(range(0, len(images), batch_size)):
            for layer in layers:
                layer.momentum = i / (i + 1)
            model(images[start : start + batch_size], training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


def _all_layers(model: keras.Model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)


def average_saved_run(run: RunDir, last: int, data: str | None = None) -> tuple[Path, str]:
    """``average_run`` on the run's training frames, read from ``data`` (default: the saved folder), which must
    hold every training patient: the batch-norm statistics are re-estimated on them. Returns the averaged model's
    path and the data folder used."""

    saved = run.load_config()
    data = run.training_data(data)
    loaded, chosen = load_with_split(data, run, saved.model.input_size)
    missing = sorted(set(saved.split["train"]) - set(chosen["train"]))
    if missing:
        raise EcholiteError(
            f"{data}: lacks {len(missing)} of the run's {len(saved.split['train'])} training patients "
            f"(e.g. {missing[0]}); give the data the run was trained on (--data)"
        )
    frames = select_split(loaded, chosen, "train", data).frames
    return average_run(run, last, frames.images, saved.train.batch_size), data
