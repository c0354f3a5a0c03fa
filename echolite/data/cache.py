"""On-disk cache of decoded, resized frames, so a second run does not re-decode medical files.

The key hashes the layout, the grid size, the assumed spacing and every case file's path, size and modification
time (a MetaImage header's data file too), so any change to the data or the assumptions makes a new entry. Entries
are written to a temporary file and renamed: never half-written.
Location: ``$ECHOLITE_CACHE`` or ``~/.cache/echolite``; ``ECHOLITE_CACHE=off`` turns the cache off. Each new entry is
announced on the ``echolite`` logger (the commands print it as a note): decoded clinical frames on disk are a data
governance question, never a silent one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from echolite.data.cases import Case
from echolite.data.frames import FrameSet
from echolite.data.io import stored_files
from echolite_edge.files import atomic_path

_TEXT_FIELDS = ("frame_ids", "patients", "views", "phases")
_ARRAY_FIELDS = ("images", "masks", "spacing_mm", "original_shapes")


LOG = logging.getLogger("echolite")


def cache_dir() -> Path | None:
    """Where entries live, or None with ``ECHOLITE_CACHE=off``."""
    chosen = os.environ.get("ECHOLITE_CACHE", "")
    if chosen.lower() == "off":
        return None
    return Path(chosen or Path.home() / ".cache" / "echolite")  # empty: unset


def cache_key(layout: str, cases: list[Case], size: int, skip_bad: bool) -> str:
    digest = hashlib.sha256(f"v4|{layout}|{size}|{skip_bad}".encode())  # v4: frames read by the v4 rules
    for case in cases:
        digest.update(f"|{case.default_spacing_mm}".encode())
        given = [p for p in (case.image_path, case.mask_path) if p is not None]
        for path in (stored for p in given for stored in stored_files(p)):
            try:  # an unreadable file (a broken link) is keyed as such; loading names or skips it
                stat = path.stat()
                digest.update(b"|" + os.fsencode(path.resolve()) + f"|{stat.st_size}|{stat.st_mtime_ns}".encode())
            except OSError as exc:
                digest.update(b"|" + os.fsencode(path) + f"|{exc.errno}".encode())
    return digest.hexdigest()[:24]


def load_cached(key: str) -> tuple[FrameSet, list[str]] | None:
    folder = cache_dir()
    path = folder / f"{key}.npz" if folder else None
    if path is None or not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: data[name] for name in _ARRAY_FIELDS}
    except Exception:  # noqa: BLE001 (any unreadable entry, truncated, emptied, not a zip): decode again, overwrite it
        return None
    return FrameSet(**arrays, **{name: meta[name] for name in _TEXT_FIELDS}), meta["skipped"]


def save_cached(key: str, frames: FrameSet, skipped: list[str]) -> None:
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {name: getattr(frames, name) for name in _TEXT_FIELDS} | {"skipped": skipped}
        with atomic_path(folder / f"{key}.npz") as tmp:
            np.savez(tmp, meta=json.dumps(meta), **{name: getattr(frames, name) for name in _ARRAY_FIELDS})
    except OSError:
        return  # a cache that cannot be written only costs time
    size_mb = (folder / f"{key}.npz").stat().st_size / 1e6
    LOG.info(
        "decoded frames cached in %s (%.0f MB; ECHOLITE_CACHE=off turns the cache off, ECHOLITE_CACHE=DIR moves it)",
        folder,
        size_mb,
    )
