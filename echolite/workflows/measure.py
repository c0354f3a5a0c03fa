"""The measure workflows: LV volumes and EF per patient from a model's (or the experts') masks on a data split,
with agreement figures over all patients and over those whose masks pass quality control; and EF from a whole
cine loop."""

from __future__ import annotations

import csv
import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite.clinical.cine import read_sequence
from echolite.clinical.quality import (
    QC_DEFAULT,
    QC_OFF,
    QC_PHASES,
    FailingFrame,
    check_qc,
    failing_frames,
    mark_patients,
)
from echolite.clinical.reference import reference_ef
from echolite.clinical.volumes import PatientMeasure, agreement, measure_patients
from echolite.data.run_split import frames_for_split
from echolite.errors import EcholiteError
from echolite.evaluation.anatomy import check_anatomy
from echolite.evaluation.names import GRID
from echolite.evaluation.stats import Comparison, paired_summary, with_holm
from echolite.inference import MaskSpec
from echolite.run import check_report_folder
from echolite_edge.cine import shown_frame_indices
from echolite_edge.loop import LoopReport, measure_loop
from echolite_edge.loop_qc import lv_softmax_margin
from echolite_edge.loop_report import (
    REPORT,
    ShownFrame,
    describe_model,
    render_report,
    write_report,
)
from echolite_edge.tta import tta_probabilities

MEASUREMENTS_CSV, LV_AREA = "measurements.csv", "lv_area.png"
BLAND_ALTMAN = "bland_altman.png"  # EF against the data's reference EF
QUANTITIES = {"edv_ml": "EDV (mL)", "esv_ml": "ESV (mL)", "ef": "EF (%)"}
"""The quantities compared with the expert masks: ``PatientMeasure`` field → name and unit."""
BLAND_ALTMAN_VS_EXPERT = {q: f"bland_altman_{q.split('_')[0]}.png" for q in QUANTITIES}  # model vs expert masks
GROUND_TRUTH = "ground truth"


@dataclass
class MeasureReport:
    source: str  # the model, or GROUND_TRUTH
    patients: list[PatientMeasure]
    qc: str = QC_OFF  # the anatomical criteria set of the quality control, or "off"
    qc_frames: int = 0  # frames checked
    mitral_cut: bool = True  # ES masks measured cut at the ED mitral plane
    failing_frames: list[FailingFrame] = field(default_factory=list)
    expert: list[PatientMeasure] = field(default_factory=list)  # the same patients from the expert masks
    agreement: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)
    """``vs_expert_masks`` / ``vs_reference`` → quantity → ``all`` / ``qc_passed`` → ``agreement``'s figures."""
    written: list[Path] = field(default_factory=list)

    @property
    def measured(self) -> str:
        """What the measured masks are, as tables and plots name them."""
        return "expert masks" if self.source == GROUND_TRUTH else "model"

    @property
    def rejected(self) -> list[str]:
        return [p.patient for p in self.patients if p.qc_passed is False]

    def patient_rows(self) -> list[dict]:
        """Per patient its measures, QC verdict and, against a model, the expert masks' values beside them."""
        rows = [dataclasses.asdict(p) for p in self.patients]
        for row, expert in zip(rows, self.expert):
            row.update({f"expert_{q}": getattr(expert, q) for q in QUANTITIES})
        return rows

    def as_dict(self) -> dict:
        qc = {"criteria": self.qc}
        if self.qc != QC_OFF:
            qc.update(
                frames_checked=self.qc_frames,
                frames_failing=len(self.failing_frames),
                patients=len(self.patients),
                patients_rejected=self.rejected,
                failing_frames=[dataclasses.asdict(f) for f in self.failing_frames],
            )
        return {
            "source": self.source,
            "mitral_cut": self.mitral_cut,
            "qc": qc,
            "agreement": self.agreement,
            "patients": self.patient_rows(),
        }


