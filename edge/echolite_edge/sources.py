"""What a scanner's files are, and what reading one gives: the ``Loop`` the DICOM (``dicom.py``, pydicom) and video
(``video.py``, PyAV) readers return, and how a file is recognised as one of theirs.

Both readers are optional extras of the device package (``pip install "echolite-edge[dicom]"``, ``[video]``): the
core needs only numpy, Pillow and a TFLite interpreter (``frames.read_loop`` says which extra a file needs). A
``Loop`` holds gray frames, the frame rate and the pixel size with where each came from, and notes on what was
decided (a crop, a region chosen). Nothing that identifies a patient is kept: a loop is named by its file name and
instance number only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from echolite_edge.image import IMAGE_SUFFIXES

DICOM_SUFFIXES = (".dcm", ".dicom")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".gif")
DICOM_MAGIC_OFFSET = 128  # a DICOM file: a 128-byte preamble, then b"DICM"


@dataclass(frozen=True)
class Loop:
    """One loop (or still frame) as read from a scanner's file."""

    file: Path
    frames: np.ndarray  # (T, H, W) uint8 gray (luminance), cropped to the tissue region when there is one
    fps: float | None = None
    fps_from: str | None = None  # the attribute or container field the frame rate came from
    spacing_mm: tuple[float, float] | None = None  # (row, column) pixel size; None: volumes in pixel units
    spacing_from: str | None = None
    instance: int | None = None  # DICOM InstanceNumber
    notes: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        """The loop as outputs name it: its file name, and its instance number when it has one."""
        return self.file.name if self.instance is None else f"{self.file.name} (instance {self.instance})"

    def describe(self) -> dict:
        """What a report says about the loop: nothing but the file, the instance and numbers read from it."""
        return {
            "name": self.name,
            "file": self.file.name,
            "instance": self.instance,
            "frames": int(self.frames.shape[0]),
            "size": [int(self.frames.shape[1]), int(self.frames.shape[2])],
            "fps": self.fps,
            "fps_from": self.fps_from,
            "spacing_mm": list(self.spacing_mm) if self.spacing_mm else None,
            "spacing_from": self.spacing_from,
            "notes": list(self.notes),
        }


class NotBMode(ValueError):
    """The file holds no 2D B-mode image (a Doppler or M-mode strip, a report, another modality): in a study
    folder it is listed and skipped, given alone it is an error."""


def is_dicom(path: Path) -> bool:
    """A DICOM file by its suffix, or by the ``DICM`` marker scanners' suffix-less files (IM_0001) carry."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    if path.suffix and path.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES + (".npy", ".json", ".txt"):
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(DICOM_MAGIC_OFFSET)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def is_video(path: Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_loop_file(path: Path) -> bool:
    """A file one of the scanner readers takes (DICOM or video), rather than an image or .npy frame file."""
    path = Path(path)
    return path.is_file() and (is_video(path) or is_dicom(path))
