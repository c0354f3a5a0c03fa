"""Model builders (``unet``), their custom layers (``layers``) and the paper's presets (``presets``, data only).

The presets import nothing heavy; the builders load Keras on first use, so the command line stays fast.
"""

from __future__ import annotations

import importlib

from echolite.models.presets import PRESETS, Preset, get_preset

_BUILDERS = {
    "build_model": "unet",
    "build_unet": "unet",
    "inference_model": "unet",
    "describe_presets": "compute",
    "NearestUpsample": "layers",
}


def __getattr__(name: str):
    if name in _BUILDERS:
        return getattr(importlib.import_module(f"echolite.models.{_BUILDERS[name]}"), name)
    raise AttributeError(f"module 'echolite.models' has no attribute {name!r}")


__all__ = ["PRESETS", "Preset", "get_preset", *_BUILDERS]  # noqa: PLE0604 (the builders' names, strings)
