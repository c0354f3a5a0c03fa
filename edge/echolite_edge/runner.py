"""Segment frames with an exported echolite model: read, gray, resize, quantize (as the metadata says), invoke,
argmax, keep the largest component per structure, map back to the original size. numpy + a TFLite interpreter."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite_edge.image import (
    IMAGE_SUFFIXES,
    check_frame_size,
    load_npy,
    looks_like_colour,
    model_input,
    read_image,
    resize_nearest,
    to_gray8,
    to_unit_range,
)
from echolite_edge.labels import COLORS, LABELS, LV
from echolite_edge.loop_qc import lv_softmax_margin
from echolite_edge.postprocess import CLOSE_DEFAULT, check_close_mode, keep_largest_components, repair_anatomy
from echolite_edge.tta import check_tta, softmax, tta_probabilities


def load_interpreter(model: Path | bytes, threads: int):
    """A file path or the model's bytes; ai-edge-litert, else tflite_runtime, else tf.lite; threads always set."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            from tensorflow.lite import Interpreter
    source = {"model_content": bytes(model)} if isinstance(model, (bytes, bytearray)) else {"model_path": str(model)}
    try:
        interpreter = Interpreter(**source, num_threads=threads)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        name = source.get("model_path", "model")
        raise ValueError(f"{name}: not a TFLite model ({str(exc).splitlines()[0][:100]})") from None
    return interpreter


def check_segmentation_io(interpreter, name) -> None:
    """An echolite segmentation model: one (1, S, S, 1) image in, one (1, S, S, 4) score map (``LABELS``) out."""
    given, wanted = interpreter.get_input_details(), interpreter.get_output_details()
    shape_in = [int(v) for v in given[0]["shape"]] if len(given) == 1 else None
    shape_out = [int(v) for v in wanted[0]["shape"]] if len(wanted) == 1 else None
    if (
        shape_in is None
        or len(shape_in) != 4
        or shape_in[0] != 1
        or shape_in[3] != 1
        or shape_in[1] != shape_in[2]
        or shape_out != [1, shape_in[1], shape_in[2], len(LABELS)]
    ):
        shapes = lambda details: ", ".join("x".join(str(int(v)) for v in d["shape"]) for d in details)
        raise ValueError(
            f"{name}: not an echolite segmentation model (takes {shapes(given)}, gives "
            f"{shapes(wanted)}; expected a 1xSxSx1 frame in, 1xSxSx{len(LABELS)} class scores out)"
        )


def metadata_path(model_path: Path) -> Path:
    """The JSON the exporter writes beside a model (labels, input normalization, quantization, parity)."""
    return Path(model_path).with_suffix(".json")


def read_metadata(model_path: Path) -> dict:
    """The exporter's JSON beside the model ({} when there is none)."""
    path = metadata_path(model_path)
    if not path.exists():
        return {}
    try:
        metadata = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable model metadata ({exc}); re-export the model or remove the file") from None
    if not isinstance(metadata, dict):  # a user's file, not a caller's type: the one error of bad input
        raise ValueError(  # noqa: TRY004
            f"{path}: unreadable model metadata (not a JSON object)"
        )
    return metadata


def quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    """Values in [0, 1] to the input tensor's dtype with its scale and zero point (float32 passes through)."""
    dtype = detail["dtype"]
    if dtype == np.float32:
        return x.astype(np.float32)
    scale, zero_point = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)


def dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return y
    scale, zero_point = detail["quantization"]
    return (y.astype(np.float32) - zero_point) * scale


@dataclass
class Segmentation:
    name: str
    mask: np.ndarray  # labels at the original size
    seconds_invoke: float
    seconds_total: float
    labels: np.ndarray  # on the model's grid, post-processed: what quality control checks (as the library does)
    lv_confidence: float | None = None  # mean softmax margin over the LV (``loop_qc.lv_softmax_margin``)


