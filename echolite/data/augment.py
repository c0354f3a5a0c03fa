"""Augmentation presets by name (Albumentations), applied identically to image and mask.

``affine`` is Table VII's: shift ±10 %, scale factor in [0.8, 1.1] (Albumentations 1.x ``scale_limit=(-0.2, 0.1)``),
rotation ±10°, p = 0.5, bilinear image / nearest mask interpolation. Border fill: constant black (0) for the image
and background (0) for the mask. The authors' code used Albumentations 1.4 with reflected borders; an echo
sector sits on black, so a reflected border would paste mirrored tissue outside the sector, which no scanner shows.

Table II configs ``I``–``V``: Table II's shift column reads "(−0.05, 5)", "(−0.10, 10)", ...; echolite takes it as a
symmetric shift of ±5 %, ±10 %, ... (the second number is the same in percent). Noise is Albumentations 1.x
``GaussNoise(var_limit)`` in 8-bit units, converted to a standard deviation on [0, 1] images. Each transform
fires with p = 0.5 (the paper gives no probability except the blackout's 0.25). ``nnunet`` follows nnU-Net's 2D
defaults: rotation ±180° (p 0.2), scaling 0.7–1.4 (p 0.2), Gaussian noise (p 0.1), blur σ 0.5–1 (p 0.2),
multiplicative brightness 0.75–1.25 (p 0.15), contrast (p 0.15), low-resolution simulation 0.5–1 (p 0.25),
gamma 0.7–1.5 (p 0.3), mirroring of each axis (p 0.5).

``affine-echo`` (not in the paper) is ``affine`` followed by what changes between echo acquisitions rather than
between anatomies: overall gain (the image multiplied by 0.75–1.25, p 0.3), log-compression (gamma 0.7–1.5, p 0.3),
speckle (each pixel multiplied by 0.8–1.2, p 0.2), lateral blur (σ 0.5–1 px, p 0.2) and a coarser probe (down- and
up-sampled by 0.5–1, p 0.2). All are multiplicative or local, so the black outside the sector stays black.

``scanner`` (not in the paper; ``edge-rt``'s default) is ``affine-echo`` widened to what separates one scanner and
protocol from another rather than one acquisition from the next: a wider, non-LV-focused field of view (the frame
shrunk to 0.55–0.9 of the grid with the same factor on both axes, moved by up to ±15 % on each axis, p 0.3, after
Table VII's affine), a stronger gain and log-compression range (×0.7–1.3 and gamma 0.6–1.6, p 0.3 each), speckle
(×0.7–1.3 per pixel, p 0.3), blur (σ 0.5–1.5 px, p 0.2), a coarser probe (down- and up-sampled by 0.4–1, p 0.25)
and video compression (JPEG quality 20–80, p 0.25). Its ranges were fixed from what scanners vary, before any model
was trained with it; none is taken from the scanner-shift benchmark's code (``echolite.evaluation.shifts``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import albumentations as A
import cv2
import numpy as np

from echolite import config
from echolite.errors import EcholiteError


def _affine_transform(shift: float, scale: tuple[float, float], rotate: float, p: float = 0.5) -> A.Affine:
    """Albumentations 1.x ``ShiftScaleRotate(shift_limit, scale_limit, rotate_limit)`` as a 2.x ``Affine``."""
    return A.Affine(
        translate_percent=(-shift, shift),
        scale=(1 + scale[0], 1 + scale[1]),
        rotate=(-rotate, rotate),
        p=p,
        interpolation=cv2.INTER_LINEAR,
        mask_interpolation=cv2.INTER_NEAREST,
        border_mode=cv2.BORDER_CONSTANT,
        fill=0,
        fill_mask=0,
    )


def _affine() -> A.Compose:
    return A.Compose([_affine_transform(0.1, (-0.2, 0.1), 10)])


# Table II, configs I–V: shift, scale, rotation, gamma, noise variance (8-bit units), brightness/contrast/
# saturation range, hue range. Blackout (p = 0.25, sides U(25, 65) px) is common to all five.
TABLE_II = {
    "I": (0.05, (-0.1, 0.05), 5, (90, 110), (5, 10), (0.95, 1.05), 0.05),
    "II": (0.10, (-0.2, 0.10), 10, (85, 115), (10, 25), (0.90, 1.10), 0.10),
    "III": (0.15, (-0.3, 0.15), 15, (80, 120), (20, 35), (0.85, 1.15), 0.15),
    "IV": (0.20, (-0.4, 0.20), 20, (70, 130), (30, 45), (0.80, 1.20), 0.20),
    "V": (0.25, (-0.5, 0.25), 30, (60, 140), (40, 50), (0.75, 1.25), 0.25),
}


def _table_ii(config: str) -> Callable[[], A.Compose]:
    shift, scale, rotate, gamma, noise_var, jitter, hue = TABLE_II[config]

    def build() -> A.Compose:
        return A.Compose(
            [
                _affine_transform(shift, scale, rotate),
                A.RandomGamma(gamma_limit=gamma, p=0.5),
                A.GaussNoise(std_range=(noise_var[0] ** 0.5 / 255, noise_var[1] ** 0.5 / 255), p=0.5),
                A.CoarseDropout(
                    num_holes_range=(1, 1),
                    hole_height_range=(25, 65),
                    hole_width_range=(25, 65),
                    fill=0,
                    fill_mask=None,
                    p=0.25,
                ),
                # Saturation and hue leave a grayscale frame unchanged; brightness and contrast act.
                A.ColorJitter(brightness=jitter, contrast=jitter, saturation=jitter, hue=(-hue, hue), p=0.5),
            ]
        )

    return build


def _nnunet() -> A.Compose:
    """nnU-Net's 2D default augmentation, with its probabilities, on [0, 1] images."""
    return A.Compose(
        [
            A.Affine(
                rotate=(-180, 180),
                p=0.2,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                mask_interpolation=cv2.INTER_NEAREST,
            ),
            A.Affine(
                scale=(0.7, 1.4),
                p=0.2,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
                mask_interpolation=cv2.INTER_NEAREST,
            ),
            A.GaussNoise(std_range=(0.0, 0.06), p=0.1),
            A.GaussianBlur(sigma_limit=(0.5, 1.0), p=0.2),
            A.MultiplicativeNoise(multiplier=(0.75, 1.25), p=0.15),
            A.RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=0.25, p=0.15),
            A.Downscale(scale_range=(0.5, 1.0), p=0.25),
            A.RandomGamma(gamma_limit=(70, 150), p=0.3),
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
        ]
    )


