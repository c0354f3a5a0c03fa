"""The search for the real-time preset: each candidate trained with a short budget on one split, its validation
Dice printed next to its compute, and the pick made by a rule fixed before any candidate was trained.

    python experiments/edge_search.py --data ../shared/data/camus4ch --split-file benchmarks/camus4ch_split.yaml \\
        --reference runs/camus-lw --epochs 4 --out runs/edge-search

Rule: the cheapest candidate (GMAC per frame) whose best validation Dice within the budget is, on every structure,
within ``--tolerance`` of the reference run (``lw-unet`` trained the same way) over its first ``--epochs`` epochs;
if none is, the candidate with the best mean Dice. Dice is the one the trainer logs per epoch on the validation
split (256 grid, no post-processing) for candidates and reference alike. Finished candidates are not retrained;
interrupted ones resume.
"""

from __future__ import annotations

import argparse
import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CANDIDATES = ("edge-m", "edge-rt", "edge-s", "edge-xs")
STRUCTURES = ("lv", "myo", "la")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-file", required=True)
    parser.add_argument("--reference", type=Path, required=True, help="lw-unet run folder trained at least --epochs")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--out", type=Path, default=Path("runs/edge-search"))
    args = parser.parse_args()

    from echolite.models import build_model
    from echolite.models.compute import count_macs
    from echolite.presets import resolve_configs
    from echolite.run import RunDir
    from echolite.training.trainer import train

    rows = []
    for name in args.candidates:
        run = args.out / name
        if not RunDir(run).is_finished():
            _, config = resolve_configs(
                name, data=args.data, split_file=args.split_file, epochs=args.epochs, batch_size=args.batch_size, seed=0
            )
            train(config, run, resume=RunDir(run).has_checkpoint(), log=print)
        model = build_model(name)
        rows.append(
            {
                "name": name,
                "gmac": count_macs(model) / 1e9,
                "parameters": model.count_params(),
                **best_dice(RunDir(run).history, args.epochs),
            }
        )
    reference = best_dice(RunDir(args.reference).history, args.epochs)  # read last: it may still be training
    lw_unet = build_model("lw-unet")
    rows.insert(
        0,
        {
            "name": f"lw-unet (reference, {args.reference})",
            "gmac": count_macs(lw_unet) / 1e9,
            "parameters": lw_unet.count_params(),
            **reference,
        },
    )
    chosen = pick(rows[1:], reference, args.tolerance)
    lines = [
        f"budget: {args.epochs} epochs, batch {args.batch_size}, seed 0; tolerance {args.tolerance}",
        "| model | GMAC | parameters | Dice LV | Dice MYO | Dice LA | mean | within tolerance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        within = "" if row is rows[0] else ("yes" if _within(row, reference, args.tolerance) else "no")
        lines.append(
            f"| {row['name']} | {row['gmac']:.2f} | {row['parameters'] / 1e6:.2f}M | "
            + " | ".join(f"{row[s]:.3f}" for s in STRUCTURES)
            + f" | {row['mean']:.3f} | {within} |"
        )
    lines.append(f"chosen: {chosen['name']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def best_dice(history: Path, epochs: int) -> dict[str, float]:
    """Per-structure validation Dice at the epoch of best mean Dice among the first ``epochs``."""
    with open(history, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= epochs]
    if len(rows) < epochs:
        raise SystemExit(f"{history}: {len(rows)} epochs trained, the budget is {epochs}")
    best = max(rows, key=lambda r: float(r["val_seg_dice_mean"]))
    return {
        "epoch": int(best["epoch"]),
        "mean": float(best["val_seg_dice_mean"]),
        **{s: float(best[f"val_seg_dice_{s}"]) for s in STRUCTURES},
    }


def pick(candidates: list[dict], reference: dict, tolerance: float) -> dict:
    close = [row for row in candidates if _within(row, reference, tolerance)]
    return min(close, key=lambda row: row["gmac"]) if close else max(candidates, key=lambda row: row["mean"])


def _within(row: dict, reference: dict, tolerance: float) -> bool:
    return all(row[s] >= reference[s] - tolerance for s in STRUCTURES)


if __name__ == "__main__":
    main()