def measure(
    masks: MaskSpec | None,
    data: str,
    split: str = "all",
    out: Path | None = None,
    qc: str = QC_DEFAULT,
    split_file: str | None = None,
    mitral_cut: bool = True,
    spacing_mm: float | None = None,
) -> MeasureReport:
    """Volumes and EF per patient from the masks ``masks`` says (its model, ensemble, test-time augmentation and
    post-processing), or from the ground truth where ``masks`` is None, on a split of ``data`` (``split_file``: a
    YAML/JSON patient split instead of the run's or the data's), with their agreement (see ``measure_masks``,
    which also says what ``mitral_cut`` does). ``spacing_mm``: the square pixel size of the original frames where
    the data carries none. With ``out``: ``measurements.csv`` and the Bland–Altman plots."""
    check_qc(qc)
    check_spacing(spacing_mm)
    if out is not None:
        check_report_folder(out, "the measurements", MEASUREMENTS_CSV)
    if masks is not None:
        segmenter, loaded = masks.segmented_split(data, split, split_file)
        labels = masks.postprocessed(segmenter.predict_labels(loaded.frames.images))
    else:
        loaded = frames_for_split(data, split, None, GRID, split_file)
        labels = loaded.frames.masks
    _fill_spacing(loaded.frames, spacing_mm, data)
    report = measure_masks(
        labels,
        loaded.frames,
        GROUND_TRUTH if masks is None else str(masks.model),
        None if masks is None else loaded.frames.masks,
        reference_ef(loaded.info),
        qc,
        mitral_cut,
    )
    if out is not None:
        report.written = write_measurements(report, Path(out))
    return report


def check_spacing(spacing_mm: float | None) -> None:
    if spacing_mm is not None and not 0 < spacing_mm < float("inf"):
        raise EcholiteError(f"--spacing: the pixel spacing must be a positive number of mm, got {spacing_mm}")


def _fill_spacing(frames, spacing_mm: float | None, data: str) -> None:
    """Give the frames without a pixel spacing ``spacing_mm`` (square, on the original grid), rescaled to the model
    grid; volumes need one, so any frame still without is an error."""
    unknown = ~np.isfinite(frames.spacing_mm).all(axis=1)
    if spacing_mm is not None and not unknown.any():
        raise EcholiteError(f"{data}: --spacing: every frame carries its own pixel spacing; leave the option out")
    if spacing_mm is not None and unknown.any():
        grid = frames.masks.shape[1:3]
        frames.spacing_mm[unknown] = spacing_mm * frames.original_shapes[unknown] / np.asarray(grid, float)
    elif unknown.any():
        raise EcholiteError(
            f"{data}: {int(unknown.sum())} of {len(unknown)} frames carry no pixel spacing (e.g. "
            f"{frames.frame_ids[int(np.argmax(unknown))]}); volumes need it: give --spacing MM"
        )


def measure_masks(
    masks: np.ndarray,
    frames,
    source: str,
    expert_masks: np.ndarray | None = None,
    reference: dict[str, float] | None = None,
    qc: str = QC_DEFAULT,
    mitral_cut: bool = True,
) -> MeasureReport:
    """Measure label maps aligned with ``frames``; with ``qc`` (a criteria set), reject the patients with a
    failing ED or ES mask (the masks as given). Agreement, over all patients and over those that pass: EDV, ESV and
    EF against the same measures of ``expert_masks``, and EF against ``reference`` (patient → EF). With
    ``mitral_cut``, every ES mask, the experts' too, is measured cut at its view's ED mitral plane
    (``echolite_edge.clinical.mitral_cut``)."""
    check_qc(qc)
    report = MeasureReport(source, measure_patients(masks, frames, reference, mitral_cut), qc, mitral_cut=mitral_cut)
    if qc != QC_OFF:
        report.qc_frames = sum(phase in QC_PHASES for phase in frames.phases)
        report.failing_frames = failing_frames(masks, frames, qc)
        mark_patients(report.patients, report.failing_frames)
    passed = None if qc == QC_OFF else [p.qc_passed for p in report.patients]
    if expert_masks is not None:
        report.expert = measure_patients(expert_masks, frames, cut=mitral_cut)
        report.agreement["vs_expert_masks"] = {
            q: _over_patients(_values(report.patients, q), _values(report.expert, q), passed) for q in QUANTITIES
        }
    if reference:
        report.agreement["vs_reference"] = {
            "ef": _over_patients(_values(report.patients, "ef"), _values(report.patients, "reference_ef"), passed)
        }
    return report


