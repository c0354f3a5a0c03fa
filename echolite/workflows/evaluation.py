"""The evaluate and compare workflows: score a model (or another tool's masks) on a split, write the report
folder; test two models against each other on the same frames.

An ``evaluate`` report folder holds ``frames.csv`` (every metric and check per frame), ``summary.json`` (pooled
means first, then by phase and by view and phase) and ``worst/`` (overlays of the frames with the lowest mean
Dice).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite.data.frames import FrameSet
from echolite.data.run_split import frames_for_split
from echolite.errors import EcholiteError
from echolite.evaluation.names import GRID
from echolite.evaluation.postprocess import PostprocessConfig
from echolite.evaluation.scoring import (
    FrameScore,
    pick_metrics,
    pick_structures,
    read_frame_csv,
    score_frames,
    summarize,
    worst_frames,
    write_frame_csv,
)
from echolite.evaluation.stats import Comparison, paired_tests, shared_missed_distance
from echolite.inference import MaskSpec, is_model, read_predictions
from echolite.pretrained import resolve_model, shipped_name_of
from echolite.run import RunDir, check_report_folder
from echolite_edge.files import owner_of, write_atomically, write_json
from echolite_edge.postprocess import CLOSE_DEFAULT
from echolite_edge.pretrained import is_shipped_name

FRAMES_CSV, SUMMARY_JSON, WORST = "frames.csv", "summary.json", "worst"


@dataclass
class Evaluation:
    scores: list[FrameScore]
    summary: dict
    frames: FrameSet
    labels: np.ndarray
    out: Path


def evaluate(
    masks: MaskSpec,
    data: str,
    split: str = "test",
    predictions: Path | None = None,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    missed_distance: str = "nan",
) -> Evaluation:
    """Score the masks of ``masks.model`` (run folder, ``.keras`` or ``.tflite``, with the ensemble and test-time
    augmentation ``masks`` gives) or, where ``masks.model`` is None, the masks in ``predictions``, on a split of
    ``data``, post-processed by ``masks.post`` (None: the raw argmax), and write the report folder to ``out``
    (default: ``default_report_folder``). ``progress(step, total)`` is called per frame scored.
    ``missed_distance``: Hausdorff and MAD of a missed structure, ``nan`` (left out of the means) or ``diagonal``
    (the image diagonal)."""
    if (masks.model is None) == (predictions is None):
        raise EcholiteError("give either a model or a folder of predicted masks")
    if predictions is not None and masks.needs_model:
        raise EcholiteError("test-time augmentation and ensembles need a model, not a folder of predicted masks")
    out = Path(out if out is not None else default_report_folder(masks.model or predictions, split, masks))
    check_report_folder(out, "the report", FRAMES_CSV)
    frames, labels = _predicted(masks, predictions, data, split)
    tick = (lambda step: progress(step, len(frames))) if progress else None
    scores = score_frames(labels, frames, masks.post, progress=tick, missed_distance=missed_distance)
    result = Evaluation(scores, {**summarize(scores), **scored_against(frames)}, frames, labels, out)
    write_report(out, result)
    return result


def scored_against(frames: FrameSet) -> dict:
    """What a report's numbers hold only for: the grid (distances are in its pixels) and the reference masks
    (a digest over the frames in name order), so ``compare`` can refuse two reports of different frames."""
    digest = hashlib.sha256()
    for i in np.argsort(frames.frame_ids, kind="stable"):
        digest.update(frames.frame_ids[i].encode() + b"|" + np.ascontiguousarray(frames.masks[i], np.uint8).tobytes())
    return {"grid": int(frames.masks.shape[1]), "reference_digest": digest.hexdigest()[:24]}


def default_report_folder(source: Path, split: str, masks: MaskSpec = MaskSpec()) -> Path:
    """Beside what was scored: ``RUN/evaluation-val``, ``model_int8-evaluation-val`` next to a model file,
    ``PREDICTIONS-evaluation-val`` next to a folder of masks, ``NAME-evaluation-val`` in the working directory for a
    shipped model (``-tta-MODE`` with test-time augmentation, ``-raw``
    without post-processing, ``-unfilled`` without filling the enclosed background, ``-close-MODE`` with a
    myocardium closing other than the default, ``-attached`` without detaching the myocardium from the atrium;
    ``-ensembleN`` for ``masks.model`` and its ensemble of N - 1 others averaged)."""
    source, post, tta, more_models = Path(source), masks.post, masks.tta, len(masks.ensemble)
    steps = ("" if not more_models else f"-ensemble{more_models + 1}") + ("" if tta == "none" else f"-tta-{tta}")
    if post is None:
        steps += "-raw"
    else:
        closing = "" if post.close_myocardium == CLOSE_DEFAULT else f"-close-{post.close_myocardium}"
        steps += ("" if post.fill_enclosed else "-unfilled") + closing + ("" if post.detach_atrium else "-attached")
    name, shipped = f"evaluation-{split}{steps}", shipped_name_of(source)
    if RunDir(source).is_run() and not shipped:
        return source / name
    stem = source.name[: -len(source.suffix)] if source.suffix in (".keras", ".tflite") else source.name
    return (Path.cwd() if shipped else source.parent) / f"{stem}-{name}"  # a shipped model's folder is a cache


def _predicted(masks: MaskSpec, predictions: Path | None, data: str, split: str) -> tuple[FrameSet, np.ndarray]:
    if predictions is not None:
        frames = frames_for_split(data, split, None, GRID).frames
        return frames, read_predictions(predictions, frames)
    segmenter, loaded = masks.segmented_split(data, split)
    return loaded.frames, segmenter.predict_labels(loaded.frames.images)


def write_report(out: Path, result: Evaluation) -> None:
    out = Path(out)
    (out / WORST).mkdir(parents=True, exist_ok=True)
    write_frame_csv(result.scores, out / FRAMES_CSV)
    write_json(out / SUMMARY_JSON, result.summary)
    for stale in (out / WORST).glob("*.png"):  # a report written here before: its overlays are not this one's
        stale.unlink()
    write_worst_overlays(out / WORST, result)


WORST_SHOWN = 8
"""Overlays of at most this many frames, and of at most half the frames scored: the worst of a few are not worst."""


def worst_count(frames: int) -> int:
    """How many worst frames a report shows: ``WORST_SHOWN``, at most half of ``frames``, at least one."""
    return max(1, min(WORST_SHOWN, frames // 2))


def write_worst_overlays(folder: Path, result: Evaluation) -> list[Path]:
    """``NN_FRAME.png`` for the frames of lowest mean Dice, worst first (NN: the rank), each in its acquired
    proportions, titled with its rank, Dice, Hausdorff distance (mm where the frame's spacing is known, else
    pixels of the scored grid) and the quality-control verdict of the report's default criteria."""
    from echolite.plots import _display_aspect, save_overlay  # matplotlib on use: only a written figure needs it

    frames, scores = result.frames, result.scores
    worst = worst_frames(scores, worst_count(len(scores)))
    written = []
    for rank, i in enumerate(worst, 1):
        score = scores[i]
        in_mm = np.isfinite(score.hd_mm[:3]).any()
        checks = next(iter(score.checks.values()), None)
        written.append(folder / f"{rank:02d}_{frames.frame_ids[i]}.png")
        save_overlay(
            frames.images[i],
            result.labels[i],
            frames.masks[i],
            written[-1],
            f"worst {rank} of {len(worst)} (lowest mean Dice of {len(scores)} frames): {frames.frame_ids[i]}",
            dice=score.dice[:3],
            hausdorff=(score.hd_mm[:3], "mm") if in_mm else (score.hd_px[:3], "px"),
            qc_failed=None if checks is None else [name for name, failed in checks.items() if failed],
            aspect=_display_aspect(frames.original_shapes[i], frames.images[i].shape),
        )
    return written


