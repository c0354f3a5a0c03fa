"""Post-processing of label maps (paper Section II-C.3): keep the largest connected component of each structure.

Connectivity is 8-neighbour (2D, ``scipy.ndimage`` structure of ones). Removed components become background,
as in nnU-Net. Optional: fill holes inside each structure, a morphological opening / closing of each structure
with a disk of the given radius. Then the anatomical repairs (``fill_enclosed``, ``close_myocardium``,
``detach_atrium``), which the device runner shares: it does the largest components and the repairs with the same
results in numpy (``echolite_edge.postprocess``, which owns the repairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from echolite.errors import EcholiteError
from echolite_edge.postprocess import CLOSE_DEFAULT, check_close_mode, repair_anatomy

_EIGHT = np.ones((3, 3), bool)


@dataclass(frozen=True)
class PostprocessConfig:
    largest_component: bool = True
    fill_holes: bool = False
    opening_radius: int = 0
    closing_radius: int = 0
    fill_enclosed: bool = True
    """After the per-structure steps: background enclosed by LV ∪ MYO ∪ LA takes the label of most of its rim
    (on by default: background enclosed by the heart is not anatomy, and the anatomical criteria reject the holes
    and gaps it leaves; what it changes: benchmarks/RESULTS.md)."""
    close_myocardium: str = CLOSE_DEFAULT
    """Then: LV pixels touching the background, away from the LA, become myocardium: ``off``, ``when-open`` (only
    in a mask whose LV touches the background beyond the published criterion; the default: only a mask the criteria
    already reject changes, so an accepted mask keeps the boundaries the model drew) or ``always``
    (``echolite_edge.postprocess.CLOSE_MODES``; every mask, which also moves boundaries the criteria accept)."""
    detach_atrium: bool = True
    """Last: myocardium touching the LA but not the LV becomes background (on by default: myocardium that does not
    border the LV is not its wall, and the published criteria reject the MYO–LA frontier it makes)."""

    def __post_init__(self):
        try:
            check_close_mode(self.close_myocardium)
        except ValueError as error:
            raise EcholiteError(str(error)) from None


def postprocess(mask: np.ndarray, config: PostprocessConfig = PostprocessConfig(), num_classes: int = 4) -> np.ndarray:
    """Post-process one (H, W) label map or a stack (N, H, W)."""
    if mask.ndim == 3:
        return np.stack([postprocess(m, config, num_classes) for m in mask])
    out = mask.copy()
    for label in range(1, num_classes):
        region = out == label
        if not region.any():
            continue
        region = _morphology(region, config)
        if config.largest_component:
            region = largest_component(region)
        if config.fill_holes:
            region = ndimage.binary_fill_holes(region)
        out[(out == label) & ~region] = 0
        out[region] = label
    return repair_anatomy(out, config.fill_enclosed, config.close_myocardium, config.detach_atrium)


def largest_component(region: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(region, structure=_EIGHT)
    if count <= 1:
        return region
    sizes = np.bincount(labels.ravel())[1:]
    return labels == (1 + int(np.argmax(sizes)))


def _morphology(region: np.ndarray, config: PostprocessConfig) -> np.ndarray:
    if config.opening_radius:
        region = ndimage.binary_opening(region, _disk(config.opening_radius))
    if config.closing_radius:
        region = ndimage.binary_closing(region, _disk(config.closing_radius))
    return region


def _disk(radius: int) -> np.ndarray:
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius
