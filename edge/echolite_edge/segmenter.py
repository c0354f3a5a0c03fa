"""The segmenter: an exported echolite model on one frame of any size, as the tensorflow/examples segmenters run
theirs: preprocess (gray, resize to the model's grid, quantize as the metadata says) → invoke → argmax →
post-process (the largest component per structure, the anatomical repairs) → labels resized back to the frame.
numpy and a TFLite interpreter only."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite_edge.image import model_input, resize_nearest
from echolite_edge.labels import LABELS, LV
from echolite_edge.loop_qc import lv_softmax_margin, scores_where, softmax_margin
from echolite_edge.postprocess import CLOSE_DEFAULT, check_close_mode, postprocess_labels
from echolite_edge.tta import check_tta, softmax, tta_probabilities


def load_interpreter(model: Path | bytes, threads: int):
    """A file path or the model's bytes; ai-edge-litert, else tflite_runtime, else tf.lite; threads always set."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # whichever interpreter the device has: LiteRT first
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter  # older devices (Python below 3.12)
        except ImportError:
            from tensorflow.lite import Interpreter  # a machine with TensorFlow (deprecated there)
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
    # Python numbers, as the interpreter gives them: a float32 input stays float32 through every step (numpy
    # scalars would make the first step float64 but not the in-place ones)
    scale, zero_point = float(detail["quantization"][0]), int(detail["quantization"][1])
    info = np.iinfo(dtype)
    scaled = x / scale  # then in place: the same float32 steps as a formula, without its temporaries
    scaled += zero_point
    np.round(scaled, out=scaled)
    return np.clip(scaled, info.min, info.max, out=scaled).astype(dtype)


def dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if detail["dtype"] == np.float32:
        return y
    scale, zero_point = detail["quantization"]
    return (y.astype(np.float32) - zero_point) * scale


@dataclass
class Inference:
    """A frame through the network, before post-processing (``EdgeSegmenter.infer``)."""

    scores: np.ndarray  # (S, S, C): the raw output of one model and view, else the mean class probabilities
    shape: tuple[int, ...]  # the frame's
    seconds_invoke: float
    seconds: float  # pre-processing and invokes


@dataclass
class Segmentation:
    name: str
    mask: np.ndarray | None  # labels at the original size (None when not asked for: ``finish(full_size=False)``)
    seconds_invoke: float
    seconds_total: float
    labels: np.ndarray  # on the model's grid, post-processed: what quality control checks (as the library does)
    lv_confidence: float | None = None  # mean softmax margin over the LV (``loop_qc.lv_softmax_margin``)
    whole: frozenset[int] = frozenset()  # structures ``labels`` holds in one piece (``postprocess_labels``)


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
        interpreter = load_interpreter(model_path, threads)
        check_segmentation_io(interpreter, model_path)
        self.input = interpreter.get_input_details()[0]
        self.output = interpreter.get_output_details()[0]
        self.size = int(self.input["shape"][1])
        self.members = [interpreter] + [_member(Path(p), threads, self.output["shape"]) for p in ensemble]
        self.threads, self._models = threads, (model_path, *map(Path, ensemble))

    def set_threads(self, threads: int) -> None:
        """Run on ``threads`` interpreter threads from now on: the models are loaded again at that count (the
        interpreters before are let go, so one copy of each model is held)."""
        if threads != self.threads:
            self.members = [load_interpreter(path, threads) for path in self._models]
            self.threads = threads

    @property
    def interpreter(self):
        """The first (or only) model's interpreter."""
        return self.members[0]

    @property
    def plain(self) -> bool:
        """One model, one view: its raw output decides (no probabilities averaged)."""
        return self.tta == "none" and len(self.members) == 1

    def segment(self, gray: np.ndarray, name: str = "") -> Segmentation:
        """``gray``: a 2D uint8 (0–255) or float (0–1) frame of any size, its labels on the grid and at its size."""
        return self.finish(self.infer(gray), name)

    def infer(self, gray: np.ndarray) -> Inference:
        """The network's part of ``segment``: pre-processing and the invokes. A cine loop runs it for the next frame
        while another thread ``finish``es this one."""
        start = time.perf_counter()
        invoke_seconds = []
        # One model, one view: the raw output's argmax (dequantizing scales by a positive number, order stays);
        # else the argmax of the mean class probabilities over the views and the models.
        if self.plain:
            scores = self.invoke_raw(self.preprocess(gray), invoke_seconds)[0]
        else:
            views = model_input(gray, self.size)[None]
            scores = tta_probabilities(views, lambda v: self.probabilities(v, invoke_seconds), self.tta)[0]
        return Inference(scores, gray.shape, sum(invoke_seconds), time.perf_counter() - start)

    def finish(self, inference: Inference, name: str = "", full_size: bool = True) -> Segmentation:
        """The rest of ``segment``: labels from the scores, post-processed, the LV confidence, and with
        ``full_size`` the labels at the frame's size."""
        start = time.perf_counter()
        labels, whole = postprocess_labels(argmax_labels(inference.scores), **self.repairs)
        confidence = self.lv_confidence(inference.scores, labels)
        mask = resize_nearest(labels, inference.shape) if full_size else None
        seconds = inference.seconds + time.perf_counter() - start
        return Segmentation(name, mask, inference.seconds_invoke, seconds, labels, confidence, whole)

    def lv_confidence(self, scores: np.ndarray, labels: np.ndarray) -> float:
        """The network's confidence in the LV of ``labels``: from the raw output (logits, dequantized only at the
        LV's pixels) on the plain path, else from the mean probabilities."""
        if self.plain:
            return softmax_margin(dequantize(scores_where(scores, labels == LV), self.output))
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
