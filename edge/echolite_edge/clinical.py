"""Volumes by the method of disks (Simpson) and ejection fraction, in numpy only, so the device runner and the
library (``echolite.clinical.volumes``) share one implementation.

Geometry of one apical view (all in mm, using the frame's (row, column) pixel size):

- **Mitral annulus**: the LV border pixels that touch the left atrium (else, with no LA, those that touch the
  background below the LV's centre) are the base candidates; the two annulus points are the extreme candidates
  along their principal direction. The mitral plane's midpoint is their mean.
- **Apex**: the LV border point farthest from that midpoint. Long axis L = apex − midpoint.
- **Disks**: the long axis is cut into 20 slabs of equal height; each disk's diameter is the length of LV along
  the line perpendicular to the axis through the slab's centre (sampled every 0.1 pixel).
- **Mitral cut** (``mitral_cut``, on by default wherever an ED/ES pair is measured): the end-systolic LV ends at
  the end-diastolic mitral plane, the line through the ED annulus points. In systole the annulus moves toward the
  apex (its midpoint by a median 8.8 mm in the shared CAMUS expert masks), so end-systolic "LV" on the atrial side
  of that line is atrium taken for ventricle. The expert masks of the training patients (0001–0160) cross the
  line only at the corner of a tilted annulus, by at most 2.6 mm; ``tolerance_mm`` moves the cut that far into
  the atrium (0 by default: a cut past the line gives back to the ES volume the atrium the cut is there to remove).

Single plane: V = π/4 · Σ dᵢ² · h. Biplane (apical 2- and 4-chamber): V = π/4 · Σ aᵢ·bᵢ · h, with h from the
longer of the two long axes (ASE/EACVI recommendation). Area-length: V = 8·A² / (3π·L). EF = (EDV − ESV) / EDV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echolite_edge.labels import LA, LV
from echolite_edge.postprocess import keep_largest_components


class MeasurementError(ValueError):
    """The mask cannot be measured (no LV, no mitral plane)."""


DISKS = 20


@dataclass(frozen=True)
class LongAxis:
    annulus: np.ndarray  # (2, 2): the two mitral annulus points (y, x) in mm
    apex: np.ndarray  # (y, x) in mm
    diameters: np.ndarray  # (DISKS,) mm, from base to apex
    area_mm2: float

    @property
    def base(self) -> np.ndarray:
        """The mitral plane's midpoint (y, x) in mm."""
        return self.annulus.mean(axis=0)

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.apex - self.base))


def long_axis(mask: np.ndarray, spacing: tuple[float, float]) -> LongAxis:
    """Annulus, apex and disk diameters of the LV (label 1) of one (H, W) label map."""
    lv, annulus, apex = _landmarks(mask, spacing)
    area = float(lv.sum() * spacing[0] * spacing[1])
    return LongAxis(annulus, apex, _diameters(lv, spacing, annulus.mean(axis=0), apex), area)


def mitral_cut(
    es_mask: np.ndarray, ed: LongAxis, spacing: tuple[float, float], tolerance_mm: float = 0.0
) -> np.ndarray:
    """``es_mask`` (pixel size ``spacing``) with its LV cut at the mitral plane of ``ed``, the long axis of the same
    view's end-diastolic mask: LV pixels more than ``tolerance_mm`` on the atrial side of the line through the ED
    annulus points become LA, then the LV and the LA keep their largest components. The same array when nothing
    lies beyond."""
    chord = ed.annulus[1] - ed.annulus[0]
    normal = np.array([-chord[1], chord[0]]) / np.linalg.norm(chord)
    normal = normal if (ed.apex - ed.base) @ normal >= 0 else -normal  # pointing into the ventricle
    rows, cols = np.nonzero(es_mask == LV)
    beyond = (np.stack([rows * spacing[0], cols * spacing[1]], axis=1) - ed.base) @ normal < -tolerance_mm
    if not beyond.any():
        return es_mask
    cut = es_mask.copy()
    cut[rows[beyond], cols[beyond]] = LA
    kept = keep_largest_components(cut)
    return np.where(np.isin(cut, (LV, LA)), kept, cut).astype(es_mask.dtype)


def pair_axes(
    ed_mask: np.ndarray,
    es_mask: np.ndarray,
    ed_spacing: tuple[float, float],
    es_spacing: tuple[float, float],
    cut: bool = True,
) -> tuple[LongAxis, LongAxis]:
    """The long axes of one view's ED and ES label maps, the ES one measured cut at the ED mitral plane with
    ``cut`` (``mitral_cut``)."""
    ed = long_axis(ed_mask, ed_spacing)
    return ed, long_axis(mitral_cut(es_mask, ed, es_spacing) if cut else es_mask, es_spacing)


