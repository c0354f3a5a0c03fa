"""``echolite ablate`` (Tables V and VI) and ``echolite cross-evaluate`` (Table VIII)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from echolite.errors import EcholiteError
from echolite_edge.words import counted


@click.command(short_help="Run an ablation study (Tables V, VI) from a plan; resumable.")
@click.argument("plan")
@click.option("--data", default="phantom", show_default=True, help="Data folder or 'phantom'.")
@click.option("--split-file", type=click.Path(path_type=Path), help="YAML/JSON with train, val, test patient lists.")
@click.option("--out", type=click.Path(path_type=Path), help="Ablation folder (default ablations/PLAN).")
@click.option("--epochs", type=int, help="Epochs for every variant (overrides the plan).")
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    help="Variants of a step trained in parallel processes (one GPU each when there are GPUs).",
)
@click.option(
    "--rule",
    help="How variants are ranked, overriding the plan's: mean_<metric>[_<structure>], e.g. "
    "mean_dice, mean_hd_mm, mean_mad_mm_epi (metrics: dice, hd, hd_px, hd_mm, mad_px, mad_mm; "
    "structures: lv, myo, la, epi; none: the mean over lv, myo, la).",
)
@click.option("--show", is_flag=True, help="Print the resolved variants of the plan and exit.")
def ablate(plan, data, split_file, out, epochs, workers, rule, show):
    """Run an ablation: PLAN is a YAML file or a built-in plan (paper, tiny). Rerun to resume."""
    from echolite.workflows.ablation.plan import (  # on use: keeps `echolite --help` fast
        describe,
        load_plan,
        with_epochs,
        with_rule,
    )
    from echolite.workflows.ablation.study import ablate as run_ablation  # on use: keeps `echolite --help` fast

    chosen = with_rule(with_epochs(load_plan(plan), epochs), rule)
    split = str(split_file) if split_file else None
    if show:
        click.echo(json.dumps(describe(chosen, data, split), indent=2))
        return
    if out is None:  # the plan's name names the study's folder
        if Path(chosen.name).name != chosen.name or chosen.name in (".", ".."):
            raise EcholiteError(f"plan name {chosen.name!r} cannot name a folder under ablations/; give --out")
        out = Path("ablations") / chosen.name
    click.echo(f"echolite ablate: plan {chosen.name} ({counted(len(chosen.steps), 'step')}) on {data} -> {out}")
    result = run_ablation(chosen, out, data, split, workers, log=lambda line: click.echo(f"ablate: {line}", err=True))
    click.echo(result.md_path.read_text())
    click.echo(f"wrote {result.md_path} and {result.csv_path}")


@click.command("cross-evaluate", short_help="Dice of each run on each test set (Table VIII).")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--test",
    "tests",
    multiple=True,
    required=True,
    metavar="NAME=PATH",
    help="A test set (repeatable), e.g. --test CAMUS=../camus --test HUNT4=../hunt4.",
)
@click.option(
    "--split",
    type=click.Choice(["test", "val"]),
    default="test",
    show_default=True,
    help="Split used when a run is tested on its own data set (other sets are used whole).",
)
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for cross_dataset.md and .csv.")
def cross_evaluate(runs, tests, split, no_postprocess, out):
    """Table VIII: Dice of each RUN (rows: the data it was trained on) on each test set × structure."""
    from echolite.workflows.cross_dataset import cross_evaluate as run_cross  # on use: keeps `echolite --help` fast
    from echolite.workflows.cross_dataset import parse_test_set  # on use: keeps `echolite --help` fast

    result = run_cross(
        list(runs),
        [parse_test_set(t) for t in tests],
        split,
        not no_postprocess,
        out,
        log=lambda line: click.echo(line, err=True),
    )
    click.echo("\n".join(result.table))
    if result.files:
        click.echo("wrote " + " and ".join(str(f) for f in result.files))
