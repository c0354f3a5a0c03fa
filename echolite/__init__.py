"""echolite: lightweight cardiac ultrasound segmentation (Kjelsrud et al.), Keras 3 on TensorFlow.

The public Python API. ``import echolite`` loads nothing heavy (the command line and the device runner stay fast);
``load_model`` loads Keras or a TFLite interpreter when it is called::

    import echolite
    model = echolite.load_model("camus-edge-rt")  # a shipped model, a run folder, a .keras or an exported .tflite
    labels = model.segment(frame)  # (H, W) gray frame of any size -> (H, W) labels: 0 bg, 1 LV, 2 MYO, 3 LA
"""

from __future__ import annotations

from echolite.version import __version__
from echolite_edge.labels import LABELS


def load_model(path, tta: str = "none", ensemble=(), postprocess=None):
    """A trained model, ready to segment frames of any size (``echolite.inference.FrameSegmenter``): ``path`` is a
    shipped model's name (``camus-edge-rt``, ``camus-lw-unet``), a run folder, a ``.keras`` file or an exported
    ``.tflite``; ``tta`` a test-time augmentation mode (``none``,
    ``zoom``, ``zoom-gamma``); ``ensemble`` more models whose class probabilities are averaged with it;
    ``postprocess`` an ``echolite.evaluation.postprocess.PostprocessConfig`` (default: the commands' default)."""
    from echolite.evaluation.postprocess import PostprocessConfig  # on use: `import echolite` stays light
    from echolite.inference import FrameSegmenter, MaskSpec  # on use: `import echolite` stays light

    return FrameSegmenter(MaskSpec(path, tuple(ensemble), tta, postprocess or PostprocessConfig()))


__all__ = ["LABELS", "__version__", "load_model"]
