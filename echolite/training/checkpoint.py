"""Run-folder checkpointing so an interrupted run resumes with nothing lost.

Every completed epoch atomically writes ``checkpoint/last.keras`` (weights and optimizer state) and then
``checkpoint/state.json`` (epochs done, best score, early-stopping counter, learning rate). The best model so
far (by validation Dice) is ``model.keras``. A file is written to a temporary name and renamed, so a kill at
any moment leaves the previous complete checkpoint in place.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from echolite.errors import EcholiteError
from echolite.run import RunDir
from echolite_edge.files import atomic_path, write_json


@dataclass
class TrainState:
    epochs_done: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    wait: int = 0
    learning_rate: float | None = None


def load_state(run: RunDir) -> TrainState | None:
    if not run.has_checkpoint():
        return None
    try:
        state = TrainState(**json.loads(run.state.read_text()))
    except (ValueError, TypeError) as exc:  # cut short, edited, or from another version
        raise EcholiteError(f"{run.state}: not a training state ({str(exc).splitlines()[0][:120]})") from None
    problem = _state_problem(state)
    if problem:
        raise EcholiteError(f"{run.state}: not a training state ({problem})")
    return state


def _state_problem(state: TrainState) -> str | None:
    def count(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)

    for name in ("epochs_done", "best_epoch", "wait"):
        if not count(getattr(state, name)):
            return f"{name} {getattr(state, name)!r} is not a count"
    if not number(state.best_score):
        return f"best_score {state.best_score!r} is not a number"
    if state.learning_rate is not None and not (number(state.learning_rate) and state.learning_rate > 0):
        return f"learning_rate {state.learning_rate!r} is not a positive number"
    return None


def atomic_save_model(model: keras.Model, path: Path, optimizer: bool = True) -> None:
    """``model`` saved whole or not at all; without ``optimizer`` as an uncompiled model of the same layers and
    weights, a third of the size (the optimizer's moments are only needed to resume, from the checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not optimizer:
        model = keras.Model(model.input, model.output, name=model.name)  # the same outputs, by name
    with atomic_path(path) as tmp:
        model.save(tmp)


class RunCheckpoint(keras.callbacks.Callback):
    """Best-model saving, early stopping and resumable checkpoints, in one place so their state agrees."""

    def __init__(self, run: RunDir, monitor: str, patience: int, state: TrainState):
        super().__init__()
        self.run, self.monitor, self.patience, self.state = run, monitor, patience, state

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise RuntimeError(f"training logs lack {self.monitor!r}; got {sorted(logs or {})}")
        score = float(logs[self.monitor])
        if score > self.state.best_score:
            self.state.best_score, self.state.best_epoch, self.state.wait = score, epoch + 1, 0
            atomic_save_model(self.model, self.run.model, optimizer=False)
        else:
            self.state.wait += 1
        self.state.epochs_done = epoch + 1
        self.state.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        atomic_save_model(self.model, self.run.last_model)
        write_json(self.run.state, asdict(self.state))
        if self.state.wait >= self.patience:
            self.model.stop_training = True


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: every metric of every epoch, epochs counted from 1 as everywhere else; appended per epoch."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in sorted((logs or {}).items())}
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["epoch", *logs])
            writer.writerow([epoch + 1, *logs.values()])


class EpochLog(keras.callbacks.Callback):
    """One short line per epoch for a person (time, loss, validation Dice per structure, best so far), and a word
    while the first epoch compiles. The full metrics are in ``history.csv``."""

    def __init__(self, log, epochs: int, state: TrainState, compiles: str):
        super().__init__()
        self.log, self.epochs, self.state, self.compiles, self.started = log, epochs, state, compiles, 0.0

    def on_train_begin(self, logs=None):
        self.log(
            f"epoch {self.state.epochs_done + 1}/{self.epochs}: compiling the training step{self.compiles}; "
            "the first epoch takes longer"
        )

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        dice = "  ".join(f"{name} {_metric(logs, name.lower()):.3f}" for name in ("LV", "MYO", "LA"))
        which = "val" if any(key.startswith("val_") for key in logs) else "train"  # no validation patients: train
        self.log(
            f"epoch {epoch + 1}/{self.epochs}  {time.perf_counter() - self.started:.0f} s  "
            f"loss {logs.get('loss', math.nan):.3f}  {which} Dice {dice}  "
            f"best {self.state.best_score:.3f} (epoch {self.state.best_epoch})"
        )


class BatchProgress(keras.callbacks.Callback):
    """``progress(step, steps)`` after each training batch of an epoch, so a long epoch visibly moves."""

    def __init__(self, progress: Callable[[int, int], None], steps: int):
        super().__init__()
        self.progress, self.steps = progress, steps

    def on_train_batch_end(self, batch, logs=None):
        self.progress(batch + 1, self.steps)


def _metric(logs: dict, structure: str) -> float:
    for key in (f"val_seg_dice_{structure}", f"val_dice_{structure}", f"seg_dice_{structure}", f"dice_{structure}"):
        if key in logs:
            return float(logs[key])
    return math.nan
