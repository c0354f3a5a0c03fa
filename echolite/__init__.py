"""echolite: lightweight cardiac ultrasound segmentation (Kjelsrud et al.), Keras 3 on TensorFlow.

This module imports nothing heavy so `echolite --help` and the edge runner stay fast; import the
submodules (``echolite.models``, ``echolite.training.trainer``, ...) for the real work.
"""

__version__ = "0.1.0"

from echolite_edge.labels import LABELS

__all__ = ["LABELS", "__version__"]
