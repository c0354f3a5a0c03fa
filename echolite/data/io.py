"""Read one 2D frame (or a sequence) from PNG/JPEG, NIfTI, MetaImage (.mhd) or .npy, with its spacing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from echolite_edge.image import IMAGE_SUFFIXES, load_npy, read_pixels

from echolite.errors import EcholiteError

MEDICAL_SUFFIXES = (".nii.gz", ".nii", ".mhd")
ALL_SUFFIXES = MEDICAL_SUFFIXES + IMAGE_SUFFIXES + (".npy",)


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in ALL_SUFFIXES if name.endswith(s)), "")


def stem_of(path: Path) -> str:
    return path.name[: len(path.name) - len(suffix_of(path))] if suffix_of(path) else path.stem


def read_frame(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A 2D array (rows, columns) and its (row, column) pixel size in mm, or None when the format has none."""
    array, spacing = read_volume(path)
    array = np.squeeze(array)
    if array.ndim != 2:
        raise EcholiteError(f"{path}: expected a 2D frame, got an array of shape {array.shape}")
    return array, spacing


def read_volume(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Any supported file as an array (frames first for sequences) and its in-plane spacing."""
    suffix = suffix_of(path)
    if not path.exists():
        problem = "a broken symbolic link (no target, or a loop)" if path.is_symlink() else "file not found"
        raise EcholiteError(f"{path}: {problem}")
    if suffix in MEDICAL_SUFFIXES:
        return _read_medical(path)
    if suffix == ".npy":
        return _read_npy(path), None
    if suffix in IMAGE_SUFFIXES:
        return _read_image(path), None
    raise EcholiteError(f"{path}: unsupported file type (use PNG/JPEG, NIfTI, .mhd or .npy)")


def _read_medical(path: Path):
    import SimpleITK as sitk

    try:
        image = sitk.ReadImage(str(path))
        array = sitk.GetArrayFromImage(image)  # (z,) rows, columns: upright as stored by CAMUS
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1][:160] if str(exc).strip() else "unreadable"
        raise EcholiteError(f"{path}: corrupt or truncated file ({reason})") from None
    sx, sy = image.GetSpacing()[:2]
    return array, (float(sy), float(sx))


def _read_npy(path: Path) -> np.ndarray:
    try:
        return load_npy(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def _read_image(path: Path) -> np.ndarray:
    """Stored values: intensities are mapped by ``echolite_edge.image.to_gray8`` when a frame is loaded, masks
    are label values."""
    try:
        return read_pixels(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
