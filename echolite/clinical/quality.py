"""Quality control of the masks volumes and EF come from: every ED/ES frame is checked against an anatomical
criteria set (``echolite.evaluation.anatomy``), and a patient with any failing frame is rejected for volumes and
EF, since one implausible mask is enough to make them meaningless. So is a patient whose ES volume is not below
its ED volume (EF ≤ 0): each mask may look plausible, but the heart empties in systole, so one of them is wrong."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from echolite.clinical.volumes import PatientMeasure
from echolite.errors import EcholiteError
from echolite.evaluation.anatomy import CRITERIA_SETS, check_anatomy

QC_OFF = "off"
QC_DEFAULT = "camus"
QC_CHOICES = (QC_OFF, *CRITERIA_SETS)
"""``off`` or the name of an anatomical criteria set."""
QC_PHASES = ("ED", "ES")  # the frames volumes and EF come from


@dataclass
class FailingFrame:
    frame: str
    patient: str
    failed: list[str]  # the criteria it fails


def check_qc(qc: str) -> str:
    if qc not in QC_CHOICES:
        raise EcholiteError(f"--qc {qc!r}: unknown; choose {', '.join(QC_CHOICES[:-1])} or {QC_CHOICES[-1]}")
    return qc


def failing_frames(masks: np.ndarray, frames, criteria: str) -> list[FailingFrame]:
    """The ED and ES frames of ``frames`` whose label map in ``masks`` fails a criterion of ``criteria``."""
    failing = []
    for i, mask in enumerate(masks):
        if frames.phases[i] not in QC_PHASES:
            continue
        failed = [name for name, bad in check_anatomy(mask, criteria).items() if bad]
        if failed:
            failing.append(FailingFrame(frames.frame_ids[i], frames.patients[i], failed))
    return failing


def mark_patients(patients: list[PatientMeasure], failing: list[FailingFrame]) -> None:
    """Set each patient's ``qc_passed`` and ``qc_failed`` (``frame: criterion, ...; frame: ...; volumes: ...``)."""
    by_patient = defaultdict(list)
    for f in failing:
        by_patient[f.patient].append(f"{f.frame}: {', '.join(f.failed)}")
    for p in patients:
        volumes = volume_problem(p)
        problems = by_patient.get(p.patient, []) + ([f"volumes: {volumes}"] if volumes else [])
        p.qc_passed = not problems
        p.qc_failed = "; ".join(problems)


def volume_problem(patient: PatientMeasure) -> str:
    """Why the patient's ED and ES volumes cannot both be right, or '' (also when either is unmeasured)."""
    if patient.esv_ml >= patient.edv_ml:  # False for NaN
        return f"ESV {patient.esv_ml:.1f} mL is not below EDV {patient.edv_ml:.1f} mL"
    return ""
