"""Augmentation presets by name (Albumentations), applied identically to image and mask.

``affine`` is Table VII's: shift ±10 %, scale factor in [0.8, 1.1] (Albumentations 1.x ``scale_limit=(-0.2, 0.1)``),
rotation ±10°, p = 0.5, bilinear image / nearest mask interpolation. Border fill: constant black (0) for the image
and background (0) for the mask. The authors' code used Albumentations 1.4 with reflected borders; an echo
sector sits on black, so a reflected border would paste mirrored tissue outside the sector, which no scanner shows.
"""

from __future__ import annotations

import threading
from typing import Callable

import albumentations as A
import cv2
import numpy as np

from echolite.errors import EcholiteError


def _affine() -> A.Compose:
    return A.Compose([
        A.Affine(
            translate_percent=(-0.1, 0.1), scale=(0.8, 1.1), rotate=(-10, 10), p=0.5,
            interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST,
            border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0,
        )
    ])


AUGMENTATIONS: dict[str, Callable[[], A.Compose] | None] = {"none": None, "affine": _affine}


def check_augmentation(name: str) -> None:
    if name not in AUGMENTATIONS:
        raise EcholiteError(f"unknown augmentation {name!r}; choose one of: {', '.join(AUGMENTATIONS)}")


class Augmenter:
    """Seeded, thread-safe application of a preset: each call takes its own seed, so a tf.data map running in
    parallel gives the same result for the same (frame, seed) whatever the thread scheduling."""

    def __init__(self, name: str):
        check_augmentation(name)
        self.name = name
        self._local = threading.local()

    def __call__(self, image: np.ndarray, mask: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        factory = AUGMENTATIONS[self.name]
        if factory is None:
            return image, mask
        if not hasattr(self._local, "compose"):
            self._local.compose = factory()
        compose = self._local.compose
        compose.set_random_seed(int(seed) % 2**32)
        out = compose(image=image, mask=mask)
        return out["image"].astype(np.float32, copy=False), out["mask"].astype(np.uint8, copy=False)
