"""Evaluation like the paper (Tables IV–VI): per frame and structure Dice, Hausdorff distance (pixels on the
256 grid and mm), anatomical outliers; optional post-processing; summaries overall and by view and phase.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite import LABELS
from echolite.evaluation.anatomy import AnatomyThresholds, check_anatomy, is_outlier
from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite.evaluation.metrics import dice_per_class, hausdorff_per_class
from echolite.evaluation.postprocess import PostprocessConfig, postprocess

STRUCTURES = LABELS[1:]


@dataclass
class FrameScore:
    frame_id: str
    patient: str
    view: str
    phase: str
    dice: np.ndarray
    hd_px: np.ndarray
    hd_mm: np.ndarray
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def outlier(self) -> bool:
        return is_outlier(self.checks)


def score_frames(
    pred: np.ndarray, frames: FrameSet, post: PostprocessConfig | None = PostprocessConfig(),
    thresholds: AnatomyThresholds = AnatomyThresholds(), progress=None,
) -> list[FrameScore]:
    """Score predicted label maps (N, H, W) against ``frames.masks``; ``post=None`` skips post-processing."""
    if pred.shape != frames.masks.shape:
        raise EcholiteError(f"predictions {pred.shape} do not match the ground truth {frames.masks.shape}")
    scores = []
    for i in range(len(frames)):
        mask = postprocess(pred[i], post) if post else pred[i]
        scores.append(FrameScore(
            frames.frame_ids[i], frames.patients[i], frames.views[i], frames.phases[i],
            dice_per_class(mask[None], frames.masks[i][None])[0],
            hausdorff_per_class(mask, frames.masks[i]),
            hausdorff_per_class(mask, frames.masks[i], tuple(frames.spacing_mm[i])),
            check_anatomy(mask, thresholds),
        ))
        if progress:
            progress(1)
    return scores


def summarize(scores: list[FrameScore]) -> dict:
    """Means per structure (NaN-skipping), the outlier count, and the same per view/phase group."""
    summary = _group_summary(scores)
    groups = sorted({(s.view, s.phase) for s in scores})
    summary["by_view_phase"] = {
        f"{view}_{phase}": _group_summary([s for s in scores if (s.view, s.phase) == (view, phase)])
        for view, phase in groups
    }
    return summary


def _group_summary(scores: list[FrameScore]) -> dict:
    def mean(attr):
        values = np.array([getattr(s, attr) for s in scores], dtype=float)
        return {name: _finite(np.nanmean(values[:, k])) if np.isfinite(values[:, k]).any() else None
                for k, name in enumerate(STRUCTURES)}

    return {
        "n_frames": len(scores),
        "dice": mean("dice"),
        "hd_px": mean("hd_px"),
        "hd_mm": mean("hd_mm"),
        "outliers": int(sum(s.outlier for s in scores)),
    }


def _finite(value) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def write_frame_csv(scores: list[FrameScore], path: Path) -> None:
    check_names = list(scores[0].checks) if scores else []
    header = ["frame_id", "patient", "view", "phase"]
    for metric in ("dice", "hd_px", "hd_mm"):
        header += [f"{metric}_{name}" for name in STRUCTURES]
    header += ["outlier"] + check_names
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for s in scores:
            values = [*s.dice, *s.hd_px, *s.hd_mm]
            writer.writerow([s.frame_id, s.patient, s.view, s.phase, *[f"{v:.4f}" for v in values],
                             int(s.outlier), *[int(s.checks[c]) for c in check_names]])


def worst_frames(scores: list[FrameScore], count: int = 8) -> list[int]:
    """Indices of the frames with the lowest mean Dice."""
    means = [np.nanmean(s.dice) if np.isfinite(s.dice).any() else 0.0 for s in scores]
    return list(np.argsort(means)[:count])


def read_frame_csv(path: Path) -> list[FrameScore]:
    """Scores written by ``write_frame_csv`` (an ``echolite evaluate --out`` folder), for ``compare``."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        check_names = [k for k in (rows[0] if rows else {}) if k.startswith(("lv_", "myo_", "la_"))]
        return [FrameScore(
            r["frame_id"], r["patient"], r["view"], r["phase"],
            *(np.array([float(r[f"{metric}_{name}"]) for name in STRUCTURES]) for metric in ("dice", "hd_px", "hd_mm")),
            {c: r[c] == "1" for c in check_names},
        ) for r in rows]
    except (OSError, KeyError, ValueError) as exc:
        raise EcholiteError(f"{path}: not an echolite frames.csv ({exc})") from None
