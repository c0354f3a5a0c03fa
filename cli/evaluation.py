"""``echolite evaluate`` and ``echolite compare``: the paper's metrics and paired tests."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from echolite.errors import EcholiteError
from echolite.cli.common import fmt9, frames_for_split, input_size, load_any_model, predict, read_predictions, run_of


@click.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", required=True, help="Data folder (any supported layout) or 'phantom'.")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True,
              help="Frames to score: the run's saved split, else the data's own, else seeded 80/10/10.")
@click.option("--predictions", type=click.Path(path_type=Path), help="Score masks made by another tool instead of MODEL.")
@click.option("--no-postprocess", is_flag=True, help="Score the raw argmax (no largest-component filtering).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for frames.csv, summary.json, worst-frame overlays.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def evaluate(model, data_path, split, predictions, no_postprocess, out, as_json):
    """Dice, Hausdorff (px and mm) and anatomical outliers of MODEL (run folder, .keras or .tflite) on --data."""
    import json

    from echolite.evaluate import score_frames, summarize
    from echolite.postprocess import PostprocessConfig

    if (model is None) == (predictions is None):
        raise EcholiteError("give either MODEL or --predictions DIR")
    if predictions:
        frames = frames_for_split(data_path, split, None, 256).frames
        labels = read_predictions(predictions, frames)
    else:
        network = load_any_model(model)
        frames = frames_for_split(data_path, split, run_of(model), input_size(network)).frames
        labels = predict(network, frames)
    with click.progressbar(length=len(frames), label="scoring", file=sys.stderr) as bar:
        scores = score_frames(labels, frames, None if no_postprocess else PostprocessConfig(), progress=bar.update)
    summary = summarize(scores)
    if out:
        _write_evaluation(out, scores, summary, frames, labels)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(_table(summary, "post-processed" if not no_postprocess else "raw argmax"))


@click.command()
@click.argument("model_a", type=click.Path(path_type=Path))
@click.argument("model_b", type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder or 'phantom' (not needed for two evaluation outputs).")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="test", show_default=True)
@click.option("--no-postprocess", is_flag=True, help="Compare the raw argmax.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("compare.png"), show_default=True,
              help="Boxplot PNG (Fig. 3 of the paper).")
@click.option("--json", "as_json", is_flag=True, help="Print the test table as JSON.")
def compare(model_a, model_b, data_path, split, no_postprocess, out, as_json):
    """Paired Wilcoxon signed-rank tests between A and B on the same frames: Dice and Hausdorff per structure,
    boxplots. A and B are `evaluate --out` folders, run folders, .keras files or folders of predicted masks."""
    import json

    from echolite.plots import save_comparison_boxplots
    from echolite.stats import paired_tests

    if all((m / "frames.csv").exists() for m in (model_a, model_b)):
        from echolite.evaluate import read_frame_csv

        scores = [read_frame_csv(m / "frames.csv") for m in (model_a, model_b)]
    elif data_path is None:
        raise EcholiteError("--data is needed unless A and B are both evaluation outputs (folders with frames.csv)")
    else:
        scores = _score_models(model_a, model_b, data_path, split, no_postprocess)
    rows = paired_tests(*scores)
    save_comparison_boxplots(*scores, (model_a.name, model_b.name), out)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{len(scores[0])} frames; A = {model_a}, B = {model_b}; paired Wilcoxon signed-rank, two-sided")
    click.echo(f"{'metric':<8}{'struct':<7}{'n':>5}{'mean A':>9}{'mean B':>9}{'B - A':>9}{'median':>9}{'p':>10}  verdict")
    for r in rows:
        p = "-" if r["p"] is None else f"{r['p']:.3g}"
        click.echo(f"{r['metric']:<8}{r['structure']:<7}{r['n']:>5}{fmt9(r['mean_a'])}{fmt9(r['mean_b'])}{fmt9(r['diff'])}"
                   f"{fmt9(r['median_diff'])}{p:>10}  {r['verdict']}")
    click.echo(f"boxplots: {out}")


def _score_models(model_a: Path, model_b: Path, data_path: str, split: str, no_postprocess: bool):
    from echolite.evaluate import score_frames
    from echolite.postprocess import PostprocessConfig

    networks = [_maybe_model(m) for m in (model_a, model_b)]
    sizes = {input_size(n) for n in networks if n is not None} or {256}
    if len(sizes) > 1:
        raise EcholiteError(f"the two models take different input sizes {sorted(sizes)}; compare models of one size")
    frames = frames_for_split(data_path, split, run_of(model_a), sizes.pop()).frames
    post = None if no_postprocess else PostprocessConfig()
    scores = []
    for source, network in zip((model_a, model_b), networks):
        labels = read_predictions(source, frames) if network is None else predict(network, frames)
        scores.append(score_frames(labels, frames, post))
    return scores


def _maybe_model(source: Path):
    """The model when SOURCE is a run folder, .keras or .tflite file; None for a folder of predicted masks."""
    if source.suffix in (".keras", ".tflite") or (source / "model.keras").exists():
        return load_any_model(source)
    return None


def _write_evaluation(out: Path, scores, summary, frames, labels) -> None:
    import json

    from echolite.evaluate import worst_frames, write_frame_csv
    from echolite.plots import save_overlay

    (out / "worst").mkdir(parents=True, exist_ok=True)
    write_frame_csv(scores, out / "frames.csv")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for i in worst_frames(scores):
        save_overlay(frames.images[i], labels[i], frames.masks[i], out / "worst" / f"{frames.frame_ids[i]}.png",
                     f"{frames.frame_ids[i]}  Dice " + " ".join(f"{d:.2f}" for d in scores[i].dice))


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
