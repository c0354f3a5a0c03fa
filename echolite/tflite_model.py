"""Run an exported ``.tflite`` segmentation model from the library (evaluation, export parity), on images
already on the model grid. Loading and (de)quantization are the edge runner's (``echolite_edge.runner``), so the
library and the device feed the interpreter identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from echolite_edge.runner import dequantize, load_interpreter, quantize

from echolite.errors import EcholiteError


def make_interpreter(model: Path | bytes, threads: int = 2):
    try:
        return load_interpreter(model, threads)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


class TFLiteSegmenter:
    """``predict_scores(images)`` and ``predict_labels(images)`` for a batch-1 ``image -> mask`` TFLite model."""

    def __init__(self, model: Path | bytes, threads: int = 2):
        self.interpreter = make_interpreter(model, threads)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def input_size(self) -> int:
        return int(self.input["shape"][1])

    def predict_scores(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float images in [0, 1] → (N, H, W, C) dequantized class scores (logits for echolite exports,
        whose argmax is the label)."""
        out = []
        for image in images:
            self.interpreter.set_tensor(self.input["index"], quantize(image[None, ..., None], self.input))
            self.interpreter.invoke()
            out.append(dequantize(self.interpreter.get_tensor(self.output["index"]), self.output)[0])
        return np.stack(out)

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        return np.argmax(self.predict_scores(images), axis=-1).astype(np.uint8)
