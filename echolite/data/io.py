"""Read one 2D frame (or a sequence) from PNG/JPEG, NIfTI, MetaImage (.mhd) or .npy, with its spacing."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np

from echolite_edge.image import IMAGE_SUFFIXES, check_frame_size, load_npy, read_pixels

from echolite.errors import EcholiteError

MEDICAL_SUFFIXES = (".nii.gz", ".nii", ".mhd")
ALL_SUFFIXES = MEDICAL_SUFFIXES + IMAGE_SUFFIXES + (".npy",)


def read_text(path: Path, what: str) -> str:
    """A settings file's text: UTF-8 (with or without a BOM) or UTF-16 with a BOM (Windows Notepad)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig")
    except UnicodeDecodeError:
        raise EcholiteError(f"{path}: not UTF-8 or UTF-16 text; save {what} as UTF-8") from None


def suffix_of(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in ALL_SUFFIXES if name.endswith(s)), "")


def stem_of(path: Path) -> str:
    return path.name[: len(path.name) - len(suffix_of(path))] if suffix_of(path) else path.stem


def read_frame(path: Path) -> tuple[np.ndarray, tuple[float, float] | None]:
    """A 2D array (rows, columns) and its (row, column) pixel size in mm, or None when the format has none."""
    array, spacing = read_volume(path)
    while array.ndim > 2 and 1 in (array.shape[0], array.shape[-1]):  # (1, H, W) or (H, W, 1): one frame
        array = array[0] if array.shape[0] == 1 else array[..., 0]
    if array.ndim != 2:
        raise EcholiteError(f"{path}: expected a 2D frame, got an array of shape {array.shape}")
    try:
        return check_frame_size(array, path), spacing
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


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
