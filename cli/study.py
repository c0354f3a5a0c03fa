"""``echolite ablate`` (Tables V and VI) and ``echolite cross-evaluate`` (Table VIII)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from echolite.errors import EcholiteError


@click.command()
@click.argument("plan")
@click.option("--data", default="phantom", show_default=True, help="Data folder or 'phantom'.")
@click.option("--split-file", type=click.Path(path_type=Path), help="YAML/JSON with train, val, test patient lists.")
@click.option("--out", type=click.Path(path_type=Path), help="Study folder (default studies/PLAN).")
@click.option("--epochs", type=int, help="Epochs for every variant (overrides the plan).")
@click.option("--workers", type=int, default=1, show_default=True,
              help="Variants of a step trained in parallel processes (one GPU each when there are GPUs).")
@click.option("--show", is_flag=True, help="Print the resolved variants of the plan and exit.")
def ablate(plan, data, split_file, out, epochs, workers, show):
    """Run an incremental study: PLAN is a YAML file or a built-in plan (paper, tiny). Rerun to resume."""
    from echolite.ablation import load_plan, make_runner, resolve, run_study, write_tables
    from echolite.config import TrainConfig

    study = load_plan(plan)
    if epochs is not None:
        if epochs <= 0:
            raise EcholiteError(f"--epochs must be a positive integer, got {epochs}")
        study.baseline = {**study.baseline, "epochs": epochs}
    if workers < 1:
        raise EcholiteError(f"--workers must be at least 1, got {workers}")
    defaults = TrainConfig(data=data, split_file=str(split_file) if split_file else None)
    if show:
        click.echo(json.dumps(_describe(study, defaults, resolve), indent=2))
        return
    out = out or Path("studies") / study.name
    click.echo(f"echolite ablate: plan {study.name} ({len(study.steps)} steps) on {data} -> {out}")
    runner = make_runner(out, study.score_split, workers, log=lambda line: click.echo(f"ablate: {line}", err=True))
    rows = run_study(study, out, defaults, runner, log=lambda line: click.echo(f"ablate: {line}"))
    csv_path, md_path = write_tables(rows, out, study)
    click.echo(md_path.read_text())
    click.echo(f"wrote {md_path} and {csv_path}")


def _describe(study, defaults, resolve) -> dict:
    """Each step's variants as changes on the baseline (the study itself decides what is carried forward)."""
    base = resolve(study.baseline, {}, "baseline", defaults)
    return {"name": study.name, "rule": study.rule, "score_split": study.score_split,
            "baseline": {"model": dataclasses.asdict(base.model), "train": dataclasses.asdict(base.train),
                         "postprocess": base.postprocess},
            "steps": [{"name": s["name"], "variants": s["variants"]} for s in study.steps]}


@click.command("cross-evaluate")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--test", "tests", multiple=True, required=True, metavar="NAME=PATH",
              help="A test set (repeatable), e.g. --test CAMUS=../camus --test HUNT4=../hunt4.")
@click.option("--split", type=click.Choice(["test", "val"]), default="test", show_default=True,
              help="Split used when a run is tested on its own data set (other sets are used whole).")
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for cross_dataset.md and .csv.")
def cross_evaluate(runs, tests, split, no_postprocess, out):
    """Table VIII: Dice of each RUN (rows: the data it was trained on) on each test set × structure."""
    from echolite.config import load_run_config
    from echolite.evaluate import STRUCTURES, score_frames, summarize
    from echolite.postprocess import PostprocessConfig

    from echolite.cli.common import input_size, load_any_model, load_with_split, predict, select_split

    sets = [_named_path(t) for t in tests]
    loaded_sets: dict = {}  # a foreign set is loaded once for all runs (per input size)
    rows = []
    for run in runs:
        if not (run / "config.json").exists():
            raise EcholiteError(f"{run}: not a run folder (no config.json)")
        trained_on = load_run_config(run / "config.json")[1].data
        network = load_any_model(run)
        row = {"run": str(run), "trained_on": _display_name(trained_on, sets)}
        for name, path in sets:
            own = _same_data(path, trained_on)
            key = (path, run if own else None, input_size(network))
            if key not in loaded_sets:
                loaded_sets[key] = load_with_split(*key)
            frames = select_split(*loaded_sets[key], split if own else "all", path).frames
            click.echo(f"{run} on {name} ({split if own else 'all'}, {len(frames)} frames)", err=True)
            scores = score_frames(predict(network, frames), frames, None if no_postprocess else PostprocessConfig())
            for structure, value in summarize(scores)["dice"].items():
                row[f"{name}_{structure}"] = value
        rows.append(row)
    table = _cross_table(rows, [name for name, _ in sets], STRUCTURES)
    click.echo("\n".join(table))
    if out:
        _write_cross(out, rows, table)


def _named_path(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise EcholiteError(f"--test {text!r}: expected NAME=PATH, e.g. CAMUS=../shared/data/camus4ch")
    if path != "phantom" and not Path(path).exists():
        raise EcholiteError(f"--test {name}: {path} does not exist")
    return name, path


def _same_data(a: str, b: str) -> bool:
    return a == b if "phantom" in (a, b) else Path(a).resolve() == Path(b).resolve()


def _display_name(data: str, sets: list[tuple[str, str]]) -> str:
    return next((name for name, path in sets if _same_data(path, data)), data)


def _cross_table(rows: list[dict], names: list[str], structures) -> list[str]:
    header = ["Trained on", "Model"] + [f"{n} {s}" for n in names for s in structures]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["trained_on"], Path(r["run"]).name] + [
            "–" if r.get(f"{n}_{s}") is None else f"{r[f'{n}_{s}']:.3f}" for n in names for s in structures]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _write_cross(out: Path, rows: list[dict], table: list[str]) -> None:
    import csv

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "cross_dataset.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / "cross_dataset.md").write_text("# Cross-dataset Dice (Table VIII)\n\n" + "\n".join(table) + "\n")
    click.echo(f"wrote {out / 'cross_dataset.md'} and {out / 'cross_dataset.csv'}")
