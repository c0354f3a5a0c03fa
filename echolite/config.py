"""Frozen configs and the paper's named presets (Tables I, III and VII).

A preset is a model architecture plus the training defaults the paper pairs with it (batch size, scheduler,
loss). Everything a run used is written to ``config.json`` in its run directory so it can be rerun exactly.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echolite.errors import EcholiteError

NORMS = ("none", "batch", "instance")
ACTIVATIONS = ("relu", "leaky_relu", "mish", "gelu")
DOWNSAMPLINGS = ("maxpool", "strided")
UPSAMPLINGS = ("nearest", "transposed")
LOSSES = ("dice", "ce", "dice_ce")
SCHEDULERS = ("none", "plateau")
STRATEGIES = ("default", "mirrored", "multi-worker")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise EcholiteError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


@dataclass(frozen=True)
class ModelConfig:
    """U-Net architecture. ``encoder_channels[i]`` is the width at resolution ``input_size / 2**i``; the last
    entry is the bottleneck, so the lowest feature map is ``input_size / 2**(len(encoder_channels) - 1)``.
    ``decoder_channels`` run from the deepest decoder stage up to full resolution."""

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

    def __post_init__(self) -> None:
        _check_choice("norm", self.norm, NORMS)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_choice("downsampling", self.downsampling, DOWNSAMPLINGS)
        _check_choice("upsampling", self.upsampling, UPSAMPLINGS)
        if len(self.decoder_channels) != len(self.encoder_channels) - 1:
            raise EcholiteError(
                f"model config: {len(self.encoder_channels)} encoder stages need "
                f"{len(self.encoder_channels) - 1} decoder stages, got {len(self.decoder_channels)}"
            )
        if self.input_size % self.total_stride:
            raise EcholiteError(f"model config: input size {self.input_size} is not divisible by {self.total_stride}")
        if self.num_classes < 2 or self.in_channels < 1 or self.convs_per_stage < 1:
            raise EcholiteError("model config: need num_classes >= 2, in_channels >= 1, convs_per_stage >= 1")

    @property
    def total_stride(self) -> int:
        return 2 ** (len(self.encoder_channels) - 1)

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
    augment: str = "affine"
    seed: int = 0
    phantom_frames: int = 200
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    split_file: str | None = None
    skip_bad: bool = False
    jit_compile: bool = True
    strategy: str = "default"

    def __post_init__(self) -> None:
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        if self.epochs <= 0:
            raise EcholiteError(f"--epochs must be a positive integer, got {self.epochs}")
        if self.batch_size <= 0:
            raise EcholiteError(f"--batch-size must be a positive integer, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise EcholiteError(f"--lr must be positive, got {self.learning_rate}")
        if self.patience <= 0:
            raise EcholiteError(f"--patience must be a positive integer, got {self.patience}")
        if self.phantom_frames < 4:
            raise EcholiteError(f"--phantom-frames must be at least 4, got {self.phantom_frames}")


@dataclass(frozen=True)
class Preset:
    """A named architecture with the training defaults the paper pairs with it."""

    model: ModelConfig
    batch_size: int = 32
    scheduler: str = "none"
    loss: str = "dice_ce"
    description: str = ""


_UNET1 = ModelConfig(encoder_channels=(32, 32, 64, 128, 128, 128), decoder_channels=(128, 128, 64, 32, 16))

PRESETS: dict[str, Preset] = {
    # Table III: the size experiment; components as the U-Net 1 baseline of Table I.
    "unet0": Preset(
        ModelConfig(encoder_channels=(16, 32, 64), decoder_channels=(32, 16)),
        batch_size=64, scheduler="plateau", loss="dice", description="Table III U-Net 0: 16↓64↑16, 64×64 lowest",
    ),
    "unet1": Preset(_UNET1, loss="dice", description="Table I/III U-Net 1 (CAMUS baseline): 32↓128↑16, 8×8 lowest"),
    "unet2": Preset(
        ModelConfig(encoder_channels=(64, 64, 128, 256, 256, 512), decoder_channels=(256, 256, 128, 64, 32)),
        batch_size=16, scheduler="plateau", loss="dice", description="Table III U-Net 2: 64↓512↑32, 8×8 lowest",
    ),
    "unet3": Preset(
        ModelConfig(encoder_channels=(64, 128, 256, 512, 1024), decoder_channels=(512, 256, 128, 64)),
        batch_size=8, scheduler="plateau", loss="dice", description="Table III U-Net 3: 64↓1024↑64, 16×16 lowest",
    ),
    # Table I: nnU-Net-style baseline.
    "nnunet": Preset(
        ModelConfig(
            encoder_channels=(32, 64, 128, 256, 512, 512, 512),
            decoder_channels=(512, 512, 256, 128, 64, 32),
            norm="instance", activation="leaky_relu", downsampling="strided", upsampling="transposed",
            deep_supervision=True,
        ),
        loss="dice_ce", description="Table I nnU-Net baseline: 32↓512↑32, 4×4 lowest, IN, leaky ReLU, DS",
    ),
    # Table VII: the final lightweight model.
    "lw-unet": Preset(
        dataclasses.replace(_UNET1, norm="batch", activation="mish", deep_supervision=True),
        loss="dice_ce", description="Table VII final model: U-Net 1 + BN + Mish + deep supervision",
    ),
    # Beyond the paper: the final model with ReLU, which TFLite fuses into int8 convolutions (Mish stays float).
    "lw-unet-relu": Preset(
        dataclasses.replace(_UNET1, norm="batch", activation="relu", deep_supervision=True),
        loss="dice_ce", description="edge-first lw-unet: ReLU instead of Mish, fully int8 on export",
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise EcholiteError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def model_config_from_dict(values: dict[str, Any]) -> ModelConfig:
    tuples = {k: tuple(v) for k, v in values.items() if k in ("encoder_channels", "decoder_channels")}
    return ModelConfig(**{**values, **tuples})


def save_run_config(path: Path, model: ModelConfig, train: TrainConfig, extra: dict[str, Any] | None = None) -> None:
    """Write the resolved configs (and anything run-specific, e.g. the split) as JSON."""
    payload = {"model": dataclasses.asdict(model), "train": dataclasses.asdict(train), **(extra or {})}
    path.write_text(json.dumps(payload, indent=2) + "\n")


def load_run_config(path: Path) -> tuple[ModelConfig, TrainConfig, dict[str, Any]]:
    try:
        payload = json.loads(path.read_text())
        model = model_config_from_dict(payload.pop("model"))
        train = TrainConfig(**payload.pop("train"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EcholiteError(f"{path}: not a readable echolite run config ({exc})") from None
    return model, train, payload


__all__ = [
    "ModelConfig", "TrainConfig", "Preset", "PRESETS", "get_preset", "save_run_config", "load_run_config",
    "model_config_from_dict"
]
