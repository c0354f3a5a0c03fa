"""``echolite data inspect`` and ``echolite data preview``."""

from __future__ import annotations

from pathlib import Path

import click

from echolite.cli.common import progress_bar
from echolite.config import AUGMENTATIONS, SEED_MAX
from echolite.errors import EcholiteError
from echolite_edge.words import counted


@click.group(short_help="Look at a data folder before training on it.")
def data():
    """Look at a data folder before training on it."""


@data.command("inspect", short_help="Layout, patients, sizes, labels and every problem of a data folder.")
@click.argument("path", type=click.Path(path_type=Path))
def data_inspect(path):
    """Report layout, patients, views, phases, sizes, spacings, labels and every problem; of a DICOM or video file
    or a study folder of them, each loop's frames, size, pixel size and frame rate, and what was skipped."""
    from echolite.data.inspect import holds_loops, inspect_data, inspect_loops  # on use: keeps `echolite --help` fast

    if holds_loops(path):
        with progress_bar("reading") as progress:
            _print_loops(inspect_loops(path, progress), path)
        return
    with progress_bar("reading") as progress:
        report = inspect_data(path, progress)
    click.echo(f"layout    {report.layout}  ({report.root})")
    click.echo(f"patients  {report.patients}")
    click.echo(f"frames    {report.frames}")
    click.echo(f"views     {_counts(report.views)}")
    click.echo(f"phases    {_counts(report.phases)}")
    sizes = report.sizes.most_common()
    click.echo(
        f"sizes     {len(sizes)} distinct (rows×cols): "
        + ", ".join(f"{r}×{c} ({n})" for (r, c), n in sizes[:4])
        + (" ..." if len(sizes) > 4 else "")
    )
    click.echo(
        "spacing   "
        + ", ".join(
            f"{s if isinstance(s, str) else f'{s[0]}×{s[1]} mm'} ({n})" for s, n in report.spacings.most_common(3)
        )
        + (f"; {report.spacing_source}" if report.spacing_source else "")
    )
    click.echo(f"labels    {sorted(report.labels)}")
    click.echo(f"pixels    {_counts(report.intensities) or '-'}  (how stored values become 8-bit gray: docs/data.md)")
    split = (
        ", ".join(f"{k} {v}" for k, v in report.split.items()) if report.split else "none (seeded 80/10/10 by patient)"
    )
    click.echo(f"split     {split}")
    click.echo(f"sequences {report.sequences}")
    click.echo(f"problems  {len(report.problems)}")
    for problem in report.problems:
        click.echo(f"  {problem}")
    if report.problems:
        raise EcholiteError(f"{path}: {counted(len(report.problems), 'problem')}, listed above")
    click.echo(f"next: echolite train --data {path}")


@data.command("preview", short_help="PNG grid of frames beside their augmented versions.")
@click.argument("path")
@click.option(
    "--augment",
    type=click.Choice(AUGMENTATIONS),
    default="affine",
    show_default=True,
    help="Augmentation preset to show.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("preview.png"),
    show_default=True,
    help="Figure to write (.png, .pdf or .svg).",
)
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True, help="Frames to show.")
@click.option(
    "--seed",
    type=click.IntRange(0, SEED_MAX),
    default=0,
    show_default=True,
    help="Seed of the random augmentations (the same seed, the same grid).",
)
def data_preview(path, augment, out, count, seed):
    """Write a PNG grid of augmented frames with mask outlines (PATH may be 'phantom')."""
    from echolite.data.inspect import preview_augmentation  # on use: keeps `echolite --help` fast

    preview_augmentation(path, augment, out, count, seed)
    click.echo(f"wrote {out}")


def _print_loops(report, path) -> None:
    """One line per loop, named by file and instance only (nothing that identifies the patient)."""
    counts = (len(report.loops), len(report.skipped), len(report.problems))
    click.echo(f"files     {sum(counts)}: {counts[0]} loops, {counts[1]} skipped, {counts[2]} unreadable")
    click.echo(f"loops     {len(report.loops)}  ({report.root})")
    for loop in report.loops:
        rate = f"{loop['fps']:.4g} frames/s from {loop['fps_from']}" if loop["fps"] else "frame rate unknown"
        pixel = (
            f"pixel {loop['spacing_mm'][0]:.4g} × {loop['spacing_mm'][1]:.4g} mm from {loop['spacing_from']}"
            if loop["spacing_mm"]
            else "pixel size unknown (volumes in pixel units unless --spacing)"
        )
        click.echo(f"  {loop['name']}: {loop['frames']} frames of {loop['size'][0]}×{loop['size'][1]}, {rate}, {pixel}")
        for note in loop["notes"]:
            click.echo(f"    {note}")
    click.echo("views     not classified: each loop is segmented as an apical view; choose the loops (docs/data.md)")
    click.echo(f"skipped   {len(report.skipped)}")
    for name, reason in report.skipped:
        click.echo(f"  {name}: {reason}")
    click.echo(f"problems  {len(report.problems)}")
    for problem in report.problems:
        click.echo(f"  {problem}")
    if report.problems:
        raise EcholiteError(f"{path}: {len(report.problems)} problem(s), listed above")


def _counts(counter) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items()))
