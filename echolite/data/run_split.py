"""The data a run was trained and is scored on: a data set on the model's grid with the run's saved patient split
(or a split file, the data's own split, or a seeded one), restricted to one split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from echolite.config import TrainConfig
from echolite.data import load_data
from echolite.data.splits import choose_split
from echolite.errors import EcholiteError
from echolite.run import RunDir


def load_with_split(data_path: str, run: Path | RunDir | None, size: int, split_file: str | None = None):
    """The data on the model's grid and its patient split: ``split_file`` when given, else the run's saved split
    when RUN is a run folder, else the data's own split, else a seeded 80/10/10 patient split (the run's phantom
    and skip-bad settings hold in every case)."""
    run = RunDir(run) if run is not None else None
    saved = run.load_config() if run is not None and run.is_run() else None
    train_config = saved.train if saved else TrainConfig()
    loaded = load_data(data_path, size, train_config.phantom_frames, train_config.seed, train_config.skip_bad)
    if split_file:
        return loaded, choose_split(loaded, dataclasses.replace(train_config, split_file=split_file))
    if saved:
        present = set(loaded.frames.patients)
        return loaded, {k: [p for p in v if p in present] for k, v in saved.split.items()}
    return loaded, choose_split(loaded, train_config)


def select_split(loaded, chosen: dict, split: str, data_path: str):
    """``loaded`` restricted to one split's patients (``all``: unchanged)."""
    if split == "all":
        return loaded
    if not chosen[split]:
        others = ", ".join(s for s in ("val", "test", "train", "all") if s != split and (s == "all" or chosen.get(s)))
        raise EcholiteError(f"{data_path}: the {split} split has no patients here; choose another split ({others})")
    return dataclasses.replace(loaded, frames=loaded.frames.for_patients(chosen[split]))


def frames_for_split(data_path: str, split: str, run: Path | RunDir | None, size: int, split_file: str | None = None):
    """The data restricted to one split, on the model's grid (see ``load_with_split``)."""
    loaded, chosen = load_with_split(data_path, run, size, split_file)
    return select_split(loaded, chosen, split, data_path)
