"""The export formats: one table that the exporter, the command line, the run folder and the benchmark all read.

Every export is a batch-1 ``image -> class logits`` TFLite model with its metadata beside it, named by the run
folder (``echolite.run.RunDir.export_name``).
"""

from __future__ import annotations

from dataclasses import dataclass

from echolite.errors import EcholiteError


@dataclass(frozen=True)
class ExportFormat:
    mode: str
    description: str
    input_dtype: str
    output_dtype: str
    calibrated: bool  # needs representative frames (full-integer quantization)


FORMATS: dict[str, ExportFormat] = {
    f.mode: f
    for f in (
        ExportFormat("int8", "full-integer int8, calibrated on training frames (the default)", "int8", "int8", True),
        ExportFormat("fp16", "float16 weights, float compute", "float32", "float32", False),
        ExportFormat("dynamic", "dynamic-range int8 weights, float activations", "float32", "float32", False),
        ExportFormat("fp32", "float32, the Keras model as it is", "float32", "float32", False),
    )
}
MODES = tuple(FORMATS)
DEFAULT_MODE = "int8"


def get_format(mode: str) -> ExportFormat:
    if mode not in FORMATS:
        raise EcholiteError(f"unknown export mode {mode!r}; choose one of: {', '.join(MODES)}")
    return FORMATS[mode]
