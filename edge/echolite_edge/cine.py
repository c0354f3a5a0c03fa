"""A cine loop on the device, frame by frame and then as a loop: ``FramePipeline`` segments frames and checks each
against the anatomical criteria on the model's grid, the network's work overlapping the rest (``split_threads``
shares the cores); ``MaskArchives`` writes what fits a loop as its frames finish: its masks as one ``.npz`` at the
frames' size (a frame's mask under its name); once the loop is measured, ``write_loop_outputs`` writes overlays
only for the frames a reader looks at (ED and ES of each beat, every frame failing quality control), or for every
frame on request. ``echolite-edge run --cine`` and ``echolite-edge bench --cine`` both go through here, so the
benchmark times what a run does; ``echolite-edge live`` and ``run`` without ``--cine`` use the pipeline too."""

from __future__ import annotations

import dataclasses
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite_edge.anatomy import frame_verdict
from echolite_edge.image import resize_nearest
from echolite_edge.loop import LoopReport, measure_loop
from echolite_edge.outputs import BackgroundJobs, map_on_threads, write_mask, write_outputs, write_overlay
from echolite_edge.segmenter import EdgeSegmenter, Inference, Segmentation

MASKS_FILE = "masks.npz"
"""A loop's masks: ``np.load(path)[frame name]`` is that frame's label map (0 background, 1 LV, 2 MYO, 3 LA) at
the frame's size, the labels of its ``<name>_mask.png`` (which holds them × 85)."""


@dataclass
class CineFrame:
    gray: np.ndarray
    name: str
    seg: Segmentation | None = None  # labels on the model's grid, set when finished (``mask``: made where needed)
    verdict: dict | None = None  # the per-frame QC verdict results.json keeps (None: QC off)
    context: object = None  # what the caller needs of the frame once finished (its loop, its arrival)

    @property
    def failed(self) -> list[str] | None:
        """The criteria the frame fails ([] for a pass), None where QC is off: what its overlay marks."""
        return None if self.verdict is None else self.verdict["failed"]

    def qc_entry(self) -> dict:
        """The frame's QC verdict as its results.json entry holds it ({} where QC is off)."""
        return {} if self.verdict is None else {"qc": self.verdict}

    def mask(self) -> np.ndarray:
        """The labels at the frame's size, made now (not kept)."""
        return resize_nearest(self.seg.labels, self.gray.shape)

    def full_size(self) -> Segmentation:
        """The segmentation with its labels at the frame's size, for writing (not kept: a loop's frames hold only
        their labels on the grid)."""
        return dataclasses.replace(self.seg, mask=self.mask())


def check_loop_frame(path: Path, frame: np.ndarray, shape: tuple[int, ...]) -> None:
    """A loop's frames are all of one size (``shape``, its first frame's)."""
    if frame.shape != shape:
        raise ValueError(f"{path}: a {frame.shape[0]}×{frame.shape[1]} frame in a loop of {shape[0]}×{shape[1]} frames")


class FramePipeline(BackgroundJobs):
    """Frames segmented in two overlapping stages: ``add`` pre-processes a frame and invokes the network on the
    caller's thread (``EdgeSegmenter.infer``; the interpreter runs without Python's lock), while a thread of its
    own finishes the frames before it: post-processing on the model's grid, the per-frame anatomical QC (unless
    ``qc_seconds`` is None; its time appended there), then ``then(frame)`` where given (a frame's outputs, a live
    feed's latency). At most ``depth`` frames wait, so memory stays bounded when finishing is the slower stage.
    At the first frame the interpreter's threads are chosen (``split_threads``; with ``share_cores`` False they
    stay as given: a few frames do not repay the timing). Leaving the block waits for every frame (each one's
    ``seg`` and ``verdict`` set by then) and raises the first failure."""

    def __init__(
        self,
        segmenter: EdgeSegmenter,
        qc_seconds: list[float] | None,
        then: Callable[[CineFrame], None] | None = None,
        depth: int = 8,
        share_cores: bool = True,
    ):
        super().__init__(depth, thread="echolite-edge finish")
        self.segmenter, self.qc_seconds, self.then, self.share_cores = segmenter, qc_seconds, then, share_cores
        self.choice: dict | None = None  # how the cores are shared (``split_threads``), at the first frame

    def prepare(self, gray: np.ndarray) -> None:
        """Share the cores (``split_threads``, unless told not to) on a frame like the loop's; ``add`` does it at
        the first frame."""
        if self.choice is None:
            self.choice = split_threads(self.segmenter, gray, self.qc_seconds is not None, self.share_cores)

    def add(self, gray: np.ndarray, name: str, context: object = None) -> CineFrame:
        """``gray`` through the network now, then to the finishing thread; ``context`` rides along on the frame."""
        self.prepare(gray)
        frame = CineFrame(gray, name, context=context)
        self.submit(self._finish, frame, self.segmenter.infer(gray))
        return frame

    def _finish(self, frame: CineFrame, inference: Inference) -> None:
        frame.seg = self.segmenter.finish(inference, frame.name, full_size=False)
        if self.qc_seconds is not None:
            frame.verdict = frame_verdict(frame.seg.labels, self.qc_seconds, frame.seg.whole)
        if self.then is not None:
            self.then(frame)


