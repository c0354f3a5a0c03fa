"""The export formats: one table that the exporter, the command line, the run folder and the benchmark all read,
and the settings of an export (light: the command line builds its options from them without loading the exporter).

Every export is a batch-1 ``image -> class logits`` TFLite model with its metadata beside it, named by the run
folder (``echolite.run.RunDir.export_name``).
"""

from __future__ import annotations

import math
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


FLOAT_OPS = ("auto", "none")
"""auto: keep the ops of activations that break in int8 (Mish) in float; none: quantize everything."""


@dataclass(frozen=True)
class ExportSettings:
    mode: str = DEFAULT_MODE
    calib_data: str | None = None  # default: the run's own data
    calib_samples: int = 200
    float_ops: str = "auto"
    parity_threshold: float = 0.01
    qat_epochs: int = 0
    qat_lr: float = 1e-4
    averaged: bool = False  # export model_averaged.keras (TrainConfig.average_last) instead of model.keras

    def __post_init__(self) -> None:
        fmt = get_format(self.mode)
        if self.qat_epochs and not fmt.calibrated:
            raise EcholiteError("--qat trains for int8 exports only: use it with --int8")
        checks = {
            "--qat (epochs >= 0)": self.qat_epochs >= 0,
            "--calib-samples (>= 1)": self.calib_samples >= 1,
            "--qat-lr (> 0)": 0 < self.qat_lr < math.inf,
            "--parity-threshold (>= 0)": 0 <= self.parity_threshold < math.inf,
        }
        wrong = [option for option, ok in checks.items() if not ok]
        if wrong:
            raise EcholiteError(f"export settings: {', '.join(wrong)} out of range")
