"""How an ablation step ranks models: a rule names one metric of the scored frames, on one structure or averaged
over the paper's three (``mean_dice``, ``mean_hd``, ``mean_mad_mm_epi``, ...)."""

from __future__ import annotations

import dataclasses

import numpy as np

from echolite.errors import EcholiteError
from echolite.evaluation.names import METRICS, PAPER_STRUCTURES, STRUCTURES
from echolite.evaluation.scoring import per_frame


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a step ranks models: ``mean_<metric>[_<structure>]``, the mean over the scored frames of one metric of
    ``names.METRICS`` (``hd`` = ``hd_px``) on one structure, or without a structure over the paper's LV, MYO and
    LA. Dice: higher is better; distances: lower. Frames where the value is undefined are left out."""

    name: str
    metric: str
    structures: tuple[str, ...]

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "dice"

    def values(self, scores: list) -> np.ndarray:
        """(frames, structures) values of the rule's metric."""

        return per_frame(scores, self.metric, self.structures)

    def mean(self, scores: list) -> float | None:
        values = self.values(scores)
        return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else None

    def per_frame(self, scores: list) -> np.ndarray:
        """Each frame's mean over the rule's structures (NaN where none is defined), for the paired test."""
        values = self.values(scores)
        counts = np.isfinite(values).sum(axis=1)
        return np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)


RULE_METRICS = {"hd": "hd_px", **{m: m for m in METRICS}}
"""Metric names a rule may use (``hd``: the rule name older plans use)."""


def parse_rule(text: str, where: str = "rule") -> Rule:
    """``mean_dice``, ``mean_hd``, ``mean_mad_mm_epi``, ...: see ``Rule``."""
    rest = str(text)[len("mean_") :] if str(text).startswith("mean_") else None
    for given in sorted(RULE_METRICS, key=len, reverse=True) if rest is not None else ():
        structure = rest[len(given) + 1 :].upper() if rest.startswith(f"{given}_") else None
        if rest == given or structure in STRUCTURES:
            return Rule(text, RULE_METRICS[given], (structure,) if structure else PAPER_STRUCTURES)
    raise EcholiteError(
        f"{where}: unknown rule {text!r}; a rule is mean_<metric> or mean_<metric>_<structure> with "
        f"metric one of {', '.join(METRICS)} (hd = hd_px) and structure one of "
        f"{', '.join(s.lower() for s in STRUCTURES)} (e.g. mean_dice, mean_mad_mm_epi)"
    )
