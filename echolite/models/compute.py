"""What a model costs per frame: multiply-accumulates (MACs) counted from the Keras graph, layer by layer.

Counted: convolutions (standard, depthwise, transposed) and dense layers, the operations that dominate a U-Net;
normalization, activations, pooling, upsampling and concatenation are left out (a few percent at most). Only the
inference graph counts (``image -> seg``): deep-supervision heads run in training only.
"""

from __future__ import annotations

import math

import keras

from echolite.models.unet import build_model, inference_model
from echolite.presets import PRESETS


def count_macs(model: keras.Model) -> int:
    """MACs of one forward pass at the model's input size, batch 1."""
    try:
        model = inference_model(model)
    except ValueError:  # not an echolite U-Net: count the model as it is
        pass
    return sum(_layer_macs(layer) for layer in model.layers)


def int8_bytes(model: keras.Model) -> int:
    """Estimated size of the model's full-integer TFLite export: one byte per weight, and per output channel an
    int32 bias and a float32 scale with its int64 zero point (batch norm folds into the convolutions). An estimate, so
    that presets can be compared without converting anything; ``echolite bench`` gives an export's real size."""
    try:
        model = inference_model(model)
    except ValueError:
        pass
    total = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            kernel = layer.weights[0]
            total += math.prod(kernel.shape) + 16 * layer.output.shape[-1]
    return total


def _layer_macs(layer) -> int:
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return (
            _spatial(layer.output.shape) * math.prod(layer.kernel_size) * layer.input.shape[-1] * layer.depth_multiplier
        )
    if isinstance(layer, keras.layers.Conv2DTranspose):  # each input pixel scatters a kernel
        return _spatial(layer.input.shape) * math.prod(layer.kernel_size) * layer.input.shape[-1] * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        per_output = math.prod(layer.kernel_size) * layer.input.shape[-1] // layer.groups
        return _spatial(layer.output.shape) * per_output * layer.filters
    if isinstance(layer, keras.layers.Dense):
        return math.prod(layer.input.shape[1:]) * layer.units
    return 0


def _spatial(shape) -> int:
    return math.prod(shape[1:-1])


def describe_presets() -> list[dict]:
    """Every preset with its parameter count, its MACs per frame at its input size, its estimated int8 file size
    (all from the built graph) and its description."""
    rows = []
    for name, preset in PRESETS.items():
        model = build_model(name)
        rows.append(
            {
                "name": name,
                "parameters": model.count_params(),
                "gmac": count_macs(model) / 1e9,
                "int8_mb": int8_bytes(model) / 1e6,
                "input_size": preset.model.input_size,
                "description": preset.description,
            }
        )
    return rows
