"""Data: the phantom, readers for real layouts, splits, augmentation and the tf.data pipeline."""

from __future__ import annotations

from pathlib import Path

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError


def load_frames(source: str, size: int = 256, phantom_frames: int = 200, seed: int = 0) -> FrameSet:
    """``source`` is ``"phantom"`` or a folder in a supported layout (detected from its contents)."""
    if source == "phantom":
        from echolite.data.phantom import make_phantom

        return make_phantom(phantom_frames, seed=seed, size=size)
    root = Path(source)
    if not root.is_dir():
        raise EcholiteError(f"{root}: data folder not found (use --data phantom for the built-in phantom)")
    from echolite.data.png_export import is_png_export, read_png_export

    if is_png_export(root):
        return read_png_export(root, size)
    raise EcholiteError(f"{root}: no supported layout found (expected img/ and ref/ folders of a CAMUS PNG export)")


__all__ = ["FrameSet", "load_frames"]
