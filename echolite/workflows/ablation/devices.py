"""One device per worker process of a parallel ablation: a GPU each (round robin), or without GPUs an equal share of
the CPU cores."""

from __future__ import annotations

import os


def device_slots(workers: int) -> list[str]:
    """One device per worker process: GPU ids round robin (``"0"``, ``"1"``, ...), or without GPUs an equal share
    of this process's CPU cores (``"cpu:0,1"``, ``"cpu:2,3"``)."""

    gpus = _visible_gpus()
    if gpus:
        return [gpus[i % len(gpus)] for i in range(workers)]
    cores = sorted(os.sched_getaffinity(0))
    shares = [cores[i::workers] or [cores[i % len(cores)]] for i in range(workers)]
    return ["cpu:" + ",".join(map(str, share)) for share in shares]


def claim_device(slots) -> None:
    device = slots.get()
    if device.startswith("cpu:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.sched_setaffinity(0, {int(c) for c in device[4:].split(",")})  # TensorFlow sizes its pools to these
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = device


def _visible_gpus() -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip()]
    import tensorflow as tf  # on use: CUDA_VISIBLE_DEVICES answers without starting TensorFlow

    return [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]
