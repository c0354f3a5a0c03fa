"""tf.data input pipeline: seeded shuffle, seeded parallel augmentation, batching, prefetch.

TensorFlow is imported where a dataset is made, so the model, loss and trainer modules that import this one load on
any Keras backend (a script on a machine with JAX and no TensorFlow feeds its own batches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from echolite.data.augment import Augmenter
from echolite.data.frames import FrameSet

if TYPE_CHECKING:
    import tensorflow as tf


def make_dataset(
    frames: FrameSet,
    batch_size: int,
    output_names: list[str],
    augment: str = "none",
    shuffle: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of ``(image (B, H, W, 1) float32, {output_name: mask (B, H, W, 1) uint8})``.

    Every deep-supervision output is trained against the same full-resolution mask (its head upsamples).
    """
    import tensorflow as tf  # on use: the module loads on any Keras backend (see above)

    images = frames.images[..., None].astype(np.float32, copy=False)
    masks = frames.masks[..., None].astype(np.uint8, copy=False)
    ds = tf.data.Dataset.from_tensor_slices((images, masks))
    if shuffle:
        ds = ds.shuffle(len(frames), seed=seed, reshuffle_each_iteration=True)
    if augment != "none":
        seeds = tf.data.Dataset.random(seed=seed)
        ds = tf.data.Dataset.zip((ds, seeds)).map(
            _augment_fn(Augmenter(augment), images.shape[1:], masks.shape[1:]),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    ds = ds.batch(batch_size).map(lambda x, y: (x, {name: y for name in output_names}))
    return ds.prefetch(tf.data.AUTOTUNE)


def _augment_fn(augmenter: Augmenter, image_shape, mask_shape):
    def apply(image, mask, seed):
        out_image, out_mask = augmenter(image[..., 0], mask[..., 0], int(seed))
        return out_image[..., None], out_mask[..., None]

    def map_fn(pair, seed):
        import tensorflow as tf  # on use: the module loads on any Keras backend (see above)

        image, mask = tf.numpy_function(apply, [pair[0], pair[1], seed], [tf.float32, tf.uint8], stateful=False)
        image.set_shape(image_shape)
        mask.set_shape(mask_shape)
        return image, mask

    return map_fn
