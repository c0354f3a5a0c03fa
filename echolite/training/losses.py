"""Segmentation losses (paper Section II-C.5 and II-C.6) and the streaming Dice metric used for training.

Soft Dice is nnU-Net's "batch Dice": for each foreground class (LV, MYO, LA; background excluded) the
intersection and the sums are taken over the whole batch and all pixels, then
``dice_c = (2·Σ p·g + s) / (Σ p + Σ g + s)`` with smoothing ``s`` (default 1e-5, nnU-Net's) and the loss is
``1 − mean_c dice_c``. Cross-entropy is the pixel mean. ``dice_ce`` is their plain average (Table VII).

Beyond the paper, an optional size term (``size_weight`` > 0) is added to any of them: per frame and foreground
class, ``|Σ p − Σ g| / (Σ p + Σ g + 1)``, the symmetric relative error of the soft area, averaged. Batch Dice
weighs a small end-systolic cavity by its pixels; the size term weighs every frame's area equally, and the
ejection fraction is a ratio of those areas' volumes.
Targets are integer label maps (B, H, W) or (B, H, W, 1); predictions are softmax probabilities.
"""

from __future__ import annotations

import keras
from keras import ops

from echolite.config import LOSSES
from echolite.errors import EcholiteError

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="echolite")
class SegmentationLoss(keras.losses.Loss):
    def __init__(
        self, kind: str = "dice_ce", num_classes: int = 4, smooth: float = 1e-5, size_weight: float = 0.0, **kwargs
    ):
        if kind not in LOSSES:
            raise EcholiteError(f"unknown loss {kind!r}; choose one of: {', '.join(LOSSES)}")
        kwargs.setdefault("name", f"{kind}_loss")
        super().__init__(**kwargs)
        self.kind, self.num_classes, self.smooth = kind, int(num_classes), float(smooth)
        self.size_weight = float(size_weight)

    def call(self, y_true, y_pred):
        return segmentation_loss(self.kind, y_true, y_pred, self.num_classes, self.smooth, self.size_weight)

    def get_config(self):
        return {
            **super().get_config(),
            "kind": self.kind,
            "num_classes": self.num_classes,
            "smooth": self.smooth,
            "size_weight": self.size_weight,
        }


def segmentation_loss(kind: str, y_true, y_pred, num_classes: int = 4, smooth: float = 1e-5, size_weight: float = 0.0):
    """The loss as a plain function of label maps and probabilities (also used under tf_keras for QAT)."""
    onehot = _one_hot(y_true, num_classes)
    if kind == "dice":
        loss = soft_dice_loss(onehot, y_pred, smooth)
    elif kind == "ce":
        loss = cross_entropy(onehot, y_pred)
    else:
        loss = 0.5 * (soft_dice_loss(onehot, y_pred, smooth) + cross_entropy(onehot, y_pred))
    return loss + size_weight * size_loss(onehot, y_pred) if size_weight else loss


def soft_dice_loss(onehot, probs, smooth: float = 1e-5):
    """1 − mean foreground batch Dice; ``onehot`` and ``probs`` are (B, H, W, C)."""
    onehot, probs = onehot[..., 1:], probs[..., 1:]
    axes = (0, 1, 2)
    intersection = ops.sum(onehot * probs, axis=axes)
    total = ops.sum(onehot, axis=axes) + ops.sum(probs, axis=axes)
    return 1.0 - ops.mean((2.0 * intersection + smooth) / (total + smooth))


def size_loss(onehot, probs):
    """Mean over frames and foreground classes of ``|Σ p − Σ g| / (Σ p + Σ g + 1)`` (sums over the pixels)."""
    predicted = ops.sum(probs[..., 1:], axis=(1, 2))
    truth = ops.sum(onehot[..., 1:], axis=(1, 2))
    return ops.mean(ops.abs(predicted - truth) / (predicted + truth + 1.0))


def cross_entropy(onehot, probs):
    return -ops.mean(ops.sum(onehot * ops.log(ops.clip(probs, _EPS, 1.0)), axis=-1))


def _one_hot(y_true, num_classes: int):
    labels = ops.cast(y_true, "int32")
    if len(labels.shape) == 4:
        labels = labels[..., 0]
    return ops.one_hot(labels, num_classes, dtype="float32")


@keras.saving.register_keras_serializable(package="echolite")
class DiceScore(keras.metrics.Metric):
    """Hard (argmax) Dice accumulated over all pixels of an epoch, for one class or the mean of several."""

    def __init__(self, class_ids=(1, 2, 3), num_classes: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.class_ids, self.num_classes = tuple(int(c) for c in class_ids), int(num_classes)
        shape = (len(self.class_ids),)
        self.intersection = self.add_variable(shape=shape, initializer="zeros", name="intersection")
        self.total = self.add_variable(shape=shape, initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        truth = _one_hot(y_true, self.num_classes)
        pred = ops.one_hot(ops.argmax(y_pred, axis=-1), self.num_classes, dtype="float32")
        index = list(self.class_ids)
        truth, pred = ops.take(truth, index, axis=-1), ops.take(pred, index, axis=-1)
        self.intersection.assign_add(ops.sum(truth * pred, axis=(0, 1, 2)))
        self.total.assign_add(ops.sum(truth, axis=(0, 1, 2)) + ops.sum(pred, axis=(0, 1, 2)))

    def result(self):
        return ops.mean(2.0 * self.intersection / ops.maximum(self.total, 1.0))

    def reset_state(self):
        for variable in (self.intersection, self.total):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {**super().get_config(), "class_ids": self.class_ids, "num_classes": self.num_classes}
