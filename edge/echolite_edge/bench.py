"""Latency benchmark in the shape of TFLite's ``benchmark_model`` report, for the interpreter call alone, end to
end (pre-processing + inference + post-processing) and the anatomical quality control of the mask, on whatever
machine runs it."""

from __future__ import annotations

import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from echolite_edge.anatomy import failed_criteria
from echolite_edge.frames import frame_files, read_frames_of
from echolite_edge.loop import analyse_loop
from echolite_edge.loop_qc import check_loop
from echolite_edge.outputs import write_outputs
from echolite_edge.segmenter import EdgeSegmenter

DEFAULT_RUNS = 50
"""Timed runs of a latency report, as TFLite's benchmark_model (its --num_runs) and both bench commands take."""


def machine() -> str:
    system = f"{platform.machine()} {platform.system()} {platform.release()}"
    return f"{system}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def stats_ms(seconds: list[float]) -> dict:
    ms = np.asarray(seconds) * 1000
    return {
        "runs": len(ms),
        "mean": float(ms.mean()),
        "std": float(ms.std()),
        "min": float(ms.min()),
        "max": float(ms.max()),
        "p50": float(np.percentile(ms, 50)),
        "p90": float(np.percentile(ms, 90)),
        "p99": float(np.percentile(ms, 99)),
    }


def benchmark(
    model_path: Path, runs: int = DEFAULT_RUNS, warmup: int = 5, threads: int = 2, frame: np.ndarray | None = None
) -> dict:
    """Init time, first inference, warm-up average, then statistics over ``runs`` for invoke, end to end, and the
    QC of each run's mask (timed apart: ``run`` does it after the end-to-end path)."""

    start = time.perf_counter()
    segmenter = EdgeSegmenter(model_path, threads)
    init = time.perf_counter() - start
    if frame is None:
        frame = np.random.default_rng(0).integers(0, 256, (segmenter.size, segmenter.size), dtype=np.uint8)
    first = segmenter.segment(frame)
    warm = [segmenter.segment(frame).seconds_total for _ in range(warmup)]
    results = [segmenter.segment(frame) for _ in range(runs)]
    qc = [_seconds(failed_criteria, r.labels) for r in results]
    return {
        "model": str(model_path),
        "model_bytes": Path(model_path).stat().st_size,
        "threads": threads,
        "machine": machine(),
        "init_ms": init * 1000,
        "first_inference_ms": first.seconds_total * 1000,
        "warmup_mean_ms": float(np.mean(warm) * 1000) if warm else None,
        "invoke_ms": stats_ms([r.seconds_invoke for r in results]),
        "end_to_end_ms": stats_ms([r.seconds_total for r in results]),
        "qc_ms": stats_ms(qc),
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def benchmark_cine(model_path: Path, source: Path, threads: int = 2, scanner_fps: float = 30.0) -> dict:
    """A cine loop (a folder of frames or a .npy stack) through the whole device path, frame after frame: read
    from disk, resize, quantize, invoke, argmax, post-process, map back, QC, write the mask and overlay PNGs. Frames
    per second, compared with the scanner's frame rate. One untimed frame first (allocation, caches). Then, once per
    loop, the loop analysis (beats, ED/ES, volumes) and the loop QC at ``scanner_fps``, timed apart."""

    segmenter = EdgeSegmenter(model_path, threads)
    files = frame_files(source)
    if not files:
        raise ValueError(f"{source}: no frames found (PNG/JPEG/BMP/TIFF or .npy)")
    with tempfile.TemporaryDirectory(prefix="echolite-edge-bench-") as out:
        first = read_frames_of(files[0])[0][1]
        segmenter.segment(first)
        start, stages = time.perf_counter(), {stage: [] for stage in CINE_STAGES}
        labels, confidence, verdicts = [], [], []
        for path in files:
            begin = time.perf_counter()
            frames = read_frames_of(path)
            stages["read"] += [(time.perf_counter() - begin) / len(frames)] * len(frames)
            for name, frame in frames:
                if frame.shape != first.shape:
                    raise ValueError(
                        f"{path}: a {frame.shape[0]}×{frame.shape[1]} frame in a loop of "
                        f"{first.shape[0]}×{first.shape[1]} frames"
                    )
                seg = _timed(stages["segment"], segmenter.segment, frame, name)
                stages["invoke"].append(seg.seconds_invoke)
                failed = _timed(stages["qc"], failed_criteria, seg.labels)
                verdicts.append(not failed)
                _timed(stages["write"], write_outputs, seg, frame, Path(out), failed)
                labels.append(seg.labels)
                confidence.append(seg.lv_confidence)
        seconds, count = time.perf_counter() - start, len(stages["qc"])
    fps = count / seconds
    loop_seconds = {"analysis": [], "qc": []}
    if count >= 2:
        masks = np.stack(labels)
        analysis = _timed(loop_seconds["analysis"], analyse_loop, masks, scanner_fps, None, True, verdicts, confidence)
        _timed(loop_seconds["qc"], check_loop, analysis)
    return {
        "model": str(model_path),
        "loop": str(source),
        "frames": count,
        "threads": threads,
        "machine": machine(),
        "ms_per_frame": 1000 * seconds / count,
        "frames_per_second": fps,
        "stage_ms_median": {stage: float(np.median(times) * 1000) for stage, times in stages.items()},
        "loop_ms": {stage: float(sum(times) * 1000) for stage, times in loop_seconds.items() if times},
        "loop_ms_per_frame": {
            stage: float(sum(times) * 1000 / count) for stage, times in loop_seconds.items() if times
        },
        "scanner_fps": scanner_fps,
        "keeps_up": fps >= scanner_fps,
    }


CINE_STAGES = ("read", "segment", "invoke", "qc", "write")
"""Per frame: read the file; segment (resize, quantize, invoke, argmax, post-process, map back, LV confidence), of
which the invoke alone; quality control; write the mask and overlay PNGs. Once per loop, apart: ``loop_ms`` of the
loop analysis and the loop QC."""


def _timed(seconds: list, function, *args):
    """``function(*args)``, its time appended to ``seconds``."""
    start = time.perf_counter()
    result = function(*args)
    seconds.append(time.perf_counter() - start)
    return result


def _seconds(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start
