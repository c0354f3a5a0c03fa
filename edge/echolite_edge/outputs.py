"""Frame output: the mask and overlay PNGs of a segmented frame, and the overlays' drawing (structures blended in
their colours with smooth edges, a legend, the quality-control mark)."""

from __future__ import annotations

import functools
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from echolite_edge.image import to_unit_range
from echolite_edge.labels import COLORS
from echolite_edge.marks import mark_quality, paste_legend
from echolite_edge.png import write_png
from echolite_edge.segmenter import Segmentation

MASK_SCALE = 85
"""A mask PNG holds label × 85 (0, 85, 170, 255), as CAMUS writes its masks."""


class BackgroundJobs:
    """Jobs run in order on a thread of their own while the caller goes on: a frame's PNGs written while the next
    frame is segmented (``png`` encodes without holding Python's lock), a loop's frames finished while the next one
    is invoked (``cine.FramePipeline``). At most ``depth`` jobs wait (None: no bound), so memory stays bounded when
    the thread is the slower side; a job that failed is raised at the next ``submit``, so the caller stops early.
    Leaving the block waits for every job and raises the first failure, so a run's folder is complete before it is
    moved into place; after an error, waiting jobs are cancelled."""

    def __init__(self, depth: int | None = 8, thread: str = "echolite-edge writer"):
        self.depth = depth
        self._jobs: deque[Future] = deque()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread)

    def submit(self, job, *args) -> None:
        while self._jobs and (self._jobs[0].done() or (self.depth is not None and len(self._jobs) >= self.depth)):
            self._jobs.popleft().result()
        self._jobs.append(self._pool.submit(job, *args))

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> None:
        try:
            while error is None and self._jobs:
                self._jobs.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


OUTPUT_THREADS = 2
"""Threads drawing and encoding a loop's pictures once it is measured (its overlays, its report's frames): nothing
else runs then, and a device has 2 cores or more (PNG encoding runs without Python's lock)."""


