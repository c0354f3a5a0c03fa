"""Export a trained run to TFLite: fp32, fp16, dynamic-range or full-integer int8, with a parity gate.

The exported graph is the inference graph only (deep-supervision heads dropped), batch fixed to 1, input
``image`` (1, S, S, 1), output ``mask`` (1, S, S, 4) class logits (the softmax is left out), builtin ops only. Metadata
(labels, input normalization and quantization, source run, echolite version, parity) is written beside the model as
``<name>.json``; the edge runner reads only these two files. The model is written under a temporary name and
renamed only after the parity gate passes, so a failed export leaves nothing behind.

int8: full-integer post-training quantization calibrated on training frames with the inference preprocessing
(images in [0, 1]). Input and output are int8, so no QUANTIZE op runs outside XNNPACK (uint8 ends cost two,
single-threaded): the input has scale 1/255 and zero point −128 (a raw 8-bit pixel p goes in as p − 128), the
output is int8 class logits. Mish has no TFLite builtin: it lowers to EXP, LOG, ADD, TANH and MUL, a chain that
is numerically broken in int8; for models with Mish those ops stay in float (``float_ops`` "auto"), everything
else is int8.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError
from echolite.evaluation.metrics import dice_per_class
from echolite.export.formats import get_format
from echolite.export.ops import format_op_report, op_report
from echolite.inference import TFLiteSegmenter, predict_probabilities
from echolite.version import __version__
from echolite_edge.files import atomic_path, remove_leftovers
from echolite_edge.labels import LABELS
from echolite_edge.segmenter import metadata_path

MISH_OPS = ["EXP", "LOG", "TANH", "MUL", "ADD"]


@dataclass
class ExportResult:
    path: Path
    metadata_path: Path
    mode: str
    size_bytes: int
    parity: dict
    ops: dict
    data: str = ""  # the data the parity gate used
    split: str = "val"  # its frames the gate used: the run's validation patients, or all of a foreign folder


def export_tflite(
    model,
    out: Path,
    mode: str = "int8",
    calibration: FrameSet | None = None,
    validation: FrameSet | None = None,
    calib_samples: int = 200,
    float_ops: str = "auto",
    parity_threshold: float = 0.01,
    source: str = "",
    log: Callable[[str], None] = lambda line: None,
    content: bytes | None = None,
    method: str = "post-training",
) -> ExportResult:
    """Convert ``model`` (an ``image -> seg`` Keras model) and gate it on ``validation`` frames. ``content``: an
    already converted model (quantization-aware training) to gate and write instead of converting here."""
    if get_format(mode).calibrated and content is None and (calibration is None or len(calibration) == 0):
        raise EcholiteError(f"{mode} export needs calibration frames")
    started = time.time()
    uses_mish = any(getattr(getattr(layer, "activation", None), "__name__", "") == "mish" for layer in model.layers)
    keep_float = MISH_OPS if (mode == "int8" and uses_mish and float_ops == "auto") else []
    converted_here = content is None
    if converted_here:
        content = _converted(logits_graph(model), mode, calibration, calib_samples, keep_float)
    else:
        keep_float = []
    took = f" in {time.time() - started:.1f} s" if converted_here else ""
    log(
        f"converted to {mode}{f' ({method})' if mode == 'int8' else ''}"
        f"{' (Mish ops kept in float)' if keep_float else ''}: "
        f"{len(content) / 1e6:.2f} MB{took}"
    )
    out = Path(out)

    lite = TFLiteSegmenter(content)
    ops = op_report(lite.interpreter)
    for line in format_op_report(ops):
        log(line)
    parity = check_parity(model, lite, validation, mode, parity_threshold) if validation is not None else {}
    if parity:
        log(
            "parity on {n} validation frames: Dice keras {k}, tflite {t}".format(
                n=parity["frames"], k=_fmt(parity["dice_keras"]), t=_fmt(parity["dice_tflite"])
            )
        )
    metadata = _metadata(lite, mode, keep_float, source, calibration, calib_samples, parity, ops)
    metadata["quantization_method"] = method if mode == "int8" else None
    from echolite.models.compute import count_macs  # Keras on use: the command line imports this module

    metadata["parameters"], metadata["gmac"] = model.count_params(), round(count_macs(model) / 1e9, 4)
    _write_atomically(out, content, metadata)
    return ExportResult(out, metadata_path(out), mode, len(content), parity, ops)


def logits_graph(model):
    """``image -> seg_logits``: the exported graph stops before the softmax. Argmax needs no softmax (it is
    monotonic), and TFLite's int8 SOFTMAX runs outside XNNPACK: dropping it saves ≈10 % of the int8 latency."""
    import keras  # Keras on use: the module loads without it

    try:
        logits = model.get_layer("seg_logits").output
    except ValueError:  # not an echolite U-Net: export it as it is
        return model
    return keras.Model(model.input, logits, name=f"{model.name}_logits")


