"""Run an exported ``.tflite`` segmentation model from the library (evaluation, export parity).

Uses ``ai_edge_litert`` (falling back to ``tf.lite``) with an explicit thread count. Input quantization follows
the model's own tensor parameters, so fp32, uint8 (raw 8-bit pixels) and int8 inputs all take images in [0, 1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from echolite.errors import EcholiteError


def make_interpreter(model: Path | bytes, threads: int = 2):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the package is a dependency; tf.lite is the fallback
        from tensorflow.lite import Interpreter
    source = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    try:
        interpreter = Interpreter(**source, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        name = "model" if "model_content" in source else source["model_path"]
        raise EcholiteError(f"{name}: not a loadable TFLite model ({str(exc).splitlines()[0][:120]})") from None
    return interpreter


class TFLiteSegmenter:
    """``predict_probabilities(images)`` for a batch-1 ``image -> mask`` TFLite model."""

    def __init__(self, model: Path | bytes, threads: int = 2):
        self.interpreter = make_interpreter(model, threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def input_size(self) -> int:
        return int(self.input["shape"][1])

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float images in [0, 1] → (N, H, W, C) float class scores (dequantized)."""
        out = []
        for image in images:
            self.interpreter.set_tensor(self.input["index"], _quantize(image[None, ..., None], self.input))
            self.interpreter.invoke()
            out.append(_dequantize(self.interpreter.get_tensor(self.output["index"]), self.output)[0])
        return np.stack(out)

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_probabilities(images), axis=-1).astype(np.uint8)


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return y
    scale, zero_point = detail["quantization"]
    return (y.astype(np.float32) - zero_point) * scale
