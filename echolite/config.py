"""Frozen configs: the only place where settings have defaults, valid choices and ranges.

A run is described by a ``ModelConfig`` (architecture) and a ``TrainConfig`` (everything else);
``echolite.presets.resolve_configs`` turns a preset name plus overrides into both, for the command
line and the ablation study alike. A run folder keeps them in its ``config.json`` (``echolite.run``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from echolite.errors import EcholiteError

NORMS = ("none", "batch", "instance")
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "mish", "gelu")
DOWNSAMPLINGS = ("maxpool", "strided")
UPSAMPLINGS = ("nearest", "transposed")
STEM_STRIDES = (1, 2)
HEADS = ("conv", "bilinear")
"""conv: a convolution stage at the input size after a strided stem; bilinear: the logits upsampled to it."""
LOSSES = ("dice", "ce", "dice_ce")
SCHEDULERS = ("none", "plateau", "poly")
"""none: a constant learning rate (the paper's); plateau: halved after 10 epochs without a better validation Dice
(Table III, U-Net 0/2/3); poly: lr · (1 − epoch / epochs)^0.9 per epoch, nnU-Net's decay to near zero."""
STRATEGIES = ("default", "mirrored", "multi-worker")
AUGMENTATIONS = ("none", "affine", "I", "II", "III", "IV", "V", "nnunet", "affine-echo", "scanner")
"""affine: Table VII; I-V: Table II; nnunet: nnU-Net's default set; affine-echo: affine with gain, compression,
speckle, blur and resolution changes; scanner: affine-echo widened to other scanners and protocols (wider fields of
view, video compression); echolite.data.augment."""
SPLITS = ("test", "val", "train", "all")
"""Which frames a command scores: a patient split, or every frame."""
SEED_MAX = 2**32 - 1
"""Seeds run from 0 to this, the range numpy.random.seed takes."""


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise EcholiteError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


@dataclass(frozen=True)
class ModelConfig:
    """U-Net architecture. ``encoder_channels[i]`` is the width at resolution ``input_size / 2**i``; the last
    entry is the bottleneck, so the lowest feature map is ``input_size / 2**(len(encoder_channels) - 1)``.
    ``decoder_channels`` run from the deepest decoder stage up to full resolution.

    For small devices: ``separable_levels`` makes the 3×3 convolutions of that many highest-resolution levels
    (encoder and decoder stages at one resolution form a level) depthwise 3×3 → norm → activation → pointwise 1×1
    (MobileNet), except the first convolution, on the image; ``stem_stride=2`` strides the first convolution, so the
    U-Net runs at half resolution, and a head brings the prediction back to the input size: ``head="conv"``
    upsamples the features, concatenates a ``head_channels``-wide convolution of the image and runs one convolution
    there;
    ``head="bilinear"`` takes the class logits at half resolution and upsamples them bilinearly (no full-resolution
    feature map at all: the cheaper head on CPUs where memory traffic, not MACs, bounds int8 time)."""

    encoder_channels: tuple[int, ...]
    decoder_channels: tuple[int, ...]
    input_size: int = 256
    in_channels: int = 1
    num_classes: int = 4
    norm: str = "none"
    activation: str = "relu"
    downsampling: str = "maxpool"
    upsampling: str = "nearest"
    residual: bool = False
    deep_supervision: bool = False
    convs_per_stage: int = 2
    separable_levels: int = 0
    stem_stride: int = 1
    head_channels: int = 16
    head: str = "conv"
    stem_kernel: int = 3
    """The first convolution's kernel; 2 with ``stem_stride=2``: non-overlapping 2×2 patches of the image."""

    def __post_init__(self) -> None:
        _check_choice("norm", self.norm, NORMS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("downsampling", self.downsampling, DOWNSAMPLINGS)
        _check_choice("upsampling", self.upsampling, UPSAMPLINGS)
        if self.stem_stride not in STEM_STRIDES:
            raise EcholiteError(f"stem_stride must be one of {STEM_STRIDES}, got {self.stem_stride}")
        _check_choice("head", self.head, HEADS)
        if self.head != "conv" and self.stem_stride == 1:
            raise EcholiteError(f"head {self.head!r} upsamples after a strided stem: it needs stem_stride 2")
        if self.stem_kernel not in (2, 3) or (self.stem_kernel == 2 and self.stem_stride != 2):
            raise EcholiteError(f"stem_kernel must be 3, or 2 with stem_stride 2; got {self.stem_kernel}")
        if any(
            not isinstance(c, int) or isinstance(c, bool) or c < 1
            for c in (*self.encoder_channels, *self.decoder_channels)
        ):
            raise EcholiteError(
                f"model config: channel counts must be positive integers, got encoder "
                f"{self.encoder_channels}, decoder {self.decoder_channels}"
            )
        if len(self.decoder_channels) != len(self.encoder_channels) - 1:
            raise EcholiteError(
                f"model config: {len(self.encoder_channels)} encoder stages need "
                f"{len(self.encoder_channels) - 1} decoder stages, got {len(self.decoder_channels)}"
            )
        if self.input_size < self.total_stride or self.input_size % self.total_stride:
            raise EcholiteError(
                f"image size {self.input_size}: must be a positive multiple of {self.total_stride} "
                f"for this architecture (overall stride {self.total_stride})"
            )
        if (
            self.num_classes < 2
            or self.in_channels < 1
            or self.convs_per_stage < 1
            or self.head_channels < 1
            or self.separable_levels < 0
        ):
            raise EcholiteError(
                "model config: need num_classes >= 2, in_channels >= 1, convs_per_stage >= 1, "
                "head_channels >= 1, separable_levels >= 0"
            )

    @property
    def total_stride(self) -> int:
        return 2 ** (len(self.encoder_channels) - 1) * self.stem_stride

    @property
    def lowest_resolution(self) -> int:
        return self.input_size // self.total_stride


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``echolite train`` needs besides the model. Paper defaults (Section II-B)."""

    preset: str = "lw-unet"
    data: str = "phantom"
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 50
    scheduler: str = "none"
    loss: str = "dice_ce"
    ds_weight: float = 0.3
    size_weight: float = 0.0  # > 0: add the per-frame size term of echolite.training.losses (not in the paper)
    augment: str = "affine"
    seed: int = 0
    phantom_frames: int = 200
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_file: str | None = None
    skip_bad: bool = False
    jit_compile: bool = True
    strategy: str = "default"
    average_last: int = 0  # > 0: also write model_averaged.keras, the mean of the last N epochs' weights
    init: str | None = None  # the model whose weights start the training (fine-tuning); None: random initialisation

    def __post_init__(self) -> None:
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        _check_choice("augmentation", self.augment, AUGMENTATIONS)
        _check_range("epochs", self.epochs, 1)
        _check_range("batch_size", self.batch_size, 1)
        _check_range("learning_rate", self.learning_rate, 0, inclusive=False)
        _check_range("patience", self.patience, 1)
        _check_range("ds_weight", self.ds_weight, 0)
        _check_range("size_weight", self.size_weight, 0)
        _check_range("phantom_frames", self.phantom_frames, 4)
        _check_range("val_fraction", self.val_fraction, 0, 0.9)
        _check_range("test_fraction", self.test_fraction, 0, 0.9)
        _check_range("average_last", self.average_last, 0)
        _check_range("seed", self.seed, 0, SEED_MAX)
        if self.average_last > self.epochs:
            raise EcholiteError(f"average_last ({self.average_last}) cannot exceed epochs ({self.epochs})")


def _check_range(name: str, value, low, high=None, inclusive: bool = True) -> None:
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every comparison
        raise EcholiteError(f"{name} must be a finite number, got {value}")
    too_low = value < low if inclusive else value <= low
    if too_low or (high is not None and value > high):
        bound = (f">= {low}" if inclusive else f"> {low}") + (f" and <= {high}" if high is not None else "")
        raise EcholiteError(f"{name} must be {bound}, got {value}")


def model_config_from_dict(values: dict[str, Any]) -> ModelConfig:
    tuples = {k: tuple(v) for k, v in values.items() if k in ("encoder_channels", "decoder_channels")}
    return ModelConfig(**{**values, **tuples})


TRAIN_FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
MODEL_FIELDS = frozenset(f.name for f in dataclasses.fields(ModelConfig))
