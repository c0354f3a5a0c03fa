"""Per-frame segmentation metrics on label maps."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


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


def hausdorff(pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    """Symmetric Hausdorff distance between the boundaries of two boolean masks, in units of ``spacing``
    ((row, column) pixel size; 1 gives pixels).

    Both empty: NaN (undefined). Exactly one empty: the image diagonal, a worst-case penalty, so a missed
    structure raises the mean instead of vanishing from it."""
    if not pred.any() and not truth.any():
        return float("nan")
    if not pred.any() or not truth.any():
        return float(np.hypot(pred.shape[0] * spacing[0], pred.shape[1] * spacing[1]))
    edge_p, edge_t = _boundary(pred), _boundary(truth)
    to_truth = ndimage.distance_transform_edt(~edge_t, sampling=spacing)
    to_pred = ndimage.distance_transform_edt(~edge_p, sampling=spacing)
    return float(max(to_truth[edge_p].max(), to_pred[edge_t].max()))


def hausdorff_per_class(pred: np.ndarray, truth: np.ndarray, spacing=(1.0, 1.0), num_classes: int = 4) -> np.ndarray:
    """(H, W) label maps → Hausdorff distance of each foreground class, shape (num_classes − 1,)."""
    return np.array([hausdorff(pred == c, truth == c, spacing) for c in range(1, num_classes)])


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), border_value=0)
