"""Evaluation as CAMUS, its challenge and the ``vital`` toolkit report it, with the paper's Table IV layout kept:
per frame and structure Dice, Hausdorff distance and mean absolute distance (MAD), in pixels of the scored grid and
in mm; missed structures; anatomical outliers per criteria set; optional post-processing; summaries pooled, by
phase (ED/ES) and by view and phase.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite.evaluation.anatomy import CRITERIA_SETS, check_anatomy, is_outlier
from echolite.evaluation.metrics import boundary_distances, dice
from echolite.evaluation.names import METRICS, MISSED_DISTANCES, PAPER_STRUCTURES, STRUCTURES
from echolite.evaluation.postprocess import PostprocessConfig, postprocess

LEGACY_CRITERIA = "echolite"
"""The criteria set of the checks in files written before there were several sets."""
STRUCTURE_INDEX = {name: k for k, name in enumerate(STRUCTURES)}


@dataclass
class FrameScore:
    """One frame's scores; each metric array holds one value per ``STRUCTURES`` entry, in its order."""

    frame_id: str
    patient: str
    view: str
    phase: str
    dice: np.ndarray
    hd_px: np.ndarray
    hd_mm: np.ndarray
    mad_px: np.ndarray
    mad_mm: np.ndarray
    missed: np.ndarray
    """True where a structure is in exactly one of prediction and truth."""
    checks: dict[str, dict[str, bool]] = field(default_factory=dict)
    """Criteria set → criterion → failed; the first set is the default."""
    missed_distance: str = "nan"

    @property
    def outlier(self) -> bool:
        """Fails a criterion of the default set."""
        return bool(self.checks) and self.outlier_by(next(iter(self.checks)))

    def outlier_by(self, criteria: str) -> bool:
        return is_outlier(self.checks[criteria])

    def value(self, metric: str, structure: str) -> float:
        return float(getattr(self, metric)[STRUCTURE_INDEX[structure]])


def score_frames(
    pred: np.ndarray,
    frames: FrameSet,
    post: PostprocessConfig | None = PostprocessConfig(),
    criteria: dict = CRITERIA_SETS,
    progress=None,
    missed_distance: str = "nan",
) -> list[FrameScore]:
    """Score predicted label maps (N, H, W) against ``frames.masks``; ``post=None`` skips post-processing.
    ``criteria``: anatomical criteria set name → its table (``anatomy.CRITERIA_SETS``; the first is the default
    that ``outlier`` uses). ``missed_distance``: Hausdorff and MAD of a missed structure
    (``names.MISSED_DISTANCES``)."""
    pick("missed distance", [missed_distance], MISSED_DISTANCES)
    if pred.shape != frames.masks.shape:
        raise EcholiteError(f"predictions {pred.shape} do not match the ground truth {frames.masks.shape}")
    scores = []
    for i in range(len(frames)):
        mask = postprocess(pred[i], post) if post else pred[i]
        metrics = structure_metrics(mask, frames.masks[i], tuple(frames.spacing_mm[i]), missed_distance)
        scores.append(
            FrameScore(
                frames.frame_ids[i],
                frames.patients[i],
                frames.views[i],
                frames.phases[i],
                **metrics,
                checks=anatomy_checks(mask, criteria),
                missed_distance=missed_distance,
            )
        )
        if progress:
            progress(1)
    return scores


def structure_metrics(
    pred: np.ndarray, truth: np.ndarray, spacing_mm: tuple[float, float], missed_distance: str = "nan"
) -> dict[str, np.ndarray]:
    """Every metric of ``METRICS`` and ``missed`` for each structure of one (H, W) label map."""
    rows = []
    for labels in STRUCTURES.values():
        p, t = np.isin(pred, labels), np.isin(truth, labels)
        hd_px, mad_px = boundary_distances(p, t, (1.0, 1.0), missed_distance)
        hd_mm, mad_mm = boundary_distances(p, t, spacing_mm, missed_distance)
        rows.append((dice(p, t), hd_px, hd_mm, mad_px, mad_mm, p.any() != t.any()))
    columns = np.array(rows, float).T
    return {**{metric: columns[k] for k, metric in enumerate(METRICS)}, "missed": columns[-1].astype(bool)}


def anatomy_checks(mask: np.ndarray, criteria: dict = CRITERIA_SETS) -> dict[str, dict[str, bool]]:
    """Criteria set → criterion → failed, for every set of ``criteria`` (name → table), in its order."""
    return {name: check_anatomy(mask, table) for name, table in criteria.items()}


