"""Segment frames with any trained model: one ``Segmenter`` for a run folder, a ``.keras`` file or an exported
``.tflite`` (``load_segmenter``), ``MaskSpec`` for everything that decides a model's masks (model, ensemble,
test-time augmentation, post-processing), or read the masks another tool produced (``read_predictions``).

The TFLite path loads and (de)quantizes with the device runner's code (``echolite_edge.segmenter``), so the library
and the device feed the interpreter identically; test-time augmentation (``tta``) is the device's too
(``echolite_edge.tta``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from echolite.data.cases import to_labels
from echolite.data.frames import FrameSet
from echolite.data.io import ALL_SUFFIXES, read_frame, stem_of, suffix_of
from echolite.data.run_split import frames_for_split
from echolite.errors import EcholiteError
from echolite.evaluation.postprocess import PostprocessConfig, postprocess
from echolite.pretrained import resolve_model
from echolite.run import RunDir
from echolite_edge.image import check_frame_size, model_input, resize_nearest
from echolite_edge.segmenter import check_segmentation_io, invoke_scores, load_interpreter
from echolite_edge.tta import check_tta, softmax, tta_probabilities, tta_scores

MODEL_SUFFIXES = (".keras", ".tflite")


class Segmenter(Protocol):
    source: Path
    input_size: int

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        """(N, S, S) float images in [0, 1] on the model grid → (N, S, S) uint8 argmax labels."""


@dataclass(frozen=True)
class MaskSpec:
    """How to segment: the model (a run folder, ``.keras``, ``.tflite`` or a shipped model's name), the
    ``ensemble`` of more models whose class probabilities are averaged with it, the test-time augmentation ``tta``
    (``echolite_edge.tta.TTA_MODES``) and the post-processing ``post`` (None: the raw argmax). One value, so every
    command and workflow that segments decides the masks alike and a new step is added in one place. ``model`` is
    None where the masks come from elsewhere (another tool's, the experts'): then only ``post`` applies."""

    model: Path | None = None
    ensemble: tuple[Path, ...] = ()
    tta: str = "none"
    post: PostprocessConfig | None = PostprocessConfig()

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", resolve_model(self.model))
        object.__setattr__(self, "ensemble", tuple(resolve_model(p) for p in self.ensemble))
        try:
            check_tta(self.tta)
        except ValueError as exc:
            raise EcholiteError(str(exc)) from None

    @property
    def needs_model(self) -> bool:
        """Whether anything beyond post-processing is asked for (test-time augmentation or an ensemble)."""
        return self.tta != "none" or bool(self.ensemble)

    def segmenter(self) -> Segmenter:
        """The model with its ensemble and test-time augmentation, loaded (``load_segmenter``)."""
        if self.model is None:
            raise EcholiteError("no model to segment with: give a run folder, a .keras or a .tflite file")
        return load_segmenter(self.model, self.tta, self.ensemble)

    def segmented_split(self, data: str, split: str, split_file: str | None = None):
        """The model loaded and one split of ``data`` on its grid (the run's own split where the model is a run's):
        (segmenter, ``data.run_split.frames_for_split``'s result)."""
        segmenter = self.segmenter()
        return segmenter, frames_for_split(data, split, RunDir.of(self.model), segmenter.input_size, split_file)

    def postprocessed(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` (one map or a stack) after ``post``; as they are without post-processing."""
        return labels if self.post is None else postprocess(labels, self.post)


def load_segmenter(path: Path, tta: str = "none", ensemble: tuple[Path, ...] = ()) -> Segmenter:
    """A run folder (its ``model.keras``), a ``.keras`` file or an exported ``.tflite``; ``tta``: a test-time
    augmentation mode of ``echolite_edge.tta.TTA_MODES``; ``ensemble``: more models (any of those kinds) whose
    class probabilities are averaged with ``path``'s (``EnsembleSegmenter``)."""

    try:
        check_tta(tta)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
    if ensemble:
        return EnsembleSegmenter([load_segmenter(p) for p in (path, *ensemble)], tta)
    path = Path(path)
    if path.suffix == ".tflite":
        if not path.is_file():
            raise EcholiteError(f"{path}: file not found")
        return TFLiteSegmenter(path, tta=tta)
    if not path.exists():
        raise EcholiteError(f"{path}: no model found (expected a run folder, a .keras or a .tflite file)")
    if not path.is_dir() and path.suffix != ".keras":
        raise EcholiteError(f"{path}: unsupported model file (use a run folder, a .keras or a .tflite file)")
    return KerasSegmenter(path, tta=tta)  # its weights checked by ``keras_file``


def check_grid(images: np.ndarray, segmenter: Segmenter) -> None:
    """``images`` is a stack (N, S, S) on the segmenter's grid; anything else is one clear error, not the
    interpreter's or the model's shape complaint."""
    size = segmenter.input_size
    if np.ndim(images) != 3 or tuple(np.shape(images)[1:]) != (size, size):
        raise EcholiteError(
            f"{segmenter.source}: predict_labels takes frames (N, {size}, {size}) on the model's grid, got shape "
            f"{np.shape(images)}; echolite.load_model(...).segment(frame) takes one frame of any size"
        )


class FrameSegmenter:
    """One frame of any size segmented as the commands segment it, as ``masks`` says: the frame on the model's
    grid, the model's labels (with its test-time augmentation and ensemble), the post-processing, and the labels
    back at the frame's size. What ``echolite.load_model`` returns."""

    def __init__(self, masks: MaskSpec):
        self.masks, self.segmenter = masks, masks.segmenter()
        self.source, self.input_size = self.segmenter.source, self.segmenter.input_size

    def segment(self, frame: np.ndarray) -> np.ndarray:
        """(H, W) labels (0 background, 1 LV, 2 MYO, 3 LA) of a 2D gray frame: uint8 0–255 or float 0–1."""
        frame = np.asarray(frame)
        if frame.ndim != 2:
            raise EcholiteError(f"segment: expected one gray 2D frame (H, W), got shape {frame.shape}")
        try:
            check_frame_size(frame, "segment")
        except ValueError as exc:
            raise EcholiteError(str(exc)) from None
        labels = self.segmenter.predict_labels(model_input(frame, self.input_size)[None])[0]
        return resize_nearest(self.masks.postprocessed(labels), frame.shape)


def is_model(path: Path) -> bool:
    """A run folder or a model file (as opposed to, e.g., a folder of predicted masks)."""
    path = Path(path)
    return path.suffix in MODEL_SUFFIXES or (path / RunDir.MODEL).exists()


class KerasSegmenter:
    """The ``image -> seg`` graph of a trained Keras model, batched through a compiled predict."""

    def __init__(self, path: Path, batch_size: int = 8, tta: str = "none"):
        self.source, self.model, self.batch_size = Path(path), load_keras_model(path), batch_size
        self.input_size, self.tta = int(self.model.input_shape[1]), tta

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        check_grid(images, self)
        probs = tta_scores(images, self.predict_probabilities, self.tta, logits=False)
        return np.argmax(probs, axis=-1).astype(np.uint8)

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float images in [0, 1] → (N, H, W, C) class probabilities (no test-time augmentation)."""
        return predict_probabilities(self.model, images, self.batch_size)


class TFLiteSegmenter:
    """A batch-1 ``image -> mask`` TFLite model; ``predict_scores`` gives the dequantized class scores."""

    def __init__(self, model: Path | bytes, threads: int = 2, tta: str = "none"):
        self.tta = tta
        self.source = Path(model) if not isinstance(model, (bytes, bytearray)) else Path("<converted model>")
        try:
            self.interpreter = load_interpreter(model, threads)
            check_segmentation_io(self.interpreter, self.source)
        except ValueError as exc:
            raise EcholiteError(str(exc)) from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.input_size = int(self.input["shape"][1])

    def predict_scores(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float images in [0, 1] → (N, H, W, C) dequantized class scores (logits for echolite exports,
        whose argmax is the label)."""

        return invoke_scores(self.interpreter, images)

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        check_grid(images, self)
        return np.argmax(tta_scores(images, self.predict_scores, self.tta), axis=-1).astype(np.uint8)

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax(self.predict_scores(images))


class EnsembleSegmenter:
    """Several models of one input size segment as one: the mean of their class probabilities decides, for each
    view of the test-time augmentation ``tta``. Exported members are averaged as the device runner averages them
    (the softmax of each one's scores, then the mean: ``EdgeSegmenter.probabilities``), so both give the same
    masks."""

    def __init__(self, members: list, tta: str = "none"):
        sizes = {m.input_size for m in members}
        if len(sizes) > 1:
            raise EcholiteError(
                "ensemble: the models take different input sizes "
                f"({', '.join(f'{m.source}: {m.input_size}' for m in members)}); use models of one size"
            )
        self.members, self.tta = members, tta
        self.source, self.input_size = members[0].source, sizes.pop()

    def predict_labels(self, images: np.ndarray) -> np.ndarray:
        check_grid(images, self)
        return np.argmax(tta_probabilities(images, self.predict_probabilities, self.tta), axis=-1).astype(np.uint8)

    def predict_probabilities(self, images: np.ndarray) -> np.ndarray:
        return np.mean([m.predict_probabilities(images) for m in self.members], axis=0)


def keras_file(path: Path) -> Path:
    """The ``.keras`` file of a run folder (its ``model.keras``) or the file itself, checked to be one."""
    path = Path(path)
    if path.is_dir():  # its split and data are the run's: without its config they would be guessed
        RunDir.require(path)
    file = RunDir(path).model if path.is_dir() else path
    if not file.exists():
        raise EcholiteError(f"{path}: no model found (expected a run folder with {RunDir.MODEL} or a .keras file)")
    if file.suffix != ".keras":
        raise EcholiteError(f"{path}: not Keras weights (use a run folder or a .keras file)")
    if not zipfile.is_zipfile(file):
        raise EcholiteError(f"{file}: not a Keras model file (a .keras file is a zip archive; this one is not)")
    return file


def load_keras_model(path: Path):
    """A run folder (its ``model.keras``) or a ``.keras`` file, cut to the ``image -> seg`` graph."""
    from echolite.models.layers import load_saved_model  # Keras: loaded on use, the .tflite path needs none
    from echolite.models.unet import inference_model  # Keras: loaded on use, the .tflite path needs none

    file = keras_file(path)
    model = load_saved_model(file)
    try:
        return inference_model(model)
    except ValueError:
        raise EcholiteError(f"{file}: not an echolite model (no 'image' input and 'seg' output layers)") from None


def predict_labels(model, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """(N, H, W) images in [0, 1] → (N, H, W) uint8 argmax labels, batched through a compiled predict."""
    return np.argmax(predict_probabilities(model, images, batch_size), axis=-1).astype(np.uint8)


def predict_probabilities(model, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """(N, H, W) images in [0, 1] → (N, H, W, C) class probabilities of an ``image -> seg`` model."""
    return model.predict(images[..., None].astype(np.float32), batch_size=batch_size, verbose=0)


def read_predictions(folder: Path, frames: FrameSet) -> np.ndarray:
    """Masks named after the frames (``<frame_id>[_pred|_seg|_mask|_gt].{png,nii.gz,npy,...}``), labels 0–3 or
    0/85/170/255, at the original size or already on the model grid. Every frame must have one."""

    folder = Path(folder)
    if not folder.is_dir():
        raise EcholiteError(f"{folder}: predictions folder not found")
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if suffix_of(path) in ALL_SUFFIXES:
            stem = stem_of(path)
            for tail in ("_pred", "_seg", "_mask", "_gt"):
                stem = stem.removesuffix(tail)
            found.setdefault(stem, []).append(path)
    missing = [f for f in frames.frame_ids if f not in found]
    if missing:
        raise EcholiteError(f"{folder}: no prediction for {len(missing)} of {len(frames)} frames, e.g. {missing[0]}")
    twice = next((f for f in frames.frame_ids if len(found[f]) > 1), None)
    if twice:
        raise EcholiteError(
            f"{found[twice][1]}: a second prediction for frame {twice} (also {found[twice][0].name}); keep one"
        )
    by_name = {frame_id: paths[0] for frame_id, paths in found.items()}
    size = frames.masks.shape[1]
    out = np.empty_like(frames.masks)
    for i, frame_id in enumerate(frames.frame_ids):
        mask, _ = read_frame(by_name[frame_id])
        shapes = {tuple(int(v) for v in frames.original_shapes[i]), (size, size)}
        if mask.shape[:2] not in shapes:
            raise EcholiteError(
                f"{by_name[frame_id]}: mask of {mask.shape[1]}x{mask.shape[0]} pixels; its frame is "
                f"{frames.original_shapes[i][1]}x{frames.original_shapes[i][0]} (or give masks on the "
                f"{size}x{size} model grid)"
            )
        out[i] = resize_nearest(to_labels(mask, by_name[frame_id]), (size, size))
    return out
