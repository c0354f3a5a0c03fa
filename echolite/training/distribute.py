"""Where training runs: one device, every device of this machine, or several machines — TensorFlow's own
distribution (``tf.distribute``), with the checks and the Keras work-arounds it needs.

- ``default``: one device.
- ``mirrored``: every visible device of this machine (GPUs, or logical CPU devices); synchronous data parallelism,
  the global batch (``--batch-size``) is split evenly across the replicas.
- ``multi-worker``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``; every worker runs the same command, the
  chief (task ``chief``, else ``worker`` 0) writes the run folder, the others write nothing there.
"""

from __future__ import annotations

import json
import os
import select
import signal
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

from keras import tree

from echolite.errors import EcholiteError

DEFAULT_CONNECT_TIMEOUT_S = 120.0
"""How long a worker waits for the others before giving up; ``ECHOLITE_WORKER_TIMEOUT`` (seconds) overrides it."""


@dataclass(frozen=True)
class Placement:
    strategy: object  # a tf.distribute.Strategy
    replicas: int
    is_chief: bool


def place(name: str, batch_size: int) -> Placement:
    """The strategy for ``name``, checked: a readable TF_CONFIG, reachable workers, a divisible batch."""
    import tensorflow as tf  # on use: the trainer module loads on other Keras backends (JAX)

    if name == "multi-worker":
        cluster, task = _read_tf_config()
        timeout = float(os.environ.get("ECHOLITE_WORKER_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_S))
        message = (
            f"TF_CONFIG: {task['type']} {task['index']} could not reach the other workers within "
            f"{timeout:.0f} s (are they all started, and are their host:port reachable?)"
        )
        with _deadline(timeout, message):
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)  # every worker is there
        chief = task["type"] == "chief" or (
            task["type"] == "worker" and int(task["index"]) == 0 and "chief" not in cluster
        )
        placement = Placement(strategy, strategy.num_replicas_in_sync, chief)
    elif name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
        placement = Placement(strategy, strategy.num_replicas_in_sync, True)
    else:
        placement = Placement(tf.distribute.get_strategy(), 1, True)
    if batch_size % placement.replicas:
        raise EcholiteError(
            f"batch size {batch_size} does not split over {placement.replicas} replicas; "
            f"use a multiple of {placement.replicas}"
        )
    return placement


def worker_scratch() -> str:
    """A private folder for a non-chief worker's checkpoints (TensorFlow's convention); the caller removes it."""
    return tempfile.mkdtemp(prefix="echolite-worker-")


def patch_symbolic_build(model, placement: Placement) -> None:
    """Two Keras 3 bugs with ``tf.distribute`` (keras-team/keras#20585). It builds metrics from the first
    distributed batch reduced with ``strategy.reduce``, which ``MultiWorkerMirroredStrategy`` cannot do on eager
    per-replica values: build from the first local replica's batch instead (same shapes). And it averages every
    multi-worker step output along axis 0, which fails on scalars: average scalars as scalars."""
    if placement.replicas == 1 or not hasattr(model, "_maybe_symbolic_build"):
        return
    strategy = placement.strategy

    def build(iterator=None, data_batch=None):
        if iterator is None:
            return model._symbolic_build(data_batch=data_batch)
        for _, _, batches in iterator:
            first = next(batches)
            local = tree.map_structure(lambda x: strategy.experimental_local_results(x)[0], first)
            with strategy.scope():
                model._symbolic_build(data_batch=local)
            return

    model._maybe_symbolic_build = build
    if not isinstance(strategy, _multi_worker_type()):
        return
    from keras.src.backend.tensorflow import trainer as keras_tf_trainer  # on use: loads on other Keras backends

    if getattr(keras_tf_trainer.reduce_per_replica, "scalar_safe", False):
        return
    original = keras_tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction="auto"):
        """Keras averages multi-worker step outputs along axis 0, which scalars (losses, metrics) do not have."""
        if reduction not in ("auto", "mean") or not isinstance(strategy, _multi_worker_type()):
            return original(values, strategy, reduction)
        return tree.map_structure(
            lambda v: strategy.reduce("MEAN", v, axis=None if _rank(v, strategy) == 0 else 0), values
        )

    reduce_per_replica.scalar_safe = True
    keras_tf_trainer.reduce_per_replica = reduce_per_replica


def _multi_worker_type():
    import tensorflow as tf  # on use: the trainer module loads on other Keras backends (JAX)

    return tf.distribute.MultiWorkerMirroredStrategy


def _rank(value, strategy) -> int:
    import tensorflow as tf  # on use: the trainer module loads on other Keras backends (JAX)

    local = (
        strategy.experimental_local_results(value)[0] if isinstance(value, tf.distribute.DistributedValues) else value
    )
    return len(local.shape)


def _read_tf_config() -> tuple[dict, dict]:
    """The cluster and this process's task, checked."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise EcholiteError(
            "TF_CONFIG: not set; multi-worker training needs it on every worker (docs/reproducing.md shows an example)"
        )
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        members = cluster[task["type"]]
        if not isinstance(members, list) or not 0 <= int(task["index"]) < len(members):
            raise ValueError(f"task index {task['index']} is not in cluster[{task['type']!r}]")
    except (ValueError, KeyError, TypeError) as exc:
        raise EcholiteError(
            f"TF_CONFIG: not a valid cluster description ({exc}); expected "
            '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
        ) from None
    return cluster, task


@contextmanager
def _deadline(seconds: float, message: str):
    """TensorFlow waits for the other workers in C++ while holding the GIL, so no Python timer or signal handler
    can interrupt it. A forked watchdog that only sleeps prints ``message`` as the one error line and ends this
    process (SIGKILL: TensorFlow ignores SIGTERM) if the wait is not over in time."""
    read_end, write_end = os.pipe()
    watchdog = os.fork()
    if watchdog == 0:  # the watchdog: os calls only
        os.close(write_end)
        ready, _, _ = select.select([read_end], [], [], seconds)
        if not ready:
            os.write(2, f"error: {message}\n".encode())
            os.kill(os.getppid(), signal.SIGKILL)
        os._exit(0)
    os.close(read_end)
    try:
        yield
    finally:
        os.close(write_end)  # end of file: the watchdog stands down
        os.waitpid(watchdog, 0)