def summarize(scores: list[FrameScore]) -> dict:
    """Pooled means per metric and structure (NaN-skipping), missed structures per structure, outliers per
    criteria set; then the same by phase (ED/ES) and by view and phase. States the missed-structure convention
    and the criteria set that ``outliers`` counts."""
    pooled = _group_summary(scores)
    summary = {
        "n_frames": pooled.pop("n_frames"),
        "missed_distance": missed_distance_of(scores),
        "outlier_criteria": next(iter(scores[0].checks), None) if scores else None,
        **pooled,
    }
    summary["by_phase"] = {
        phase: _group_summary([s for s in scores if s.phase == phase]) for phase in sorted({s.phase for s in scores})
    }
    summary["by_view_phase"] = {
        f"{view}_{phase}": _group_summary([s for s in scores if (s.view, s.phase) == (view, phase)])
        for view, phase in sorted({(s.view, s.phase) for s in scores})
    }
    return summary


def missed_distance_of(scores: list[FrameScore]) -> str:
    return scores[0].missed_distance if scores else MISSED_DISTANCES[0]


def _group_summary(scores: list[FrameScore]) -> dict:
    group: dict = {"n_frames": len(scores)}
    for metric in METRICS:
        values = np.array([getattr(s, metric) for s in scores], float).reshape(len(scores), len(STRUCTURES))
        group[metric] = {name: _mean(values[:, k]) for k, name in enumerate(STRUCTURES)}
    group["missed"] = missed_counts(scores)
    group["outliers"] = sum(s.outlier for s in scores)
    for criteria in scores[0].checks if scores else ():
        group[f"outliers_{criteria}"] = sum(s.outlier_by(criteria) for s in scores)
    return group


def missed_counts(scores: list[FrameScore]) -> dict[str, int]:
    """Frames where each structure is in exactly one of prediction and truth."""
    missed = np.array([s.missed for s in scores], bool).reshape(len(scores), len(STRUCTURES)).sum(axis=0)
    return {name: int(n) for name, n in zip(STRUCTURES, missed)}


def _mean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return round(float(finite.mean()), 4) if finite.size else None


def pick(kind: str, names, allowed: tuple[str, ...], canonical=str) -> tuple[str, ...]:
    """``names`` in their canonical spelling, or all of ``allowed`` when none are given; an unknown name is a
    user error that lists the allowed ones."""
    if not names:
        return allowed
    chosen = tuple(canonical(name) for name in names)
    for name, value in zip(names, chosen):
        if value not in allowed:
            raise EcholiteError(f"unknown {kind} {name!r}; choose one of: {', '.join(a.lower() for a in allowed)}")
    return chosen


def pick_metrics(names=None) -> tuple[str, ...]:
    return pick("metric", names, METRICS, str.lower)


def pick_structures(names=None) -> tuple[str, ...]:
    """Structure names are case-insensitive (``epi`` or ``EPI``)."""
    return pick("structure", names, tuple(STRUCTURES), str.upper)


def per_frame(scores: list[FrameScore], metric: str, structures=PAPER_STRUCTURES) -> np.ndarray:
    """(N, len(structures)) values of one metric."""
    values = [[s.value(metric, name) for name in structures] for s in scores]
    return np.array(values, float).reshape(-1, len(structures))


def write_frame_csv(scores: list[FrameScore], path: Path) -> None:
    """One row per frame: every metric × structure, missed flags, outlier flags per criteria set (``outlier``:
    the default set) and each criterion as ``<set>_<criterion>``."""
    sets = {name: list(checks) for name, checks in scores[0].checks.items()} if scores else {}
    header = ["frame_id", "patient", "view", "phase"]
    header += [f"{metric}_{name}" for metric in METRICS for name in STRUCTURES]
    header += [f"missed_{name}" for name in STRUCTURES] + ["outlier"] + [f"outlier_{name}" for name in sets]
    header += [f"{name}_{check}" for name, checks in sets.items() for check in checks]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for s in scores:
            values = np.concatenate([getattr(s, metric) for metric in METRICS])
            writer.writerow(
                [
                    s.frame_id,
                    s.patient,
                    s.view,
                    s.phase,
                    *[f"{v:.4f}" for v in values],
                    *s.missed.astype(int),
                    int(s.outlier),
                    *[int(s.outlier_by(name)) for name in sets],
                    *[int(s.checks[name][check]) for name, checks in sets.items() for check in checks],
                ]
            )


