"""What a data folder holds and what is wrong with it, without loading it for training."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite.data.cases import read_case_arrays
from echolite.data.layouts import detect_layout
from echolite.errors import EcholiteError


@dataclass
class DataReport:
    layout: str
    root: Path
    patients: int
    frames: int
    views: Counter
    phases: Counter
    sizes: Counter
    spacings: Counter
    labels: set[int]
    split: dict[str, int] | None
    sequences: int
    problems: list[str] = field(default_factory=list)


def inspect_data(root: Path, progress=None) -> DataReport:
    """Read every case once (images and masks at original size) and collect sizes, spacings, labels, problems."""
    layout = detect_layout(Path(root))
    sizes, spacings, labels, problems = Counter(), Counter(), set(), list(layout.problems)
    for case in layout.cases:
        try:
            image, mask, spacing = read_case_arrays(case)
            sizes[image.shape] += 1
            spacing = spacing or ((case.default_spacing_mm,) * 2 if case.default_spacing_mm else None)
            spacings[tuple(round(s, 3) for s in spacing) if spacing else "unknown"] += 1
            labels |= set(np.unique(mask).tolist())
        except EcholiteError as exc:
            if str(exc) not in problems:
                problems.append(str(exc))
        if progress:
            progress(1)
    split = {k: len(v) for k, v in layout.split.items()} if layout.split else None
    return DataReport(
        layout.name, Path(root), len({c.patient for c in layout.cases}), len(layout.cases),
        Counter(c.view for c in layout.cases), Counter(c.phase for c in layout.cases), sizes, spacings, labels,
        split, len(layout.sequences), problems,
    )
