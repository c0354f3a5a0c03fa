"""Frames in, masks out, the same way on the device and in the library: reading, resizing and the intensity rule.

Images are resized first (Pillow bilinear, antialiased when shrinking, on float32) and then scaled to [0, 1], so
the device and the library feed the network bit-identical inputs. Masks are resized with nearest neighbour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_pixels(path: Path) -> np.ndarray:
    """The stored values of any Pillow image: colour and palette images as luminance (8-bit), 16-bit, 32-bit and
    float images unchanged (apply ``to_gray8`` for intensities, nothing for label masks). A palette image that
    uses only indices 0–3 is a label mask as labelling tools save them: its indices are returned."""

    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if frames > 1:
                raise ValueError(
                    f"{path}: {frames} frames in one image file; give one frame per file, or a cine "
                    "loop as a folder of frames or a .npy stack (T, H, W)"
                )
            if image.mode.startswith("I") or image.mode == "F":
                return np.asarray(image)
            if image.mode == "P":
                indices = np.asarray(image)
                if indices.max(initial=0) <= 3:
                    return indices
            return np.asarray(image.convert("L"))
    except Image.DecompressionBombError as exc:  # a header claiming more pixels than any echo frame
        raise ValueError(f"{path}: image too large to read ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None


def load_npy(path: Path) -> np.ndarray:
    """The array of a ``.npy`` file; anything else (text, an archive, Python objects) is a ``ValueError`` naming it."""
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():  # numpy's word for a file without the .npy header, or of Python objects
            raise ValueError(f"{path}: not a NumPy array file (.npy)") from None
        raise ValueError(f"{path}: corrupt .npy file ({exc})") from None
    except OSError as exc:
        raise ValueError(f"{path}: unreadable .npy file ({exc.strerror or exc})") from None
    if not isinstance(array, np.ndarray):  # a user's file, not a caller's type: the one error of bad input
        raise ValueError(  # noqa: TRY004
            f"{path}: not a NumPy array file (.npy)"
        )
    return array


MIN_FRAME_SIDE = 16
"""Frames narrower or lower than this many pixels are refused: no echo view fits, and upsampling one to the
model's input would invent the whole image."""


def check_frame_size(frame: np.ndarray, source: object) -> np.ndarray:
    if min(frame.shape[:2]) < MIN_FRAME_SIDE:
        raise ValueError(
            f"{source}: a {frame.shape[0]}×{frame.shape[1]} frame; an echo frame is at least "
            f"{MIN_FRAME_SIDE} pixels a side"
        )
    return frame


def looks_like_colour(shape: tuple) -> bool:
    """A (H, W, 3 or 4) array: one colour frame, not a stack of frames 3 or 4 pixels wide."""
    return len(shape) == 3 and shape[-1] in (3, 4) and shape[-1] < min(shape[:2])


def read_image(path: Path) -> np.ndarray:
    """A gray uint8 frame from any image file, by the one intensity rule (``to_gray8``)."""
    return to_gray8(read_pixels(path), path)


def to_gray8(values: np.ndarray, source: object = "") -> np.ndarray:
    """The intensity rule for every bit depth, in the library and on the device alike:

    - 8-bit values (uint8, or any integers within 0–255, e.g. a 16-bit file holding 8-bit data) stay as they are;
    - 16-bit values (integers up to 65535) are scaled by the container's range: v · 255 / 65535;
    - floats within [0, 1] are scaled by 255; floats within 0–255 are taken as 8-bit values.

    No rescaling by the image's own maximum: the same stored value always gives the same intensity. Anything else
    (negative values, larger integers, NaN) is refused with a ``ValueError`` naming ``source``."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return values
    if values.dtype != bool and values.dtype.kind not in "iuf":
        raise ValueError(f"{source}: {values.dtype} values are not intensities (give integers or floats)")
    if values.size == 0:
        raise ValueError(f"{source}: empty image")
    if values.dtype == bool:
        return values.astype(np.uint8) * 255
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        raise ValueError(f"{source}: has NaN or infinite intensities")
    low, high = float(values.min()), float(values.max())
    if np.issubdtype(values.dtype, np.integer) and low >= 0:
        if high <= 255:
            return values.astype(np.uint8)
        if high <= 65535:
            return np.round(values.astype(np.float64) * (255 / 65535)).astype(np.uint8)
    if np.issubdtype(values.dtype, np.floating) and low >= 0:
        if high <= 1:
            return np.round(values.astype(np.float64) * 255).astype(np.uint8)
        if high <= 255:
            return np.round(values).astype(np.uint8)
    raise ValueError(
        f"{source}: intensities {low:g} to {high:g} ({values.dtype}) are neither 8-bit, 16-bit nor [0, 1] values"
    )


def describe_intensity(values: np.ndarray) -> str:
    """How ``to_gray8`` reads these values, for reports: "8-bit", "16-bit holding 8-bit values", ..."""
    values = np.asarray(values)
    if values.dtype in (np.uint8, bool):
        return "8-bit"
    high = float(values.max()) if values.size else 0.0
    if np.issubdtype(values.dtype, np.integer):
        bits = values.dtype.itemsize * 8
        return f"{bits}-bit holding 8-bit values" if high <= 255 else f"{bits}-bit, scaled by 255/65535"
    return "float in [0, 1]" if high <= 1 else "float holding 8-bit values"


def resize_bilinear(image: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Pillow's bilinear (antialiased when shrinking) to size×size, or to a (rows, columns) shape, as float32 in
    the input's value range."""
    shape = (size, size) if np.ndim(size) == 0 else tuple(size)
    if image.shape == shape:
        return image.astype(np.float32, copy=False)  # callers compute new arrays from it
    if image.dtype == np.uint8 and image.ndim == 2:  # the same float32 values, converted by Pillow: 1.3 → 0.4 ms
        source = Image.fromarray(image).convert("F")
    else:
        source = Image.fromarray(image.astype(np.float32, copy=False), mode="F")
    return np.asarray(source.resize(shape[::-1], Image.BILINEAR))


def resize_nearest(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels to ``shape`` (rows, columns) with Pillow's nearest neighbour."""

    if mask.shape == tuple(shape):
        return mask.astype(np.uint8)
    return np.asarray(Image.fromarray(mask.astype(np.uint8)).resize((shape[1], shape[0]), Image.NEAREST))


def to_unit_range(image: np.ndarray, eight_bit: bool | None = None) -> np.ndarray:
    """8-bit B-mode values to [0, 1]; values already in [0, 1] pass through. ``eight_bit``: decided by the caller
    from the frame as read (None: values above 1 mean 8-bit)."""
    image = image.astype(np.float32)  # a copy, scaled in place: one array per frame, not three
    if eight_bit is None:
        eight_bit = bool(image.max() > 1.0)
    if eight_bit:
        np.divide(image, 255.0, out=image)
    return np.clip(image, 0.0, 1.0, out=image)


def model_input(gray: np.ndarray, size: int) -> np.ndarray:
    """A 2D frame of any size (uint8 0–255 or float 0–1) as the network's (size, size) float32 input in [0, 1]."""
    eight_bit = gray.dtype == np.uint8 or bool(gray.max() > 1.0)
    return to_unit_range(resize_bilinear(gray, size), eight_bit)