def is_report(folder: Path) -> bool:
    return (Path(folder) / FRAMES_CSV).exists()


def compare(
    a: Path,
    b: Path,
    data: str | None = None,
    split: str = "test",
    postprocess: bool = True,
    boxplots: Path | None = None,
    metrics=None,
    structures=None,
) -> Comparison:
    """Paired Wilcoxon tests per structure and metric between A and B on the same frames, Holm-corrected across
    the tests run. A and B: ``evaluate`` report folders, or models / folders of predicted masks scored here on
    ``data``. ``metrics`` and ``structures``: names from ``scoring.METRICS`` and ``scoring.STRUCTURES`` (default:
    all). Two ``measure`` report folders are not for this: ``workflows.measure.compare_measurements`` compares them
    (the command dispatches on ``is_measure_report``). ``boxplots``:
    the figure to write (None: none; see ``default_comparison_figure``), with the table beside it as CSV (same
    name, ``.csv``). A shipped model may be given by name."""
    for side in (a, b):  # before a shipped name's model is built on first use
        if not is_shipped_name(side) and not Path(side).exists():
            raise EcholiteError(
                f"{side}: not found (give an evaluate or measure report folder, a model, or a folder "
                "of predicted masks)"
            )
    a, b = resolve_model(a), resolve_model(b)
    names = side_names(a, b)
    table = None if boxplots is None else Path(boxplots).with_suffix(".csv")
    metrics, structures = pick_metrics(metrics), pick_structures(structures)  # before any scoring
    if boxplots is not None:
        from echolite.plots import check_figure_path  # matplotlib on use: only a written figure needs it

        check_figure_path(boxplots)
        _check_table_path(table)
    if is_report(a) and is_report(b):
        scores = [read_frame_csv(Path(m) / FRAMES_CSV) for m in (a, b)]
        _check_same_references(Path(a), Path(b), scores)
    elif data is None:
        raise EcholiteError("data is needed unless A and B are both evaluation reports (folders with frames.csv)")
    else:
        scores = _score_pair(Path(a), Path(b), data, split, postprocess)
    rows = paired_tests(*scores, metrics, structures)
    if boxplots is not None:
        from echolite.plots import save_comparison_boxplots  # matplotlib on use: only a written figure needs it

        save_comparison_boxplots(*scores, names, boxplots, rows)
        write_rows_csv(rows, table, COMPARISON_COLUMNS)
    return Comparison(rows, len(scores[0]), boxplots, shared_missed_distance(*scores), table=table, names=names)


