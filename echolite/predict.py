"""Segment frames with a trained model (run folder or ``.keras``), or read masks another tool produced."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.data.io import ALL_SUFFIXES, read_frame, stem_of, suffix_of
from echolite.errors import EcholiteError


def load_keras_model(path: Path):
    """A run folder (its ``model.keras``) or a ``.keras`` file, cut to the ``image -> seg`` graph."""
    import keras

    import echolite.losses  # noqa: F401  registers the custom objects for loading
    from echolite.models import inference_model

    path = Path(path)
    file = path / "model.keras" if path.is_dir() else path
    if not file.exists():
        raise EcholiteError(f"{path}: no model found (expected a run folder with model.keras, or a .keras file)")
    if file.suffix != ".keras":
        raise EcholiteError(f"{path}: unsupported model file (use a run folder or a .keras file)")
    try:
        model = keras.models.load_model(file, compile=False)
    except (ValueError, OSError, TypeError) as exc:
        raise EcholiteError(f"{file}: cannot load the model ({str(exc).splitlines()[0][:160]})") from None
    return inference_model(model)


def predict_labels(model, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """(N, H, W) images in [0, 1] → (N, H, W) uint8 argmax labels, batched through a compiled predict."""
    probs = model.predict(images[..., None].astype(np.float32), batch_size=batch_size, verbose=0)
    return np.argmax(probs, axis=-1).astype(np.uint8)


def read_predictions(folder: Path, frames: FrameSet) -> np.ndarray:
    """Masks named after the frames (``<frame_id>[_pred|_seg|_mask|_gt].{png,nii.gz,npy,...}``), labels 0–3 or
    0/85/170/255, at the original size or already on the model grid. Every frame must have one."""
    from echolite.data.cases import resize_mask, to_labels

    folder = Path(folder)
    if not folder.is_dir():
        raise EcholiteError(f"{folder}: predictions folder not found")
    by_name = {}
    for path in folder.iterdir():
        if suffix_of(path) in ALL_SUFFIXES:
            stem = stem_of(path)
            for tail in ("_pred", "_seg", "_mask", "_gt"):
                stem = stem.removesuffix(tail)
            by_name[stem] = path
    missing = [f for f in frames.frame_ids if f not in by_name]
    if missing:
        raise EcholiteError(f"{folder}: no prediction for {len(missing)} of {len(frames)} frames, e.g. {missing[0]}")
    size = frames.masks.shape[1]
    out = np.empty_like(frames.masks)
    for i, frame_id in enumerate(frames.frame_ids):
        mask, _ = read_frame(by_name[frame_id])
        out[i] = resize_mask(to_labels(mask, by_name[frame_id]), size)
    return out
