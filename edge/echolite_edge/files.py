"""Output paths, checked before any work so a command that cannot write fails at once and leaves nothing."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable_reason(path: Path) -> str | None:
    """Why ``path`` (a file or folder to be created) cannot be written, or None: the nearest existing folder on the
    way must be a folder, and writable."""
    existing = next(p for p in (Path(path), *Path(path).absolute().parents) if p.exists())
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None
