"""Anatomical plausibility of apical-view segmentations, by a named set of criteria (each a function of the
(H, W) label map returning True when the frame FAILS it). A frame is an anatomical outlier if any criterion fails.

- ``camus`` (the default): the published criteria of Painchaud et al., "Cardiac segmentation with strong anatomical
  guarantees", IEEE TMI 2020, as the CAMUS toolkit ``vital`` computes them, on the 256×256 grid. They live in
  ``echolite_edge.anatomy`` (numpy only), so the device runner's quality control gives the same verdicts.
- ``echolite``: the project's earlier, simpler checks (thresholds in ``AnatomyThresholds``), kept for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from echolite.errors import EcholiteError
from echolite_edge.anatomy import CamusCriteria
from echolite_edge.anatomy import check_anatomy as _check_camus
from echolite_edge.labels import BACKGROUND, LA, LV, MYO

_EIGHT = np.ones((3, 3), bool)
_FOUR = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class AnatomyThresholds:
    """The ``echolite`` set's thresholds (in pixels of the mask as given)."""

    gap_pixels: int = 4
    """Background pixels wedged between two structures (touching both) tolerated before a "gap" fails."""
    lv_background_fraction: float = 0.1
    """Share of the LV border that may touch background (the mitral plane beside the LA, in a normal frame)."""
    myo_min_thickness: int = 1
    """The myocardium must survive an erosion of this radius in pixels as one piece (else too thin or broken)."""


CRITERIA_SETS = {"camus": CamusCriteria(), "echolite": AnatomyThresholds()}
"""Criteria set name → its threshold table (the set is chosen by the table's type)."""


def check_anatomy(mask: np.ndarray, criteria: str | CamusCriteria | AnatomyThresholds = "camus") -> dict[str, bool]:
    """Criterion name → failed?, for one (H, W) label map. ``criteria``: a name in ``CRITERIA_SETS`` or a table
    with other thresholds (``CamusCriteria`` or ``AnatomyThresholds``)."""
    table = criteria_table(criteria)
    if isinstance(table, CamusCriteria):
        return _check_camus(mask, table)
    return _check_echolite(mask, table)


def criteria_table(criteria: str | CamusCriteria | AnatomyThresholds) -> CamusCriteria | AnatomyThresholds:
    if isinstance(criteria, (CamusCriteria, AnatomyThresholds)):
        return criteria
    if criteria not in CRITERIA_SETS:
        raise EcholiteError(f"unknown anatomical criteria {criteria!r}: choose one of {', '.join(CRITERIA_SETS)}")
    return CRITERIA_SETS[criteria]


def _check_echolite(mask: np.ndarray, thresholds: AnatomyThresholds) -> dict[str, bool]:
    lv, myo, la = mask == LV, mask == MYO, mask == LA
    background = mask == BACKGROUND
    return {
        "lv_hole": _has_hole(lv),
        "myo_hole": _has_hole(myo),
        "la_hole": _has_hole(la),
        "lv_myo_hole": _has_hole(lv | myo),
        "lv_fragmented": _components(lv) > 1,
        "myo_fragmented": _components(myo) > 1,
        "la_fragmented": _components(la) > 1,
        "lv_myo_gap": _gap(lv, myo, background, la) > thresholds.gap_pixels,
        "lv_la_gap": _gap(lv, la, background, myo) > thresholds.gap_pixels,
        "lv_touches_background": _contact_fraction(lv, background) > thresholds.lv_background_fraction,
        "myo_too_thin": _too_thin(myo, thresholds.myo_min_thickness),
    }


def is_outlier(checks: dict[str, bool]) -> bool:
    """Whether any criterion of ``check_anatomy``'s result failed."""
    return any(checks.values())


def _has_hole(region: np.ndarray) -> bool:
    return bool(region.any()) and bool((ndimage.binary_fill_holes(region, structure=_FOUR) & ~region).any())


def _components(region: np.ndarray) -> int:
    return int(ndimage.label(region, structure=_EIGHT)[1])


def _gap(a: np.ndarray, b: np.ndarray, background: np.ndarray, third: np.ndarray) -> int:
    """Background pixels next to both structures and away from the third: a crack between two structures that
    should touch. (Where all three meet, at the mitral annulus, background beside both is normal.)"""
    near_a = ndimage.binary_dilation(a, _FOUR)
    near_b = ndimage.binary_dilation(b, _FOUR)
    near_third = ndimage.binary_dilation(third, _EIGHT, iterations=3)
    return int((background & near_a & near_b & ~near_third).sum())


def _contact_fraction(region: np.ndarray, other: np.ndarray) -> float:
    border = region & ~ndimage.binary_erosion(region, _FOUR, border_value=1)
    if not border.any():
        return 0.0
    touching = border & ndimage.binary_dilation(other, _FOUR)
    return float(touching.sum() / border.sum())


def _too_thin(myo: np.ndarray, radius: int) -> bool:
    if not myo.any():
        return True
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    eroded = ndimage.binary_erosion(myo, x * x + y * y <= radius * radius)
    return _components(eroded) != 1