def _values(patients: list[PatientMeasure], quantity: str) -> list[float]:
    return [getattr(p, quantity) for p in patients]


def _over_patients(a: list[float], b: list[float], passed: list[bool] | None) -> dict[str, dict]:
    """Agreement of all patients and, with quality control, of those that pass it."""
    figures = {"all": agreement(a, b)}
    if passed is not None:
        figures["qc_passed"] = agreement(a, b, where=passed)
    return figures


def write_measurements(report: MeasureReport, out: Path) -> list[Path]:
    """``measurements.csv`` (a row per patient), a Bland–Altman plot per quantity against the expert masks and
    one of EF against the reference EF; QC-rejected patients are marked in the plots. Returns the files. They are
    written to a hidden folder inside ``out`` first and moved in together, so a failure leaves no partial set (and
    no empty ``out`` it made)."""
    made = next((folder for folder in reversed([out, *out.parents]) if not folder.exists()), None)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".measure-", dir=out))
    try:
        written = _write_measurement_files(report, staging)
        for stale in (BLAND_ALTMAN, *BLAND_ALTMAN_VS_EXPERT.values()):  # an earlier report's plots this one lacks
            if not (staging / stale).exists():
                (out / stale).unlink(missing_ok=True)
        return [path.replace(out / path.name) for path in written]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made is not None and not any(path.is_file() for path in made.rglob("*")):
            shutil.rmtree(made, ignore_errors=True)


