"""Output paths, checked before any work so a command that cannot write fails at once and leaves nothing."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
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


RUN_FILES = ("config.json", "summary.json", "history.csv", "curves.png", "model*.keras", "model*.tflite", "model*.json")
"""Files a run folder (one holding config.json) keeps: training writes them, export adds its models."""
REPORT_MARKERS = ("frames.csv", "measurements.csv", "results.json", "cross_dataset.csv", "shifts.csv")
REPORT_FILES = (
    "frames.csv",
    "summary.json",
    "measurements.csv",
    "bland_altman*.png",
    "lv_area.png",
    "report.html",
    "report-*.html",
    "results.json",
    "cross_dataset.*",
    "shifts.*",
    "*_mask.png",
    "*_overlay.png",
)
"""Files of the reports evaluate (and its scanner shifts), measure, cross-evaluate and the device runner write (each
marked by one file)."""


def owner_of(path: Path) -> str | None:
    """The run or report an existing file at ``path`` belongs to ("the run X"), or None: a command writing
    something else there would destroy another command's output."""

    path = Path(path)
    if not path.is_file():
        return None
    folder = path.parent
    if (folder / "config.json").is_file() and any(fnmatch(path.name, p) for p in RUN_FILES):
        return f"the run {folder}"
    if folder.name == "worst" and (folder.parent / "frames.csv").is_file():
        return f"the report {folder.parent}"
    if any((folder / m).is_file() for m in REPORT_MARKERS) and any(fnmatch(path.name, p) for p in REPORT_FILES):
        return f"the report {folder}"
    return None


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A hidden temporary path beside ``path`` to write to: it becomes ``path`` when the block succeeds and is removed
    when it fails, so an error or a kill never leaves a half-written file under the real name. The temporary name
    keeps ``path``'s suffixes (Keras, h5, numpy and matplotlib choose their format by them)."""
    path = Path(path)
    stem, dot, suffixes = path.name.partition(".")
    tmp = path.with_name(f".{stem}.partial-{os.getpid()}{dot}{suffixes}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write text (UTF-8) or bytes to ``path`` whole or not at all (``atomic_path``)."""
    with atomic_path(path) as tmp:
        if isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")


def check_output_folder(out: Path) -> None:
    """Before any work: ``out`` (a folder to create or replace) can be written."""
    reason = unwritable_reason(out)
    if reason:
        raise ValueError(f"{out}: cannot write there ({reason})")


def check_report_file(path: Path, what: str) -> None:
    """Before any work: ``path`` may hold ``what`` (an earlier one is replaced), and is no file of a run or a
    report, which writing there would destroy."""
    reason = "a folder" if path.is_dir() else unwritable_reason(path.parent)
    if reason:
        raise ValueError(f"{path}: cannot write {what} there ({reason})")
    owner = owner_of(path)
    if owner:
        raise ValueError(f"{path}: a file of {owner}; write {what} elsewhere")


def write_json(path: Path, content: dict) -> None:
    """``content`` as indented JSON, whole or not at all, the parent folders created."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(content, indent=2) + "\n")


@contextmanager
def building_folder(out: Path) -> Iterator[Path]:
    """A hidden folder beside ``out`` to build an output in: it replaces ``out`` whole when the block succeeds
    (``replace_folder``) and is removed when it fails, so ``out`` is never half-built."""
    out = Path(out)
    # left by a run killed outright (SIGKILL, power)
    remove_leftovers(out.parent.glob(f".{out.name}.partial-*"), lambda name: name.rpartition("-")[2])
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    partial.mkdir(parents=True)
    try:
        yield partial
        replace_folder(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def remove_leftovers(folders: Iterable[Path], pid_of: Callable[[str], str]) -> None:
    """Remove each folder whose writer (the process id ``pid_of`` reads from its name) no longer runs: a folder
    left by a process killed outright, which could not clean up after itself."""
    for folder in folders:
        pid = pid_of(folder.name)
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: a folder it was writing is a leftover once it does not."""
    try:
        os.kill(pid, 0)  # no signal: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


def replace_folder(partial: Path, out: Path) -> None:
    """``partial`` (a finished output) becomes ``out``; an earlier output there is replaced whole, not mixed with
    this one, and comes back if the move fails."""
    earlier = out.parent / f".{out.name}.earlier-{os.getpid()}"
    if out.exists():
        os.replace(out, earlier)
    try:
        os.replace(partial, out)
    except OSError:
        if earlier.exists():
            os.replace(earlier, out)
        raise
    shutil.rmtree(earlier, ignore_errors=True)
