"""Custom layers. Kept tiny and serializable so `.keras` files load and TFLite gets builtin ops."""

from __future__ import annotations

import zipfile

import keras

from echolite.errors import EcholiteError


def load_saved_model(path, compile: bool = False) -> keras.Model:
    """A ``.keras`` file written by echolite, loadable in any process: importing this module registers the custom
    layers its config names (the losses and metrics of a compiled model live in ``echolite.training.losses``).
    A file Keras cannot read is a user error naming it."""
    try:
        return keras.models.load_model(path, compile=compile)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        raise EcholiteError(f"{path}: cannot load the model ({str(exc).splitlines()[0][:160]})") from None


@keras.saving.register_keras_serializable(package="echolite")
class NearestUpsample(keras.layers.Layer):
    """Nearest-neighbour upsampling by an integer factor, computed two equal ways:

    - inference (``training`` false) on TensorFlow: ``factor**2`` copies concatenated along channels, then
      depth-to-space, which lowers to the builtins CONCATENATION + DEPTH_TO_SPACE that XNNPACK runs in fp32 and
      int8, so the whole network is one delegate partition (RESIZE_NEAREST_NEIGHBOR is not delegated and split it
      into six; ``keras.layers.UpSampling2D`` lowers to TILE/RESHAPE);
    - training, and inference on other Keras backends: reshape + broadcast, whose gradient is a plain sum and
      compiles with XLA, where TensorFlow's ResizeNearestNeighborGrad is slow on CPU and has no XLA kernel.
    """

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x, training=None):
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        f = self.factor
        if not training and keras.backend.backend() == "tensorflow":
            import tensorflow as tf  # on this backend only: the builders load on other Keras backends (JAX)

            return tf.nn.depth_to_space(keras.ops.concatenate([x] * (f * f), axis=-1), f)
        x = keras.ops.reshape(x, (-1, height, 1, width, 1, channels))
        x = keras.ops.broadcast_to(x, (keras.ops.shape(x)[0], height, f, width, f, channels))
        return keras.ops.reshape(x, (-1, height * f, width * f, channels))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, h * self.factor, w * self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="echolite")
class BilinearUpsample(keras.layers.Layer):
    """Bilinear upsampling by an integer factor (half-pixel centres): one builtin RESIZE_BILINEAR in TFLite, which
    XNNPACK runs in fp32 and int8. For class logits, whose bilinear blend gives smooth sub-pixel boundaries."""

    def __init__(self, factor: int, **kwargs):
        super().__init__(**kwargs)
        self.factor = int(factor)

    def call(self, x):
        return keras.ops.image.resize(x, (x.shape[1] * self.factor, x.shape[2] * self.factor), interpolation="bilinear")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, h * self.factor, w * self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