def _landmarks(mask: np.ndarray, spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The LV region, the two annulus points and the apex (mm) of one label map."""
    lv = mask == LV
    if lv.sum() < 10:
        raise MeasurementError("no left ventricle in the mask (fewer than 10 LV pixels)")
    sy, sx = spacing
    border = lv & ~_erode(lv)
    base_pixels = border & _dilate(mask == LA)
    if base_pixels.sum() < 2:
        rows = np.nonzero(lv)[0]
        base_pixels = border & _dilate(mask == 0)
        base_pixels[: int(np.median(rows))] = False
    if base_pixels.sum() < 2:
        raise MeasurementError("cannot find the mitral plane (the LV touches neither the LA nor the background below)")
    points = np.argwhere(base_pixels) * (sy, sx)
    centred = points - points.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    along = centred @ direction
    annulus = points[[np.argmin(along), np.argmax(along)]]
    contour = np.argwhere(border) * (sy, sx)
    apex = contour[np.argmax(np.linalg.norm(contour - annulus.mean(axis=0), axis=1))]
    return lv, annulus, apex


def _diameters(lv: np.ndarray, spacing, base: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """The LV's width across the long axis at the middle of each of the ``DISKS`` disks: samples every 0.1 pixel
    along the disk's line (offsets on one grid across the whole image), counted where they fall in the LV. Only
    the offsets that reach the LV's bounding box (one pixel wider, for the rounding) are sampled: the others fall
    outside it and count nothing. The disks' centres lie on the axis, so one range serves every disk."""
    sy, sx = spacing
    axis = apex - base
    length = np.linalg.norm(axis)
    unit = axis / length
    normal = np.array([-unit[1], unit[0]])
    step = 0.1 * min(sy, sx)
    reach = np.hypot(lv.shape[0] * sy, lv.shape[1] * sx)
    offsets = np.arange(-reach, reach, step)
    lv_rows, lv_cols = np.flatnonzero(lv.any(axis=1)), np.flatnonzero(lv.any(axis=0))
    box = [(r, c) for r in (lv_rows[0] - 1, lv_rows[-1] + 1) for c in (lv_cols[0] - 1, lv_cols[-1] + 1)]
    corners = np.array(box) * (sy, sx)
    across = (corners - base) @ normal  # every disk's line crosses the bounding box within these offsets
    offsets = offsets[(offsets >= across.min() - 1e-6) & (offsets <= across.max() + 1e-6)]
    centres = base + ((np.arange(DISKS) + 0.5) / DISKS)[:, None] * axis
    samples = centres[:, None, :] + offsets[None, :, None] * normal  # (disk, offset, row/column in mm)
    rows, cols = np.round(samples[..., 0] / sy).astype(int), np.round(samples[..., 1] / sx).astype(int)
    inside = (rows >= 0) & (rows < lv.shape[0]) & (cols >= 0) & (cols < lv.shape[1])
    hits = np.zeros(rows.shape, bool)
    hits[inside] = lv[rows[inside], cols[inside]]
    return hits.sum(axis=1) * step


def volume_single_plane(axis: LongAxis) -> float:
    """Method of disks, one view, in mL."""
    height = axis.length / DISKS
    return float(np.pi / 4 * np.sum(axis.diameters**2) * height / 1000)


def volume_biplane(two_chamber: LongAxis, four_chamber: LongAxis) -> float:
    """Simpson's biplane method of disks, in mL; disk height from the longer long axis."""
    height = max(two_chamber.length, four_chamber.length) / DISKS
    return float(np.pi / 4 * np.sum(two_chamber.diameters * four_chamber.diameters) * height / 1000)


def volume_area_length(axis: LongAxis) -> float:
    """Single-plane area-length method, in mL."""
    return float(8 * axis.area_mm2**2 / (3 * np.pi * axis.length) / 1000)


def ejection_fraction(edv: float, esv: float) -> float:
    """EF in percent."""
    if not edv > 0:
        return float("nan")
    return float(100 * (edv - esv) / edv)


def _dilate(region: np.ndarray) -> np.ndarray:
    """Binary dilation with the 4-neighbour cross."""
    out = region.copy()
    out[1:] |= region[:-1]
    out[:-1] |= region[1:]
    out[:, 1:] |= region[:, :-1]
    out[:, :-1] |= region[:, 1:]
    return out


def _erode(region: np.ndarray) -> np.ndarray:
    """Binary erosion with the 4-neighbour cross; outside the image counts as background."""
    return ~_dilate(np.pad(~region, 1, constant_values=True))[1:-1, 1:-1]
