"""What the finishing thread of a device loop costs the network's thread: a loop of frames through ``infer`` with,
beside it, a stand-in finishing job of about the same CPU time that holds Python's lock (a Python loop) or releases
it (numpy sorts, which may run over by one sort), and the real pipeline (no outputs written) against finishing on
the network's thread after each invoke and against finishing in a worker process (the scores through shared
memory, no Python lock shared with the network's thread).

    python experiments/loop_lock_probe.py LOOP.npy [MODEL]        # LD_PRELOAD=hide_avx512.so for AVX2 paths
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "edge"))

from echolite_edge.anatomy import frame_verdict
from echolite_edge.bench import invoke_alone
from echolite_edge.cine import FramePipeline
from echolite_edge.outputs import BackgroundJobs
from echolite_edge.pretrained import model_file
from echolite_edge.segmenter import EdgeSegmenter, Inference

BESIDE_MS = 2.5


def busy(release_lock: bool) -> None:
    """``BESIDE_MS`` of CPU: numpy sorts (each about 1 ms, run without Python's lock) or a Python loop."""
    numbers, end = np.random.default_rng(0).random(60000), time.perf_counter() + BESIDE_MS / 1000
    while time.perf_counter() < end:
        if release_lock:
            np.sort(numbers)


SLOTS = 8


def finisher(model: Path, connection, memory: str, shape: tuple, dtype) -> None:
    """The worker process: finishes each frame whose scores lie in the slot it is sent, answers with the slot."""
    segmenter = EdgeSegmenter(model, 1)
    shared = shared_memory.SharedMemory(memory)
    slots = np.ndarray((SLOTS, *shape), dtype, shared.buf)
    connection.send(None)
    while (message := connection.recv()) is not None:
        slot, frame_shape = message
        seg = segmenter.finish(Inference(slots[slot], frame_shape, 0.0, 0.0), "", full_size=False)
        connection.send((slot, frame_verdict(seg.labels, [], seg.whole)))
    del slots
    shared.close()


class WorkerProcess:
    """Frames finished in a process of its own, ``SLOTS`` in flight."""

    def __init__(self, model: Path, scores: np.ndarray):
        self.memory = shared_memory.SharedMemory(create=True, size=SLOTS * scores.nbytes)
        self.slots = np.ndarray((SLOTS, *scores.shape), scores.dtype, self.memory.buf)
        self.connection, theirs = multiprocessing.Pipe()
        arguments = (model, theirs, self.memory.name, scores.shape, scores.dtype)
        self.process = multiprocessing.get_context("spawn").Process(target=finisher, args=arguments)
        self.process.start()
        self.connection.recv()  # started and ready

    def loop(self, loop: np.ndarray, segmenter: EdgeSegmenter) -> None:
        free = list(range(SLOTS))
        for gray in loop:
            inference = segmenter.infer(gray)
            while not free or self.connection.poll():
                free.append(self.connection.recv()[0])
            slot = free.pop()
            self.slots[slot] = inference.scores
            self.connection.send((slot, gray.shape))
        while len(free) < SLOTS:
            free.append(self.connection.recv()[0])

    def close(self) -> None:
        self.connection.send(None)
        self.process.join()
        del self.slots
        self.memory.close()
        self.memory.unlink()


def per_frame_ms(loop: np.ndarray, segmenter: EdgeSegmenter, mode: str, worker: WorkerProcess) -> float:
    start = time.perf_counter()
    if mode == "finishing in a worker process":
        worker.loop(loop, segmenter)
    elif mode == "finish after invoke":
        for i, gray in enumerate(loop):
            seg = segmenter.finish(segmenter.infer(gray), str(i), full_size=False)
            frame_verdict(seg.labels, [], seg.whole)
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
    model = model_file(sys.argv[2] if len(sys.argv) > 2 else "camus-edge-rt")
    segmenter = EdgeSegmenter(model, 2)
    modes = (
        "network only",
        "beside, lock released",
        "beside, lock held",
        "pipeline",
        "finish after invoke",
        "finishing in a worker process",
    )
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    alone = []
    worker = WorkerProcess(model, segmenter.infer(loop[0]).scores)  # started before the clock, as the interpreter
    try:
        for _ in range(7):
            alone.append(invoke_alone(segmenter, loop[0]) * 1000)
            for mode in modes:
                times[mode].append(per_frame_ms(loop, segmenter, mode, worker))
    finally:
        worker.close()
    print(f"invoke alone {np.median(alone):.2f} ms; beside: {BESIDE_MS} ms a frame")
    for mode, values in times.items():
        print(f"{mode}: {np.median(values):.2f} ms a frame")


if __name__ == "__main__":
    main()
