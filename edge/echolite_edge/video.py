"""Exported echo loops (MP4, AVI, MOV, MKV, animated GIF) as gray loops with the container's frame rate (the
"video" extra: PyAV, whose wheels carry FFmpeg's libraries; no system ffmpeg is run).

Gray is FFmpeg's conversion to 8-bit gray, the luminance (Y) of the decoded picture. A video carries no pixel
size: volumes are in pixel units unless the user gives one. A file that decodes to fewer frames than its header
declares, or a GIF without its trailer, is refused as truncated rather than measured short.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from echolite_edge.image import check_frame_size
from echolite_edge.sources import Loop


def read_video(path: Path) -> Loop:
    path = Path(path)
    if path.suffix.lower() == ".gif" and not _gif_complete(path):
        raise ValueError(f"{path}: corrupt or truncated GIF (no trailer byte at its end)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError(f"{path}: no video stream")
            stream = container.streams.video[0]
            frames = [frame.to_ndarray(format="gray") for frame in container.decode(stream)]
            declared = int(stream.frames or 0)
            fps, fps_from = _frame_rate(stream)
    except av.error.FFmpegError as exc:
        raise ValueError(f"{path}: corrupt or truncated video ({_reason(exc)})") from None
    if not frames:
        raise ValueError(f"{path}: corrupt or truncated video (no frame decodes)")
    if declared and len(frames) < declared:
        raise ValueError(f"{path}: corrupt or truncated video ({len(frames)} of the {declared} frames it declares)")
    if any(f.shape != frames[0].shape for f in frames):
        raise ValueError(f"{path}: frames of different sizes in one video")
    check_frame_size(frames[0], path)
    note = "a video carries no pixel size: volumes in pixel units unless one is given"
    return Loop(file=path, frames=np.stack(frames), fps=fps, fps_from=fps_from, notes=(note,))


def video_feed(source: str) -> Iterator[tuple[float | None, np.ndarray]]:
    """The frames of a live source as they decode, each with its presentation time in seconds (None when the
    stream gives none): a capture device (``/dev/videoN``, through FFmpeg's video4linux2), a stream address, or a
    video file."""
    options = {"format": "v4l2"} if str(source).startswith("/dev/video") else {}
    try:
        with av.open(str(source), **options) as container:
            if not container.streams.video:
                raise ValueError(f"{source}: no video stream")
            for frame in container.decode(container.streams.video[0]):
                yield frame.time, frame.to_ndarray(format="gray")
    except av.error.FFmpegError as exc:
        raise ValueError(f"{source}: cannot read the video feed ({_reason(exc)})") from None


def _reason(error: Exception) -> str:
    """FFmpeg's reason for a failure, in one short line."""
    return (getattr(error, "strerror", None) or str(error)).strip().splitlines()[0][:120]


def _gif_complete(path: Path) -> bool:
    """A GIF ends with its trailer byte (0x3B); FFmpeg decodes a cut one to fewer frames without a word."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-1, 2)
            return handle.read(1) == b"\x3b"
    except OSError:
        return False


def _frame_rate(stream) -> tuple[float | None, str | None]:
    """The container's average frame rate, else the rate FFmpeg infers from the stream's timing."""
    for rate, where in ((stream.average_rate, "the container's average frame rate"), (stream.guessed_rate, None)):
        if rate and 0 < float(rate) < float("inf"):
            return float(rate), where or "the stream's timing (FFmpeg's guess)"
    return None, None
