"""Model builders: ``build_model(preset_or_config)`` and the helpers export needs."""

from __future__ import annotations

import keras

from echolite.config import ModelConfig, get_preset
from echolite.models.layers import NearestUpsample
from echolite.models.unet import build_unet, inference_model


def build_model(spec: str | ModelConfig) -> keras.Model:
    """Build a preset by name (``lw-unet``, ``unet1``, ...) or any ``ModelConfig``."""
    if isinstance(spec, str):
        return build_unet(get_preset(spec).model, name=spec.replace("-", "_"))
    return build_unet(spec)


__all__ = ["build_model", "build_unet", "inference_model", "NearestUpsample"]
