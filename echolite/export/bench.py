"""Latency of one model in its three forms, measured in one run on this machine: Keras float (``model(x)``
compiled, batch 1), TFLite fp32 and TFLite int8 (interpreter call, and end to end through the edge runner)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from echolite_edge.bench import stats_ms

from echolite.errors import EcholiteError
from echolite.export.formats import ARTIFACT_GLOB, artifact_name
from echolite.run import RunDir


def bench(sources: list[Path], runs: int = 30, threads: int = 2, warmup: int = 3,
          image: Path | None = None) -> list[dict]:
    """Rows of {name, source, kind, mean_ms, p50_ms, p90_ms, vs_keras, vs_fp32}; a run folder stands for its
    model.keras and every export beside it. ``image``: the frame for the end-to-end timing (default: a phantom frame
    at the model's size, so post-processing sees a heart, not noise). Ratios (how many times faster) are against
    the run's Keras model and against the same measure of its fp32 export, all measured in this call."""
    frame = _read_frame(image) if image is not None else None
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
            ms = stats_ms(times)
            rows.append({"name": path.name, "source": path.parent.name, "kind": kind, "threads": threads, "runs": runs,
                         "mean_ms": ms["mean"], "p50_ms": ms["p50"], "p90_ms": ms["p90"]})
    return _with_ratios(rows)


def _with_ratios(rows: list[dict]) -> list[dict]:
    keras_ms = {r["source"]: r["mean_ms"] for r in rows if r["kind"].startswith("keras")}
    fp32_ms = {(r["source"], r["kind"]): r["mean_ms"] for r in rows if r["name"] == artifact_name("fp32")}
    for r in rows:
        base_keras, base_fp32 = keras_ms.get(r["source"]), fp32_ms.get((r["source"], r["kind"]))
        r["vs_keras"] = base_keras / r["mean_ms"] if base_keras else None
        r["vs_fp32"] = base_fp32 / r["mean_ms"] if base_fp32 else None
    return rows


def _read_frame(image: Path) -> np.ndarray:
    from echolite_edge.image import read_image

    try:
        return read_image(image)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def _expand(sources: list[Path]) -> list[Path]:
    paths = []
    for source in sources:
        if source.is_dir():
            run = RunDir(source)
            found = ([run.model] if run.model.exists() else []) + run.exports()
            if not found:
                raise EcholiteError(f"{source}: no {run.MODEL} or {ARTIFACT_GLOB} to benchmark")
            paths += found
        elif source.exists() and source.suffix in (".keras", ".tflite"):
            paths.append(source)
        else:
            raise EcholiteError(f"{source}: not a run folder, .keras or .tflite file")
    return paths


def _keras_timer(path: Path):
    import tensorflow as tf

    from echolite.inference import load_keras_model

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
