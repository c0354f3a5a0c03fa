"""Scanner shifts: a data set's frames and masks as another scanner or protocol would show them, to measure how much
a model's accuracy depends on the look of its training data (CAMUS: LV-focused, high-resolution, one scanner
family).

The strengths are fixed here, once, and documented in docs/evaluation.md ("Scanner shifts"); nothing outside this
module can change them, so every benchmark number means the same shift. The code is numpy and Pillow only and
shares nothing with the training augmentation (``echolite.data.augment``), so the benchmark measures robustness,
not memory of the augmentation. Images are resampled bilinearly, masks by nearest neighbour (they keep labels
0..3); every random draw is seeded by the frame's name, so a shifted frame is the same in every run.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
from PIL import Image

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite.evaluation.names import SHIFT_NAMES
from echolite_edge.image import resize_bilinear, resize_nearest


@dataclass(frozen=True)
class FieldOfView:
    """A wider field of view with the LV off-centre: the frame's content shrunk to ``scale`` of the grid, its top
    left corner placed at (``top``, ``left``) fractions of the grid, the rest black (an echo sector sits on black;
    the mask is padded with background)."""

    scale: float
    top: float
    left: float


WIDE_80 = FieldOfView(scale=0.8, top=0.05, left=0.2)
"""Zoomed out to 0.8, content moved up and right (centred it would sit at 0.1, 0.1)."""
WIDE_60 = FieldOfView(scale=0.6, top=0.05, left=0.35)
"""Zoomed out to 0.6, content moved up and right (centred it would sit at 0.2, 0.2)."""
LOW_RESOLUTION_PX = 112
"""Side of the grid the image is reduced to before it is brought back up (a small, old or streamed recording)."""
JPEG_QUALITY = 30
"""Pillow JPEG quality of the low-resolution image: block and ringing artefacts of a compressed video."""
GAIN, CONTRAST, GAMMA = 1.25, 0.75, 0.8
"""``gain * x ** gamma``, then contrast scaled about mid-grey: a brighter, hazier preset of another scanner. Black
(the surround of the sector, where no echo is shown) stays black."""
SPECKLE_SIGMA = 0.3
"""Standard deviation of the multiplicative noise ``x * (1 + sigma * n)``, ``n`` drawn at half the grid and
brought up bilinearly (grains of about two pixels, as a coarser speckle pattern)."""
SEED = 40
"""Mixed with each frame's name to seed its random draws."""


def _field_of_view(fov: FieldOfView):
    return lambda image, mask, rng: zoom_out(image, mask, fov)


def _low_resolution(image, mask, rng):
    return low_resolution(image), mask


def _gain(image, mask, rng):
    return gain_contrast_gamma(image), mask


def _speckle(image, mask, rng):
    return speckle(image, rng), mask


_TRANSFORMS = {
    "wide-80": _field_of_view(WIDE_80),
    "wide-60": _field_of_view(WIDE_60),
    "low-res": _low_resolution,
    "gain": _gain,
    "speckle": _speckle,
}
"""Shift name → transform of one (image, mask, rng)."""
COMBINED = ("wide-80", "gain", "speckle", "low-res")
"""The shifts of ``combined``, applied in this order (the codec last, as a recording is compressed last)."""


def _combined(image, mask, rng):
    for name in COMBINED:
        image, mask = _TRANSFORMS[name](image, mask, rng)
    return image, mask


SHIFTS = MappingProxyType({**_TRANSFORMS, "combined": _combined})
"""Every shift of the benchmark, in its order; read-only, so no caller changes what a name means."""


def pick_shifts(names) -> tuple[str, ...]:
    """``names`` as given (``all`` anywhere: every shift), in the benchmark's order; an unknown name is one line
    naming the choices."""
    names = tuple(names)
    unknown = [name for name in names if name not in (*SHIFT_NAMES, "all")]
    if unknown:
        raise EcholiteError(f"unknown shift {unknown[0]!r}; choose one of: {', '.join(SHIFT_NAMES)}, all")
    if not names or "all" in names:
        return SHIFT_NAMES
    return tuple(name for name in SHIFT_NAMES if name in names)


def shift_frames(frames: FrameSet, name: str) -> FrameSet:
    """A copy of ``frames`` with every image and mask shifted by ``name``; names, spacing and shapes kept (the
    spacing is the grid's as scored: a zoomed-out frame is scored in its new pixels)."""
    if name not in SHIFTS:
        raise EcholiteError(f"unknown shift {name!r}; choose one of: {', '.join(SHIFT_NAMES)}")
    images, masks = [], []
    for image, mask, frame_id in zip(frames.images, frames.masks, frames.frame_ids):
        rng = np.random.default_rng([SEED, zlib.crc32(frame_id.encode())])
        shifted_image, shifted_mask = SHIFTS[name](np.asarray(image, np.float32), np.asarray(mask, np.uint8), rng)
        images.append(np.clip(shifted_image, 0.0, 1.0).astype(np.float32))
        masks.append(shifted_mask.astype(np.uint8))
    return replace(frames, images=np.stack(images), masks=np.stack(masks))


def zoom_out(image: np.ndarray, mask: np.ndarray, fov: FieldOfView) -> tuple[np.ndarray, np.ndarray]:
    """Shrink image (bilinear) and mask (nearest) to ``fov.scale`` of the grid and place both at the same corner on
    black / background, so they stay aligned."""
    rows, cols = image.shape
    size = (round(rows * fov.scale), round(cols * fov.scale))
    top, left = round(rows * fov.top), round(cols * fov.left)
    out_image, out_mask = np.zeros_like(image, np.float32), np.zeros_like(mask, np.uint8)
    out_image[top : top + size[0], left : left + size[1]] = resize_bilinear(image, size)
    out_mask[top : top + size[0], left : left + size[1]] = resize_nearest(mask, size)
    return out_image, out_mask


def low_resolution(image: np.ndarray) -> np.ndarray:
    """Down to ``LOW_RESOLUTION_PX`` (bilinear), through JPEG at ``JPEG_QUALITY``, back up to the grid."""
    small = resize_bilinear(image, LOW_RESOLUTION_PX)
    grey = Image.fromarray(np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8), "L")
    buffer = io.BytesIO()
    grey.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    decoded = np.asarray(Image.open(buffer).convert("L"), np.float32) / 255
    return resize_bilinear(decoded, image.shape)


def gain_contrast_gamma(image: np.ndarray) -> np.ndarray:
    changed = np.clip(0.5 + CONTRAST * (GAIN * np.clip(image, 0, 1) ** GAMMA - 0.5), 0.0, 1.0)
    return np.where(image > 0, changed, 0.0)


def speckle(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows, cols = image.shape
    noise = rng.standard_normal(((rows + 1) // 2, (cols + 1) // 2)).astype(np.float32)
    noise = resize_bilinear(noise, (rows, cols))
    return np.clip(image * (1 + SPECKLE_SIGMA * noise), 0.0, 1.0)
