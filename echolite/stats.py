"""Paired statistics between two models scored on the same frames (paper: Wilcoxon signed-rank test)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from echolite.evaluate import STRUCTURES, FrameScore
from echolite.errors import EcholiteError


def paired_tests(a: list[FrameScore], b: list[FrameScore], metrics=("dice", "hd_px", "hd_mm")) -> list[dict]:
    """Per metric and structure: means of A and B, mean difference (B − A), two-sided Wilcoxon p-value, over the
    frames where both values are finite. p is None when fewer than 2 pairs differ (the test is undefined)."""
    if [s.frame_id for s in a] != [s.frame_id for s in b]:
        raise EcholiteError("the two models were not scored on the same frames")
    rows = []
    for metric in metrics:
        values_a = np.array([getattr(s, metric) for s in a], float)
        values_b = np.array([getattr(s, metric) for s in b], float)
        for k, name in enumerate(STRUCTURES):
            x, y = values_a[:, k], values_b[:, k]
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
            p = None
            if np.count_nonzero(x - y) >= 2:
                p = float(stats.wilcoxon(x, y).pvalue)
            rows.append({"metric": metric, "structure": name, "n": int(ok.sum()), "mean_a": _mean(x),
                         "mean_b": _mean(y), "diff": _mean(y - x), "p": p})
    return rows


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None
