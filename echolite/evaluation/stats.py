"""Paired statistics between two models scored on the same frames (paper: Wilcoxon signed-rank test), with Holm's
correction across the tests of one comparison."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from echolite.errors import EcholiteError
from echolite.evaluation.names import ALPHA
from echolite.evaluation.scoring import FrameScore, missed_counts, missed_distance_of, pick_metrics, pick_structures


@dataclass
class Comparison:
    rows: list[dict]
    n_frames: int
    boxplots: Path | None
    missed_distance: str
    """Hausdorff and MAD of a missed structure in the tested values: ``nan`` (left out) or ``diagonal``."""
    unit: str = "frames"  # "patients" for two measure reports
    table: Path | None = None
    """The tests as CSV (raw and Holm-corrected p), beside the boxplots."""
    names: tuple[str, str] = ("A", "B")
    """What A and B are, in words (``workflows.evaluation.side_name``)."""


def paired_tests(a: list[FrameScore], b: list[FrameScore], metrics=None, structures=None) -> list[dict]:
    """Per metric and structure (default: all of ``METRICS`` and ``STRUCTURES``; names checked): means of A and
    B, mean and median difference (B − A), two-sided Wilcoxon signed-rank p-value over the frames where both
    values are finite, its Holm-corrected value over all the tests returned (``p_holm``), a verdict on the
    corrected p, and how often each model missed the structure. p is None when fewer than 2 pairs differ (the
    test is undefined). Both sets must hold the same frames; a metric × structure that neither set has (an older
    frames.csv without MAD) is left out."""
    metrics, structures = pick_metrics(metrics), pick_structures(structures)
    b = align_frames(a, b)
    shared_missed_distance(a, b)
    missed_a, missed_b = missed_counts(a), missed_counts(b)
    rows = []
    for metric in metrics:
        for name in structures:
            x, y = (np.array([s.value(metric, name) for s in scores], float) for scores in (a, b))
            if not (np.isfinite(x).any() or np.isfinite(y).any()):
                continue
            rows.append(
                {
                    "metric": metric,
                    "structure": name,
                    **paired_summary(x, y),
                    "missed_a": missed_a[name],
                    "missed_b": missed_b[name],
                }
            )
    return with_holm(rows)


def with_holm(rows: list[dict]) -> list[dict]:
    """``rows`` (each with its raw ``p``) with ``p_holm``, Holm's correction over the rows that have a p, and the
    verdict on it: running many tests at α = 0.05 each would call some difference significant by chance alone."""
    tested = [i for i, r in enumerate(rows) if r["p"] is not None]
    adjusted = dict(zip(tested, holm([rows[i]["p"] for i in tested])))
    return [
        {**r, "p_holm": adjusted.get(i), "verdict": verdict(adjusted.get(i), r["diff"], corrected=len(tested) > 1)}
        for i, r in enumerate(rows)
    ]


def holm(p_values) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: sorted ascending, the k-th smallest (from 0) of m
    is multiplied by m − k, made non-decreasing along that order, capped at 1. Rejecting where the adjusted p is
    below α keeps the chance of any false rejection among the m tests below α (Holm 1979)."""
    p = np.asarray(p_values, float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return [float(v) for v in adjusted]


def paired_summary(x: np.ndarray, y: np.ndarray) -> dict:
    """Over the pairs where both values are finite: their number ``n``, the means of A and B, the mean and median
    difference (B − A) and the two-sided Wilcoxon p (the verdict comes with Holm's correction: ``with_holm``)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    return {
        "n": int(ok.sum()),
        "mean_a": _mean(x),
        "mean_b": _mean(y),
        "diff": _mean(y - x),
        "median_diff": float(np.median(y - x)) if x.size else None,
        "p": paired_p(x, y),
    }


def shared_missed_distance(a: list[FrameScore], b: list[FrameScore]) -> str:
    """The missed-structure convention of a comparison: that of the sets with a missed structure, which must
    agree (distances of a miss as NaN in one set and as the image diagonal in the other do not compare)."""
    conventions = {missed_distance_of(s) for s in (a, b) if any(frame.missed.any() for frame in s)}
    if len(conventions) > 1:
        raise EcholiteError(
            "A and B score a missed structure's distances differently (NaN in one, the image "
            "diagonal in the other); evaluate both with the same --missed-distance"
        )
    return conventions.pop() if conventions else missed_distance_of(a)


def paired_p(x: np.ndarray, y: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p over the finite pairs; None when fewer than 2 pairs differ."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    return float(stats.wilcoxon(x, y).pvalue) if np.count_nonzero(x - y) >= 2 else None


def verdict(p: float | None, diff: float | None, corrected: bool = True) -> str:
    """Words for one test (``corrected``: ``p`` is Holm-corrected). No significant difference is not evidence of
    equivalence, and says so."""
    if p is None:
        return "untestable (fewer than 2 differing pairs)"
    level = f"α = {ALPHA}{', Holm-corrected' if corrected else ''}"
    if p < ALPHA:
        return f"B {'higher' if diff > 0 else 'lower'}, significant at {level}"
    return f"no significant difference at {level} (not a claim of equivalence)"


def align_frames(a: list[FrameScore], b: list[FrameScore]) -> list[FrameScore]:
    """B reordered to A's frame order; refuses sets that are not the same frames."""
    ids_a, by_id = [s.frame_id for s in a], {s.frame_id: s for s in b}
    only_a, only_b = sorted(set(ids_a) - set(by_id)), sorted(set(by_id) - set(ids_a))
    if only_a or only_b:
        example = (only_a or only_b)[0]
        raise EcholiteError(
            f"A and B were not scored on the same frames: {len(only_a)} only in A, "
            f"{len(only_b)} only in B (e.g. {example})"
        )
    return [by_id[i] for i in ids_a]


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None