def worst_frames(scores: list[FrameScore], count: int = 8) -> list[int]:
    """Indices of the frames with the lowest mean Dice over the paper's structures."""
    dice_values = per_frame(scores, "dice")
    means = [row[np.isfinite(row)].mean() if np.isfinite(row).any() else 0.0 for row in dice_values]
    return list(np.argsort(means)[:count])


def read_frame_csv(path: Path) -> list[FrameScore]:
    """Scores written by ``write_frame_csv`` (an ``echolite evaluate --out`` folder), for ``compare``. Files from
    before MAD and the epicardium (Dice and Hausdorff of LV, MYO, LA only) read too: what they lack is NaN, a
    structure with Dice 0 counts as missed, and their checks are the ``echolite`` criteria set. The missed-structure
    convention is read from the values: a missed structure with a finite distance was given the diagonal."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
            reader = csv.DictReader(f)
            header, rows = list(reader.fieldnames or []), [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EcholiteError(f"{path}: not a readable CSV file ({exc})") from None
    if not header:
        raise EcholiteError(f"{path}: an empty file")
    missing = [c for c in ("frame_id", "patient", "view", "phase", *sorted(_ALWAYS_WRITTEN)) if c not in header]
    if missing:
        raise EcholiteError(f"{path}: not an echolite frames.csv (no column {missing[0]})")
    if not rows:
        raise EcholiteError(f"{path}: no frames")
    columns = _criteria_columns(header)
    scores = []
    for line, row in rows:
        if None in row or None in row.values():
            more = "more fields than the header (a decimal comma?)" if None in row else "fewer fields than the header"
            raise EcholiteError(f"{path}: line {line} has {more}")
        try:
            scores.append(_frame_from_row(row, columns))
        except ValueError as exc:
            raise EcholiteError(f"{path}: line {line}: {exc}") from None
    seen = set()
    for score in scores:
        if score.frame_id in seen:
            raise EcholiteError(f"{path}: frame {score.frame_id} appears twice")
        seen.add(score.frame_id)
    convention = "diagonal" if any(np.isfinite(s.hd_px[s.missed]).any() for s in scores) else "nan"
    for s in scores:
        s.missed_distance = convention
    return scores


_ALWAYS_WRITTEN = {f"{metric}_{name}" for metric in ("dice", "hd_px", "hd_mm") for name in PAPER_STRUCTURES}


def _frame_from_row(row: dict, columns: dict[str, dict[str, str]]) -> FrameScore:
    def value(column: str) -> float:
        if column not in row:
            return float("nan")  # a column older files lack
        try:
            number = float(row[column])
        except ValueError:
            raise ValueError(f"{column} is {row[column]!r}, not a number") from None
        if np.isfinite(number) and (number < 0 or column.startswith("dice_") and number > 1):
            raise ValueError(f"{column} is {number:g}, outside its range")
        return number

    metrics = {metric: np.array([value(f"{metric}_{name}") for name in STRUCTURES]) for metric in METRICS}
    missed = np.array(
        [
            row[f"missed_{name}"] == "1" if f"missed_{name}" in row else metrics["dice"][k] == 0
            for k, name in enumerate(STRUCTURES)
        ]
    )
    checks = {
        name: {check: row[column] == "1" for check, column in criteria.items()} for name, criteria in columns.items()
    }
    return FrameScore(
        row["frame_id"], row["patient"], row["view"], row["phase"], **metrics, missed=missed, checks=checks
    )


def _criteria_columns(header: list[str]) -> dict[str, dict[str, str]]:
    """Criteria set → criterion → its column."""
    sets = [column[len("outlier_") :] for column in header if column.startswith("outlier_")]
    if not sets:  # written before criteria sets: echolite's checks, named without a prefix
        return {LEGACY_CRITERIA: {c: c for c in header if c.startswith(("lv_", "myo_", "la_"))}}
    columns: dict[str, dict[str, str]] = {name: {} for name in sets}
    for column in header:
        owner = max((name for name in sets if column.startswith(f"{name}_")), key=len, default=None)
        if owner is not None and not column.startswith("outlier_"):
            columns[owner][column[len(owner) + 1 :]] = column
    return columns
