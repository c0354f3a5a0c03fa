"""Test-time augmentation (numpy only, shared by the library and the device runner): the model sees a frame
several times, zoomed about its centre and/or with its gain changed, each view's class probabilities are mapped
back to the frame's grid, and their mean gives the labels. It costs one model call per view.

Views (``TTA_MODES``): ``none``; ``zoom``: zoom factors 1, 0.9 and 1.1 (inside the ``affine`` training
augmentation's 0.8–1.1); ``zoom-gamma``: those and gamma 0.8 and 1.25 on the unzoomed frame (a brighter and a darker
gain setting). A zoomed-in view sees no border: there the mean is over the views that do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# (zoom factor, gamma) per view; the first is always the frame itself.
TTA_MODES: dict[str, tuple[tuple[float, float], ...]] = {
    "none": ((1.0, 1.0),),
    "zoom": ((1.0, 1.0), (0.9, 1.0), (1.1, 1.0)),
    "zoom-gamma": ((1.0, 1.0), (0.9, 1.0), (1.1, 1.0), (1.0, 0.8), (1.0, 1.25)),
}


def check_tta(mode: str) -> None:
    if mode not in TTA_MODES:
        raise ValueError(f"unknown test-time augmentation {mode!r}; choose one of: {', '.join(TTA_MODES)}")


def tta_scores(
    images: np.ndarray, scores: Callable[[np.ndarray], np.ndarray], mode: str, logits: bool = True
) -> np.ndarray:
    """(N, S, S) images → (N, S, S, C) scores whose argmax is the label: the model's own for ``none`` (no extra
    work on the plain path), else the mean probabilities over the views of ``mode``. ``scores`` maps (N, S, S)
    images to (N, S, S, C) logits (``logits``) or probabilities."""
    if mode == "none":
        return scores(images)
    to_probabilities = softmax if logits else (lambda p: p)
    return tta_probabilities(images, lambda views: to_probabilities(scores(views)), mode)


def tta_probabilities(images: np.ndarray, probabilities: Callable[[np.ndarray], np.ndarray], mode: str) -> np.ndarray:
    """(N, S, S) images in [0, 1] → (N, S, S, C) mean class probabilities over the views of ``mode``;
    ``probabilities`` maps (N, S, S) images to (N, S, S, C) probabilities."""
    check_tta(mode)
    total = weight = None
    for factor, gamma in TTA_MODES[mode]:
        view = images if gamma == 1.0 else np.clip(images, 0, 1) ** gamma
        if factor != 1.0:
            view = zoom(view, factor)
        probs = probabilities(view.astype(np.float32)).astype(np.float32)
        covered = np.ones(probs.shape[1:3], np.float32)
        if factor != 1.0:  # zero outside the view: each pixel holds its covered share of the probabilities
            probs, covered = zoom(probs, 1 / factor), coverage(probs.shape[1], 1 / factor)
        total = probs if total is None else total + probs
        weight = covered if weight is None else weight + covered
    return total / weight[..., None]


def zoom(batch: np.ndarray, factor: float) -> np.ndarray:
    """Zoom (N, S, S[, C]) arrays by ``factor`` about the centre, bilinear, zero outside the source."""
    matrix = _interpolation_matrix(batch.shape[1], factor)
    planes = batch if batch.ndim == 3 else np.moveaxis(batch, -1, 1)  # (N[, C], S, S)
    out = matrix @ planes.astype(np.float32) @ matrix.T
    return out if batch.ndim == 3 else np.moveaxis(out, 1, -1)


def coverage(size: int, factor: float) -> np.ndarray:
    """(S, S) share of each output pixel of ``zoom(…, factor)`` that comes from inside the source."""
    inside = _interpolation_matrix(size, factor).sum(1)
    return np.outer(inside, inside).astype(np.float32)


def _interpolation_matrix(size: int, factor: float) -> np.ndarray:
    """(S, S) matrix R with zoomed = R @ source along one axis: output i samples source c + (i - c) / factor."""
    centre = (size - 1) / 2
    source = centre + (np.arange(size) - centre) / factor
    low = np.floor(source).astype(int)
    frac = (source - low).astype(np.float32)
    matrix = np.zeros((size, size), np.float32)
    for index, w in ((low, 1 - frac), (low + 1, frac)):
        ok = (index >= 0) & (index < size)
        matrix[np.nonzero(ok)[0], index[ok]] += w[ok]
    return matrix


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)
