"""Latency of one model in its three forms, measured in one run on this machine: Keras float (``model(x)``
compiled, batch 1), TFLite fp32 and TFLite int8 (interpreter call, and end to end through the edge runner)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from echolite.errors import EcholiteError


def bench_run(sources: list[Path], runs: int = 30, threads: int = 2, warmup: int = 3,
              frame: np.ndarray | None = None) -> list[dict]:
    """Rows of {name, kind, mean_ms, p50_ms, p90_ms}; a run folder stands for its model.keras and any
    model_*.tflite beside it. ``frame``: a gray uint8 frame for the end-to-end timing (default: a phantom frame,
    so post-processing sees a heart, not noise)."""
    rows = []
    for path in _expand(sources):
        timer = _keras_timer(path) if path.suffix == ".keras" else _tflite_timers(path, threads, frame)
        for kind, call in timer:
            for _ in range(warmup):
                call()
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            ms = np.asarray(times) * 1000
            rows.append({"name": path.name, "source": path.parent.name, "kind": kind, "threads": threads, "runs": runs, "mean_ms": float(ms.mean()),
                         "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90))})
    return rows


def _expand(sources: list[Path]) -> list[Path]:
    paths = []
    for source in sources:
        if source.is_dir():
            found = ([source / "model.keras"] if (source / "model.keras").exists() else []) + sorted(source.glob("model_*.tflite"))
            if not found:
                raise EcholiteError(f"{source}: no model.keras or model_*.tflite to benchmark")
            paths += found
        elif source.exists() and source.suffix in (".keras", ".tflite"):
            paths.append(source)
        else:
            raise EcholiteError(f"{source}: not a run folder, .keras or .tflite file")
    return paths


def _keras_timer(path: Path):
    import tensorflow as tf

    from echolite.predict import load_keras_model

    model = load_keras_model(path)
    size = model.input_shape[1]
    x = tf.constant(np.random.default_rng(0).random((1, size, size, 1), dtype=np.float32))
    compiled = tf.function(lambda image: model(image, training=False), jit_compile=False)
    return [("keras float, compiled call", lambda: compiled(x).numpy())]


def _tflite_timers(path: Path, threads: int, frame: np.ndarray | None):
    from echolite_edge.runner import EdgeSegmenter

    segmenter = EdgeSegmenter(path, threads)
    if frame is None:
        from echolite.data.phantom import make_phantom

        frame = np.round(make_phantom(1, seed=0, size=segmenter.size).images[0] * 255).astype(np.uint8)
    x = segmenter.preprocess(frame)
    interpreter, index = segmenter.interpreter, segmenter.input["index"]

    def invoke():
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    return [("tflite invoke", invoke), ("tflite end to end", lambda: segmenter.segment(frame))]
