"""Live: a scanner's frames segmented as they arrive, never falling behind.

A reader thread takes frames from the source (raw 8-bit gray frames on a pipe, a capture device, a stream, or a
video file played at its own pace) into a one-frame slot; the segmenter always takes the newest frame there. A
frame that arrives while the one before still waits is dropped and counted: on a device slower than the scanner
the output thins out in time, it never lags. The report gives the frames that arrived, were segmented and were
dropped, and both rates.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from echolite_edge.cine import CineFrame, FramePipeline
from echolite_edge.frames import missing_extra
from echolite_edge.image import check_frame_size
from echolite_edge.segmenter import EdgeSegmenter


class _LatestFrame:
    """One slot between the reader and the segmenter: ``put`` replaces a frame not yet taken (a drop)."""

    def __init__(self):
        self._ready = threading.Condition()
        self._frame: tuple[int, float, np.ndarray] | None = None
        self.arrived = self.dropped = 0
        self.closed = False
        self.error: Exception | None = None

    def put(self, frame: np.ndarray) -> None:
        with self._ready:
            self.dropped += self._frame is not None
            self._frame = (self.arrived, time.perf_counter(), frame)
            self.arrived += 1
            self._ready.notify()

    def close(self, error: Exception | None = None) -> None:
        with self._ready:
            self.closed, self.error = True, error
            self._ready.notify()

    def take(self) -> tuple[int, float, np.ndarray] | None:
        """The newest frame (its arrival index and time), waiting for one; None once the source has ended."""
        with self._ready:
            while self._frame is None and not self.closed:
                self._ready.wait()
            frame, self._frame = self._frame, None
            return frame


@dataclass
class LiveReport:
    frames: list[CineFrame] = field(default_factory=list)  # the frames segmented, in order
    arrival: list[int] = field(default_factory=list)  # each one's index among the frames that arrived
    latency_ms: list[float] = field(default_factory=list)  # arrival to segmented and checked
    arrived: int = 0
    dropped: int = 0
    seconds: float = 0.0  # from the start to the end of the feed; while it runs, ``as_dict`` takes the time so far
    started: float = field(default_factory=time.perf_counter)
    stopped: bool = False  # ended by Ctrl-C rather than by the source

    def as_dict(self) -> dict:
        done, seconds = len(self.frames), self.seconds or time.perf_counter() - self.started
        return {
            "arrived": self.arrived,
            "segmented": done,
            "dropped": self.dropped,
            "seconds": seconds,
            "arrival_fps": self.arrived / seconds if seconds else None,
            "segmented_fps": done / seconds if seconds else None,
            "latency_ms_median": float(np.median(self.latency_ms)) if done else None,
            "ended_by": "Ctrl-C" if self.stopped else "the source",
        }


def run_live(
    segmenter: EdgeSegmenter,
    source: Iterable[np.ndarray],
    qc_seconds: list[float] | None,
    on_frame: Callable[[LiveReport], None] | None = None,
) -> LiveReport:
    """Segment the frames of ``source`` (read on a thread of its own) as they arrive, the newest first, dropping
    those that arrive while one waits; each frame through a ``cine.FramePipeline`` (the next frame's invoke beside
    this one's post-processing and QC, at most ``LIVE_DEPTH`` frames in it, so the latency stays short);
    ``qc_seconds`` as the pipeline takes it; ``on_frame`` is called after each frame finished. A source that fails
    raises here, after the frames before it."""
    slot, report = _LatestFrame(), LiveReport()

    def read() -> None:
        error = None
        try:
            for frame in source:
                slot.put(frame)
        except (ValueError, OSError) as exc:  # a bad or broken source: the segmenting thread raises it
            error = exc
        finally:  # whatever ends the source, the segmenting thread stops waiting
            slot.close(error)

    def finished(frame: CineFrame) -> None:  # on the pipeline's thread; the context: the frame's arrival
        index, arrived_at = frame.context
        report.frames.append(frame)
        report.arrival.append(index)
        report.latency_ms.append((time.perf_counter() - arrived_at) * 1000)
        report.arrived, report.dropped = slot.arrived, slot.dropped
        if on_frame:
            on_frame(report)

    reader = threading.Thread(target=read, name="echolite-edge live reader", daemon=True)
    reader.start()
    try:
        with FramePipeline(segmenter, qc_seconds, finished, LIVE_DEPTH) as pipeline:
            while (taken := slot.take()) is not None:
                index, arrived_at, gray = taken
                pipeline.add(gray, f"frame_{index:06d}", (index, arrived_at))
    except KeyboardInterrupt:  # Ctrl-C ends a live feed, even while the last frames finish: those done are the result
        report.stopped = True
    report.seconds = time.perf_counter() - report.started
    report.arrived, report.dropped = slot.arrived, slot.dropped
    if slot.error is not None and not report.stopped:
        raise slot.error
    return report


LIVE_DEPTH = 2
"""Frames a live feed lets wait for post-processing and QC: enough to keep the network busy, few enough that a
slow stage drops frames at the source rather than adding latency."""


def raw_frames(stream: BinaryIO, width: int, height: int, name: str = "stdin") -> Iterator[np.ndarray]:
    """8-bit gray frames of ``width`` × ``height``, row by row, one after the other (``ffmpeg -f rawvideo -pix_fmt
    gray``); the stream's end inside a frame is a ``ValueError`` naming ``name`` and the bytes left."""
    size = width * height
    check_frame_size(np.zeros((height, width), np.uint8), name)
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        while len(chunk) < size:
            more = stream.read(size - len(chunk))
            if not more:
                raise ValueError(f"{name}: the stream ended inside a frame ({len(chunk)} of {size} bytes)")
            chunk += more
        yield np.frombuffer(chunk, np.uint8).reshape(height, width)


def feed_frames(source: str, paced: bool = True) -> Iterator[np.ndarray]:
    """The frames of a capture device, stream or video file (``video.video_feed``); a file is played at its own
    pace (``paced``), as the scanner would send it, so the device is measured against real time."""
    try:
        from echolite_edge.video import video_feed  # an optional extra: PyAV
    except ImportError:  # PyAV is not installed: the video extra
        raise missing_extra(source, "video feed", "video") from None
    start, first = time.perf_counter(), None
    for at, gray in video_feed(source):
        if paced and at is not None:
            first = at if first is None else first
            wait = (at - first) - (time.perf_counter() - start)
            if wait > 0:
                time.sleep(wait)
        yield gray


def stdin_frames(width: int, height: int) -> Iterator[np.ndarray]:
    return raw_frames(sys.stdin.buffer, width, height)