class EdgeSegmenter:
    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        fill_enclosed: bool = True,
        close_myocardium: str = CLOSE_DEFAULT,
        tta: str = "none",
        detach_atrium: bool = True,
        ensemble: tuple[Path, ...] = (),
    ):
        """``fill_enclosed``, ``close_myocardium``, ``detach_atrium``: post-processing steps after the largest
        components (``echolite_edge.postprocess.repair_anatomy``, the library's ``PostprocessConfig`` fields of
        those names). ``tta``: a test-time augmentation mode of ``echolite_edge.tta.TTA_MODES`` (one invoke per
        view). ``ensemble``: more exported models of the same input size and classes; the mean of all the models'
        class probabilities decides (one invoke per model and view)."""
        model_path = Path(model_path)
        check_tta(tta)
        check_close_mode(close_myocardium)
        self.repairs = {"fill_enclosed": fill_enclosed, "close_wall": close_myocardium, "detach": detach_atrium}
        self.tta = tta
        self.metadata = read_metadata(model_path)
        self.interpreter = load_interpreter(model_path, threads)
        check_segmentation_io(self.interpreter, model_path)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.size = int(self.input["shape"][1])
        self.members = [self.interpreter] + [_member(Path(p), threads, self.output["shape"]) for p in ensemble]

    def segment(self, gray: np.ndarray, name: str = "") -> Segmentation:
        """``gray``: a 2D uint8 (0–255) or float (0–1) frame of any size."""
        start = time.perf_counter()
        invoke_seconds = []
        # One model, one view: the raw output's argmax (dequantizing scales by a positive number, order stays);
        # else the argmax of the mean class probabilities over the views and the models.
        if self.tta == "none" and len(self.members) == 1:
            scores = self.invoke_raw(self.preprocess(gray), invoke_seconds)[0]
        else:
            views = model_input(gray, self.size)[None]
            scores = tta_probabilities(views, lambda v: self.probabilities(v, invoke_seconds), self.tta)[0]
        labels = repair_anatomy(keep_largest_components(argmax_labels(scores)), **self.repairs)
        confidence = self.lv_confidence(scores, labels)
        mask = resize_nearest(labels, gray.shape)
        return Segmentation(name, mask, sum(invoke_seconds), time.perf_counter() - start, labels, confidence)

    def lv_confidence(self, scores: np.ndarray, labels: np.ndarray) -> float:
        """The network's confidence in the LV of ``labels``: from the raw output (logits, dequantized only at the
        LV's pixels) on the plain path, else from the mean probabilities."""
        if self.tta == "none" and len(self.members) == 1:
            logits = dequantize(scores[labels == LV], self.output)
            return lv_softmax_margin(logits, np.full(len(logits), LV))
        return lv_softmax_margin(scores, labels, logits=False)

    def probabilities(self, images: np.ndarray, seconds: list[float] | None = None) -> np.ndarray:
        """(N, S, S) images in [0, 1] → (N, S, S, C) class probabilities, the mean over the ensemble's models."""
        return np.mean([softmax(invoke_scores(member, images, seconds)) for member in self.members], axis=0)

    def invoke_raw(self, x: np.ndarray, seconds: list[float]) -> np.ndarray:
        """One invoke on an input tensor of the model's dtype; the output as the model gives it."""
        return invoke_tensor(self.interpreter, self.input, self.output, x, seconds)

    def preprocess(self, gray: np.ndarray) -> np.ndarray:
        """The quantized input tensor of one frame. An 8-bit frame of the model's size for an int8 input of scale
        1/255 and zero point −128 (echolite's int8 exports) is just shifted: p − 128, what quantizing p/255 gives."""
        scale, zero_point = self.input["quantization"]
        if (
            gray.dtype == np.uint8
            and gray.shape == (self.size, self.size)
            and self.input["dtype"] == np.int8
            and zero_point == -128
            and abs(scale * 255 - 1) < 1e-6
        ):
            return (gray.astype(np.int16) - 128).astype(np.int8)[None, ..., None]
        return quantize(model_input(gray, self.size)[None, ..., None], self.input)


def _member(path: Path, threads: int, output_shape):
    """One more model of an ensemble: it must give scores of the first model's shape (size and classes)."""
    if not path.is_file():
        raise ValueError(f"{path}: ensemble model not found")
    interpreter = load_interpreter(path, threads)
    check_segmentation_io(interpreter, path)
    read_metadata(path)  # a damaged metadata file is refused here as for the first model
    shape = [int(v) for v in interpreter.get_output_details()[0]["shape"]]
    if shape != [int(v) for v in output_shape]:
        raise ValueError(
            f"{path}: gives scores of shape {shape}, the first model {[int(v) for v in output_shape]}; "
            "an ensemble needs models of one input size and one set of classes"
        )
    return interpreter