def _affine_echo() -> A.Compose:
    return A.Compose(
        [
            _affine_transform(0.1, (-0.2, 0.1), 10),
            A.MultiplicativeNoise(multiplier=(0.75, 1.25), p=0.3),
            A.RandomGamma(gamma_limit=(70, 150), p=0.3),
            A.MultiplicativeNoise(multiplier=(0.8, 1.2), elementwise=True, p=0.2),
            A.GaussianBlur(sigma_limit=(0.5, 1.0), p=0.2),
            A.Downscale(scale_range=(0.5, 1.0), p=0.2),
        ]
    )


def _scanner() -> A.Compose:
    return A.Compose(
        [
            _affine_transform(0.1, (-0.2, 0.1), 10),
            A.Affine(
                scale=(0.55, 0.9),
                keep_ratio=True,
                translate_percent=(-0.15, 0.15),
                p=0.3,
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=0,
            ),
            A.MultiplicativeNoise(multiplier=(0.7, 1.3), p=0.3),
            A.RandomGamma(gamma_limit=(60, 160), p=0.3),
            A.MultiplicativeNoise(multiplier=(0.7, 1.3), elementwise=True, p=0.3),
            A.GaussianBlur(sigma_limit=(0.5, 1.5), p=0.2),
            A.Downscale(scale_range=(0.4, 1.0), p=0.25),
            A.ImageCompression(quality_range=(20, 80), p=0.25),
        ]
    )


AUGMENTATIONS: dict[str, Callable[[], A.Compose] | None] = {
    "none": None,
    "affine": _affine,
    **{name: _table_ii(name) for name in TABLE_II},
    "nnunet": _nnunet,
    "affine-echo": _affine_echo,
    "scanner": _scanner,
}


assert tuple(AUGMENTATIONS) == config.AUGMENTATIONS, "echolite.config.AUGMENTATIONS lists the presets by name"


def check_augmentation(name: str) -> None:
    if name not in AUGMENTATIONS:
        raise EcholiteError(f"unknown augmentation {name!r}; choose one of: {', '.join(AUGMENTATIONS)}")


def _seed_each(compose: A.Compose, seed: int) -> None:
    """Seed the transforms of ``compose`` from ``seed``, each with a seed of its own. Albumentations'
    ``set_random_seed`` gives every transform the same seed, so each would draw the same first number: a
    transform with p = 0.3 would fire only when the one before with p = 0.5 had fired, never on its own. The
    first transform keeps ``seed`` itself, so a one-transform preset augments as ``set_random_seed`` would."""
    compose.set_random_seed(seed)
    for index, transform in enumerate(compose.transforms[1:], start=1):
        transform.set_random_seed(int(np.random.SeedSequence([seed, index]).generate_state(1)[0]))


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
        _seed_each(compose, int(seed) % 2**32)
        out = compose(image=image, mask=mask)
        return np.clip(out["image"], 0.0, 1.0).astype(np.float32, copy=False), out["mask"].astype(np.uint8, copy=False)