def split_threads(segmenter: EdgeSegmenter, gray: np.ndarray, qc: bool, share: bool = True, runs: int = 3) -> dict:
    """Share the cores given to ``segmenter`` (its ``threads``) for a loop: the interpreter on all of them, the
    finishing thread competing with it (XNNPACK's threads wait for each other, so finishing all but adds to the
    invoke), or the interpreter on one fewer and finishing on the core left (the two stages overlap; the slower
    one sets the pace). Decided on this machine from ``gray``: the network's part at both thread counts and the
    finishing (with the QC when ``qc``; not the outputs), the median of ``runs`` each, whichever predicts the
    shorter frame; ``segmenter`` is left on the threads chosen. A fast network (a small model on a CPU with VNNI)
    gains from the split, a slow one keeps every core. Without ``share`` (or one thread) the threads stay as
    given. Returns the choice as a report keeps it."""
    threads = segmenter.threads
    if threads < 2 or not share:
        return {"interpreter_threads": threads, "beside": "shared"}
    network_all, inference = median_seconds(runs, segmenter.infer, gray)
    finishing, seg = median_seconds(runs, segmenter.finish, inference, "", False)
    if qc:
        finishing += median_seconds(runs, frame_verdict, seg.labels, [], seg.whole)[0]
    segmenter.set_threads(threads - 1)
    network_fewer, _ = median_seconds(runs, segmenter.infer, gray)
    shared, split = network_all + finishing, max(network_fewer, finishing)
    if split >= shared:
        segmenter.set_threads(threads)
    return {
        "interpreter_threads": segmenter.threads,
        "beside": "own core" if split < shared else "shared",
        "predicted_ms": {"all_threads": shared * 1000, "one_core_beside": split * 1000},
    }


def median_seconds(runs: int, function: Callable, *args) -> tuple[float, object]:
    """The median seconds of ``runs`` calls of ``function(*args)`` after one untimed call, and the last result."""
    result, seconds = function(*args), []
    for _ in range(runs):
        result = timed(seconds, function, *args)
    return float(np.median(seconds)), result


def timed(seconds: list[float], function: Callable, *args):
    """``function(*args)``, its time appended to ``seconds``."""
    start = time.perf_counter()
    result = function(*args)
    seconds.append(time.perf_counter() - start)
    return result


def measure_cine(frames: list[CineFrame], spacing, fps: float | None, cut: bool, source) -> LoopReport:
    """``loop.measure_loop`` of the segmented ``frames``: on the model's grid, with their anatomical verdicts (when
    checked) and LV confidences; ``spacing`` the frames' (row, column) pixel size in mm, or None, rescaled to the
    grid (without one, the pixel's shape: volumes in frame pixels). A loop of fewer than 2 frames is a
    ``ValueError`` naming ``source``."""
    if len(frames) < 2:
        raise ValueError(f"{source}: --cine needs a loop of at least 2 frames, got {len(frames)}")
    labels = [f.seg.labels for f in frames]  # not stacked: the loop analysis goes frame by frame
    (height, width), grid = frames[0].gray.shape, labels[0].shape
    pixel = (height / grid[0], width / grid[1])  # a frame's pixel on the model grid, in frame pixels
    on_grid = (spacing[0] * pixel[0], spacing[1] * pixel[1]) if spacing else None
    verdicts = None if any(f.verdict is None for f in frames) else [f.verdict["passed"] for f in frames]
    confidence = [f.seg.lv_confidence for f in frames]
    confidence = None if None in confidence else confidence
    return measure_loop(labels, fps, on_grid, cut, verdicts, confidence, [f.name for f in frames], pixel)


