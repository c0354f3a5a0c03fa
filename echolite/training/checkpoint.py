"""Run-folder checkpointing so an interrupted run resumes with nothing lost.

Every completed epoch atomically writes ``checkpoint/last.keras`` (weights and optimizer state) and then
``checkpoint/state.json`` (epochs done, best score, early-stopping counter, learning rate). The best model so
far (by validation Dice) is ``model.keras``. A file is written to a temporary name and renamed, so a kill at
any moment leaves the previous complete checkpoint in place.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import keras

from echolite.run import RunDir, write_text_atomically


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
    return TrainState(**json.loads(run.state.read_text()))


def atomic_save_model(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


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
            atomic_save_model(self.model, self.run.model)
        else:
            self.state.wait += 1
        self.state.epochs_done = epoch + 1
        self.state.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        atomic_save_model(self.model, self.run.last_model)
        write_text_atomically(self.run.state, json.dumps(asdict(self.state), indent=2))
        if self.state.wait >= self.patience:
            self.model.stop_training = True
