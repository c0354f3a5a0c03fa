"""Writers of small files in real data layouts, and the tiniest training command, shared by the tests."""

import numpy as np
import SimpleITK as sitk

TINY_TRAIN = ["train", "--preset", "unet0", "--image-size", "64", "--phantom-frames", "12", "--epochs", "1"]
"""``echolite train`` on 12 phantom frames of 64 pixels for one epoch: seconds, for the commands' own tests."""


def write_medical(array, path, spacing=(0.3, 0.2)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing + (1.0,) * (array.ndim - 2))  # (x = columns, y = rows[, frames])
    sitk.WriteImage(image, str(path))


def camus_release(root, frames, suffix, folder):
    for i, frame_id in enumerate(frames.frame_ids):
        patient = f"patient{int(frames.patients[i][-4:]) + 1:04d}"
        name = f"{patient}_4CH_{frames.phases[i]}"
        d = root / folder / patient
        d.mkdir(parents=True, exist_ok=True)
        write_medical((frames.images[i] * 255).astype(np.uint8), d / f"{name}{suffix}")
        write_medical(frames.masks[i], d / f"{name}_gt{suffix}")
        (d / "Info_4CH.cfg").write_text(
            "ED: 1\nES: 12\nNbFrame: 14\nSex: F\nAge: 61\nImageQuality: Good\nEF: 57.5\nFrameRate: 40\n"
        )
        if frames.phases[i] == "ED":
            loop = np.stack([(frames.images[i] * 255).astype(np.uint8)] * 3)
            write_medical(loop, d / f"{patient}_4CH_half_sequence{suffix}")


def replay_library_segmenter(monkeypatch, labels, size: int = 128) -> None:
    """Every ``MaskSpec`` segments by replaying ``labels`` (T, H, W) as the network's probabilities (0.925 on the
    label, 0.025 elsewhere), frame after frame, after one warm-up call: the library's loop measured on known masks."""
    from echolite.inference import MaskSpec

    one_hot = np.eye(4, dtype=np.float32)[labels] * 0.9 + 0.025

    class Replay:
        input_size = size
        given = None

        def predict_probabilities(self, batch):
            start = Replay.given or 0
            Replay.given = 0 if Replay.given is None else start + len(batch)
            return one_hot[start : start + len(batch)]

    monkeypatch.setattr(MaskSpec, "segmenter", lambda masks: Replay())


class StandInSegmenter:
    """Stands in for the device's ``EdgeSegmenter``: ``labels_for(gray)`` gives a frame's labels (on any grid) as the
    network's part (``infer``, in ``seconds``); ``finish`` wraps them as the segmentation, with ``confidence``."""

    seconds = 0.001
    confidence = None
    threads = 1  # nothing for a loop to share (``cine.split_threads``)

    def infer(self, gray):
        from echolite_edge.segmenter import Inference

        return Inference(self.labels_for(gray), gray.shape, self.seconds, self.seconds)

    def finish(self, inference, name="", full_size=True):
        from echolite_edge.image import resize_nearest
        from echolite_edge.segmenter import Segmentation

        labels = inference.scores
        mask = resize_nearest(labels, inference.shape) if full_size else None
        return Segmentation(name, mask, inference.seconds_invoke, 2 * inference.seconds, labels, self.confidence)


class ReplaySegmenter(StandInSegmenter):
    """Stands in for the interpreter: the given label maps frame after frame (from the first again after the
    last), so the device's QC, loop and outputs run on known masks; ``confidence``: each frame's LV confidence."""

    def __init__(self, labels, confidence=None):
        self.labels, self.confidence, self.given = labels, confidence, 0

    def labels_for(self, gray):
        labels = self.labels[self.given % len(self.labels)]
        self.given += 1
        return labels