def shown_frame_indices(cine: dict) -> list[int]:
    """The frames a reader looks at: ED and ES of each beat; without a beat, the largest and smallest LV."""
    if cine["beats"]:
        return sorted({i for b in cine["beats"] for i in (b["ed_frame"], b["es_frame"])})
    areas = cine["loop_qc"]["lv_area"]
    return sorted({int(np.argmax(areas)), int(np.argmin(areas))})


def write_loop_outputs(folder: Path, frames: list[CineFrame], cine: dict, masks_file: str, every_frame: bool) -> dict:
    """A measured loop's overlays in ``folder``: those of the frames shown (ED, ES) and of every frame failing QC,
    or with ``every_frame`` each frame's overlay and mask PNG. Returns the frame names → the files holding each
    one's outputs (``mask``: the loop's masks file, named ``masks_file``, and ``overlay`` where one is)."""
    wanted = set(range(len(frames))) if every_frame else set(shown_frame_indices(cine))
    wanted |= {i for i, frame in enumerate(frames) if frame.failed}
    files = {frame.name: {"mask": masks_file} for frame in frames}

    def write(frame: CineFrame) -> None:
        files[frame.name]["overlay"] = write_overlay(frame.seg, frame.gray, folder, frame.failed)
        if every_frame:
            files[frame.name]["mask_png"] = write_mask(frame.full_size(), folder)

    map_on_threads(write, [frames[i] for i in sorted(wanted)], "overlays")
    return files


def write_frame_outputs(frame: CineFrame, folder: Path) -> None:
    """One frame's mask and overlay PNGs (``outputs.write_outputs``), its QC verdict marked."""
    write_outputs(frame.full_size(), frame.gray, folder, frame.failed)


class MaskArchives:
    """Loops' masks files written while the loops run: each finished frame goes into its loop's ``.npz`` (``add``,
    on the pipeline's thread, beside the next invoke), under a hidden name until the loop is measured and its file
    named (``name``, also after the block). A loop's file is closed when frames of another loop begin (loops come
    one after another: a study holds one open file at a time), and every file when the block ends."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._paths: dict[object, Path] = {}
        self._open: tuple[object, zipfile.ZipFile] | None = None

    def add(self, loop: object, frame: CineFrame) -> None:
        """``frame``'s mask into the archive of ``loop`` (any key: a loop's file, None for loose frames)."""
        if self._open is None or self._open[0] != loop:
            self.close()
            path = self._paths.setdefault(loop, self.folder / f".masks-{len(self._paths)}.npz")
            mode = "a" if path.exists() else "w"  # a loop's frames again after another's: appended
            self._open = (loop, zipfile.ZipFile(path, mode, zipfile.ZIP_DEFLATED, compresslevel=1))
        _add_mask(self._open[1], frame)

    def name(self, loop: object, file: str) -> None:
        """Close the archive of ``loop`` and give it its name in the folder."""
        if self._open is not None and self._open[0] == loop:
            self.close()
        self._paths[loop].rename(self.folder / file)

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    def __enter__(self):
        return self

    def __exit__(self, *error) -> None:
        self.close()


def write_masks(path: Path, frames: list[CineFrame]) -> None:
    """One ``.npz`` of the frames' masks (``MASKS_FILE``), written at once."""
    with MaskArchives(path.parent) as archives:
        for frame in frames:
            archives.add(None, frame)
        archives.name(None, path.name)


def _add_mask(archive: zipfile.ZipFile, frame: CineFrame) -> None:
    """A frame's mask at its own size into a masks ``.npz``, streamed (a long loop never holds all its full-size
    masks in memory), deflate level 1: label maps compress well even at the fastest level."""
    with archive.open(f"{frame.name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.ascontiguousarray(frame.mask(), np.uint8), allow_pickle=False)
