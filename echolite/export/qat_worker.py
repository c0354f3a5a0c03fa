"""Child process of ``echolite.export.qat``: tf_keras rebuild → weights copied → check → tfmot QAT → int8 conversion.

Run as ``TF_USE_LEGACY_KERAS=1 python -m echolite.export.qat_worker FOLDER``; FOLDER holds job.json, weights.npz and
frames.npz, and receives model.tflite. Errors go to stderr as one ``echolite-qat: ...`` line.
"""

from __future__ import annotations

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"  # before TensorFlow loads: tfmot needs tf.keras to be tf_keras

import dataclasses
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from echolite.config import model_config_from_dict
from echolite.data.frames import FrameSet
from echolite.data.pipeline import make_dataset
from echolite.export.tflite import convert_int8
from echolite.models.unet import build_unet
from echolite.training.losses import segmentation_loss

quantize = tfmot.quantization.keras


class DepthToSpaceUpsample(tf_keras.layers.Layer):
    """The tf_keras twin of ``NearestUpsample``'s inference path (copies along channels, then depth-to-space)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return tf.nn.depth_to_space(tf.concat([x] * (self.factor**2), axis=-1), self.factor)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class BilinearResize(tf_keras.layers.Layer):
    """The tf_keras twin of ``BilinearUpsample`` (the same RESIZE_BILINEAR, half-pixel centres)."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return tf.image.resize(x, (x.shape[1] * self.factor, x.shape[2] * self.factor), method="bilinear")

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class PassThroughQuantizeConfig(quantize.QuantizeConfig):
    """Rearranging or blending values needs no quantizer of its own: int8 in, the same scale out (TFLite's int8
    RESIZE_BILINEAR keeps its input's scale)."""

    def get_weights_and_quantizers(self, layer):
        return []

    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_weights(self, layer, quantize_weights):
        pass

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


def main(folder: Path) -> None:
    job = json.loads((folder / "job.json").read_text())
    config, settings = model_config_from_dict(job["model"]), SimpleNamespace(**job["settings"])
    data = np.load(folder / "frames.npz")
    float_model = rebuild(config, dict(np.load(folder / "weights.npz")))
    drift = float(np.abs(float_model.predict(data["probe"], verbose=0) - data["reference"]).max())
    if drift > 1e-4:
        fail(f"the tf_keras rebuild differs from the Keras model by {drift:.2e}")
    qat_model = annotate(float_model)
    qat_model.compile(
        tf_keras.optimizers.Adam(settings.learning_rate),
        loss=lambda y, p: segmentation_loss(settings.loss, y, p, config.num_classes, size_weight=settings.size_weight),
    )
    frames = FrameSet(**{f.name: data[f.name] for f in dataclasses.fields(FrameSet)})
    dataset = make_dataset(frames, settings.batch_size, ["seg"], settings.augment, shuffle=True, seed=settings.seed)
    qat_model.fit(dataset.map(lambda x, y: (x, y["seg"])), epochs=settings.epochs, verbose=2)
    pin_input_range(qat_model)
    (folder / "model.tflite").write_bytes(convert(qat_model, frames, settings.calib_samples, config.input_size))


def pin_input_range(model: tf_keras.Model) -> None:
    """The input's int8 range is the range training saw: widened to [0, 1] (scale 1/255, zero point -128), as the
    post-training export pins it, so a frame brighter than the training frames does not clip on the device."""
    for layer in model.layers:
        if type(layer).__name__ == "QuantizeLayer":
            for weight in layer.weights:
                if weight.name.endswith("_min:0"):
                    weight.assign(min(float(weight.numpy()), 0.0))
                elif weight.name.endswith("_max:0"):
                    weight.assign(max(float(weight.numpy()), 1.0))


def rebuild(config, weights: dict) -> tf_keras.Model:
    kit = SimpleNamespace(
        Input=tf_keras.Input,
        Model=tf_keras.Model,
        layers=tf_keras.layers,
        upsample=DepthToSpaceUpsample,
        resize=BilinearResize,
    )
    built = build_unet(dataclasses.replace(config, deep_supervision=False), kit=kit)
    model = tf_keras.Model(built.input, built.output["seg"], name="unet_seg")
    for layer in model.layers:
        if layer.weights:
            values = [weights.get(f"{layer.name}/{i}") for i in range(len(layer.weights))]
            if any(v is None for v in values):
                fail(f"no trained weights for layer {layer.name}")
            layer.set_weights(values)
    return model


def annotate(model: tf_keras.Model) -> tf_keras.Model:
    def mark(layer):
        if isinstance(layer, (DepthToSpaceUpsample, BilinearResize)):
            return quantize.quantize_annotate_layer(layer, PassThroughQuantizeConfig())
        return quantize.quantize_annotate_layer(layer)

    annotated = tf_keras.models.clone_model(model, clone_function=mark)
    with quantize.quantize_scope(
        {
            "DepthToSpaceUpsample": DepthToSpaceUpsample,
            "BilinearResize": BilinearResize,
            "PassThroughQuantizeConfig": PassThroughQuantizeConfig,
        }
    ):
        return quantize.quantize_apply(annotated)


def convert(model: tf_keras.Model, calibration: FrameSet, calib_samples: int, size: int) -> bytes:
    """Up to the logits (as ``export.logits_graph``), batch fixed to 1 (a dynamic batch adds shape ops that block
    XNNPACK), then the export's full-integer settings."""
    logits = tf_keras.Model(model.input, model.get_layer("quant_seg_logits").output)
    serve = tf.function(
        lambda image: logits(image, training=False),
        input_signature=[tf.TensorSpec([1, size, size, 1], tf.float32, name="image")],
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    return convert_int8(converter, calibration, calib_samples, keep_float=[])


def fail(message: str) -> None:
    print(f"echolite-qat: {message}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
