"""The published anatomical criteria for apical CAMUS segmentations (Painchaud et al., "Cardiac segmentation with
strong anatomical guarantees", IEEE TMI 39(11), 2020), as the CAMUS lab's toolkit ``vital`` computes them
(``vital/metrics/camus/anatomical/``: ``utils.compute_anatomical_metrics_by_segmentation``, the measures in
``vital/metrics/evaluate/segmentation.py``, the thresholds in ``config.py``), in numpy only.

Resolution: the thresholds were set on CAMUS masks at 256×256, and several measures count pixels, so a mask of any
other size is first resampled to that grid with nearest neighbour (as the library resamples every mask).

Where this differs from ``vital``, on purpose:

- ``vital`` measures the LV–LA gap between LV and MYO again (a slip in its ``count_holes_between_lv_and_atrium``);
  here it is measured between LV and LA, as its name and the paper say.
- "Outside" (what is not a hole) is the background joined to the image border; ``vital`` takes the component of
  the top-left pixel, which is the same whenever that corner is background, as in every apical frame.

A frame is anatomically plausible when no criterion fails. An undefined measure fails (as ``vital``'s
``optional_structure=False``): the LV/MYO width ratio without LV or MYO on the centre row, and the erosion ratio
without a MYO. A missing structure has no holes, fragments or gaps and a frontier ratio of 0, so those pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from echolite_edge.image import resize_nearest
from echolite_edge.labels import BACKGROUND, LA, LV, MYO
from echolite_edge.morphology import (
    connect_runs,
    dilate,
    erode,
    framed_box,
    hole_pixels_of,
    max_distance_to_background,
    runs,
    runs_without_small,
    structure_components,
)


@dataclass(frozen=True)
class CamusCriteria:
    """The thresholds of the published criteria (Painchaud et al., IEEE TMI 2020), all on the 256×256 grid. Ratios
    come from ``vital/metrics/camus/anatomical/config.py``; the pixel counts from the measures in
    ``vital/metrics/evaluate/segmentation.py`` and ``vital``'s rule that a count other than 0 is an error."""

    grid: int = 256
    """Side of the square grid the criteria are computed on (CAMUS masks at 256×256 in the paper and ``vital``)."""
    lv_myo_width_ratio_max: float = 4.15
    """LV width over MYO width (both walls) on the row of the LV∪MYO centre of mass (``vital`` config: max 4.15)."""
    myo_la_frontier_ratio_max: float = 0.11
    """MYO pixels touching the LA over the MYO's width (``vital`` config: max 0.11)."""
    lv_background_frontier_ratio_max: float = 0.4
    """LV pixels touching the background over the LV's width (``vital`` config: max 0.4)."""
    myo_erosion_ratio_min: float = 0.12
    """3×3 erosions that split the MYO over its largest distance to the background (``vital`` config: min 0.12)."""
    hole_pixels_max: int = 0
    """Pixels of holes tolerated in LV, LA and LV∪MYO (``vital``: any hole is an error)."""
    fragment_pixels_max: int = 0
    """Pixels outside the largest component tolerated in LV, MYO and LA (``vital``: any is an error)."""
    gap_pixels_max: int = 4
    """Background pixels enclosed between LV and MYO or LV and LA tolerated (``vital`` ignores gaps of at most
    H·W/2¹⁴ pixels, 4 on the 256 grid)."""
    small_object_pixels: int = 4
    """Pieces of fewer pixels are dropped after each erosion of the MYO (``vital``: H·W/2¹⁴, 4 on the 256 grid)."""


CAMUS = CamusCriteria()

CRITERIA = (
    "lv_hole",
    "la_hole",
    "epi_hole",
    "lv_fragmented",
    "myo_fragmented",
    "la_fragmented",
    "lv_myo_gap",
    "lv_la_gap",
    "lv_myo_width_ratio",
    "myo_thinness",
    "lv_background_frontier",
    "myo_la_frontier",
)
"""Criterion names, in the order ``check_anatomy`` returns them (``vital``'s names: holes_in_lv, holes_in_atrium,
holes_in_epi, disconnectivity_in_lv/myo/atrium, holes_between_lv_and_myo/atrium, width_ratio_between_lv_and_myo,
erosion_ratio_before_myo_split, frontier_ratio_between_lv_and_bg, frontier_ratio_between_myo_and_atrium)."""


