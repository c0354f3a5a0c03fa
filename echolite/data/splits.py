"""Patient-level splits: a patient's frames never land in two splits."""

from __future__ import annotations

import numpy as np

from echolite.errors import EcholiteError


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
        "train": sorted(order[n_val + n_test:]),
        "val": sorted(order[:n_val]),
        "test": sorted(order[n_val:n_val + n_test]),
    }