def map_on_threads(function, items: list, name: str) -> list:
    """``function`` of each item on ``OUTPUT_THREADS`` threads, the results in order. A failure or Ctrl-C: the
    items not begun are not started, and the first failure is raised."""
    pool = ThreadPoolExecutor(OUTPUT_THREADS, thread_name_prefix=f"echolite-edge {name}")
    try:
        return list(pool.map(function, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def write_outputs(seg: Segmentation, gray: np.ndarray, out: Path, qc_failed: list[str] | None = None) -> None:
    """``<name>_mask.png`` and ``<name>_overlay.png`` of a frame (``write_mask``, ``write_overlay``)."""
    out.mkdir(parents=True, exist_ok=True)
    write_mask(seg, out)
    write_overlay(seg, gray, out, qc_failed)


def write_mask(seg: Segmentation, out: Path) -> str:
    """``<name>_mask.png``: the labels at the frame's size × 85 (CAMUS style), written fast (``png.write_png``: at
    Pillow's default level PNG encoding took most of a frame's time in a cine loop). Returns the file's name."""
    name = f"{seg.name}_mask.png"
    write_png(out / name, (seg.mask * MASK_SCALE).astype(np.uint8))
    return name


def write_overlay(seg: Segmentation, gray: np.ndarray, out: Path, qc_failed: list[str] | None = None) -> str:
    """``<name>_overlay.png``: ``overlay_image`` with the quality-control verdict ``qc_failed`` marked (the failed
    criteria, [] for a pass, None for none), written fast (``png.write_png``). Returns the file's name."""
    name = f"{seg.name}_overlay.png"
    write_png(out / name, overlay_image(gray, seg, qc_failed))
    return name


def overlay_image(gray: np.ndarray, seg: Segmentation, qc_failed: list[str] | None = None) -> np.ndarray:
    """What a person looks at: the frame at its own size with each structure blended in its colour, the edges
    drawn from the model's grid (``smooth_overlay``, not the blocky nearest-neighbour mask), a colour legend, and,
    with ``qc_failed`` given, the verdict: a passing frame says so in a corner; a failing one gets a red frame
    around the image and the failed criteria written on it."""
    rgb = smooth_overlay(gray, seg.labels) if seg.labels.shape != gray.shape[:2] else overlay(gray, seg.labels)
    paste_legend(rgb)
    if qc_failed is not None:
        mark_quality(rgb, qc_failed)
    return rgb


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB uint8: the frame in gray, each structure blended 40 % with its colour (``labels.COLORS``)."""
    pixels = gray8(gray)
    rgb = np.repeat(pixels[..., None], 3, axis=-1)
    heart = (mask > 0) & (mask < 256)
    rgb[heart] = _blend_table()[mask[heart], pixels[heart]]
    return rgb


def smooth_overlay(gray: np.ndarray, labels: np.ndarray, opacity: float = 0.4) -> np.ndarray:
    """``overlay`` of labels on a coarser grid, at the frame's size with smooth edges: each structure's indicator
    is resized bilinearly (a sloped edge where nearest neighbour gives steps of the grid's pixels), then sharpened
    to a ramp about one frame pixel wide (anti-aliased, not blurred). Only the heart's bounding box is resized and
    blended: a few milliseconds a frame."""
    pixels = gray8(gray)
    rgb = np.repeat(pixels[..., None], 3, axis=-1)
    heart = (labels > 0) & (labels <= max(COLORS))
    if not heart.any():
        return rgb
    (rows, cols), (grid_rows, grid_cols) = pixels.shape, labels.shape
    r, c = np.flatnonzero(heart.any(axis=1)), np.flatnonzero(heart.any(axis=0))
    top, bottom = int(max(r[0] - 1, 0) * rows / grid_rows), int(np.ceil(min(r[-1] + 2, grid_rows) * rows / grid_rows))
    left, right = int(max(c[0] - 1, 0) * cols / grid_cols), int(np.ceil(min(c[-1] + 2, grid_cols) * cols / grid_cols))
    source = (left * grid_cols / cols, top * grid_rows / rows, right * grid_cols / cols, bottom * grid_rows / rows)
    scale = max(rows / grid_rows, cols / grid_cols, 1.0)
    ramp = np.clip((np.arange(256, dtype=np.float32) / 255 - 0.5) * scale + 0.5, 0, 1) * opacity
    size = (right - left, bottom - top)
    weights = []
    for label in COLORS:
        indicator = Image.fromarray(((labels == label) * 255).astype(np.uint8))
        weights.append(ramp[np.asarray(indicator.resize(size, Image.BILINEAR, box=source))])
    planes = [np.full(size[::-1], 0.5, np.float32) for _ in range(3)]  # a plane per channel; 0.5: rounds when cut
    kept = np.ones(size[::-1], np.float32)  # the frame's share of each pixel
    for weight, color in zip(weights, COLORS.values()):
        kept -= weight
        for plane, value in zip(planes, color):
            if value:  # adding 0 changes no sum
                plane += weight * np.float32(value)
    kept *= pixels[top:bottom, left:right]
    for plane in planes:
        plane += kept  # last, as the sums have always been taken
    blended = np.stack(planes, axis=-1)
    rgb[top:bottom, left:right] = np.clip(blended, 0, 255, out=blended).astype(np.uint8)
    return rgb


def gray8(gray: np.ndarray) -> np.ndarray:
    """A frame as shown: uint8 as it is, [0, 1] or 8-bit floats by the one intensity rule (``image.to_unit_range``)."""
    pixels = gray if gray.dtype == np.uint8 else np.round(255 * to_unit_range(gray, eight_bit=bool(gray.max() > 1)))
    return pixels.astype(np.uint8, copy=False)


@functools.cache
def _blend_table() -> np.ndarray:
    """(label, gray) → RGB, for all 256 × 256 pairs (192 KB, built once)."""
    gray = np.arange(256, dtype=np.float32)
    table = np.repeat(np.repeat(gray[None, :, None], 256, axis=0), 3, axis=-1)
    for label, color in COLORS.items():
        table[label] = 0.6 * gray[:, None] + 0.4 * np.asarray(color, np.float32)
    return np.round(table).astype(np.uint8)
