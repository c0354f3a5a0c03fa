"""The paper's named presets (Tables I, III and VII) and what they cost: data only.

A preset is a model architecture plus the training defaults the paper pairs with it (batch size, scheduler, loss,
augmentation), and whether its training steps are XLA-compiled (per family: on CPU XLA speeds up the plain
convolutions and slows the depthwise ones, so the edge-* presets train without it; timings in
benchmarks/RESULTS.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from echolite.config import MODEL_FIELDS, TRAIN_FIELDS, ModelConfig, TrainConfig
from echolite.errors import EcholiteError


@dataclass(frozen=True)
class Preset:
    """A named architecture with the training defaults the paper pairs with it."""

    model: ModelConfig
    batch_size: int = 32
    scheduler: str = "none"
    loss: str = "dice_ce"
    description: str = ""
    jit_compile: bool = True
    augment: str = "affine"
    """Table VII's affine augmentation, but for ``edge-rt``: ``scanner`` (robust to other scanners' frames)."""


_UNET1 = ModelConfig(encoder_channels=(32, 32, 64, 128, 128, 128), decoder_channels=(128, 128, 64, 32, 16))
_EDGE = dataclasses.replace(_UNET1, norm="batch", activation="relu", deep_supervision=True, stem_stride=2)
"""What the real-time presets share: lw-unet's widths with ReLU, run at half resolution behind a strided stem."""

