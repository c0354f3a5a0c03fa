"""``echolite evaluate`` and ``echolite compare``: the paper's metrics and paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import click

from echolite.cli.common import column9, given_on_command_line, mask_options, progress_bar
from echolite.config import SPLITS
from echolite.errors import EcholiteError
from echolite.evaluation.names import (
    CAMUS_STRUCTURES,
    METRICS,
    MISSED_DISTANCES,
    PAPER_STRUCTURES,
    SHIFT_NAMES,
    STRUCTURES,
)
from echolite_edge.postprocess import CLOSE_DEFAULT
from echolite_edge.words import counted

TITLES = {"LV": "LV endo", "EPI": "LV epi", "MYO": "MYO", "LA": "LA"}
MISSED_WORDS = {
    "nan": "NaN, left out of the means (counted as missed)",
    "diagonal": "the image diagonal, a penalty kept in the means",
}


@click.command(short_help="Dice, Hausdorff, MAD and outliers of a model on a split.")
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, help="Data folder (any supported layout) or 'phantom'.")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="test",
    show_default=True,
    help="Frames to score: the run's saved split, else the data's own, else seeded 80/10/10.",
)
@click.option(
    "--predictions", type=click.Path(path_type=Path), help="Score masks made by another tool instead of MODEL."
)
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax (no largest-component filtering).")
@mask_options
@click.option(
    "--missed-distance",
    type=click.Choice(MISSED_DISTANCES),
    default="nan",
    show_default=True,
    help="Hausdorff and MAD of a structure missed by the model (or only predicted): nan leaves the frame "
    "out of the means, as CAMUS and vital do; diagonal gives the image diagonal as a penalty.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Report folder: frames.csv, summary.json, worst-frame overlays [default: RUN/evaluation-SPLIT, "
    "or beside the model file].",
)
@click.option(
    "--shift",
    "shifts",
    multiple=True,
    type=click.Choice([*SHIFT_NAMES, "all"]),
    help="Score MODEL also under this scanner shift (repeatable; all: every one): Dice per structure beside the "
    "unshifted score, written to shifts.csv and shifts.md [default: RUN/evaluation-SPLIT-shifts].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def evaluate(
    model,
    data_path,
    split,
    predictions,
    no_postprocess,
    masks,
    missed_distance,
    out,
    shifts,
    as_json,
):
    """Dice, Hausdorff and MAD (px and mm) of LV endocardium, LV epicardium, myocardium and LA, missed structures
    and anatomical outliers of MODEL (a shipped model's name, a run folder, .keras or .tflite) on --data, by phase
    (ED/ES) and pooled."""
    from echolite.workflows.evaluation import evaluate as run_evaluation  # on use: keeps `echolite --help` fast
    from echolite.workflows.evaluation import worst_count  # on use: keeps `echolite --help` fast

    if (model is None) == (predictions is None):
        raise EcholiteError("give either MODEL or --predictions DIR")
    if no_postprocess and given_on_command_line("close_myocardium"):
        raise EcholiteError("--close-myocardium is a post-processing step: leave out --no-postprocess")
    if shifts:
        _shift_benchmark(masks, data_path, split, shifts, out, as_json)
        return
    with progress_bar("scoring") as progress:
        result = run_evaluation(masks, data_path, split, predictions, out, progress, missed_distance)
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
        return
    grid = "x".join(map(str, result.labels.shape[1:]))
    click.echo(_report(result.summary, _how_segmented(masks), grid))
    worst = worst_count(len(result.scores))
    click.echo(
        f"report: {result.out}: frames.csv, summary.json, overlays of the {counted(worst, 'worst frame')} of "
        f"{len(result.scores)} in {result.out / 'worst'}"
    )
    click.echo(f"next: echolite compare {result.out} OTHER_REPORT   (paired tests against another evaluation)")


@click.command(short_help="Paired Wilcoxon tests of two models or reports, boxplots.")
@click.argument("model_a", type=click.Path(path_type=Path))
@click.argument("model_b", type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder or 'phantom' (not needed for two evaluation outputs).")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="test",
    show_default=True,
    help="Frames to score where A or B is a model or masks: the run's saved split, else the data's own.",
)
@click.option("--no-postprocess", is_flag=True, help="Compare the raw argmax.")
@click.option(
    "--metric", "metrics", multiple=True, type=click.Choice(METRICS), help="Metric to test (repeatable) [default: all]."
)
@click.option(
    "--structure",
    "structures",
    multiple=True,
    type=click.Choice([s.lower() for s in STRUCTURES], case_sensitive=False),
    help="Structure to test (repeatable): lv (endocardium), myo, la, epi (LV epicardium) [default: all].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Boxplot figure (Fig. 3 of the paper; .png, .pdf or .svg), the table beside it as .csv with raw and "
    "Holm-corrected p [default: compare-A-vs-B.png beside the two reports].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the test table as JSON.")
def compare(model_a, model_b, data_path, split, no_postprocess, metrics, structures, out, as_json):
    """Paired Wilcoxon signed-rank tests between MODEL_A and MODEL_B on the same frames: Dice, Hausdorff and MAD
    per structure, p-values Holm-corrected across the tests run, boxplots. MODEL_A and MODEL_B are evaluate --out
    folders, run folders, .keras files, shipped model names or folders of predicted masks; or two measure --out
    folders, whose
    patients' EDV, ESV and EF errors against the expert masks are compared."""
    from echolite.workflows.evaluation import compare as run_comparison  # on use: keeps `echolite --help` fast
    from echolite.workflows.evaluation import default_comparison_figure  # on use: keeps `echolite --help` fast
    from echolite.workflows.measure import (  # on use: keeps `echolite --help` fast
        compare_measurements,
        is_measure_report,
    )

    if is_measure_report(model_a) and is_measure_report(model_b):
        result = compare_measurements(model_a, model_b, metrics, structures)
    else:
        out = out or default_comparison_figure(model_a, model_b)
        result = run_comparison(model_a, model_b, data_path, split, not no_postprocess, out, metrics, structures)
    if as_json:
        click.echo(json.dumps(result.rows, indent=2))
        return
    tested = sum(r["p"] is not None for r in result.rows)
    click.echo(
        f"{counted(result.n_frames, result.unit[:-1])}; A = {model_a} ({result.names[0]}), B = {model_b} "
        f"({result.names[1]}); paired Wilcoxon signed-rank, two-sided; p (Holm): Holm-corrected over the "
        f"{counted(tested, 'test')} run, what the verdicts use"
    )
    if result.unit == "patients":
        click.echo("absolute error against the expert masks' measurement; missed: patients that could not be measured")
    else:
        click.echo(f"Hausdorff and MAD of a missed structure: {MISSED_WORDS[result.missed_distance]}")
    click.echo(
        f"{'metric':<8}{'struct':<7}{'n':>5}{'mean A':>9}{'mean B':>9}{'B - A':>9}{'median':>9}{'p':>10}"
        f"{'p (Holm)':>10}{'missed A/B':>12}  verdict"
    )
    for r in result.rows:
        p, p_holm = ("-" if value is None else f"{value:.3g}" for value in (r["p"], r["p_holm"]))
        missed = f"{r['missed_a']}/{r['missed_b']}"
        click.echo(
            f"{r['metric']:<8}{r['structure']:<7}{r['n']:>5}{column9(r['mean_a'])}{column9(r['mean_b'])}"
            f"{column9(r['diff'])}{column9(r['median_diff'])}{p:>10}{p_holm:>10}{missed:>12}  {r['verdict']}"
        )
    if result.boxplots is not None:
        click.echo(f"boxplots: {result.boxplots}")
    if result.table is not None:
        click.echo(f"table: {result.table}")


def _shift_benchmark(masks, data_path, split, shifts, out, as_json) -> None:
    from echolite.workflows.shifts import SHIFTS_CSV, SHIFTS_MD, shift_benchmark, shift_table  # on use: fast --help

    with progress_bar("scoring shifts") as progress:
        result = shift_benchmark(masks, data_path, split, shifts, out, progress)
    if as_json:
        click.echo(json.dumps(result.rows, indent=2))
        return
    click.echo(f"{counted(result.rows[0]['frames'], 'frame')}, {_how_segmented(masks)}; drop: unshifted Dice - shifted")
    click.echo(shift_table(result.rows))
    click.echo(f"report: {result.out}: {SHIFTS_CSV}, {SHIFTS_MD}")


def _how_segmented(masks) -> str:
    """The ensemble, test-time augmentation and post-processing steps other than the default, in words."""
    if masks.post is None:
        return "raw argmax"
    post = masks.post
    steps = [
        name
        for name, on in (
            (f"ensemble of {len(masks.ensemble) + 1} models", bool(masks.ensemble)),
            (f"test-time augmentation {masks.tta}", masks.tta != "none"),
            ("enclosed background not filled", not post.fill_enclosed),
            (f"myocardium closing {post.close_myocardium}", post.close_myocardium != CLOSE_DEFAULT),
            ("myocardium not detached from the atrium", not post.detach_atrium),
        )
        if on
    ]
    return ", ".join(["post-processed", *steps])


def _report(summary: dict, mode: str, grid: str) -> str:
    """The CAMUS layout (structure × phase), then the paper's Table IV layout and the view/phase groups."""
    lines = [
        f"{counted(summary['n_frames'], 'frame')}, {mode}; px: pixels of the {grid} grid, mm: each frame's spacing",
        f"Hausdorff and MAD of a missed structure: {MISSED_WORDS[summary['missed_distance']]}",
        "",
    ]
    return "\n".join(lines + _camus_table(summary) + [""] + _table_iv(summary) + [""] + _groups_table(summary))


def _cell(value, fmt: str, width: int) -> str:
    return f"{'-' if value is None else format(value, fmt):>{width}}"


def _camus_table(summary: dict) -> list[str]:
    lines = [
        (
            f"{'structure':<10}{'phase':<6}{'frames':>7}{'Dice':>8}{'HD mm':>8}{'MAD mm':>8}{'HD px':>8}"
            f"{'MAD px':>8}{'missed':>8}"
        )
    ]
    groups = {**summary["by_phase"], "all": summary}
    for name in (*CAMUS_STRUCTURES, "MYO"):
        for phase, s in groups.items():
            lines.append(
                f"{TITLES[name]:<10}{phase:<6}{s['n_frames']:>7}{_cell(s['dice'][name], '.3f', 8)}"
                + "".join(_cell(s[m][name], ".2f", 8) for m in ("hd_mm", "mad_mm", "hd_px", "mad_px"))
                + f"{s['missed'][name]:>8}"
            )
    return lines


def _table_iv(summary: dict) -> list[str]:
    def row(title, metric, fmt):
        return f"{title:<22}" + "".join(_cell(summary[metric][k], fmt, 8) for k in PAPER_STRUCTURES)

    lines = [
        "Table IV layout" + " " * 7 + "".join(f"{k:>8}" for k in PAPER_STRUCTURES),
        row("Dice", "dice", ".3f"),
        row("Hausdorff px", "hd_px", ".2f"),
        row("Hausdorff mm", "hd_mm", ".2f"),
        f"{'missed':<22}" + "".join(f"{summary['missed'][k]:>8}" for k in PAPER_STRUCTURES),
    ]
    criteria = [key[len("outliers_") :] for key in summary if key.startswith("outliers_")]
    lines += [f"{'outliers, ' + name:<22}{summary['outliers_' + name]:>8}" for name in criteria]
    return lines + [
        f"outliers: frames failing an anatomical criterion of the set ({summary['outlier_criteria']}: the default)"
    ]


def _groups_table(summary: dict) -> list[str]:
    lines = [
        f"{'group':<10}{'frames':>7}{'Dice LV':>9}{'MYO':>7}{'LA':>7}{'HD px LV':>10}{'MYO':>7}{'LA':>7}{'outl.':>7}"
    ]
    for group, s in summary["by_view_phase"].items():
        dice = "".join(_cell(s["dice"][k], ".3f", width) for k, width in zip(PAPER_STRUCTURES, (9, 7, 7)))
        hausdorff = "".join(_cell(s["hd_px"][k], ".2f", width) for k, width in zip(PAPER_STRUCTURES, (10, 7, 7)))
        lines.append(f"{group:<10}{s['n_frames']:>7}{dice}{hausdorff}{s['outliers']:>7}")
    return lines