def _write_measurement_files(report: MeasureReport, out: Path) -> list[Path]:
    from echolite.plots import save_bland_altman  # matplotlib on use: only a written figure needs it

    rows = report.patient_rows()
    with open(out / MEASUREMENTS_CSV, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written, rejected = [out / MEASUREMENTS_CSV], [p.qc_passed is False for p in report.patients]
    for q, label in QUANTITIES.items() if report.expert else ():
        written.append(out / BLAND_ALTMAN_VS_EXPERT[q])
        save_bland_altman(
            _values(report.patients, q),
            _values(report.expert, q),
            report.agreement["vs_expert_masks"][q]["all"],  # computed by measure_masks
            written[-1],
            label,
            (report.measured, "expert masks"),
            rejected,
        )
    if "vs_reference" in report.agreement:
        written.append(out / BLAND_ALTMAN)
        save_bland_altman(
            _values(report.patients, "ef"),
            _values(report.patients, "reference_ef"),
            report.agreement["vs_reference"]["ef"]["all"],
            written[-1],
            QUANTITIES["ef"],
            (report.measured, "reference EF"),
            rejected,
        )
    return written


def is_measure_report(folder: Path) -> bool:
    return (Path(folder) / MEASUREMENTS_CSV).exists()


def compare_measurements(a: Path, b: Path, metrics=None, structures=None) -> Comparison:
    """Paired Wilcoxon tests between two ``measure`` report folders of the same patients: per quantity (EDV, ESV,
    EF) the absolute error against the expert masks, patient by patient. Rows as ``evaluation.stats.paired_tests``
    gives them, with ``metric`` "abs_err" and ``structure`` the quantity and unit ("EF %"); ``missed_*`` counts the
    patients one side could not measure. ``metrics`` and ``structures`` choose tests of evaluation reports only:
    given here, they are refused."""
    if metrics or structures:
        raise EcholiteError(
            "--metric and --structure choose tests of evaluation reports; two measure folders "
            "are compared on their EDV, ESV and EF errors"
        )
    (errors_a, expert_a), (errors_b, expert_b) = _absolute_errors(Path(a)), _absolute_errors(Path(b))
    only_a, only_b = sorted(set(errors_a) - set(errors_b)), sorted(set(errors_b) - set(errors_a))
    if only_a or only_b:
        raise EcholiteError(
            f"{a} and {b} measured different patients: {len(only_a)} only in A, {len(only_b)} "
            f"only in B (e.g. {(only_a or only_b)[0]})"
        )
    _check_same_experts(a, b, expert_a, expert_b)
    patients, rows = list(errors_a), []
    for column, name in QUANTITIES.items():
        x, y = (np.array([errors[p][column] for p in patients]) for errors in (errors_a, errors_b))
        rows.append(
            {
                "metric": "abs_err",
                "structure": name.replace(" (", " ").rstrip(")"),
                **paired_summary(x, y),
                "missed_a": int(np.isnan(x).sum()),
                "missed_b": int(np.isnan(y).sum()),
            }
        )
    return Comparison(with_holm(rows), len(patients), None, "nan", unit="patients")


EXPERT_VOLUME_FACTOR = 1.10
"""Two reports measured the same expert masks when their expert volumes agree within this factor in the median
patient: a model grid of another size resamples the masks by a few per cent, another pixel size scales every
volume alike, another data set scatters them."""


def _check_same_experts(a: Path, b: Path, expert_a: dict, expert_b: dict) -> None:
    """Two reports pair patient by patient only when measured against the same expert masks and pixel size."""
    logs = [
        abs(np.log(y / x))
        for patient, values in expert_a.items()
        for q, x in values.items()
        if q != "ef" and (y := expert_b[patient][q]) > 0 and x > 0 and np.isfinite(x * y)
    ]
    if logs and np.median(logs) > np.log(EXPERT_VOLUME_FACTOR):
        raise EcholiteError(
            f"{a} and {b} measured different expert volumes (a factor of {np.exp(np.median(logs)):.2f} "
            "apart in the median patient): another data set, pixel size or way of measuring; "
            "compare reports of the same data"
        )


def _absolute_errors(folder: Path) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Patient → quantity → |model − expert masks|, and patient → quantity → the expert masks' value, from a
    measure folder's ``measurements.csv``."""
    path = folder / MEASUREMENTS_CSV
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
            rows = list(csv.DictReader(f))
        experts = {row["patient"]: {q: _number(row[f"expert_{q}"]) for q in QUANTITIES} for row in rows}
        return {
            row["patient"]: {q: abs(_number(row[q]) - experts[row["patient"]][q]) for q in QUANTITIES} for row in rows
        }, experts
    except KeyError as exc:
        raise EcholiteError(
            f"{path}: no column {exc}; compare needs measurements of a model against the expert "
            "masks (echolite measure MODEL --data PATH --out DIR)"
        ) from None
    except (OSError, ValueError) as exc:
        raise EcholiteError(f"{path}: not an echolite measurements.csv ({exc})") from None


def _number(text: str) -> float:
    return float(text) if text not in ("", None) else float("nan")


@dataclass
class CineReport:
    sequence: Path
    frames: int
    frames_per_second: float
    loop: LoopReport  # beats, EF per beat and their mean, the loop checks and the verdict (``echolite_edge.loop``)
    qc: str = QC_OFF  # the per-frame anatomical criteria set, or "off"
    loop_fps: float | None = None  # the scanner's frame rate the loop's file carries (DICOM, video)
    loop_fps_from: str | None = None
    notes: tuple[str, ...] = ()  # what the loop's reader decided (the region cropped to, no pixel size, ...)

    def as_dict(self) -> dict:
        return {
            "sequence": str(self.sequence),
            "frames": self.frames,
            "frames_per_second": self.frames_per_second,
            "qc": self.qc,
            "loop_fps": self.loop_fps,
            "loop_fps_from": self.loop_fps_from,
            "notes": list(self.notes),
            "cine": self.loop.as_dict(),
        }


def measure_cine(
    masks: MaskSpec,
    sequence: Path,
    spacing_mm: float | None = None,
    out: Path | None = None,
    qc: str = QC_DEFAULT,
    mitral_cut: bool = True,
    fps: float | None = None,
) -> CineReport:
    """Segment every frame of a cine loop as ``masks`` says (its model, ensemble, test-time augmentation and
    post-processing) and analyse it as the device runner does
    (``echolite_edge.loop.measure_loop``): beats found from the LV area curve and ``fps`` (the loop's frame rate;
    None: the file's, else unknown), ED and ES per beat (the ES cut at the ED mitral plane with ``mitral_cut``),
    EF per beat and their mean, given only when the loop passes the loop QC. With ``qc`` a criteria set, every
    frame is checked: a failing frame is never ED or ES, and the share that pass is a loop check. With ``out``, the
    LV area curve with the beats as ``lv_area.png``."""
    check_qc(qc)
    check_spacing(spacing_mm)
    if fps is not None and not 0 < fps < float("inf"):
        raise EcholiteError(f"--fps: the frame rate must be a positive number of frames/s, got {fps}")
    if out is not None:
        check_report_folder(out, "the cine measurements", LV_AREA)

    segmenter = masks.segmenter()
    loop = read_sequence(sequence, segmenter.input_size, spacing_mm)
    if fps is not None and loop.fps is not None:
        raise EcholiteError(f"{sequence}: --fps: the loop carries its own frame rate; leave the option out")
    labels, confidence, rate = _segment_loop(segmenter, loop.images, masks)
    failures = None if qc == QC_OFF else [[k for k, bad in check_anatomy(mask, qc).items() if bad] for mask in labels]
    verdicts = None if failures is None else [not failed for failed in failures]
    spacing = tuple(loop.spacing_mm) if np.isfinite(loop.spacing_mm).all() else None
    try:
        report = measure_loop(labels, fps or loop.fps, spacing, mitral_cut, verdicts, confidence, None, loop.pixel)
    except ValueError as exc:
        raise EcholiteError(f"{sequence}: {exc}") from None
    if out is not None:
        from echolite.plots import save_area_curve  # matplotlib on use: only a written figure needs it

        beats = report.analysis.beats
        save_area_curve(
            report.analysis.areas,
            [b.ed for b in beats],
            [b.es for b in beats],
            Path(out) / LV_AREA,
            "mm²" if spacing else "pixels",
        )
        _write_cine_report(Path(out), report, loop, labels, masks.model, failures, spacing_mm)
    return CineReport(Path(sequence), len(labels), rate, report, qc, loop.fps, loop.fps_from, loop.notes)


def _write_cine_report(out: Path, report: LoopReport, loop, labels, model: Path, failures, spacing_mm) -> Path:
    """``report.html`` beside ``lv_area.png``: the device's page (``echolite_edge.loop_report``) of this loop, its
    frames shown at their own aspect ratio from the model grid."""

    cine = report.as_dict()
    grid = loop.images.shape[1:]
    shape = (round(grid[0] * loop.pixel[0]), round(grid[1] * loop.pixel[1]))  # the frame as acquired
    frames = {i: ShownFrame(loop.images[i], labels[i], shape) for i in shown_frame_indices(cine)}
    spacing = tuple(s / p for s, p in zip(loop.spacing_mm, loop.pixel)) if np.isfinite(loop.spacing_mm).all() else None
    source = {
        "name": loop.name,
        "frames": len(labels),
        "size": list(shape),
        "fps_from": loop.fps_from or ("--fps" if report.analysis.fps else None),
        "spacing_mm": list(spacing) if spacing else None,
        "spacing_from": "--spacing" if spacing_mm else "the file",
        "notes": list(loop.notes),
    }
    return write_report(out / REPORT, render_report(cine, frames, source, describe_model(model), failures))


def _segment_loop(segmenter, images: np.ndarray, masks: MaskSpec, chunk: int = 16):
    """Post-processed labels, each frame's LV confidence (``loop_qc.lv_softmax_margin``) and the frames per
    second, from the class probabilities (mean over the views of ``masks.tta``), a chunk of frames at a time."""

    def probabilities(batch):
        return tta_probabilities(batch, segmenter.predict_probabilities, masks.tta)

    probabilities(images[:9])  # warm-up (a full batch of 8 and a rest)
    start, chunks, confidence = time.perf_counter(), [], []
    for first in range(0, len(images), chunk):
        probs = probabilities(images[first : first + chunk])
        labels = masks.postprocessed(np.argmax(probs, axis=-1).astype(np.uint8))
        chunks.append(labels)
        confidence += [lv_softmax_margin(p, m, logits=False) for p, m in zip(probs, labels)]
    return np.concatenate(chunks), confidence, len(images) / (time.perf_counter() - start)