COMPARISON_COLUMNS = (
    "metric", "structure", "n", "mean_a", "mean_b", "diff", "median_diff", "p", "p_holm", "missed_a", "missed_b",
    "verdict",
)  # fmt: skip
"""The CSV of a comparison: ``p`` is each Wilcoxon test's own, ``p_holm`` Holm-corrected over the tests of the file
(what the verdict uses)."""


def write_rows_csv(rows: list[dict], path: Path, columns) -> None:
    """``rows`` as a CSV of ``columns`` (others left out, None and missing values written empty), replacing
    ``path`` whole."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(Path(path), buffer.getvalue())


def _check_table_path(table: Path | None) -> None:
    """Before any work: the CSV beside the figure may replace an earlier comparison's, nothing else."""
    if table is None:
        return
    if table.is_dir():
        raise EcholiteError(f"{table}: is a folder; name the figure otherwise (the table is written beside it)")
    owner = owner_of(table)
    if owner:
        raise EcholiteError(f"{table}: a file of {owner}; write the comparison elsewhere")


_REPORT_NAME = re.compile(r"(?:(?P<stem>.+)-)?evaluation-(?P<split>[a-z]+)(?P<steps>-.+)?")


def side_name(path: Path) -> str:
    """What one side of a comparison is, in words for a figure: the run and model a report scored
    (``runs/a/evaluation-val`` → "a", ``runs/a/model_int8-evaluation-val`` → "a/model_int8", with its
    post-processing steps in brackets), a model file as run/model, else the folder's or file's name."""
    path = Path(path)
    parent = path.parent.resolve().name
    in_run = RunDir(path.parent).is_run()
    match = _REPORT_NAME.fullmatch(path.name) if is_report(path) else None
    if match:
        stem, steps = match["stem"], match["steps"]
        base = parent if stem is None else (f"{parent}/{stem}" if in_run else stem)
        return base + (f" ({steps[1:]})" if steps else "")
    if path.suffix in (".keras", ".tflite") and in_run:
        return f"{parent}/{path.stem}"
    return path.stem if path.suffix in (".keras", ".tflite") else path.resolve().name


def side_names(a: Path, b: Path) -> tuple[str, str]:
    """``side_name`` of each, made distinct by their folders where they read alike."""
    names = side_name(a), side_name(b)
    if names[0] == names[1]:
        names = tuple(str(Path(p)) for p in (a, b))
    return names


def default_comparison_figure(a: Path, b: Path) -> Path:
    """Beside the two reports (in the folder holding both, else A's): ``compare-NAME_A-vs-NAME_B.png``."""
    parents = [Path(p).absolute().parent for p in (a, b)]
    try:
        home = Path(os.path.commonpath(parents))
    except ValueError:  # on different drives
        home = parents[0]
    if home == Path(home.anchor):
        home = parents[0]
    slug = lambda name: re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"
    names = side_names(a, b)
    return _relative(home / f"compare-{slug(names[0])}-vs-{slug(names[1])}.png")


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory where it lies below it (shorter to print)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _check_same_references(a: Path, b: Path, scores: list[list[FrameScore]]) -> None:
    """Two reports pair frame by frame only when scored on one grid and, holding the same frames, against the same
    reference masks (reports written before these were recorded are taken as they are)."""
    summaries = []
    for folder in (a, b):
        try:
            summaries.append(json.loads((folder / SUMMARY_JSON).read_text()))
        except (OSError, ValueError):
            summaries.append({})
    grids = [s.get("grid") if isinstance(s, dict) else None for s in summaries]
    digests = [s.get("reference_digest") if isinstance(s, dict) else None for s in summaries]
    if None not in grids and grids[0] != grids[1]:
        raise EcholiteError(
            f"{a} and {b} were scored on {grids[0]} and {grids[1]} pixel grids (distances in pixels "
            "differ); compare reports of one grid"
        )
    same_frames = {s.frame_id for s in scores[0]} == {s.frame_id for s in scores[1]}  # else paired_tests says so
    if same_frames and None not in digests and digests[0] != digests[1]:
        raise EcholiteError(
            f"{a} and {b} were scored against different reference masks under the same frame "
            "names (another data set or reading of it); compare reports of the same frames"
        )


def _score_pair(a: Path, b: Path, data: str, split: str, postprocess: bool) -> list[list[FrameScore]]:
    sides = [MaskSpec(m if is_model(m) else None, post=PostprocessConfig() if postprocess else None) for m in (a, b)]
    segmenters = [None if side.model is None else side.segmenter() for side in sides]
    sizes = {s.input_size for s in segmenters if s is not None} or {GRID}
    if len(sizes) > 1:
        raise EcholiteError(f"the two models take different input sizes {sorted(sizes)}; compare models of one size")
    frames = frames_for_split(data, split, RunDir.of(a), sizes.pop()).frames
    return [
        score_frames(
            read_predictions(source, frames) if seg is None else seg.predict_labels(frames.images), frames, side.post
        )
        for source, side, seg in zip((a, b), sides, segmenters)
    ]
