"""What the commands share: a lazily sized progress bar and number formatting."""

from __future__ import annotations

import functools
import logging
import math
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import click

from echolite_edge.console import native_stderr_silenced
from echolite_edge.postprocess import CLOSE_DEFAULT, CLOSE_MODES
from echolite_edge.tta import TTA_MODES


@contextmanager
def progress_bar(label: str):
    """A ``progress(step, total)`` callback for the library; the bar appears at the first step, and only on a
    terminal (a log file gets no bar)."""
    bars = []

    def progress(step: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if not bars:
            bars.append(click.progressbar(length=total, label=label, file=sys.stderr, width=30))
            bars[0].__enter__()
        bars[0].update(step)

    try:
        yield progress
    finally:
        if bars:
            bars[0].__exit__(None, None, None)


def batch_counter(step: int, steps: int) -> None:
    """``batch 3/16`` on a terminal's stderr, redrawn in place and cleared after the last batch of an epoch."""
    if not sys.stderr.isatty():
        return
    click.echo(f"\r  batch {step}/{steps}", nl=False, err=True)
    if step == steps:
        click.echo("\r" + " " * 24 + "\r", nl=False, err=True)


def mask_options(command):
    """The options that decide a model's masks, shared by the commands that predict: an ensemble, test-time
    augmentation and the optional post-processing steps. The command receives them, with its MODEL argument, as one
    ``masks`` value (``echolite.inference.MaskSpec``) built here once; with --no-postprocess (where the command has
    it) the masks are not post-processed."""

    @functools.wraps(command)
    def with_masks(*args, ensemble, tta, fill_enclosed, close_myocardium, detach_atrium, **kwargs):
        from echolite.evaluation.postprocess import PostprocessConfig  # on use: keeps `echolite --help` fast
        from echolite.inference import MaskSpec  # on use: keeps `echolite --help` fast

        post = PostprocessConfig(
            fill_enclosed=fill_enclosed, close_myocardium=close_myocardium, detach_atrium=detach_atrium
        )
        masks = MaskSpec(kwargs.get("model"), ensemble, tta, None if kwargs.get("no_postprocess") else post)
        return command(*args, masks=masks, **kwargs)

    options = [
        click.option(
            "--ensemble",
            type=click.Path(path_type=Path),
            multiple=True,
            metavar="MODEL",
            help="Another model (repeatable) averaged with MODEL: the mean class probabilities decide; one "
            "model call per model.",
        ),
        click.option(
            "--tta",
            type=click.Choice(list(TTA_MODES)),
            default="none",
            show_default=True,
            help="Test-time augmentation: zoom (3 views: zoomed 0.9, 1, 1.1), zoom-gamma (5: also gamma "
            "0.8 and 1.25); one model call per view, the mean probabilities decide.",
        ),
        click.option(
            "--fill-enclosed/--no-fill-enclosed",
            default=True,
            show_default=True,
            help="Post-processing fills the background the heart encloses (holes, gaps) with the structure around it.",
        ),
        click.option(
            "--close-myocardium",
            type=click.Choice(CLOSE_MODES),
            default=CLOSE_DEFAULT,
            show_default=True,
            help="Post-processing turns LV pixels touching the background, away from the LA, into "
            "myocardium: off (never), when-open (only in a mask whose LV is open to the background "
            "beyond the published criterion) or always.",
        ),
        click.option(
            "--detach-atrium/--no-detach-atrium",
            default=True,
            show_default=True,
            help="Post-processing turns myocardium that touches the LA but not the LV into background.",
        ),
    ]
    for option in reversed(options):
        with_masks = option(with_masks)
    return with_masks


def given_on_command_line(parameter: str) -> bool:
    """Whether the user gave ``parameter`` (not its default) to the running command."""
    source = click.get_current_context().get_parameter_source(parameter)
    return source == click.core.ParameterSource.COMMANDLINE


def without_nan(value):
    """JSON has no NaN: undefined numbers become null."""
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nan(v) for v in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def two_decimals(value) -> str:
    """A number with 2 decimals, or "-" for None."""
    return "-" if value is None else f"{value:.2f}"


def column9(value) -> str:
    """A number with 3 decimals right-aligned in 9 characters, or "-" for None."""
    return f"{'-':>9}" if value is None else f"{value:>9.3f}"


def quiet_console(ctx: click.Context) -> None:
    """For the rest of the command: TensorFlow's, the converter's and TFLite's own lines off the console (file
    descriptor 2 silenced, their Python loggers at errors, the interpreter's deprecation warning ignored), so stderr
    holds echolite's lines only."""
    ctx.with_resource(native_stderr_silenced())
    warnings.filterwarnings("ignore", message=r".*tf\.lite\.Interpreter is deprecated")
    for name in ("absl", "tensorflow", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)


class NoteHandler(logging.Handler):
    """The library's notes (the ``echolite`` logger, e.g. a new cache entry) as ``note: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"note: {record.getMessage()}", err=True)


def show_library_notes() -> None:
    logger = logging.getLogger("echolite")
    if not any(isinstance(h, NoteHandler) for h in logger.handlers):
        logger.addHandler(NoteHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False
