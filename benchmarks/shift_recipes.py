"""Two training recipes under the scanner-shift benchmark, over seeds: the table of benchmarks/RESULTS.md and the
verdict of the two goals, with thresholds fixed here before any model of the new recipe was scored.

    python benchmarks/shift_recipes.py --old A0 A1 A2 --new S0 S1 S2

Each argument is a report folder of ``echolite evaluate RUN --data ... --split val --shift all`` (its shifts.csv),
or a run folder holding one (``RUN/evaluation-val-shifts``). Prints one Markdown table: per shift and structure the
mean Dice over seeds of each recipe and its mean drop from the recipe's own unshifted score, outliers summed over
seeds; then the verdicts:

- in domain: the new recipe's mean unshifted Dice is at most ``IN_DOMAIN_MARGIN`` below the old one's, per
  structure;
- off domain: per shift and structure, the new recipe's mean drop is at most ``DROP_FLOOR``, or at most half the
  old recipe's mean drop, whichever is larger.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from echolite.evaluation.names import PAPER_STRUCTURES
from echolite.inference import MaskSpec
from echolite.workflows.shifts import SHIFTS_CSV, UNSHIFTED, default_shift_folder

IN_DOMAIN_MARGIN = 0.01
DROP_FLOOR = 0.03


def read_rows(folder: Path) -> dict[str, dict]:
    for candidate in (folder / SHIFTS_CSV, default_shift_folder(MaskSpec(folder), "val") / SHIFTS_CSV):
        if candidate.is_file():
            with candidate.open(newline="") as handle:
                return {row["shift"]: row for row in csv.DictReader(handle)}
    raise SystemExit(f"error: {folder}: no shifts.csv (run echolite evaluate RUN --split val --shift all)")


def summarise(folders: list[Path]) -> dict[str, dict]:
    """Per shift: mean Dice and mean drop per structure over the seeds, outliers summed."""
    tables = [read_rows(f) for f in folders]
    shifts = list(tables[0])
    if any(list(t) != shifts for t in tables):
        raise SystemExit("error: the reports score different shifts")
    out = {}
    for shift in shifts:
        rows = [t[shift] for t in tables]
        out[shift] = {
            **{f"dice_{s}": float(np.mean([float(r[f"dice_{s}"]) for r in rows])) for s in PAPER_STRUCTURES},
            **{f"drop_{s}": float(np.mean([float(r[f"drop_{s}"]) for r in rows])) for s in PAPER_STRUCTURES},
            "outliers": sum(int(r["outliers"]) for r in rows),
        }
    return out


def verdicts(old: dict, new: dict) -> list[str]:
    lines, passed = [], True
    for s in PAPER_STRUCTURES:
        gap = old[UNSHIFTED][f"dice_{s}"] - new[UNSHIFTED][f"dice_{s}"]
        ok = gap <= IN_DOMAIN_MARGIN
        passed &= ok
        lines.append(
            f"in domain {s}: new {new[UNSHIFTED][f'dice_{s}']:.3f} vs old {old[UNSHIFTED][f'dice_{s}']:.3f} "
            f"(gap {gap:+.3f}, limit {IN_DOMAIN_MARGIN}): {'pass' if ok else 'FAIL'}"
        )
    for shift in (k for k in new if k != UNSHIFTED):
        for s in PAPER_STRUCTURES:
            limit = max(DROP_FLOOR, old[shift][f"drop_{s}"] / 2)
            ok = new[shift][f"drop_{s}"] <= limit
            passed &= ok
            if not ok:
                lines.append(f"off domain {shift} {s}: drop {new[shift][f'drop_{s}']:.3f} > limit {limit:.3f}: FAIL")
    lines.append("all goals met" if passed else "not every goal met")
    return lines


def table(old: dict, new: dict, seeds: tuple[int, int]) -> str:
    columns = [f"{s} old → new (drop old → new)" for s in PAPER_STRUCTURES]
    head = "| shift | " + " | ".join(columns) + " | outliers old → new |"
    lines = [head, "|---|" + "---|" * (len(PAPER_STRUCTURES) + 1)]
    for shift in new:
        cells = [
            f"{old[shift][f'dice_{s}']:.3f} → {new[shift][f'dice_{s}']:.3f}"
            + ("" if shift == UNSHIFTED else f" ({old[shift][f'drop_{s}']:+.3f} → {new[shift][f'drop_{s}']:+.3f})")
            for s in PAPER_STRUCTURES
        ]
        lines.append(f"| {shift} | " + " | ".join(cells) + f" | {old[shift]['outliers']} → {new[shift]['outliers']} |")
    lines.append(f"\nmeans over {seeds[0]} (old) and {seeds[1]} (new) seeds; outliers summed over the seeds")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", nargs="+", type=Path, required=True, help="Report or run folders, old recipe.")
    parser.add_argument("--new", nargs="+", type=Path, required=True, help="Report or run folders, new recipe.")
    args = parser.parse_args()
    old, new = summarise(args.old), summarise(args.new)
    print(table(old, new, (len(args.old), len(args.new))))
    print()
    print("\n".join(verdicts(old, new)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