def invoke_scores(interpreter, images: np.ndarray, seconds: list[float] | None = None) -> np.ndarray:
    """(N, S, S) float images in [0, 1] → (N, S, S, C) dequantized class scores (logits for echolite exports), one
    batch-1 invoke each; the time of each invoke alone is appended to ``seconds``."""
    given, wanted = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    return np.stack(
        [
            dequantize(
                invoke_tensor(interpreter, given, wanted, quantize(image[None, ..., None], given), seconds), wanted
            )[0]
            for image in images
        ]
    )


def invoke_tensor(interpreter, given: dict, wanted: dict, x: np.ndarray, seconds: list[float] | None) -> np.ndarray:
    """Set the input tensor, invoke, read the output tensor; the time of the three is appended to ``seconds``."""
    begin = time.perf_counter()
    interpreter.set_tensor(given["index"], x)
    interpreter.invoke()
    y = interpreter.get_tensor(wanted["index"])
    if seconds is not None:
        seconds.append(time.perf_counter() - begin)
    return y


def argmax_labels(scores: np.ndarray) -> np.ndarray:
    """``np.argmax(scores, -1)`` as uint8, by a knockout over the classes: neighbouring groups are compared
    elementwise and the higher one's value and label go on (ties to the lower class, as with argmax), the label by
    arithmetic on the comparison. Several times faster than numpy's argmax over a short last axis."""
    groups = [(scores[..., c], c) for c in range(scores.shape[-1])]
    while len(groups) > 1:
        final = len(groups) == 2  # its value is not needed
        merged = []
        for (low, low_label), (high, high_label) in zip(groups[::2], groups[1::2]):
            wins = (high > low).view(np.uint8)  # the high group's labels are all above the low group's
            gap = high_label - low_label
            step = wins if np.isscalar(gap) and gap == 1 else wins * gap
            merged.append((None if final else np.maximum(low, high), step + low_label))
        groups = merged + ([groups[-1]] if len(groups) % 2 else [])
    label = groups[0][1]
    return (
        label.astype(np.uint8, copy=False)
        if isinstance(label, np.ndarray)
        else np.full(scores.shape[:-1], label, np.uint8)
    )


def frame_files(source: Path) -> list[Path]:
    """The files to segment: ``source`` itself, or the images, .npy, DICOM and video files of a folder in natural
    order (frame2 before frame10: a cine loop's order)."""
    from echolite_edge.sources import is_loop_file

    source = Path(source)
    if source.is_dir():
        return sorted(
            (p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + (".npy",) or is_loop_file(p)),
            key=natural_key,
        )
    return [source]


def natural_key(path: Path) -> list:
    """Sort key of a file name with its runs of digits compared as numbers."""
    import re

    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", path.name)]


def read_source(path: Path):
    """Any input file as a ``sources.Loop``: a DICOM or video file by its reader (with the scanner's pixel size and
    frame rate), an image, a .npy frame or a .npy stack (T, H, W) as gray frames with neither."""
    from echolite_edge.sources import Loop, is_loop_file, read_loop

    path = Path(path)
    if is_loop_file(path):
        return read_loop(path)
    if path.suffix.lower() != ".npy":
        return Loop(file=path, frames=check_frame_size(read_image(path), path)[None])
    array = load_npy(path)
    if array.ndim not in (2, 3):
        raise ValueError(f"{path}: expected a frame (H, W) or a stack (T, H, W), got shape {array.shape}")
    if looks_like_colour(array.shape):
        raise ValueError(
            f"{path}: shape {array.shape} looks like one colour frame (H, W, channels); give a gray "
            "frame (H, W) or a stack of gray frames (T, H, W)"
        )
    frames = array if array.ndim == 3 else array[None]
    if len(frames) == 0:
        raise ValueError(f"{path}: a stack of no frames, shape {array.shape}")
    check_frame_size(frames[0], path)
    return Loop(file=path, frames=np.stack([to_gray8(frame, path) for frame in frames]))


def output_stem(path: Path) -> str:
    """A file's name without its suffix, where the suffix is a format's (``frame.png``, ``IM_0001.dcm``); a scanner's
    suffix-less file keeps its whole name (``1.2.840.1.7`` and ``1.2.840.1.8`` must not both become ``1.2.840.1``)."""
    from echolite_edge.sources import DICOM_SUFFIXES, VIDEO_SUFFIXES

    path = Path(path)
    known = IMAGE_SUFFIXES + (".npy",) + DICOM_SUFFIXES + VIDEO_SUFFIXES
    return path.stem if path.suffix.lower() in known else path.name


