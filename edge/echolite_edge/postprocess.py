"""Post-processing of label maps in numpy only, shared by the library and the device runner: the largest
8-connected component per structure (removed pixels become background; the library's default), then the anatomical
repairs: filling the background the heart encloses, closing the myocardium around the cavity (never, only where
the LV is open to the background beyond the published criterion, or always) and detaching the myocardium from the atrium
(each switchable; ``repair_anatomy``).

Components come from the run-based labelling of ``echolite_edge.morphology``. Ties between equal-sized components
go to the one met first in raster order, as with scipy's labelling.
"""

from __future__ import annotations

import numpy as np

from echolite_edge.anatomy import lv_open_to_background
from echolite_edge.labels import LA, LV, MYO
from echolite_edge.morphology import dilate, dilate_cross, holes, label, paint, structure_components


def keep_largest_components(mask: np.ndarray, num_classes: int = 4) -> np.ndarray:
    """Every structure's pixels outside its largest component become background (all structures labelled in one
    pass: ``morphology.structure_components``)."""
    found = structure_components(mask, range(1, num_classes))
    structures = np.unique(found.values)
    if len(found.roots) == len(structures):  # one component per structure (the usual case): nothing to remove
        return mask.copy()
    best = np.zeros(int(found.values.max()) + 1, np.int64)  # per structure, its largest root (the earliest on ties)
    for value in structures:
        roots, sizes = found.of(value)
        best[value] = roots[np.argmax(sizes)]
    drop = found.components != best[found.values]
    painted = paint(mask.shape, found.rows[drop], found.starts[drop], found.ends[drop])
    return np.where(painted, 0, mask).astype(mask.dtype)


CLOSE_MODES = ("off", "when-open", "always")
"""When the myocardium is closed around the cavity: never; only in a mask whose LV touches the background over
more of its width than the published criterion allows (``lv_open_to_background``); in every mask."""
CLOSE_DEFAULT = "when-open"


def repair_anatomy(
    labels: np.ndarray, fill_enclosed: bool = True, close_wall: str = CLOSE_DEFAULT, detach: bool = True
) -> np.ndarray:
    """The steps after the largest components, in their order (each a post-processing option of the library's
    ``PostprocessConfig`` and of ``echolite-edge run``), by default: filling the enclosed background, closing
    the myocardium only where the LV lies open (``close_wall``, one of ``CLOSE_MODES``) and detaching the
    myocardium from the atrium."""
    return _repaired(labels, fill_enclosed, close_wall, detach)[0]


def postprocess_labels(
    labels: np.ndarray, fill_enclosed: bool = True, close_wall: str = CLOSE_DEFAULT, detach: bool = True
) -> tuple[np.ndarray, frozenset[int]]:
    """``keep_largest_components`` then ``repair_anatomy``, and the structures the result is known to hold in one
    8-connected piece, so quality control need not label them again: every structure is one piece after the
    largest components; filling keeps it so (a pocket joins a structure it touches); closing the wall may split the
    LV and the MYO, detaching the atrium the MYO, so those stay known only where the step changed no pixel."""
    repaired, touched = _repaired(keep_largest_components(labels), fill_enclosed, close_wall, detach)
    return repaired, frozenset((LV, MYO, LA)) - touched


def _repaired(labels: np.ndarray, fill_enclosed: bool, close_wall: str, detach: bool) -> tuple[np.ndarray, set[int]]:
    """``repair_anatomy``, and the structures a step may have split (those of a step that changed pixels: each
    returns its input itself where it changes none, ``_painted``)."""
    check_close_mode(close_wall)
    touched = set()
    if fill_enclosed:
        labels = fill_enclosed_background(labels)
    if close_wall == "always" or (close_wall == "when-open" and lv_open_to_background(labels)):
        closed = close_myocardium(labels)
        if closed is not labels:
            touched |= {LV, MYO}
        labels = closed
    if detach:
        detached = detach_atrium(labels)
        if detached is not labels:
            touched.add(MYO)
        labels = detached
    return labels, touched


def fill_enclosed_background(mask: np.ndarray) -> np.ndarray:
    """Background the heart (LV ∪ MYO ∪ LA) encloses, not joined to the image border through 4-connected
    background, becomes the structure most of its rim touches: holes in a structure and cracks between two, which
    no apical view has (the published criteria count them as holes and gaps)."""
    enclosed = holes(mask > 0, connectivity=4)
    if not enclosed.any():
        return mask
    pockets, count = label(enclosed, connectivity=4)
    # A pocket's rim: the pixels 4-next to it. They are all heart (background there would be in the pocket) and
    # never in another pocket (two 4-touching pockets are one). Each (pocket, rim pixel) pair is counted once.
    height, width = mask.shape
    framed_pockets = np.zeros((height + 2, width + 2), pockets.dtype)
    framed_pockets[1:-1, 1:-1] = pockets
    outside = np.flatnonzero(dilate_cross(enclosed) & ~enclosed)
    y, x = np.divmod(outside, width)
    pairs = []
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        beside = framed_pockets[y + 1 + dy, x + 1 + dx]
        pairs.append(beside[beside > 0].astype(np.int64) * mask.size + outside[beside > 0])
    pairs = np.unique(np.concatenate(pairs))
    pocket, pixel = np.divmod(pairs, mask.size)
    classes = int(mask.max()) + 1
    votes = np.bincount(pocket * classes + mask.ravel()[pixel], minlength=(count + 1) * classes)
    winner = votes.reshape(count + 1, classes)[:, 1:].argmax(axis=1) + 1  # ties go to the lower label
    out = mask.copy()
    out[enclosed] = winner[pockets[enclosed]]
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
    return _painted(mask, open_wall & ~near_la, MYO)


def check_close_mode(mode: str) -> None:
    if mode not in CLOSE_MODES:
        raise ValueError(f"unknown myocardium closing {mode!r}; choose one of: {', '.join(CLOSE_MODES)}")


def detach_atrium(mask: np.ndarray) -> np.ndarray:
    """Myocardium that touches the LA but not the LV (8-neighbours) becomes background: in an apical view the LV
    wall meets the atrium only at the mitral annulus, so a wall that runs on along the atrium (the published
    criteria's MYO–LA frontier) is trimmed back to it. The LV keeps every neighbour it had."""
    return _painted(mask, (mask == MYO) & dilate(mask == LA) & ~dilate(mask == LV), 0)


def _painted(mask: np.ndarray, pixels: np.ndarray, value: int) -> np.ndarray:
    """A copy of ``mask`` with ``pixels`` set to ``value`` (``mask`` itself where there are none)."""
    if not pixels.any():
        return mask
    out = mask.copy()
    out[pixels] = value
    return out
