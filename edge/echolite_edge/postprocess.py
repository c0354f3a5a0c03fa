"""Post-processing of label maps in numpy only, shared by the library and the device runner: the largest
8-connected component per structure (removed pixels become background; the library's default), and filling the
background the heart encloses and closing the myocardium around the cavity (options).

Components come from the run-based labelling of ``echolite_edge.morphology``. Ties between equal-sized components
go to the one met first in raster order, as with scipy's labelling.
"""

from __future__ import annotations

import numpy as np

from echolite_edge.labels import LA, LV, MYO
from echolite_edge.morphology import connect_runs, dilate, dilate_cross, holes, label, runs


def keep_largest_components(mask: np.ndarray, num_classes: int = 4) -> np.ndarray:
    out = mask.copy()
    for label in range(1, num_classes):
        region = mask == label
        if region.any():
            keep = largest_component(region)
            if keep is not region:
                out[region & ~keep] = 0
    return out


def largest_component(region: np.ndarray) -> np.ndarray:
    rows, starts, ends = runs(region)
    width = region.shape[1] + 2
    labels = connect_runs(rows, starts, ends, width)
    if not labels.any():  # one component (the usual case): nothing to remove
        return region
    sizes = np.bincount(labels, weights=ends - starts + 1)
    keep = labels == int(np.argmax(sizes))  # labels are each component's first run: the earliest wins ties
    # paint the kept runs back: +1 at each run start, -1 after its end (never another run's start), running sum
    marks = np.zeros((region.shape[0], width), np.int8)
    marks[rows[keep], starts[keep]] = 1
    marks[rows[keep], ends[keep] + 1] = -1
    return np.cumsum(marks, axis=1, dtype=np.int8)[:, :region.shape[1]] > 0


def repair_anatomy(labels: np.ndarray, fill_enclosed: bool = True, close_wall: bool = False) -> np.ndarray:
    """The steps after the largest components, in their order (each a post-processing option of the library's
    ``PostprocessConfig`` and of ``echolite-edge run``; filling the enclosed background is on by default)."""
    if fill_enclosed:
        labels = fill_enclosed_background(labels)
    if close_wall:
        labels = close_myocardium(labels)
    return labels


def fill_enclosed_background(mask: np.ndarray) -> np.ndarray:
    """Background the heart (LV ∪ MYO ∪ LA) encloses, not joined to the image border through 4-connected
    background, becomes the structure most of its rim touches: holes in a structure and cracks between two, which
    no apical view has (the published criteria count them as holes and gaps)."""
    enclosed = holes(mask > 0, connectivity=4)
    if not enclosed.any():
        return mask
    out = mask.copy()
    pockets, count = label(enclosed, connectivity=4)
    for pocket in range(1, count + 1):
        inside = pockets == pocket
        rim = out[dilate_cross(inside) & ~inside]
        out[inside] = np.bincount(rim[rim > 0]).argmax()
    return out


def close_myocardium(mask: np.ndarray, la_margin: int = 2) -> np.ndarray:
    """LV pixels touching the background (8-neighbours) become myocardium, except within ``la_margin`` pixels of
    the LA (the mitral plane): the wall the network left open is closed around the cavity."""
    open_wall = (mask == LV) & dilate(mask == 0)
    if not open_wall.any():
        return mask
    near_la = mask == LA
    for _ in range(la_margin):
        near_la = dilate(near_la)
    out = mask.copy()
    out[open_wall & ~near_la] = MYO
    return out