def frame_names(loop) -> list[str]:
    """The names a loop's masks get: the file's stem, and the frame number when it has several frames."""
    stem = output_stem(loop.file)
    return [f"{stem}_{t:04d}" for t in range(len(loop.frames))] if len(loop.frames) > 1 else [stem]


def read_frames_of(path: Path) -> list[tuple[str, np.ndarray]]:
    """(name, 2D gray uint8 frame) for an image, or for each frame of a .npy stack (T, H, W), a DICOM or a video."""
    loop = read_source(path)
    return list(zip(frame_names(loop), loop.frames))


def read_one_frame(path: Path) -> np.ndarray:
    """The frame of an image or a one-frame .npy (a stack is a ``ValueError``): what a timing runs on."""
    frames = read_frames_of(path)
    if len(frames) != 1:
        raise ValueError(f"{path}: a stack of {len(frames)} frames; --image times one frame (--cine times a loop)")
    return frames[0][1]


def write_outputs(seg: Segmentation, gray: np.ndarray, out: Path, qc_failed: list[str] | None = None) -> None:
    """``<name>_mask.png`` (labels × 85, CAMUS style) and ``<name>_overlay.png`` (``overlay_image``, with the
    quality-control verdict ``qc_failed`` marked: the failed criteria, [] for a pass, None for none), zlib level 1:
    at the default level PNG encoding took most of a frame's time in a cine loop."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    Image.fromarray((seg.mask * 85).astype(np.uint8)).save(out / f"{seg.name}_mask.png", compress_level=1)
    Image.fromarray(overlay_image(gray, seg, qc_failed)).save(out / f"{seg.name}_overlay.png", compress_level=1)


def overlay_image(gray: np.ndarray, seg: Segmentation, qc_failed: list[str] | None = None) -> np.ndarray:
    """What a person looks at: the frame at its own size with each structure blended in its colour, the edges
    drawn from the model's grid (``smooth_overlay``, not the blocky nearest-neighbour mask), a colour legend, and,
    with ``qc_failed`` given, the verdict: a passing frame says so in a corner; a failing one gets a red frame
    around the image and the failed criteria written on it."""
    from echolite_edge.marks import mark_quality, paste_legend

    rgb = smooth_overlay(gray, seg.labels) if seg.labels.shape != gray.shape[:2] else overlay(gray, seg.mask)
    paste_legend(rgb)
    if qc_failed is not None:
        mark_quality(rgb, qc_failed)
    return rgb


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB uint8: the frame in gray, each structure blended 40 % with its colour (``labels.COLORS``)."""
    pixels = _gray8(gray)
    rgb = np.repeat(pixels[..., None], 3, axis=-1)
    heart = (mask > 0) & (mask < 256)
    rgb[heart] = _blend_table()[mask[heart], pixels[heart]]
    return rgb


def smooth_overlay(gray: np.ndarray, labels: np.ndarray, opacity: float = 0.4) -> np.ndarray:
    """``overlay`` of labels on a coarser grid, at the frame's size with smooth edges: each structure's indicator
    is resized bilinearly (a sloped edge where nearest neighbour gives steps of the grid's pixels), then sharpened
    to a ramp about one frame pixel wide (anti-aliased, not blurred). Only the heart's bounding box is resized and
    blended: a few milliseconds a frame."""
    from PIL import Image

    pixels = _gray8(gray)
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
    base = pixels[top:bottom, left:right].astype(np.float32)
    kept, blended = np.ones_like(base), np.full((*base.shape, 3), 0.5, np.float32)  # 0.5: rounds when truncated
    for label, color in COLORS.items():
        indicator = Image.fromarray(((labels == label) * 255).astype(np.uint8))
        weight = ramp[np.asarray(indicator.resize((right - left, bottom - top), Image.BILINEAR, box=source))]
        kept -= weight
        blended += weight[..., None] * np.asarray(color, np.float32)
    kept *= base
    blended += kept[..., None]
    rgb[top:bottom, left:right] = np.clip(blended, 0, 255, out=blended).astype(np.uint8)
    return rgb


def _gray8(gray: np.ndarray) -> np.ndarray:
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
