"""A ``Case`` is one annotated frame on disk; layouts list cases, and one loader turns them into a ``FrameSet``.

Loading resizes to the model grid (image: antialiased bilinear, mask: nearest neighbour) and keeps the original
size and the pixel spacing rescaled per axis to the grid, so predictions map back and mm metrics stay possible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite_edge.image import model_input, resize_nearest, to_gray8

VALID_LABELS = {0, 1, 2, 3}


@dataclass(frozen=True)
class Case:
    frame_id: str
    patient: str
    view: str
    phase: str
    image_path: Path
    mask_path: Path | None
    read: Callable[[Path], tuple[np.ndarray, tuple[float, float] | None]] = field(compare=False, repr=False)
    """Reads a 2D array and its (row, column) spacing in mm, or None when the file carries none."""
    default_spacing_mm: float | None = None


@dataclass
class LoadReport:
    frames: FrameSet
    skipped: list[str]
    """One line per case left out with ``skip_bad``: "FILE: problem"."""


def load_cases(cases: list[Case], size: int = 256, skip_bad: bool = False, progress=None) -> LoadReport:
    """Read, check and resize every case. Without ``skip_bad`` the first bad case raises ``EcholiteError``."""
    rows, skipped = [], []
    for case in cases:
        try:
            rows.append((case, *_load_case(case, size)))
        except EcholiteError as exc:
            if not skip_bad:
                raise
            skipped.append(str(exc))
        if progress:
            progress(1)
    if not rows:
        raise EcholiteError("no usable frames: " + (skipped[0] if skipped else "the layout lists no cases"))
    return LoadReport(_frameset(rows), skipped)


def read_case_arrays(case: Case) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
    """The original image (2D) and label mask (2D uint8) and spacing, checked, before resizing."""
    if case.mask_path is None:
        raise EcholiteError(f"{case.image_path}: no ground-truth mask for this frame")
    image, spacing = case.read(case.image_path)
    mask, _ = case.read(case.mask_path)
    if image.shape != mask.shape:
        raise EcholiteError(f"{case.mask_path}: mask size {mask.shape} differs from its image {image.shape}")
    return image, to_labels(mask, case.mask_path), spacing


def _load_case(case: Case, size: int):
    image, mask, spacing = read_case_arrays(case)
    spacing = spacing or ((case.default_spacing_mm,) * 2 if case.default_spacing_mm else (np.nan, np.nan))
    grid_spacing = (spacing[0] * image.shape[0] / size, spacing[1] * image.shape[1] / size)
    gray = gray8(image, case.image_path)
    return model_input(gray, size), resize_nearest(mask, (size, size)), grid_spacing, image.shape


def gray8(image: np.ndarray, path: Path) -> np.ndarray:
    """Stored intensities as 8-bit gray by the one rule the device shares (``echolite_edge.image.to_gray8``)."""
    try:
        return to_gray8(image, path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def to_labels(mask: np.ndarray, path: Path) -> np.ndarray:
    """Masks hold 0–3, or 0/85/170/255 as in CAMUS PNG exports."""
    values = set(np.unique(mask).tolist())
    if values <= VALID_LABELS:
        return mask.astype(np.uint8)
    if values <= {85 * v for v in VALID_LABELS}:
        return (mask // 85).astype(np.uint8)
    bad = sorted(values - VALID_LABELS)[:5]
    raise EcholiteError(f"{path}: labels {bad} outside {{0, 1, 2, 3}} (0 bg, 1 LV, 2 MYO, 3 LA) or 0/85/170/255")


def _frameset(rows) -> FrameSet:
    cases = [r[0] for r in rows]
    return FrameSet(
        images=np.stack([r[1] for r in rows]).astype(np.float32),
        masks=np.stack([r[2] for r in rows]),
        frame_ids=[_printable(c.frame_id) for c in cases],
        patients=[_printable(c.patient) for c in cases],
        views=[c.view for c in cases],
        phases=[c.phase for c in cases],
        spacing_mm=np.asarray([r[3] for r in rows], np.float32),
        original_shapes=np.asarray([r[4] for r in rows], np.int32),
    )


def _printable(name: str) -> str:
    """A name taken from a file name that is not UTF-8, its undecodable bytes as U+FFFD, so reports can be written."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
