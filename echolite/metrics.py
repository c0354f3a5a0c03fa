"""Per-frame segmentation metrics on label maps."""

from __future__ import annotations

import numpy as np


def dice_per_class(pred: np.ndarray, truth: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """Dice of each foreground class for each frame: (N, H, W) label maps → (N, num_classes − 1).

    A structure absent from both prediction and truth scores NaN (undefined), so averages skip it; absent from
    only one of them, it scores 0."""
    scores = np.full((len(pred), num_classes - 1), np.nan)
    for c in range(1, num_classes):
        p, t = pred == c, truth == c
        intersection = np.logical_and(p, t).sum(axis=(1, 2))
        total = p.sum(axis=(1, 2)) + t.sum(axis=(1, 2))
        defined = total > 0
        scores[defined, c - 1] = 2 * intersection[defined] / total[defined]
    return scores
