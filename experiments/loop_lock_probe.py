"""What the finishing thread of a device loop costs the network's thread: a loop of frames through ``infer`` with,
beside it, a stand-in finishing job of about the same CPU time that holds Python's lock (a Python loop) or releases
it (numpy sorts, which may run over by one sort), and the real pipeline (no outputs written) against finishing on
the network's thread after each invoke.

    python experiments/loop_lock_probe.py LOOP.npy [MODEL]        # LD_PRELOAD=hide_avx512.so for AVX2 paths
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "edge"))

from echolite_edge.anatomy import frame_verdict
from echolite_edge.bench import invoke_alone
from echolite_edge.cine import FramePipeline
from echolite_edge.outputs import BackgroundJobs
from echolite_edge.pretrained import model_file
from echolite_edge.segmenter import EdgeSegmenter

BESIDE_MS = 2.5


def busy(release_lock: bool) -> None:
    """``BESIDE_MS`` of CPU: numpy sorts (each about 1 ms, run without Python's lock) or a Python loop."""
    numbers, end = np.random.default_rng(0).random(60000), time.perf_counter() + BESIDE_MS / 1000
    while time.perf_counter() < end:
        if release_lock:
            np.sort(numbers)


def per_frame_ms(loop: np.ndarray, segmenter: EdgeSegmenter, mode: str) -> float:
    start = time.perf_counter()
    if mode == "finish after invoke":
        for i, gray in enumerate(loop):
            frame_verdict(segmenter.finish(segmenter.infer(gray), str(i), full_size=False).labels, [])
    elif mode == "pipeline":
        with FramePipeline(segmenter, [], share_cores=False) as pipeline:
            for i, gray in enumerate(loop):
                pipeline.add(gray, str(i))
    else:
        with BackgroundJobs(8) as jobs:
            for gray in loop:
                segmenter.infer(gray)
                if mode != "network only":
                    jobs.submit(busy, mode == "beside, lock released")
    return (time.perf_counter() - start) / len(loop) * 1000


def main() -> None:
    loop = np.load(sys.argv[1])
    segmenter = EdgeSegmenter(model_file(sys.argv[2] if len(sys.argv) > 2 else "camus-edge-rt"), 2)
    modes = ("network only", "beside, lock released", "beside, lock held", "pipeline", "finish after invoke")
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    alone = []
    for _ in range(7):
        alone.append(invoke_alone(segmenter, loop[0]) * 1000)
        for mode in modes:
            times[mode].append(per_frame_ms(loop, segmenter, mode))
    print(f"invoke alone {np.median(alone):.2f} ms; beside: {BESIDE_MS} ms a frame")
    for mode, values in times.items():
        print(f"{mode}: {np.median(values):.2f} ms a frame")


if __name__ == "__main__":
    main()
