"""Clinical measurements per patient: volumes and EF from ED/ES frames of one or two apical views.

The geometry (mitral annulus, apex, disks) lives in ``echolite_edge.clinical`` (numpy only), shared with the
device runner; see its docstring for the method.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from echolite_edge.clinical import (  # noqa: F401  (re-exported: the library's measuring API)
    LongAxis, MeasurementError, ejection_fraction, mitral_cut, volume_area_length, volume_biplane,
    volume_single_plane,
)
from echolite_edge.clinical import long_axis as _long_axis

from echolite.errors import EcholiteError


def long_axis(mask: np.ndarray, spacing: tuple[float, float]) -> LongAxis:
    """Annulus, apex and disk diameters of the LV of one label map; unmeasurable masks are user errors."""
    try:
        return _long_axis(mask, spacing)
    except MeasurementError as exc:
        raise EcholiteError(str(exc)) from None


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
    qc_passed: bool | None = None  # None: quality control off
    qc_failed: str = ""  # the failing frames with their failed criteria


def measure_patients(masks: np.ndarray, frames, reference: dict[str, float] | None = None,
                     cut: bool = True) -> list[PatientMeasure]:
    """EDV, ESV and EF per patient from label maps aligned with ``frames`` (patients, views, phases, spacing).

    Biplane when both apical views exist at ED and ES, else single-plane disks on the view there is (4CH
    preferred) with area-length alongside. With ``cut``, each ES mask is measured cut at its view's ED mitral plane
    (``mitral_cut``). A patient whose masks cannot be measured gets NaN and a problem line."""
    reference = reference or {}
    results = []
    for patient in sorted(set(frames.patients)):
        index = {(frames.views[i], frames.phases[i]): i for i, p in enumerate(frames.patients) if p == patient}
        try:
            result = _measure_one(patient, index, masks, frames.spacing_mm, cut)
        except EcholiteError as exc:
            result = PatientMeasure(patient, "-", *(float("nan"),) * 3, problem=str(exc))
        result.reference_ef = reference.get(patient, float("nan"))
        results.append(result)
    return results


def _measure_one(patient: str, index: dict, masks: np.ndarray, spacing: np.ndarray, cut: bool) -> PatientMeasure:
    def axis(view, phase):
        i = index[(view, phase)]
        mask = masks[i]
        if cut and phase == "ES":
            mask = mitral_cut(mask, masks[index[(view, "ED")]], tuple(spacing[index[(view, "ED")]]))
        return long_axis(mask, tuple(spacing[i]))

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


def agreement(a, b, where=None) -> dict:
    """How ``a`` agrees with ``b`` (e.g. model and expert), as Bland and Altman read it, over the finite pairs
    (and only those where ``where`` is true): n, bias = mean of a − b, sd = sample SD of a − b (ddof=1), 95 %
    limits of agreement ``loa`` = bias ± 1.96 sd, mean absolute error ``mae`` and Pearson r. Fewer than two pairs
    (or a constant side, for r) give None."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if where is not None:
        ok &= np.asarray(where, bool)
    a, b = a[ok], b[ok]
    if a.size < 2:
        return {"n": int(a.size), "bias": None, "sd": None, "loa": None, "mae": None, "r": None}
    diff = a - b
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else None
    return {"n": int(a.size), "bias": bias, "sd": sd, "loa": [bias - 1.96 * sd, bias + 1.96 * sd],
            "mae": float(np.abs(diff).mean()), "r": r}
