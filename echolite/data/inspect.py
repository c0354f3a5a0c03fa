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
from echolite_edge.frames import read_loop, study_files
from echolite_edge.image import describe_intensity
from echolite_edge.sources import NotBMode, is_loop_file


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


@dataclass
class LoopReport:
    """What a DICOM or video file, or a study folder of them, holds: per loop the numbers read from it (file name,
    instance, frames, size, frame rate, pixel size, each with where it came from), files skipped with the reason,
    and files that cannot be read."""

    root: Path
    loops: list[dict]
    skipped: list[tuple[str, str]]
    problems: list[str]


def holds_loops(path: Path) -> bool:
    """A DICOM or video file, or a folder holding any: ``inspect_loops`` describes it, not ``inspect_data``."""
    path = Path(path)
    return is_loop_file(path) or (path.is_dir() and bool(study_files(path)))


def inspect_loops(path: Path, progress: Callable[[int, int], None] | None = None) -> LoopReport:
    """Read every DICOM and video file of ``path`` (a file or a study folder) once. A corrupt file is a problem,
    listed, and the others are still read; a file with no B-mode image is skipped with the reason."""
    path = Path(path)
    if path.is_file():
        files, skipped = [path], []
    else:
        files = study_files(path)
        skipped = [
            (p.name, "not a DICOM or video file") for p in sorted(path.iterdir()) if p.is_file() and p not in files
        ]
    loops, problems = [], []
    for file in files:
        try:
            loops.append(read_loop(file).describe())
        except NotBMode as exc:
            skipped.append((file.name, str(exc).removeprefix(f"{file}: ")))
        except ValueError as exc:  # corrupt, truncated, or its reader's extra missing: one line naming the file
            problems.append(str(exc))
        if progress:
            progress(1, len(files))
    return LoopReport(path, loops, skipped, problems)


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
