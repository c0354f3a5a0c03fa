"""Quantization-aware training (QAT) with tensorflow-model-optimization, then full-integer conversion.

tfmot 0.8 only accepts tf_keras (Keras 2) models and switches the whole process to tf_keras when imported, so the
fine-tuning runs in a child process (``echolite.export.qat_worker``) on a tf_keras rebuild of the same architecture,
with the trained weights copied in by layer name. The child checks that the rebuild reproduces the Keras model before it
trains, and hands back the converted ``.tflite`` bytes; the parent then applies the usual parity gate.

Only ReLU models: tfmot has no fake-quantized Mish, and fully int8 Mish is numerically broken (see ``export``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite.export.tflite import scratch_folder
from echolite_edge.words import counted

QAT_ACTIVATIONS = ("relu",)


@dataclasses.dataclass(frozen=True)
class QATSettings:
    epochs: int = 2
    batch_size: int = 8
    learning_rate: float = 1e-4  # fine-tuning: a tenth of the paper's training rate
    augment: str = "affine"
    loss: str = "dice_ce"
    size_weight: float = 0.0
    seed: int = 0
    calib_samples: int = 200


def quantization_aware_int8(
    model,
    model_config,
    train: FrameSet,
    settings: QATSettings,
    log: Callable[[str], None] = print,
) -> bytes:
    """Fine-tune ``model`` (the Keras ``image -> seg`` model) with fake quantization; return int8 ``.tflite`` bytes."""
    if model_config.activation not in QAT_ACTIVATIONS:
        raise EcholiteError(
            f"--qat needs a ReLU model (tensorflow-model-optimization cannot fake-quantize {model_config.activation}); "
            "export this run with plain --int8 (Mish kept in float), or train the edge-first preset lw-unet-relu"
        )
    if settings.epochs <= 0:
        raise EcholiteError(f"--qat must be a positive number of epochs, got {settings.epochs}")
    with scratch_folder("qat") as folder:
        work = Path(folder)
        weights = {
            f"{layer.name}/{i}": np.asarray(w) for layer in model.layers for i, w in enumerate(layer.get_weights())
        }
        np.savez(work / "weights.npz", **weights)
        probe = train.images[:2, ..., None].astype(np.float32)
        reference = np.asarray(model(probe, training=False))
        np.savez(work / "frames.npz", probe=probe, reference=reference, **dataclasses.asdict(train))
        (work / "job.json").write_text(
            json.dumps({"model": dataclasses.asdict(model_config), "settings": dataclasses.asdict(settings)})
        )
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
        log(
            f"QAT: fine-tuning {counted(settings.epochs, 'epoch')} on {counted(len(train), 'frame')} in a "
            "tf_keras process"
        )
        child = subprocess.run(
            [sys.executable, "-m", "echolite.export.qat_worker", str(work)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            errors = [line for line in child.stderr.splitlines() if line.startswith("echolite-qat:")]
            tail = errors[-1] if errors else (child.stderr.strip().splitlines() or ["no output"])[-1]
            raise EcholiteError(f"quantization-aware training failed: {tail}")
        return (work / "model.tflite").read_bytes()
