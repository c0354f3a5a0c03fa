"""``echolite evaluate`` and ``echolite compare``: the paper's metrics and paired tests."""

from __future__ import annotations

import json
from pathlib import Path

import click

from echolite.cli.common import fmt9, progress_bar
from echolite.config import SPLITS


@click.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, help="Data folder (any supported layout) or 'phantom'.")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True,
              help="Frames to score: the run's saved split, else the data's own, else seeded 80/10/10.")
@click.option("--predictions", type=click.Path(path_type=Path), help="Score masks made by another tool instead of MODEL.")
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax (no largest-component filtering).")
@click.option("--out", type=click.Path(path_type=Path),
              help="Report folder: frames.csv, summary.json, worst-frame overlays [default: RUN/evaluation-SPLIT, "
                   "or beside the model file].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def evaluate(model, data_path, split, predictions, no_postprocess, out, as_json):
    """Dice, Hausdorff (px and mm) and anatomical outliers of MODEL (run folder, .keras or .tflite) on --data."""
    from echolite.evaluation.report import evaluate as run_evaluation
    from echolite.errors import EcholiteError

    if (model is None) == (predictions is None):
        raise EcholiteError("give either MODEL or --predictions DIR")
    with progress_bar("scoring") as progress:
        result = run_evaluation(model, data_path, split, predictions, not no_postprocess, out, progress)
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
        return
    click.echo(_table(result.summary, "post-processed" if result.postprocessed else "raw argmax"))
    click.echo(f"report: {result.out}: frames.csv, summary.json, overlays of the worst frames in {result.out / 'worst'}")
    click.echo(f"next: echolite compare {result.out} OTHER_REPORT   (paired tests against another evaluation)")


@click.command()
@click.argument("model_a", type=click.Path(path_type=Path))
@click.argument("model_b", type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder or 'phantom' (not needed for two evaluation outputs).")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True)
@click.option("--no-postprocess", is_flag=True, help="Compare the raw argmax.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("compare.png"), show_default=True,
              help="Boxplot PNG (Fig. 3 of the paper).")
@click.option("--json", "as_json", is_flag=True, help="Print the test table as JSON.")
def compare(model_a, model_b, data_path, split, no_postprocess, out, as_json):
    """Paired Wilcoxon signed-rank tests between A and B on the same frames: Dice and Hausdorff per structure,
    boxplots. A and B are `evaluate --out` folders, run folders, .keras files or folders of predicted masks."""
    from echolite.evaluation.report import compare as run_comparison

    result = run_comparison(model_a, model_b, data_path, split, not no_postprocess, out)
    if as_json:
        click.echo(json.dumps(result.rows, indent=2))
        return
    click.echo(f"{result.n_frames} frames; A = {model_a}, B = {model_b}; paired Wilcoxon signed-rank, two-sided")
    click.echo(f"{'metric':<8}{'struct':<7}{'n':>5}{'mean A':>9}{'mean B':>9}{'B - A':>9}{'median':>9}{'p':>10}  verdict")
    for r in result.rows:
        p = "-" if r["p"] is None else f"{r['p']:.3g}"
        click.echo(f"{r['metric']:<8}{r['structure']:<7}{r['n']:>5}{fmt9(r['mean_a'])}{fmt9(r['mean_b'])}{fmt9(r['diff'])}"
                   f"{fmt9(r['median_diff'])}{p:>10}  {r['verdict']}")
    click.echo(f"boxplots: {out}")


def _table(summary: dict, mode: str) -> str:
    def row(name, values, fmt):
        return f"{name:<16}" + "".join(f"{'-' if values[k] is None else format(values[k], fmt):>8}" for k in ("LV", "MYO", "LA"))

    lines = [f"{summary['n_frames']} frames, {mode}", f"{'':<16}{'LV':>8}{'MYO':>8}{'LA':>8}",
             row("Dice", summary["dice"], ".3f"), row("Hausdorff px", summary["hd_px"], ".2f"),
             row("Hausdorff mm", summary["hd_mm"], ".2f"), f"{'outliers':<16}{summary['outliers']:>8}", ""]
    lines.append(f"{'group':<10}{'frames':>7}{'Dice LV':>9}{'MYO':>7}{'LA':>7}{'HD px LV':>10}{'MYO':>7}{'LA':>7}{'outl.':>7}")
    for group, s in summary["by_view_phase"].items():
        d, h = s["dice"], s["hd_px"]
        fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
        lines.append(f"{group:<10}{s['n_frames']:>7}{fmt(d['LV'], '.3f'):>9}{fmt(d['MYO'], '.3f'):>7}{fmt(d['LA'], '.3f'):>7}"
                     f"{fmt(h['LV'], '.2f'):>10}{fmt(h['MYO'], '.2f'):>7}{fmt(h['LA'], '.2f'):>7}{s['outliers']:>7}")
    return "\n".join(lines)