def check_anatomy(
    mask: np.ndarray, criteria: CamusCriteria = CAMUS, whole: frozenset[int] = frozenset()
) -> dict[str, bool]:
    """Criterion name → failed?, for one (H, W) label map (resampled to ``criteria.grid`` when another size);
    ``whole``: structures known to lie in one 8-connected piece (``postprocess.postprocess_labels``)."""
    values = measure_anatomy(mask, criteria, exact=False, whole=whole)
    c = criteria
    limits = {
        "lv_hole": values["lv_hole"] > c.hole_pixels_max,
        "la_hole": values["la_hole"] > c.hole_pixels_max,
        "epi_hole": values["epi_hole"] > c.hole_pixels_max,
        "lv_fragmented": values["lv_fragmented"] > c.fragment_pixels_max,
        "myo_fragmented": values["myo_fragmented"] > c.fragment_pixels_max,
        "la_fragmented": values["la_fragmented"] > c.fragment_pixels_max,
        "lv_myo_gap": values["lv_myo_gap"] > c.gap_pixels_max,
        "lv_la_gap": values["lv_la_gap"] > c.gap_pixels_max,
        "lv_myo_width_ratio": not values["lv_myo_width_ratio"] <= c.lv_myo_width_ratio_max,  # NaN (missing) fails
        "myo_thinness": not values["myo_thinness"] >= c.myo_erosion_ratio_min,
        "lv_background_frontier": values["lv_background_frontier"] > c.lv_background_frontier_ratio_max,
        "myo_la_frontier": values["myo_la_frontier"] > c.myo_la_frontier_ratio_max,
    }
    return {name: bool(limits[name]) for name in CRITERIA}


def failed_criteria(
    mask: np.ndarray, criteria: CamusCriteria = CAMUS, whole: frozenset[int] = frozenset()
) -> list[str]:
    """Names of the criteria ``mask`` fails (empty: plausible); ``whole`` as ``check_anatomy`` takes it."""
    return [name for name, failed in check_anatomy(mask, criteria, whole).items() if failed]


def lv_open_to_background(mask: np.ndarray, criteria: CamusCriteria = CAMUS) -> bool:
    """Whether ``mask`` fails ``lv_background_frontier`` (its LV touches the background over more of its width than
    the criterion allows), without measuring the other criteria: post-processing asks it of every mask."""
    mask = around_heart(on_grid(mask, criteria.grid))
    return frontier_ratio(mask == LV, mask == BACKGROUND) > criteria.lv_background_frontier_ratio_max


def measure_anatomy(
    mask: np.ndarray, criteria: CamusCriteria = CAMUS, *, exact: bool = True, whole: frozenset[int] = frozenset()
) -> dict[str, float]:
    """The measured value behind each criterion (pixels or ratios on ``criteria.grid``; NaN: structure missing).
    Without ``exact`` (what a verdict needs), the MYO's erosion ratio may be a lower bound that already passes
    ``criteria.myo_erosion_ratio_min`` (``erosion_ratio``). ``whole``: structures known to lie in one 8-connected
    piece, whose fragments are not counted again (on a mask of another size than the grid, whose resampling may
    split them, all are counted)."""
    whole = whole if np.shape(mask) == (criteria.grid, criteria.grid) else frozenset()
    mask = around_heart(on_grid(mask, criteria.grid))
    lv, myo, la = mask == LV, mask == MYO, mask == LA
    small = criteria.small_object_pixels
    # each kind of measure labels all its regions in one pass
    lv_hole, la_hole, epi_hole = hole_pixels_of(np.stack([lv, la, lv | myo]), 8)
    fragments = fragment_pixels(mask, (LV, MYO, LA), whole)
    lv_myo_gap, lv_la_gap = gap_pixels(((lv, myo), (lv, la)), small)
    return {
        "lv_hole": int(lv_hole),
        "la_hole": int(la_hole),
        "epi_hole": int(epi_hole),
        "lv_fragmented": fragments[LV],
        "myo_fragmented": fragments[MYO],
        "la_fragmented": fragments[LA],
        "lv_myo_gap": lv_myo_gap,
        "lv_la_gap": lv_la_gap,
        "lv_myo_width_ratio": width_ratio(lv, myo),
        "myo_thinness": erosion_ratio(myo, small, None if exact else criteria.myo_erosion_ratio_min),
        "lv_background_frontier": frontier_ratio(lv, mask == BACKGROUND),
        "myo_la_frontier": frontier_ratio(myo, la),
    }


