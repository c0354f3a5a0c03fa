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

from echolite_edge.anatomy import frame_verdict
from echolite_edge.cine import (
    MASKS_FILE,
    FramePipeline,
    MaskArchives,
    check_loop_frame,
    measure_cine,
    median_seconds,
    timed,
    write_loop_outputs,
)
from echolite_edge.frames import frame_files, read_frames_of
from echolite_edge.loop_report import write_loop_reports
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
    qc = []
    for result in results:
        frame_verdict(result.labels, qc, result.whole)  # as a run checks it
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
    """A cine loop (a folder of frames or a .npy stack) through what ``echolite-edge run --cine`` does, with its
    default outputs (``echolite_edge.cine``): per frame read, segment (of which the invoke), QC, its mask into the
    loop's masks file; once per loop the loop analysis and loop QC (at ``scanner_fps``) and writing the rest of
    the loop's outputs (the overlays of ED, ES and failing frames, ``report.html``). Untimed first: one frame
    (allocation, caches), the cores shared (``cine.split_threads``) and the invoke alone (``invoke_alone``) on the
    interpreter threads the loop uses and on all ``threads``. End to end is the wall time of it all per frame; its
    ratio to the loop's invoke alone is what the network leaves to the rest, its ratio to the all-thread invoke what
    the loop costs over the fastest the network runs here."""

    segmenter = EdgeSegmenter(model_path, threads)
    files = frame_files(source)
    if not files:
        raise ValueError(f"{source}: no frames found (PNG/JPEG/BMP/TIFF or .npy)")
    with tempfile.TemporaryDirectory(prefix="echolite-edge-bench-") as scratch, MaskArchives(Path(scratch)) as masks:
        first = read_frames_of(files[0])[0][1]
        segmenter.segment(first)
        all_threads = invoke_alone(segmenter, first)  # the network on every thread given
        stages = {stage: [] for stage in CINE_STAGES}
        frames = []
        with FramePipeline(segmenter, stages["qc"], lambda frame: masks.add(None, frame)) as pipeline:  # as run --cine
            pipeline.prepare(first)  # the cores shared before the clock starts
            alone = all_threads if segmenter.threads == threads else invoke_alone(segmenter, first)  # as the loop runs
            start = time.perf_counter()
            for path in files:
                begin = time.perf_counter()
                read = read_frames_of(path)
                stages["read"] += [(time.perf_counter() - begin) / len(read)] * len(read)
                for name, gray in read:
                    check_loop_frame(path, gray, first.shape)
                    frames.append(pipeline.add(gray, name))
        stages["segment"] = [frame.seg.seconds_total for frame in frames]
        stages["invoke"] = [frame.seg.seconds_invoke for frame in frames]
        count = len(frames)
        loop_seconds = {"analysis": [], "write": []}
        if count >= 2:
            cine = timed(loop_seconds["analysis"], measure_cine, frames, None, scanner_fps, True, source).as_dict()
            masks.name(None, MASKS_FILE)
            timed(loop_seconds["write"], write_loop_outputs, Path(scratch), frames, cine, MASKS_FILE, False)
            summary = {"cine": cine, "frames": [{"name": frame.name} for frame in frames]}  # as results.json has it
            by_name = {frame.name: frame for frame in frames}
            timed(loop_seconds["write"], write_loop_reports, Path(scratch), summary, source, model_path, by_name)
        seconds = time.perf_counter() - start
    fps = count / seconds
    return {
        "model": str(model_path),
        "loop": str(source),
        "frames": count,
        "threads": threads,
        "machine": machine(),
        "ms_per_frame": 1000 * seconds / count,
        "frames_per_second": fps,
        "interpreter_threads": pipeline.choice["interpreter_threads"],
        "cores_shared": pipeline.choice,
        "invoke_alone_ms": alone * 1000,
        "end_to_end_over_invoke_alone": seconds / count / alone,
        "all_thread_invoke_alone_ms": all_threads * 1000,
        "end_to_end_over_all_thread_invoke_alone": seconds / count / all_threads,
        "stage_ms_median": {stage: float(np.median(times) * 1000) for stage, times in stages.items()},
        "loop_ms": {stage: float(sum(times) * 1000) for stage, times in loop_seconds.items() if times},
        "loop_ms_per_frame": {
            stage: float(sum(times) * 1000 / count) for stage, times in loop_seconds.items() if times
        },
        "scanner_fps": scanner_fps,
        "keeps_up": fps >= scanner_fps,
    }


def invoke_alone(segmenter: EdgeSegmenter, frame: np.ndarray, runs: int = 20) -> float:
    """The median seconds of the model's invoke on ``frame`` with nothing beside it: what the network costs on
    this machine at its thread count, the yardstick of a loop's end to end (inside the loop an invoke shares the
    CPU with the finishing thread and takes longer)."""
    return median_seconds(runs, segmenter.invoke_raw, segmenter.preprocess(frame), None)[0]


CINE_STAGES = ("read", "segment", "invoke", "qc")
"""Per frame: read the file; segment (resize, quantize and invoke on the network's thread, then argmax,
post-processing and the LV confidence on the finishing thread: the two threads' times added, not wall time), of
which the invoke alone; quality control (on the finishing thread, beside the next frames' invokes). Once per loop,
apart (``loop_ms``): the loop analysis with its loop QC, and writing the loop's outputs (overlays and report)."""
