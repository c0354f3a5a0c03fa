"""Cross-dataset evaluation (the paper's Table VIII): each run on each test set, Dice per structure.

A run is tested on its own data set (the one it was trained on, or a copy holding its training frames) with the
chosen split (never on its training patients) and on every other set whole. Results: ``cross_dataset.md`` (the
table) and ``cross_dataset.csv``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite.data.layouts import detect_layout
from echolite.data.run_split import load_with_split, select_split
from echolite.errors import EcholiteError
from echolite.evaluation.names import PAPER_STRUCTURES
from echolite.evaluation.postprocess import PostprocessConfig
from echolite.evaluation.scoring import score_frames, summarize
from echolite.inference import KerasSegmenter
from echolite.run import RunDir, check_report_folder
from echolite_edge.words import counted

TABLE_CSV, TABLE_MD = "cross_dataset.csv", "cross_dataset.md"


@dataclass
class CrossDatasetResult:
    rows: list[dict]
    table: list[str]  # Markdown lines
    files: list[Path]


def parse_test_set(text: str) -> tuple[str, str]:
    """``NAME=PATH`` (PATH may be ``phantom``)."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise EcholiteError(f"test set {text!r}: expected NAME=PATH, e.g. CAMUS=../shared/data/camus4ch")
    if path != "phantom" and not Path(path).exists():
        raise EcholiteError(f"test set {name}: {path} does not exist")
    return name, path


def cross_evaluate(
    runs: list[Path],
    test_sets: list[tuple[str, str]],
    split: str = "test",
    postprocess: bool = True,
    out: Path | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> CrossDatasetResult:
    names = [name for name, _ in test_sets]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice:
        raise EcholiteError(f"test set {twice}: named twice; give each --test its own NAME")
    if out is not None:
        if Path(out).exists() and not Path(out).is_dir():
            raise EcholiteError(f"{out}: is a file; give a folder for the tables")
        check_report_folder(Path(out), "the tables", TABLE_CSV)
    loaded_sets: dict = {}  # a foreign set is loaded once for all runs (per input size)
    post = PostprocessConfig() if postprocess else None

    def load(path: str, owner: RunDir | None, size: int):
        if (path, owner, size) not in loaded_sets:
            loaded_sets[path, owner, size] = load_with_split(path, owner, size)
        return loaded_sets[path, owner, size]

    rows = []
    for run_path in runs:
        run = RunDir.require(run_path)
        trained_on = run.load_config().train.data
        segmenter = KerasSegmenter(run.path)
        at_size = lambda path, owner, size=segmenter.input_size: load(path, owner, size)
        row = {"run": str(run.path), "trained_on": _display_name(trained_on, test_sets)}
        for name, path in test_sets:
            own = _same_data(path, trained_on) or _copy_of_training_data(path, run, at_size)
            frames = select_split(*at_size(path, run if own else None), split if own else "all", path).frames
            log(f"{run.path} on {name} ({split if own else 'all'}, {counted(len(frames), 'frame')})")
            scores = score_frames(segmenter.predict_labels(frames.images), frames, post)
            for structure, value in summarize(scores)["dice"].items():
                row[f"{name}_{structure}"] = value
        rows.append(row)
    table = _table(rows, [name for name, _ in test_sets])
    files = _write(Path(out), rows, table) if out is not None else []
    return CrossDatasetResult(rows, table, files)


def _same_data(a: str, b: str) -> bool:
    return a == b if "phantom" in (a, b) else Path(a).resolve() == Path(b).resolve()


def _copy_of_training_data(data: str, run: RunDir, load) -> bool:
    """The run's data copied or moved: it holds frames of the run's training patients with their pixels (or, where
    the run's data is gone, every patient of the run's split by name). Scored whole, it would score the training
    frames. ``load(path, run or None)``: the data and split, read once for the whole evaluation."""
    if data == "phantom":
        return False

    saved = run.load_config()
    trained, patients = set(saved.split["train"]), {case.patient for case in detect_layout(Path(data)).cases}
    if not trained & patients:
        return False
    if saved.train.data != "phantom" and not Path(saved.train.data).exists():
        return {p for ids in saved.split.values() for p in ids} <= patients
    theirs, ours = load(data, None)[0].frames, load(saved.train.data, run)[0].frames
    index = {frame: i for i, frame in enumerate(ours.frame_ids) if ours.patients[i] in trained}
    return any(
        np.array_equal(theirs.images[i], ours.images[index[frame]])
        for i, frame in enumerate(theirs.frame_ids)
        if frame in index
    )


def _display_name(data: str, sets: list[tuple[str, str]]) -> str:
    return next((name for name, path in sets if _same_data(path, data)), data)


def _table(rows: list[dict], names: list[str]) -> list[str]:
    header = ["Trained on", "Model"] + [f"{n} {s}" for n in names for s in PAPER_STRUCTURES]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["trained_on"], Path(r["run"]).name] + [
            "–" if r.get(f"{n}_{s}") is None else f"{r[f'{n}_{s}']:.3f}" for n in names for s in PAPER_STRUCTURES
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _write(out: Path, rows: list[dict], table: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / TABLE_CSV, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out / TABLE_MD).write_text("# Cross-dataset Dice (Table VIII)\n\n" + "\n".join(table) + "\n")
    return [out / TABLE_MD, out / TABLE_CSV]
