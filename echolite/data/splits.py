"""Patient-level splits: a patient's frames never land in two splits."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from echolite.data.io import load_yaml, read_text
from echolite.errors import EcholiteError
from echolite_edge.words import counted

if TYPE_CHECKING:
    from echolite.config import TrainConfig
    from echolite.data import LoadedData


def split_patients(patients, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0) -> dict:
    """Seeded shuffle of the unique patients, cut into ``train`` / ``val`` / ``test`` (the paper's 80/10/10).

    At least one validation patient is kept whenever there are two or more patients, since training selects
    its model on validation Dice."""
    unique = sorted(set(patients))
    if len(unique) < 2:
        raise EcholiteError(f"need at least 2 patients to split into train and validation, found {len(unique)}")
    order = [unique[i] for i in np.random.default_rng(seed).permutation(len(unique))]
    n_val = max(1, round(val_fraction * len(unique)))
    n_test = min(round(test_fraction * len(unique)), len(unique) - n_val - 1)
    return {
        "train": sorted(order[n_val + n_test :]),
        "val": sorted(order[:n_val]),
        "test": sorted(order[n_val : n_val + n_test]),
    }


def read_split_file(path: Path, patients) -> dict:
    """A user's split: YAML or JSON with ``train``, ``val`` and ``test`` lists of patient ids (any may be empty)."""
    try:
        payload = load_yaml(read_text(Path(path), "the split file"))
    except OSError as exc:
        raise EcholiteError(f"{path}: cannot read split file ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise EcholiteError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(payload, dict) or not set(payload) <= {"train", "val", "test"}:
        raise EcholiteError(f"{path}: expected a mapping with keys train, val, test")
    listed = {key: payload.get(key) if payload.get(key) is not None else [] for key in ("train", "val", "test")}
    for key, ids in listed.items():
        if not isinstance(ids, list):
            raise EcholiteError(f"{path}: {key} must be a list of patient ids, got {ids!r}")
    numbers = {str(p) for ids in listed.values() for p in ids if isinstance(p, int) and not isinstance(p, bool)}
    split = {key: [str(p) for p in ids] for key, ids in listed.items()}
    check_split(split, patients, str(path), numbers)
    return split


def check_split(split: dict, patients, source: str, numbers: set[str] = frozenset()) -> None:
    """Every listed patient exists in the data, appears once, and training is not empty. ``numbers``: the ids
    YAML read as integers (unquoted, so leading zeros are lost)."""
    known = set(patients)
    seen: dict[str, str] = {}
    for key, listed in split.items():
        for patient in listed:
            if patient in seen:
                where = f"listed twice in {key}" if seen[patient] == key else f"in both {seen[patient]} and {key}"
                raise EcholiteError(f"{source}: patient {patient} is {where}")
            seen[patient] = key
    unknown = sorted(set(seen) - known)
    if unknown:
        padded = any(k.isdigit() and len(k) > len(p) for p in set(unknown) & numbers for k in known)
        hint = "; unquoted ids such as 0001 are numbers in YAML (1): quote them ('0001')" if padded else ""
        raise EcholiteError(
            f"{source}: {counted(len(unknown), 'patient')} not in the data, e.g. {', '.join(unknown[:3])}{hint}"
        )
    if not split["train"]:
        raise EcholiteError(f"{source}: the train list is empty")


def choose_split(data: LoadedData, config: TrainConfig) -> dict[str, list[str]]:
    """``--split-file`` first, then the split the data ships with (CAMUS), else a seeded 80/10/10 patient split."""
    if config.split_file:
        return read_split_file(Path(config.split_file), data.frames.patients)
    if data.split:
        present = set(data.frames.patients)
        split = {k: [p for p in v if p in present] for k, v in data.split.items()}
        check_split(split, data.frames.patients, f"{data.layout} split files")
        return split
    return split_patients(data.frames.patients, config.val_fraction, config.test_fraction, config.seed)