def check_parity(model, lite, frames: FrameSet, mode: str, threshold: float) -> dict:
    """Dice per structure of the Keras model and of the TFLite model on the same frames; raises when the TFLite
    model loses more than ``threshold`` on any structure (int8) or its probabilities drift from fp32 beyond 1e-4."""
    keras_probs = predict_probabilities(model, frames.images)
    lite_probs = lite.predict_probabilities(frames.images)
    keras_dice = np.nanmean(dice_per_class(np.argmax(keras_probs, -1), frames.masks), axis=0)
    lite_dice = np.nanmean(dice_per_class(np.argmax(lite_probs, -1), frames.masks), axis=0)
    parity = {
        "frames": len(frames),
        "dice_keras": dict(zip(LABELS[1:], map(float, keras_dice))),
        "dice_tflite": dict(zip(LABELS[1:], map(float, lite_dice))),
        "max_abs_prob_diff": float(np.abs(keras_probs - lite_probs).max()),
        "threshold": threshold,
    }
    losses = {name: keras_dice[k] - lite_dice[k] for k, name in enumerate(LABELS[1:])}
    worst = max(losses, key=losses.get)
    if losses[worst] > threshold:
        raise EcholiteError(
            f"{mode} export fails the parity gate: {worst} Dice {lite_dice[LABELS.index(worst) - 1]:.4f} vs float "
            f"{keras_dice[LABELS.index(worst) - 1]:.4f} (loss {losses[worst]:.4f} > {threshold}); nothing written"
        )
    if mode == "fp32" and parity["max_abs_prob_diff"] > 1e-4:
        raise EcholiteError(
            f"fp32 export differs from Keras by {parity['max_abs_prob_diff']:.2e} > 1e-4; nothing written"
        )
    return parity


def _converted(model, mode: str, calibration, calib_samples: int, keep_float: list[str]) -> bytes:
    """``_convert`` with the converter's multi-page MLIR errors cut to one line naming the offending ops."""

    try:
        return _convert(model, mode, calibration, calib_samples, keep_float)
    except Exception as exc:  # tf.lite's ConverterError and friends
        if "ConverterError" not in type(exc).__name__ and "convert" not in str(exc).lower():
            raise
        ops = sorted(set(re.findall(r"'(tf\.[A-Za-z0-9_]+)' op is neither a custom op nor a flex op", str(exc))))
        detail = f"ops with no TFLite builtin: {', '.join(ops)}" if ops else str(exc).splitlines()[0][:200]
        raise EcholiteError(f"{mode} conversion failed ({detail}); echolite exports builtin ops only") from None


def _convert(model, mode: str, calibration, calib_samples: int, keep_float: list[str]) -> bytes:
    import tensorflow as tf  # TensorFlow on use: the module loads without it

    with scratch_folder("export") as folder:
        _write_saved_model(model, folder)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        elif mode == "int8":
            return convert_int8(converter, calibration, calib_samples, keep_float)
        return converter.convert()


def convert_int8(converter, calibration: FrameSet, calib_samples: int, keep_float: list[str]) -> bytes:
    """Full-integer settings on ``converter``: calibration on up to ``calib_samples`` frames, int8 in and out;
    ``keep_float`` op types stay in float. Shared with the QAT worker."""
    import tensorflow as tf  # TensorFlow on use: the module loads without it

    images = calibration.images[np.random.default_rng(0).permutation(len(calibration))[:calib_samples]].copy()
    # The input's int8 range is the calibration pixels' range: one frame's darkest and brightest pixels set to 0
    # and 1 make it [0, 1] (scale 1/255, zero point -128) whatever the frames, so no brighter frame clips.
    first = images[0].reshape(-1)
    first[np.argmin(first)], first[np.argmax(first)] = 0.0, 1.0

    def representative():
        for image in images:
            yield [image[None, ..., None].astype(np.float32)]

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    if not keep_float:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=keep_float, fully_quantize=True)
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative, debug_options=options
    )
    return debugger.get_nondebug_quantized_model()


SCRATCH_PREFIX = "echolite-"


def scratch_folder(purpose: str) -> tempfile.TemporaryDirectory:
    """A temporary folder named after this process. A conversion killed mid-way cannot clean up after itself, so
    every new one first removes the folders of echolite processes that no longer run."""
    root = Path(tempfile.gettempdir())
    remove_leftovers(root.glob(f"{SCRATCH_PREFIX}*-pid*-*"), lambda name: name.split("-pid")[-1].split("-")[0])
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{purpose}-pid{os.getpid()}-")


def _write_saved_model(model, folder: str) -> None:
    """A SavedModel with one batch-1 endpoint; converting from it freezes the weights into constants."""
    import keras  # Keras on use: the module loads without it
    import tensorflow as tf  # TensorFlow on use: the module loads without it

    size = model.input_shape[1]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serving_default",
        fn=lambda image: {"mask": model(image, training=False)},
        input_signature=[tf.TensorSpec([1, size, size, 1], tf.float32, name="image")],
    )
    archive.write_out(folder, verbose=False)


def _metadata(lite, mode: str, keep_float, source: str, calibration, calib_samples: int, parity, ops) -> dict:
    tensor = lambda d: {
        "name": d["name"],
        "shape": [int(v) for v in d["shape"]],
        "dtype": np.dtype(d["dtype"]).name,
        "scale": float(d["quantization"][0]),
        "zero_point": int(d["quantization"][1]),
    }
    return {
        "format": "echolite-tflite-1",
        "echolite_version": __version__,
        "source": source,
        "mode": mode,
        "float_ops": keep_float,
        "labels": list(LABELS),
        "input": {
            **tensor(lite.input),
            "normalization": "gray pixels / 255 -> [0, 1], resized to the input size; quantized inputs: "
            "q = round(x / scale) + zero_point",
        },
        "output": {
            **tensor(lite.output),
            "meaning": "class logits (no softmax): argmax = label; softmax of the dequantized values = probabilities",
        },
        "calibration_frames": min(calib_samples, len(calibration)) if (mode == "int8" and calibration) else 0,
        "parity": parity,
        "ops": ops,
    }


def _write_atomically(out: Path, content: bytes, metadata: dict) -> None:
    """The model and its metadata, both written before either replaces an earlier pair."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp_model, atomic_path(metadata_path(out)) as tmp_meta:
            tmp_model.write_bytes(content)
            tmp_meta.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise EcholiteError(f"{out}: cannot write the exported model ({exc.strerror or exc})") from None


def _fmt(dice: dict) -> str:
    return " / ".join(f"{v:.3f}" for v in dice.values())
