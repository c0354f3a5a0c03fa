"""Per-frame segmentation metrics on masks: Dice, Hausdorff distance and mean absolute distance (MAD).

Boundary distances follow the CAMUS lab's ``vital`` toolkit, which scores CAMUS with ``medpy.metric.binary``
(``hd`` and ``assd``, connectivity 1): a mask's boundary is its pixels with a 4-neighbour outside it (the image
edge counts as outside), and the distances run between the two boundaries, in units of the pixel spacing.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from echolite.errors import EcholiteError
from echolite.evaluation.names import MISSED_DISTANCES

_CROSS = ndimage.generate_binary_structure(2, 1)


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


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """Dice of two boolean masks: NaN when both are empty, 0 when only one is."""
    total = int(pred.sum()) + int(truth.sum())
    return float("nan") if total == 0 else 2 * int(np.logical_and(pred, truth).sum()) / total


def boundary_distances(
    pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0), missed_distance: str = "nan"
) -> tuple[float, float]:
    """(Hausdorff, MAD) between the boundaries of two boolean masks, in units of ``spacing`` ((row, column)
    pixel size; 1 gives pixels).

    Hausdorff: the largest distance from a boundary pixel of either mask to the other boundary (medpy ``hd``).
    MAD: the mean of the two directed mean distances, (mean over pred's boundary of its distance to truth's +
    mean over truth's boundary of its distance to pred's) / 2, which is medpy's ``assd`` as vital computes it.
    Both empty: NaN. Exactly one empty (a missed structure): see ``names.MISSED_DISTANCES``."""
    if not pred.any() and not truth.any():
        return float("nan"), float("nan")
    if not pred.any() or not truth.any():
        missed = _missed(pred.shape, spacing, missed_distance)
        return missed, missed
    edge_p, edge_t = _boundary(pred), _boundary(truth)
    to_truth = ndimage.distance_transform_edt(~edge_t, sampling=spacing)[edge_p]
    to_pred = ndimage.distance_transform_edt(~edge_p, sampling=spacing)[edge_t]
    return float(max(to_truth.max(), to_pred.max())), float((to_truth.mean() + to_pred.mean()) / 2)


def hausdorff(
    pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0), missed_distance: str = "nan"
) -> float:
    """Symmetric Hausdorff distance between the boundaries of two boolean masks (see ``boundary_distances``)."""
    return boundary_distances(pred, truth, spacing, missed_distance)[0]


def mean_absolute_distance(
    pred: np.ndarray, truth: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0), missed_distance: str = "nan"
) -> float:
    """MAD between the boundaries of two boolean masks (see ``boundary_distances``)."""
    return boundary_distances(pred, truth, spacing, missed_distance)[1]


def _missed(shape: tuple[int, ...], spacing: tuple[float, float], missed_distance: str) -> float:
    if missed_distance == "diagonal":
        return float(np.hypot(shape[0] * spacing[0], shape[1] * spacing[1]))
    if missed_distance == "nan":
        return float("nan")
    raise EcholiteError(f"unknown missed distance {missed_distance!r}; choose one of: {', '.join(MISSED_DISTANCES)}")


def _boundary(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, structure=_CROSS, border_value=0)
