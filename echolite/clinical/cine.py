"""Cine loops: read a loop's frames for segmentation. Its beats, ED and ES per beat, EF and the loop quality control
are the device runner's (``echolite_edge.loop``), so both give the same numbers on the same masks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite.data.cases import gray8
from echolite.data.io import read_frame, read_loop_file, read_volume, suffix_of
from echolite.errors import EcholiteError
from echolite_edge.frames import natural_key, study_files
from echolite_edge.image import IMAGE_SUFFIXES, check_frame_size, looks_like_colour, model_input
from echolite_edge.sources import is_loop_file


@dataclass
class Sequence:
    images: np.ndarray  # (T, size, size) float32 in [0, 1]
    spacing_mm: tuple[float, float]  # (row, column) on the resized grid; NaN when unknown
    name: str
    fps: float | None = None  # the frame rate the file carries (DICOM, video), None when it carries none
    fps_from: str | None = None  # the attribute or container field it came from
    notes: tuple[str, ...] = ()  # what the reader decided: the region it cropped to, why there is no pixel size
    pixel: tuple[float, float] = (1.0, 1.0)  # (row, column) original pixels per grid pixel: their shape


def read_sequence(path: Path, size: int = 256, spacing_mm: float | None = None) -> Sequence:
    """A cine loop from a NIfTI/MHD sequence (CAMUS ``_half_sequence``), a ``.npy`` stack (T, H, W), a DICOM or
    video file (with the pixel size and frame rate it carries) or a folder of frame images in natural order (frame2
    before frame10). ``spacing_mm`` is the square pixel size for formats that carry none."""
    path = Path(path)
    fps, fps_from, notes = None, None, ()
    if path.is_dir() and study_files(path):
        raise EcholiteError(
            f"{path}: a folder of DICOM or video files; --sequence measures one loop: give one of its files"
        )
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if suffix_of(p) in IMAGE_SUFFIXES + (".npy",)), key=natural_key)
        if not files:
            raise EcholiteError(f"{path}: no frames (PNG/JPEG or .npy) in this folder")
        frames = [read_frame(f)[0] for f in files]
        for file, frame in zip(files, frames):
            if frame.shape != frames[0].shape:
                raise EcholiteError(
                    f"{file}: a {frame.shape[0]}×{frame.shape[1]} frame in a loop of "
                    f"{frames[0].shape[0]}×{frames[0].shape[1]} frames"
                )
        stack, spacing = np.stack(frames), None
    elif is_loop_file(path):
        loop = read_loop_file(path)
        stack, spacing, fps, fps_from, notes = loop.frames, loop.spacing_mm, loop.fps, loop.fps_from, loop.notes
    else:
        stack, spacing = read_volume(path)
    if stack.ndim != 3 or looks_like_colour(stack.shape):
        raise EcholiteError(f"{path}: expected a sequence of gray 2D frames (T, H, W), got shape {stack.shape}")
    if stack.shape[0] < 2:
        raise EcholiteError(f"{path}: a cine loop needs at least 2 frames, this one has {stack.shape[0]}")
    try:
        check_frame_size(stack[0], path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
    if spacing and spacing_mm:
        raise EcholiteError(f"{path}: --spacing: the loop carries its own pixel spacing; leave the option out")
    spacing = spacing or ((spacing_mm, spacing_mm) if spacing_mm else (np.nan, np.nan))
    grid = (spacing[0] * stack.shape[1] / size, spacing[1] * stack.shape[2] / size)
    images = np.stack([model_input(gray8(frame, path), size) for frame in stack])
    return Sequence(images, grid, path.name, fps, fps_from, notes, pixel=(stack.shape[1] / size, stack.shape[2] / size))
