"""Clinical measurements from LV segmentations: volumes by the method of disks (Simpson) and ejection fraction.

Geometry of one apical view (all in mm, using the frame's (row, column) pixel size):

- **Mitral annulus**: the LV border pixels that touch the left atrium (else, with no LA, those that touch the
  background below the LV's centre) are the base candidates; the two annulus points are the extreme candidates
  along their principal direction. The mitral plane's midpoint is their mean.
- **Apex**: the LV border point farthest from that midpoint. Long axis L = apex − midpoint.
- **Disks**: the long axis is cut into 20 slabs of equal height; each disk's diameter is the length of LV along
  the line perpendicular to the axis through the slab's centre (sampled every 0.1 pixel).

Single plane: V = π/4 · Σ dᵢ² · h. Biplane (apical 2- and 4-chamber): V = π/4 · Σ aᵢ·bᵢ · h, with h from the
longer of the two long axes (ASE/EACVI recommendation). Area-length: V = 8·A² / (3π·L). EF = (EDV − ESV) / EDV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from echolite.errors import EcholiteError

LV, LA = 1, 3
DISKS = 20
_FOUR = ndimage.generate_binary_structure(2, 1)


@dataclass(frozen=True)
class LongAxis:
    base: np.ndarray  # mitral plane midpoint (y, x) in mm
    apex: np.ndarray  # (y, x) in mm
    diameters: np.ndarray  # (DISKS,) mm, from base to apex
    area_mm2: float

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.apex - self.base))


def long_axis(mask: np.ndarray, spacing: tuple[float, float]) -> LongAxis:
    """Annulus, apex and disk diameters of the LV (label 1) of one (H, W) label map."""
    lv = mask == LV
    if lv.sum() < 10:
        raise EcholiteError("no left ventricle in the mask (fewer than 10 LV pixels)")
    sy, sx = spacing
    border = lv & ~ndimage.binary_erosion(lv, _FOUR, border_value=0)
    base_pixels = border & ndimage.binary_dilation(mask == LA, _FOUR)
    if base_pixels.sum() < 2:
        rows = np.nonzero(lv)[0]
        base_pixels = border & ndimage.binary_dilation(mask == 0, _FOUR)
        base_pixels[: int(np.median(rows))] = False
    if base_pixels.sum() < 2:
        raise EcholiteError("cannot find the mitral plane (the LV touches neither the LA nor the background below)")
    points = np.argwhere(base_pixels) * (sy, sx)
    centred = points - points.mean(axis=0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    along = centred @ direction
    annulus = points[[np.argmin(along), np.argmax(along)]]
    base = annulus.mean(axis=0)
    contour = np.argwhere(border) * (sy, sx)
    apex = contour[np.argmax(np.linalg.norm(contour - base, axis=1))]
    return LongAxis(base, apex, _diameters(lv, spacing, base, apex), float(lv.sum() * sy * sx))


def _diameters(lv: np.ndarray, spacing, base: np.ndarray, apex: np.ndarray) -> np.ndarray:
    sy, sx = spacing
    axis = apex - base
    length = np.linalg.norm(axis)
    unit = axis / length
    normal = np.array([-unit[1], unit[0]])
    step = 0.1 * min(sy, sx)
    reach = np.hypot(lv.shape[0] * sy, lv.shape[1] * sx)
    offsets = np.arange(-reach, reach, step)
    diameters = np.empty(DISKS)
    for i in range(DISKS):
        centre = base + (i + 0.5) / DISKS * axis
        samples = centre + offsets[:, None] * normal
        rows, cols = np.round(samples[:, 0] / sy).astype(int), np.round(samples[:, 1] / sx).astype(int)
        inside = (rows >= 0) & (rows < lv.shape[0]) & (cols >= 0) & (cols < lv.shape[1])
        diameters[i] = lv[rows[inside], cols[inside]].sum() * step
    return diameters


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


@dataclass
class PatientMeasure:
    patient: str
    method: str
    edv_ml: float
    esv_ml: float
    ef: float
    area_length_ef: float = float("nan")
    reference_ef: float = float("nan")
    problem: str = ""


def measure_patients(masks: np.ndarray, frames, reference: dict[str, float] | None = None) -> list[PatientMeasure]:
    """EDV, ESV and EF per patient from label maps aligned with ``frames`` (patients, views, phases, spacing).

    Biplane when both apical views exist at ED and ES, else single-plane disks on the view there is (4CH
    preferred) with area-length alongside. A patient whose masks cannot be measured gets NaN and a problem line."""
    reference = reference or {}
    results = []
    for patient in sorted(set(frames.patients)):
        index = {(frames.views[i], frames.phases[i]): i for i, p in enumerate(frames.patients) if p == patient}
        try:
            result = _measure_one(patient, index, masks, frames.spacing_mm)
        except EcholiteError as exc:
            result = PatientMeasure(patient, "-", *(float("nan"),) * 3, problem=str(exc))
        result.reference_ef = reference.get(patient, float("nan"))
        results.append(result)
    return results


def _measure_one(patient: str, index: dict, masks: np.ndarray, spacing: np.ndarray) -> PatientMeasure:
    def axis(view, phase):
        i = index[(view, phase)]
        return long_axis(masks[i], tuple(spacing[i]))

    have = {view for view in ("2CH", "4CH") if (view, "ED") in index and (view, "ES") in index}
    if have == {"2CH", "4CH"}:
        edv = volume_biplane(axis("2CH", "ED"), axis("4CH", "ED"))
        esv = volume_biplane(axis("2CH", "ES"), axis("4CH", "ES"))
        return PatientMeasure(patient, "biplane disks", edv, esv, ejection_fraction(edv, esv))
    if not have:
        raise EcholiteError(f"{patient}: needs ED and ES frames of one apical view")
    view = "4CH" if "4CH" in have else "2CH"
    ed, es = axis(view, "ED"), axis(view, "ES")
    edv, esv = volume_single_plane(ed), volume_single_plane(es)
    area_length = ejection_fraction(volume_area_length(ed), volume_area_length(es))
    return PatientMeasure(patient, f"single-plane disks {view}", edv, esv, ejection_fraction(edv, esv), area_length)


def agreement(a, b) -> dict:
    """Mean absolute error, bias (mean of a − b), limits of agreement and Pearson r over finite pairs."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 2:
        return {"n": int(a.size), "mae": None, "bias": None, "loa": None, "r": None}
    diff = a - b
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else None
    return {"n": int(a.size), "mae": float(np.abs(diff).mean()), "bias": float(diff.mean()),
            "loa": [float(diff.mean() - 1.96 * diff.std(ddof=1)), float(diff.mean() + 1.96 * diff.std(ddof=1))],
            "r": r}
