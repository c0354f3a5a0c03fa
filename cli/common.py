"""What the commands share: a lazily sized progress bar and number formatting."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click


@contextmanager
def progress_bar(label: str):
    """A ``progress(step, total)`` callback for the library; the bar appears at the first step."""
    bars = []

    def progress(step: int, total: int) -> None:
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr, width=30))
            bars[0].__enter__()
        bars[0].update(step)

    try:
        yield progress
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


def without_nan(value):
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def num(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt9(value) -> str:
    return f"{'-':>9}" if value is None else f"{value:>9.3f}"
