"""Frame input: the files to segment, found in a folder in a cine loop's order, and read as loops of gray frames
(an image, a .npy frame or stack, a scanner's DICOM or video file), with the names their outputs get."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from echolite_edge.image import IMAGE_SUFFIXES, check_frame_size, load_npy, looks_like_colour, read_image, to_gray8
from echolite_edge.sources import DICOM_SUFFIXES, VIDEO_SUFFIXES, Loop, is_loop_file, is_video


def frame_files(source: Path) -> list[Path]:
    """The files to segment: ``source`` itself, or the images, .npy, DICOM and video files of a folder in natural
    order (frame2 before frame10: a cine loop's order)."""
    source = Path(source)
    if source.is_dir():
        return sorted(
            (p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + (".npy",) or is_loop_file(p)),
            key=natural_key,
        )
    return [source]


def natural_key(path: Path) -> list:
    """Sort key of a file name with its runs of digits compared as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", path.name)]


def read_source(path: Path):
    """Any input file as a ``sources.Loop``: a DICOM or video file by its reader (with the scanner's pixel size and
    frame rate), an image, a .npy frame or a .npy stack (T, H, W) as gray frames with neither."""
    path = Path(path)
    if is_loop_file(path):
        return read_loop(path)
    if path.suffix.lower() != ".npy":
        return Loop(file=path, frames=check_frame_size(read_image(path), path)[None])
    array = load_npy(path)
    if array.ndim not in (2, 3):
        raise ValueError(f"{path}: expected a frame (H, W) or a stack (T, H, W), got shape {array.shape}")
    if looks_like_colour(array.shape):
        raise ValueError(
            f"{path}: shape {array.shape} looks like one colour frame (H, W, channels); give a gray "
            "frame (H, W) or a stack of gray frames (T, H, W)"
        )
    frames = array if array.ndim == 3 else array[None]
    if len(frames) == 0:
        raise ValueError(f"{path}: a stack of no frames, shape {array.shape}")
    check_frame_size(frames[0], path)
    if frames.dtype != np.uint8:  # 8-bit frames are used as read (a copy of a long loop costs a frame's time)
        frames = np.stack([to_gray8(frame, path) for frame in frames])
    return Loop(file=path, frames=frames)


def output_stem(path: Path) -> str:
    """A file's name without its suffix, where the suffix is a format's (``frame.png``, ``IM_0001.dcm``); a scanner's
    suffix-less file keeps its whole name (``1.2.840.1.7`` and ``1.2.840.1.8`` must not both become ``1.2.840.1``)."""
    path = Path(path)
    known = IMAGE_SUFFIXES + (".npy",) + DICOM_SUFFIXES + VIDEO_SUFFIXES
    return path.stem if path.suffix.lower() in known else path.name


def frame_names(loop) -> list[str]:
    """The names a loop's masks get: the file's stem, and the frame number when it has several frames."""
    stem = output_stem(loop.file)
    return [f"{stem}_{t:04d}" for t in range(len(loop.frames))] if len(loop.frames) > 1 else [stem]


def read_frames_of(path: Path) -> list[tuple[str, np.ndarray]]:
    """(name, 2D gray uint8 frame) for an image, or for each frame of a .npy stack (T, H, W), a DICOM or a video."""
    loop = read_source(path)
    return list(zip(frame_names(loop), loop.frames))


def read_one_frame(path: Path) -> np.ndarray:
    """The frame of an image or a one-frame .npy (a stack is a ``ValueError``): what a timing runs on."""
    frames = read_frames_of(path)
    if len(frames) != 1:
        raise ValueError(f"{path}: a stack of {len(frames)} frames; --image times one frame (--cine times a loop)")
    return frames[0][1]


def missing_extra(path: Path, kind: str, extra: str) -> ValueError:
    return ValueError(
        f'{path}: a {kind} file; reading it needs the "{extra}" extra: pip install "echolite-edge[{extra}]"'
    )


def read_loop(path: Path) -> Loop:
    """The loop of one DICOM or video file. A corrupt or truncated file is a ``ValueError`` naming it, a file that
    holds no 2D B-mode image a ``NotBMode``; without the reader's extra installed, a ``ValueError`` naming it."""
    path = Path(path)
    if is_video(path):
        try:
            from echolite_edge.video import read_video  # an optional extra: PyAV
        except ImportError:  # PyAV is not installed: the video extra
            raise missing_extra(path, "video", "video") from None
        return read_video(path)
    try:
        from echolite_edge.dicom import read_dicom  # an optional extra: pydicom
    except ImportError:  # pydicom is not installed: the dicom extra
        raise missing_extra(path, "DICOM", "dicom") from None
    return read_dicom(path)


def study_files(folder: Path) -> list[Path]:
    """The DICOM and video files of a folder (a study), in natural order; [] when it holds none."""
    return sorted((p for p in Path(folder).iterdir() if is_loop_file(p)), key=natural_key)
