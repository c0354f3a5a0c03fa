"""echolite: lightweight cardiac ultrasound segmentation (Kjelsrud et al.), Keras 3 on TensorFlow.

This module imports nothing heavy so `echolite --help` and the edge runner stay fast; import the
submodules (``echolite.models``, ``echolite.train``, ...) for the real work.
"""

__version__ = "0.1.0"

LABELS = ("background", "LV", "MYO", "LA")
"""CAMUS label convention: index = label value in every mask echolite reads or writes."""
