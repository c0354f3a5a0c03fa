"""Frames in, masks out, the same way on the device and in the library: reading, resizing and the intensity rule.

Images are resized first (Pillow bilinear, antialiased when shrinking, on float32) and then scaled to [0, 1], so
the device and the library feed the network bit-identical inputs. Masks are resized with nearest neighbour.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def read_image(path: Path) -> np.ndarray:
    """A gray uint8 frame from any Pillow image: RGB(A) to luminance, 16-bit and float rescaled by their maximum."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode in ("I;16", "I;16B", "I", "F"):
                values = np.asarray(image, dtype=np.float64)
                return np.round(255 * values / max(values.max(), 1e-9)).astype(np.uint8)
            return np.asarray(image.convert("L"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from None


def resize_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """Pillow's bilinear (antialiased when shrinking) to size×size, as float32 in the input's value range."""
    from PIL import Image

    if image.shape == (size, size):
        return image.astype(np.float32)
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize((size, size), Image.BILINEAR))


def resize_nearest(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Labels to ``shape`` (rows, columns) with Pillow's nearest neighbour."""
    from PIL import Image

    if mask.shape == tuple(shape):
        return mask.astype(np.uint8)
    return np.asarray(Image.fromarray(mask.astype(np.uint8)).resize((shape[1], shape[0]), Image.NEAREST))


def to_unit_range(image: np.ndarray, eight_bit: bool | None = None) -> np.ndarray:
    """8-bit B-mode values to [0, 1]; values already in [0, 1] pass through. ``eight_bit``: decided by the caller
    from the frame as read (None: values above 1 mean 8-bit)."""
    image = image.astype(np.float32)
    if eight_bit is None:
        eight_bit = bool(image.max() > 1.0)
    return np.clip(image / 255.0 if eight_bit else image, 0.0, 1.0)


def model_input(gray: np.ndarray, size: int) -> np.ndarray:
    """A 2D frame of any size (uint8 0–255 or float 0–1) as the network's (size, size) float32 input in [0, 1]."""
    eight_bit = gray.dtype == np.uint8 or bool(gray.max() > 1.0)
    return to_unit_range(resize_bilinear(gray.astype(np.float32), size), eight_bit)