PRESETS: dict[str, Preset] = {
    # Table III: the size experiment; components as the U-Net 1 baseline of Table I.
    "unet0": Preset(
        ModelConfig(encoder_channels=(16, 32, 64), decoder_channels=(32, 16)),
        batch_size=64,
        scheduler="plateau",
        loss="dice",
        description="Table III U-Net 0: 16↓64↑16, 64×64 lowest",
    ),
    "unet1": Preset(_UNET1, loss="dice", description="Table I/III U-Net 1 (CAMUS baseline): 32↓128↑16, 8×8 lowest"),
    "unet2": Preset(
        ModelConfig(encoder_channels=(64, 64, 128, 256, 256, 512), decoder_channels=(256, 256, 128, 64, 32)),
        batch_size=16,
        scheduler="plateau",
        loss="dice",
        description="Table III U-Net 2: 64↓512↑32, 8×8 lowest",
    ),
    "unet3": Preset(
        ModelConfig(encoder_channels=(64, 128, 256, 512, 1024), decoder_channels=(512, 256, 128, 64)),
        batch_size=8,
        scheduler="plateau",
        loss="dice",
        description="Table III U-Net 3: 64↓1024↑64, 16×16 lowest",
    ),
    # Table I: nnU-Net-style baseline.
    "nnunet": Preset(
        ModelConfig(
            encoder_channels=(32, 64, 128, 256, 512, 512, 512),
            decoder_channels=(512, 512, 256, 128, 64, 32),
            norm="instance",
            activation="leaky_relu",
            downsampling="strided",
            upsampling="transposed",
            deep_supervision=True,
        ),
        loss="dice_ce",
        description="Table I nnU-Net baseline: 32↓512↑32, 4×4 lowest, IN, leaky ReLU, DS",
    ),
    # Table VII: the final lightweight model.
    "lw-unet": Preset(
        dataclasses.replace(_UNET1, norm="batch", activation="mish", deep_supervision=True),
        loss="dice_ce",
        description="Table VII final model: U-Net 1 + BN + Mish + deep supervision",
    ),
    # Beyond the paper: the final model with ReLU, which TFLite fuses into int8 convolutions (Mish stays float).
    "lw-unet-relu": Preset(
        dataclasses.replace(_UNET1, norm="batch", activation="relu", deep_supervision=True),
        loss="dice_ce",
        description="edge-first lw-unet: ReLU instead of Mish, fully int8 on export",
    ),
    # Beyond the paper: real time on small devices. A strided stem (the U-Net runs at 128² for 256² frames) with a
    # full-resolution head, depthwise-separable convolutions where feature maps are large, ReLU (fused into int8
    # convolutions); the deep levels keep lw-unet's widths. Why each part: docs/models.md.
    "edge-m": Preset(
        dataclasses.replace(_EDGE, separable_levels=1),
        jit_compile=False,
        description="real time: lw-unet widths at half resolution, separable at 128² and 256²",
    ),
    # edge-m's U-Net with the bilinear head (the logits at 128² upsampled: no full-resolution feature map, because
    # int8 time on CPUs with dot-product instructions follows memory traffic, not MACs) and a 2×2 patch stem (the
    # 3×3 stride-2 convolution on the one-channel image is slow in XNNPACK's int8 kernels for its size).
    "edge-rt": Preset(
        dataclasses.replace(_EDGE, stem_kernel=2, separable_levels=1, head="bilinear"),
        jit_compile=False,
        augment="scanner",
        description="real time: edge-m with a 2×2 patch stem and its logits at 128² upsampled bilinearly, "
        "trained for other scanners' frames",
    ),
    "edge-s": Preset(
        dataclasses.replace(_EDGE, separable_levels=3),
        jit_compile=False,
        description="real time: as edge-m, separable down to 32²",
    ),
    "edge-xs": Preset(
        dataclasses.replace(_EDGE, separable_levels=len(_UNET1.encoder_channels)),
        jit_compile=False,
        description="real time: as edge-m, separable everywhere",
    ),
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise EcholiteError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


COSTS: dict[str, tuple[int, float, float]] = {
    "unet0": (118036, 1.826, 0.123),
    "unet1": (1976644, 4.006, 2.003),
    "unet2": (10851972, 16.278, 10.913),
    "unet3": (31377988, 55.621, 31.466),
    "nnunet": (33467800, 14.766, 30.766),
    "lw-unet": (1983348, 4.006, 2.003),
    "lw-unet-relu": (1983348, 4.006, 2.003),
    "edge-m": (1967640, 0.781, 1.989),
    "edge-rt": (1966212, 0.713, 1.987),
    "edge-s": (1745336, 0.405, 1.774),
    "edge-xs": (257144, 0.210, 0.303),
}
"""Per preset: parameters, GMAC per frame at its input size and the estimated int8 file size in MB, as
``echolite.models.compute.describe_presets`` counts them from the built graphs (a test recounts them), so that
listing the presets builds no model."""


def preset_table() -> list[dict]:
    """Every preset with its cost (``COSTS``), input size and description."""
    return [
        {
            "name": name,
            "parameters": COSTS[name][0],
            "gmac": COSTS[name][1],
            "int8_mb": COSTS[name][2],
            "input_size": preset.model.input_size,
            "description": preset.description,
        }
        for name, preset in PRESETS.items()
    ]


QUICKSTART = {"epochs": 8, "batch_size": 8, "phantom_frames": 128}
"""Training on the phantom without explicit values: a few minutes on a laptop CPU."""


def resolve_configs(preset: str, quickstart: bool = False, **overrides: Any) -> tuple[ModelConfig, TrainConfig]:
    """A preset's architecture and training defaults, then the quickstart values (``quickstart``), then
    ``overrides``: any ``TrainConfig`` or ``ModelConfig`` field (``None`` values are ignored)."""
    chosen = get_preset(preset)
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - TRAIN_FIELDS - MODEL_FIELDS
    if unknown:
        raise EcholiteError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    defaults = {
        "preset": preset,
        "batch_size": chosen.batch_size,
        "scheduler": chosen.scheduler,
        "loss": chosen.loss,
        "jit_compile": chosen.jit_compile,
        "augment": chosen.augment,
        **(QUICKSTART if quickstart else {}),
    }
    train = TrainConfig(**{**defaults, **{k: v for k, v in given.items() if k in TRAIN_FIELDS}})
    model = dataclasses.replace(chosen.model, **{k: v for k, v in given.items() if k in MODEL_FIELDS})
    return model, train