def on_grid(mask: np.ndarray, grid: int) -> np.ndarray:
    """The label map on the grid×grid the criteria are defined on (nearest neighbour, Pillow, as the library)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"anatomical criteria need one (H, W) label map, got shape {mask.shape}")
    if mask.shape == (grid, grid):
        return mask

    return resize_nearest(mask, (grid, grid))


def around_heart(mask: np.ndarray) -> np.ndarray:
    """The bounding box of all structures (nonzero pixels of a label map or a boolean region) plus a one-pixel
    frame (inside the image): every measure here is the same on it as on the whole grid (what lies beyond is
    background joined to the border, and the frame holds a nearest background pixel of every inside pixel), and
    faster."""
    return framed_box(mask)


def fragment_pixels(mask: np.ndarray, values, whole: frozenset[int] = frozenset()) -> dict[int, int]:
    """Per structure of ``values``, its pixels outside its largest 8-connected component
    (``count_disconnectivity``; 0 for an absent structure), all structures labelled in one pass but those
    known to be ``whole`` (0)."""
    fragments = dict.fromkeys(values, 0)
    counted = [value for value in values if value not in whole]
    if counted:
        found = structure_components(mask, counted)
        for value in counted:
            sizes = found.of(value)[1]
            fragments[value] = int(sizes.sum() - sizes.max()) if len(sizes) > 1 else 0
    return fragments


def gap_pixels(pairs, small: int) -> list[int]:
    """For each pair of regions (a, b), the background pixels enclosed by a and b together once each one's own
    holes (those without the other inside) are filled: a crack between two structures that should touch
    (``count_holes_between_regions``, 4-connected). At most ``small`` pixels count as none.

    Counted as the holes of a ∪ b less the own holes of a and of b. Filling a's own holes closes no other
    background (a path to the border outside a ∪ b stays in the part of a's background joined to the border, so it
    crosses none of a's holes; the same for b), so the gap is the union's holes that are no one's own; and the own
    holes of a and b lie in the union's holes and never overlap (a hole of both would be bordered by a and by b
    alone). The unions of all pairs are labelled in one pass; a pair whose union has at most ``small`` pixels of
    holes, as most frames, has no gap, and only the others' own holes are labelled, in a second pass."""
    gaps = [0] * len(pairs)
    unions = hole_pixels_of(np.stack([a | b for a, b in pairs]), 4)
    holed = [i for i, pixels in enumerate(unions) if pixels > small]
    if holed:
        regions = np.stack([r for i in holed for r in pairs[i]])
        others = np.stack([r for i in holed for r in pairs[i][::-1]])
        own = hole_pixels_of(regions, 4, keep_with=others).reshape(-1, 2).sum(axis=1)
        for i, own_pixels in zip(holed, own):
            pixels = int(unions[i] - own_pixels)
            gaps[i] = pixels if pixels > small else 0
    return gaps


def width_ratio(lv: np.ndarray, myo: np.ndarray) -> float:
    """LV pixels over MYO pixels on the row of their joint centre of mass (``measure_width_ratio_between_regions``);
    NaN when either is absent from that row."""
    rows = np.nonzero(lv | myo)[0]
    if not len(rows):
        return float("nan")
    row = int(rows.mean())
    lv_width, myo_width = int(lv[row].sum()), int(myo[row].sum())
    return lv_width / myo_width if lv_width and myo_width else float("nan")


def frontier_ratio(region: np.ndarray, other: np.ndarray) -> float:
    """Pixels of ``region`` touching ``other`` (8-neighbours) over the width of ``region``'s bounding box
    (``measure_frontier_ratio_between_regions``; a single touching pixel counts as none, an absent region is 0)."""
    if not region.any():
        return 0.0
    touching = int((region & dilate(other)).sum())
    columns = np.nonzero(region.any(axis=0))[0]
    return float((touching if touching > 1 else 0) / (columns[-1] - columns[0] + 1))


