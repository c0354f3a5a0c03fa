"""The measure workflows: LV volumes and EF per patient from a model's (or the experts') masks on a data split,
with agreement figures; and EF from a whole cine loop."""

from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from echolite.clinical.cine import CineResult, analyse_cine, read_sequence
from echolite.clinical.reference import reference_ef
from echolite.clinical.volumes import PatientMeasure, agreement, measure_patients
from echolite.errors import EcholiteError
from echolite.evaluation.postprocess import PostprocessConfig, postprocess
from echolite.run import RunDir, frames_for_split

MEASUREMENTS_CSV, BLAND_ALTMAN, LV_AREA = "measurements.csv", "bland_altman.png", "lv_area.png"
GRID = 256


@dataclass
class MeasureReport:
    source: str
    patients: list[PatientMeasure]
    agreement: dict[str, dict] = field(default_factory=dict)  # "ef_vs_ground_truth_masks", "ef_vs_reference"


def measure(model: Path | None, data: str, split: str = "all", ground_truth: bool = False,
            out: Path | None = None) -> MeasureReport:
    """Volumes and EF per patient from ``model``'s post-processed masks (or the ground truth) on a split of
    ``data``; agreement with the expert masks and with the data's reference EF where there is one. With ``out``:
    ``measurements.csv`` and a Bland–Altman plot against the reference EF."""
    if (model is None) != ground_truth:
        raise EcholiteError("give either a model or ground_truth=True")
    if model is not None:
        from echolite.inference import load_segmenter

        segmenter = load_segmenter(model)
        loaded = frames_for_split(data, split, RunDir.of(model), segmenter.input_size)
        masks = postprocess(segmenter.predict_labels(loaded.frames.images), PostprocessConfig())
    else:
        loaded = frames_for_split(data, split, None, GRID)
        masks = loaded.frames.masks
    reference = reference_ef(loaded.info)
    results = measure_patients(masks, loaded.frames, reference)
    report = MeasureReport("ground truth" if ground_truth else str(model), results)
    if model is not None:
        truth = measure_patients(loaded.frames.masks, loaded.frames)
        report.agreement["ef_vs_ground_truth_masks"] = agreement([r.ef for r in results], [t.ef for t in truth])
    if reference:
        report.agreement["ef_vs_reference"] = agreement([r.ef for r in results], [r.reference_ef for r in results])
    if out is not None:
        _write_measurements(Path(out), results)
    return report


def _write_measurements(out: Path, results: list[PatientMeasure]) -> None:
    from echolite.plots import save_bland_altman

    out.mkdir(parents=True, exist_ok=True)
    with open(out / MEASUREMENTS_CSV, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in dataclasses.fields(PatientMeasure)])
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in results)
    if any(r.reference_ef == r.reference_ef for r in results):
        save_bland_altman([r.ef for r in results], [r.reference_ef for r in results], out / BLAND_ALTMAN)


@dataclass
class CineReport:
    sequence: Path
    frames: int
    frames_per_second: float
    result: CineResult


def measure_cine(model: Path, sequence: Path, spacing_mm: float | None = None, out: Path | None = None) -> CineReport:
    """Segment every frame of a cine loop, pick ED/ES from the LV area and compute EF; with ``out``, the LV area
    curve as ``lv_area.png``."""
    from echolite.inference import load_segmenter

    segmenter = load_segmenter(model)
    loop = read_sequence(sequence, segmenter.input_size, spacing_mm)
    segmenter.predict_labels(loop.images[:9])  # warm-up (a full batch of 8 and a rest)
    start = time.perf_counter()
    masks = postprocess(segmenter.predict_labels(loop.images), PostprocessConfig())
    fps = len(loop.images) / (time.perf_counter() - start)
    result = analyse_cine(masks, loop.spacing_mm)
    if out is not None:
        from echolite.plots import save_area_curve

        Path(out).mkdir(parents=True, exist_ok=True)
        save_area_curve(result.lv_area_mm2, result.ed_index, result.es_index, Path(out) / LV_AREA)
    return CineReport(Path(sequence), len(loop.images), fps, result)
