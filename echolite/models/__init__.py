"""Model builders (``unet``), their custom layers (``layers``) and what a model costs (``compute``).

Importing this package loads Keras and registers echolite's custom layers, so ``keras.models.load_model`` reads an
echolite ``.keras`` file after ``import echolite.models``. The presets (data only) live in ``echolite.presets``.
"""

from echolite.models.layers import BilinearUpsample, NearestUpsample, load_saved_model
from echolite.models.unet import build_model, build_unet, inference_model

__all__ = ["BilinearUpsample", "NearestUpsample", "build_model", "build_unet", "inference_model", "load_saved_model"]
