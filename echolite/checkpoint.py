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

LAST_MODEL = "checkpoint/last.keras"
STATE = "checkpoint/state.json"
BEST_MODEL = "model.keras"


@dataclass
class TrainState:
    epochs_done: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    wait: int = 0
    learning_rate: float | None = None


def load_state(run_dir: Path) -> TrainState | None:
    path = run_dir / STATE
    if not path.exists() or not (run_dir / LAST_MODEL).exists():
        return None
    return TrainState(**json.loads(path.read_text()))


def atomic_save_model(model: keras.Model, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class RunCheckpoint(keras.callbacks.Callback):
    """Best-model saving, early stopping and resumable checkpoints, in one place so their state agrees."""

    def __init__(self, run_dir: Path, monitor: str, patience: int, state: TrainState):
        super().__init__()
        self.run_dir, self.monitor, self.patience, self.state = run_dir, monitor, patience, state

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor not in (logs or {}):
            raise RuntimeError(f"training logs lack {self.monitor!r}; got {sorted(logs or {})}")
        score = float(logs[self.monitor])
        if score > self.state.best_score:
            self.state.best_score, self.state.best_epoch, self.state.wait = score, epoch + 1, 0
            atomic_save_model(self.model, self.run_dir / BEST_MODEL)
        else:
            self.state.wait += 1
        self.state.epochs_done = epoch + 1
        self.state.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        atomic_save_model(self.model, self.run_dir / LAST_MODEL)
        _atomic_write_text(self.run_dir / STATE, json.dumps(asdict(self.state), indent=2))
        if self.state.wait >= self.patience:
            self.model.stop_training = True
