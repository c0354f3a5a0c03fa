"""Write frames in the CAMUS PNG-export layout, readable back by ``png_export``, and phantom cine loops."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from echolite.data.frames import FrameSet
from echolite.data.layouts import PHANTOM_MARKER
from echolite.data.phantom import make_phantom, make_phantom_loop, phantom_contraction, phantom_spacing_mm
from echolite.errors import EcholiteError, check_writable
from echolite_edge.files import atomic_path, write_json


def write_png_export(frames: FrameSet, root: Path) -> None:
    """``root/img/<frame>.png`` (8-bit image) and ``root/ref/<frame>_gt.png`` (labels × 85)."""
    try:
        (root / "img").mkdir(parents=True, exist_ok=True)
        (root / "ref").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EcholiteError(f"{root}: cannot create output folder ({exc.strerror or exc})") from None
    for image, mask, frame_id in zip(frames.images, frames.masks, frames.frame_ids):
        Image.fromarray(np.round(image * 255).astype(np.uint8)).save(root / "img" / f"{frame_id}.png")
        Image.fromarray((mask * 85).astype(np.uint8)).save(root / "ref" / f"{frame_id}_gt.png")


def write_phantom(out: Path, count: int = 16, seed: int = 0, size: int = 256) -> Path:
    """``count`` phantom frames in the PNG-export layout under ``out``, their settings and pixel size in
    ``phantom.json`` (so the folder reads back at the phantom's own spacing) and a ``preview.png`` grid; returns
    the preview's path."""
    from echolite.plots import save_preview_grid  # matplotlib on use: only a written figure needs it

    if count < 1 or size < 32:
        raise EcholiteError(f"phantom: need at least 1 frame of at least 32 pixels, got {count} frames of {size}")
    folders, preview = (Path(out) / "img", Path(out) / "ref"), Path(out) / "preview.png"
    held = [d for d in folders if d.is_dir() and any(d.iterdir())]
    if held:  # new frames mixed with old ones would pass for one data set
        raise EcholiteError(f"{held[0]}: already holds files; choose an empty folder for the phantom")
    if preview.is_dir():
        raise EcholiteError(f"{preview}: is a folder; choose another --out for the phantom")
    check_writable(Path(out), "the phantom")
    frames = make_phantom(count, seed=seed, size=size)
    try:
        write_png_export(frames, Path(out))
        settings = {"generator": "echolite phantom", "frames": count, "seed": seed, "size": size}
        write_json(Path(out) / PHANTOM_MARKER, settings | {"spacing_mm": round(float(frames.spacing_mm[0, 0]), 6)})
        save_preview_grid(frames, preview)
    except BaseException:  # img/ and ref/ held nothing before: leave no half-written set behind
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        (Path(out) / PHANTOM_MARKER).unlink(missing_ok=True)
        raise
    return preview


LOOP_FPS, LOOP_SECONDS, LOOP_HEART_RATE = 25, 4, 72
"""A phantom loop: 4 s at 25 frames/s (40 ms a frame, which a GIF stores exactly), 72 beats/min: about 5 beats."""


def write_phantom_loop(out: Path, seed: int = 0, size: int = 256) -> tuple[Path, float]:
    """A phantom patient's beating heart as ``out/loop.gif`` (the frame rate in the file, as a scanner's video
    export carries it); returns its path and pixel size in mm (which a GIF cannot carry)."""
    check_writable(Path(out), "the phantom loop")
    contraction = phantom_contraction(LOOP_FPS * LOOP_SECONDS, LOOP_FPS, LOOP_HEART_RATE)
    images, _ = make_phantom_loop(contraction, seed, size=size, images=True)
    frames = [Image.fromarray(np.round(image * 255).astype(np.uint8)) for image in images]
    path = Path(out) / "loop.gif"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        frames[0].save(partial, save_all=True, append_images=frames[1:], duration=1000 // LOOP_FPS, loop=0)
    return path, phantom_spacing_mm(size)
