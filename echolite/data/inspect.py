"""What a data folder holds and what is wrong with it, without loading it for training."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite.data import load_data
from echolite.data.cases import gray8, read_case_arrays
from echolite.data.layouts import detect_layout
from echolite.errors import EcholiteError
from echolite_edge.image import describe_intensity


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
    intensities: Counter = field(default_factory=Counter)  # how the stored values were read (to_gray8)
    problems: list[str] = field(default_factory=list)
    spacing_source: str = ""  # where a pixel size the files do not carry comes from


def inspect_data(root: Path, progress: Callable[[int, int], None] | None = None) -> DataReport:
    """Read every case once (images and masks at original size) and collect sizes, spacings, labels, problems.
    ``progress(step, total)`` is called per case."""
    layout = detect_layout(Path(root))
    sizes, spacings, labels, problems = Counter(), Counter(), set(), list(layout.problems)
    intensities = Counter()
    for case in layout.cases:
        try:
            image, mask, spacing = read_case_arrays(case)
            gray8(image, case.image_path)
            intensities[describe_intensity(image)] += 1
            sizes[image.shape] += 1
            spacing = spacing or ((case.default_spacing_mm,) * 2 if case.default_spacing_mm else None)
            spacings[tuple(round(s, 3) for s in spacing) if spacing else "unknown"] += 1
            labels |= set(np.unique(mask).tolist())
        except EcholiteError as exc:
            if not any(p.startswith(f"{case.image_path}:") for p in problems):  # one problem line per frame
                problems.append(str(exc))
        if progress:
            progress(1, len(layout.cases))
    split = {k: len(v) for k, v in layout.split.items()} if layout.split else None
    return DataReport(
        layout.name,
        Path(root),
        len({c.patient for c in layout.cases}),
        len(layout.cases),
        Counter(c.view for c in layout.cases),
        Counter(c.phase for c in layout.cases),
        sizes,
        spacings,
        labels,
        split,
        len(layout.sequences),
        intensities,
        problems,
        layout.spacing_source,
    )


def preview_augmentation(source: str, augment: str, out: Path, count: int = 8, seed: int = 0) -> Path:
    """A PNG grid of ``count`` frames of ``source`` (a folder or ``phantom``) next to their augmented versions."""
    from echolite.data.augment import Augmenter  # albumentations on use: only the preview needs it
    from echolite.plots import (  # matplotlib on use: only a written figure needs it
        check_figure_path,
        save_augmentation_grid,
    )

    check_figure_path(out)
    augmenter = Augmenter(augment)
    frames = load_data(source, phantom_frames=max(count, 2)).frames
    frames = frames.subset(range(min(count, len(frames))))
    pairs = [augmenter(image, mask, seed + i) for i, (image, mask) in enumerate(zip(frames.images, frames.masks))]
    save_augmentation_grid(frames, pairs, augment, Path(out))
    return Path(out)