def erosion_ratio(region: np.ndarray, small: int, passing: float | None = None) -> float:
    """3×3 erosions until ``region`` splits (or vanishes), over its largest distance to the background: near 1 for
    an even wall, small when one spot is much thinner than the thickest (``measure_erosion_ratio_before_split``).
    Pieces of fewer than ``small`` pixels are dropped after each erosion; an already fragmented region gives 0.

    With ``passing`` (a criterion's minimum), a lower bound above it is returned where one is found, as most walls
    allow, instead of the ratio: only the first few erosions are labelled and the distance is not measured. The
    erosions until the region vanishes (none from the image edge) are its deepest pixel's chessboard distance to
    the background in the image, which the distance is measured to, and no Euclidean distance exceeds √2 times the
    chessboard one; so where the region and its first m − 1 erosions are each one piece, the ratio is at least
    m / (√2 · depth)."""
    if not region.any() or region.all():
        return float("nan")
    region = around_heart(region)  # the same erosions, components and distances to the background
    levels = erosion_levels(region)
    if passing is not None and math.isfinite(passing):
        distance_bound = math.sqrt(2) * (len(levels) - 1)  # at least the largest distance to the background
        levels_needed = math.floor(passing * distance_bound) + 1  # the fewest whose bound passes
        if levels_needed < len(levels) and levels_needed / distance_bound > passing:
            counts = components_per_level(levels[:levels_needed], small)
            if (counts == 1).all():
                return levels_needed / distance_bound
            return first_split(counts) / max_distance_to_background(region)  # split among these levels
    return first_split(components_per_level(levels, small)) / max_distance_to_background(region)


def erosions_before_split(region: np.ndarray, small: int) -> int:
    """How many times ``region`` is eroded (3×3, not from the image edge), dropping 4-connected pieces of fewer
    than ``small`` pixels after each erosion, while it is one 8-connected component: ``vital``'s loop (what the
    tests compare with it)."""
    return first_split(components_per_level(erosion_levels(region), small))


def first_split(counts: np.ndarray) -> int:
    """The first level whose component count is not 1 (the last level, empty, has 0)."""
    return int(np.argmax(counts != 1))


def erosion_levels(region: np.ndarray) -> list[np.ndarray]:
    """``region`` eroded 0, 1, 2, ... times (3×3, not from the image edge), up to the first empty level."""
    levels = [region]
    while levels[-1].any():
        levels.append(erode(levels[-1], border=True))
    return levels


def components_per_level(levels: list[np.ndarray], small: int) -> np.ndarray:
    """The 8-connected components of each level of ``erosion_levels`` (or its first few), 4-connected pieces of
    fewer than ``small`` pixels dropped from every level after the first. A dropped piece never matters to the
    next erosion: a pixel survives only with its whole 3×3 neighbourhood (in the image) in the region, and that
    neighbourhood, 4-connected, lies in the pixel's own piece; so what a piece leaves after an erosion lies inside
    it, touches no other piece's remains, and is as small again. Level k is therefore the region eroded k times
    with its small pieces dropped (``vital``'s loop drops them before eroding again): all levels are stacked one
    above the other (a blank row between) and labelled in two passes, instead of two per erosion."""
    region = levels[0]
    height, width = region.shape
    stack = np.zeros((len(levels), height + 1, width), bool)
    stack[1:, :height] = np.reshape(levels[1:], (-1, height, width))  # level 0, counted as it is, goes in front
    eroded = runs_without_small(*runs(stack.reshape(-1, width)), width, small, 4)
    rows, starts, ends = (np.concatenate(pair) for pair in zip(runs(region), eroded))
    level = rows // (height + 1)
    components = connect_runs(rows, starts, ends, width + 2, 8)
    roots = components == np.arange(len(components))
    return np.bincount(level[roots], minlength=len(levels))


def frame_verdict(mask: np.ndarray, seconds: list[float], whole: frozenset[int] = frozenset()) -> dict:
    """The per-frame verdict ``results.json`` keeps (passed, the failed criteria); its time appended to
    ``seconds``; ``whole`` as ``check_anatomy`` takes it."""
    start = time.perf_counter()
    failed = failed_criteria(mask, whole=whole)
    seconds.append(time.perf_counter() - start)
    return {"passed": not failed, "failed": failed}


def qc_summary(mode: str, frames: list[dict], seconds: list[float]) -> dict:
    """The QC section of ``results.json``: the criteria, how many frames pass, the median time per frame; with
    ``strict``, the failing frames as rejected."""
    if mode == "off":
        return {"mode": "off"}
    failing = [f["name"] for f in frames if not f["qc"]["passed"]]
    summary = {
        "mode": mode,
        "criteria": "camus (Painchaud et al., IEEE TMI 2020, as vital computes them)",
        "grid": CAMUS.grid,
        "passed": len(frames) - len(failing),
        "failed": len(failing),
        "ms_per_frame_median": float(np.median(seconds) * 1000),
    }
    if mode == "strict":
        summary["rejected"] = failing
    return summary
