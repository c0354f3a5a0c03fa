"""The scanner-shift benchmark: a model scored on a split as it is and under each scanner shift
(``echolite.evaluation.shifts``), with the drop of each structure's Dice from the unshifted score.

Its report folder holds ``shifts.csv`` and ``shifts.md`` (one row per shift, the unshifted row first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from echolite.errors import EcholiteError
from echolite.evaluation.names import PAPER_STRUCTURES
from echolite.evaluation.scoring import score_frames, summarize
from echolite.evaluation.shifts import pick_shifts, shift_frames
from echolite.inference import MaskSpec
from echolite.run import check_report_folder
from echolite.workflows.evaluation import default_report_folder, write_rows_csv
from echolite_edge.files import write_atomically

SHIFTS_CSV, SHIFTS_MD = "shifts.csv", "shifts.md"
SHIFTS_SUFFIX = "-shifts"
"""A shift benchmark's default folder: the evaluate report folder's name with this."""
UNSHIFTED = "none"
"""The row of the frames as they are."""


@dataclass
class ShiftBenchmark:
    rows: list[dict]
    """Per shift (``none`` first): shift, frames, Dice per structure, its drop from ``none``, outliers, missed."""
    out: Path


def shift_benchmark(
    masks: MaskSpec,
    data: str,
    split: str = "test",
    shifts=("all",),
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ShiftBenchmark:
    """Score ``masks.model`` on a split of ``data`` unshifted and under each of ``shifts`` (names of
    ``SHIFT_NAMES``, or ``all``), with the scoring of ``evaluate``; write ``shifts.csv`` and ``shifts.md`` to
    ``out`` (default: the evaluate report folder's name with ``-shifts``). ``progress(step, total)`` is called per
    frame scored."""
    names = pick_shifts(shifts)
    if masks.model is None:
        raise EcholiteError("the shift benchmark segments shifted frames: give MODEL, not --predictions")
    out = Path(out if out is not None else default_shift_folder(masks, split))
    check_report_folder(out, "the shift benchmark", SHIFTS_CSV)
    segmenter, loaded = masks.segmented_split(data, split)
    frames = loaded.frames
    total = len(frames) * (len(names) + 1)
    tick = (lambda step: progress(step, total)) if progress else None
    rows = []
    for name in (UNSHIFTED, *names):
        shifted = frames if name == UNSHIFTED else shift_frames(frames, name)
        labels = segmenter.predict_labels(shifted.images)
        summary = summarize(score_frames(labels, shifted, masks.post, progress=tick))
        rows.append(_row(name, summary, rows[0] if rows else None))
    write_shift_report(out, rows)
    return ShiftBenchmark(rows, out)


def default_shift_folder(masks: MaskSpec, split: str) -> Path:
    """Where the benchmark writes by default: the evaluate report folder's name with ``-shifts``."""
    default = default_report_folder(masks.model, split, masks)
    return default.with_name(default.name + SHIFTS_SUFFIX)


def _row(name: str, summary: dict, unshifted: dict | None) -> dict:
    row = {"shift": name, "frames": summary["n_frames"]}
    for structure in PAPER_STRUCTURES:
        row[f"dice_{structure}"] = summary["dice"][structure]
    for structure in PAPER_STRUCTURES:
        before, now = (unshifted or row)[f"dice_{structure}"], row[f"dice_{structure}"]
        row[f"drop_{structure}"] = None if before is None or now is None else round(before - now, 4)
    row["outliers"] = summary["outliers"]
    row["missed"] = sum(summary["missed"][structure] for structure in PAPER_STRUCTURES)
    return row


def write_shift_report(out: Path, rows: list[dict]) -> None:
    """``shifts.csv`` and ``shifts.md`` (``shift_table``) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_rows_csv(rows, out / SHIFTS_CSV, list(rows[0]))
    write_atomically(out / SHIFTS_MD, shift_table(rows) + "\n")


def shift_table(rows: list[dict]) -> str:
    """The rows as a Markdown table: Dice per structure, drop from the unshifted score, outliers, missed."""
    head = ["shift", "frames", *[f"Dice {s}" for s in PAPER_STRUCTURES], *[f"drop {s}" for s in PAPER_STRUCTURES]]
    head += ["outliers", "missed"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["shift"], str(row["frames"])]
        cells += [_number(row[f"dice_{s}"], "") for s in PAPER_STRUCTURES]
        cells += [_number(row[f"drop_{s}"], "+") for s in PAPER_STRUCTURES]
        cells += [str(row["outliers"]), str(row["missed"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _number(value, sign: str) -> str:
    return "-" if value is None else format(value, f"{sign}.3f")
