"""A quiet console for the commands: native libraries (TensorFlow's C++ start-up lines, the TFLite converter, the
XNNPACK delegate's "INFO: Created ..." line) write to file descriptor 2 directly, past Python. While a command
runs, descriptor 2 goes to /dev/null and Python's ``sys.stderr`` keeps writing to the terminal, so the console
holds the command's own lines only (``--verbose`` shows everything). The Python API leaves the caller's stderr
alone."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 to /dev/null for the block. A ``sys.stderr`` written to descriptor 2 moves to a copy of it, so
    Python's lines still reach the real standard error; one that writes elsewhere (a test's capture) stays."""
    sys.stderr.flush()
    saved = os.dup(2)
    previous = sys.stderr
    if _writes_to_descriptor_2(previous):
        sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=previous.encoding, errors="replace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        if sys.stderr is not previous:
            sys.stderr.close()
            sys.stderr = previous
        os.dup2(saved, 2)
        os.close(saved)


def _writes_to_descriptor_2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):  # no descriptor: a test's or a notebook's capture
        return False
