"""Custom layers. Kept tiny and serializable so `.keras` files load and TFLite gets builtin ops."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="echolite")
class NearestUpsample(keras.layers.Layer):
    """Nearest-neighbour upsampling by an integer factor, two equal implementations:

    - ``"resize"`` (``ops.image.resize``) lowers to the builtin RESIZE_NEAREST_NEIGHBOR in TFLite, which XNNPACK
      and int8 kernels handle (``keras.layers.UpSampling2D`` would lower to TILE/RESHAPE); used in the decoder,
      which is part of the exported graph.
    - ``"broadcast"`` (reshape + broadcast) has a cheap gradient (a sum), where TensorFlow's CPU
      ResizeNearestNeighborGrad is slow; used by the deep-supervision heads, which export drops.
    """

    def __init__(self, factor: int, mode: str = "resize", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("resize", "broadcast"):
            raise ValueError(f"NearestUpsample mode must be 'resize' or 'broadcast', got {mode!r}")
        self.factor, self.mode = int(factor), mode

    def call(self, x):
        height, width, channels = x.shape[1], x.shape[2], x.shape[3]
        f = self.factor
        if self.mode == "resize":
            return keras.ops.image.resize(x, (height * f, width * f), interpolation="nearest")
        x = keras.ops.reshape(x, (-1, height, 1, width, 1, channels))
        x = keras.ops.broadcast_to(x, (keras.ops.shape(x)[0], height, f, width, f, channels))
        return keras.ops.reshape(x, (-1, height * f, width * f, channels))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, h * self.factor, w * self.factor, c)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "mode": self.mode}
