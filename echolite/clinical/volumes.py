"""Clinical measurements per patient: volumes and EF from ED/ES frames of one or two apical views.

The geometry (mitral annulus, apex, disks) lives in ``echolite_edge.clinical`` (numpy only), shared with the
device runner; see its docstring for the method.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from echolite.errors import EcholiteError
from echolite_edge.clinical import (  # noqa: F401  (re-exported: the library's measuring API)
    LongAxis,
    MeasurementError,
    ejection_fraction,
    mitral_cut,
    volume_area_length,
    volume_biplane,
    volume_single_plane,
)
from echolite_edge.clinical import long_axis as _long_axis
from echolite_edge.clinical import pair_axes as _pair_axes


@contextmanager
def _user_errors():
    """An unmeasurable mask is the user's data, not a bug: its MeasurementError becomes an EcholiteError."""
    try:
        yield
    except MeasurementError as exc:
        raise EcholiteError(str(exc)) from None


def long_axis(mask: np.ndarray, spacing: tuple[float, float]) -> LongAxis:
    """Annulus, apex and disk diameters of the LV of one label map; unmeasurable masks are user errors."""
    with _user_errors():
        return _long_axis(mask, spacing)


def pair_axes(
    ed_mask: np.ndarray, es_mask: np.ndarray, ed_spacing, es_spacing, cut: bool = True
) -> tuple[LongAxis, LongAxis]:
    """ED and ES long axes of one view, the ES mask cut at the ED mitral plane with ``cut``
    (``echolite_edge.clinical.pair_axes``); unmeasurable masks are user errors."""
    with _user_errors():
        return _pair_axes(ed_mask, es_mask, tuple(ed_spacing), tuple(es_spacing), cut)


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


def measure_patients(
    masks: np.ndarray, frames, reference: dict[str, float] | None = None, cut: bool = True
) -> list[PatientMeasure]:
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
    def axes(view):
        ed, es = index[(view, "ED")], index[(view, "ES")]
        return pair_axes(masks[ed], masks[es], spacing[ed], spacing[es], cut)

    have = {view for view in ("2CH", "4CH") if (view, "ED") in index and (view, "ES") in index}
    if have == {"2CH", "4CH"}:
        (ed2, es2), (ed4, es4) = axes("2CH"), axes("4CH")
        edv, esv = volume_biplane(ed2, ed4), volume_biplane(es2, es4)
        return PatientMeasure(patient, "biplane disks", edv, esv, ejection_fraction(edv, esv))
    if not have:
        raise EcholiteError(f"{patient}: needs ED and ES frames of one apical view")
    view = "4CH" if "4CH" in have else "2CH"
    ed, es = axes(view)
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
    return {
        "n": int(a.size),
        "bias": bias,
        "sd": sd,
        "loa": [bias - 1.96 * sd, bias + 1.96 * sd],
        "mae": float(np.abs(diff).mean()),
        "r": r,
    }
