"""Where training runs: one device, every device of this machine, or several machines (``tf.distribute``)."""

from __future__ import annotations


def distribution_strategy(name: str):
    """``mirrored``: every visible GPU of this machine (synchronous data parallelism; the batch is split across
    them). ``multi-worker``: several machines, each started with its own TF_CONFIG (docs/reproducing.md)."""
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
