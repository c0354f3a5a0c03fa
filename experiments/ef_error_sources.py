"""Where EF error comes from: the part every model shares and the part each model adds.

Reads several ``echolite measure --out`` folders of the same patients (different models, seeds or options) and
splits each patient's EF error against the expert masks into the mean over the models (shared: the image, the
annotation or the task) and each model's departure from that mean (model-specific: what seeds, options and
ensembles can change). Prints the per-model MAE, the MAE of the models' mean EF, the size of both parts, the slope
of the mean EF on the expert EF, and the patients with the largest shared error.

    python experiments/ef_error_sources.py runs/*/val-best-mitral-cut runs/*/val-model_averaged-mitral-cut
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

MEASUREMENTS_CSV = "measurements.csv"


def read_errors(folders: list[Path]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Patients, expert EF (P,) and model EF (P, models) over the patients every folder measured."""
    tables = []
    for folder in folders:
        path = folder / MEASUREMENTS_CSV
        if not path.is_file():
            raise SystemExit(f"{folder}: no {MEASUREMENTS_CSV} (give folders written by `echolite measure --out`)")
        with open(path, newline="") as f:
            rows = {r["patient"]: r for r in csv.DictReader(f)}
        if "expert_ef" not in next(iter(rows.values()), {}):
            raise SystemExit(f"{path}: no expert_ef column (measure a model, not the ground truth)")
        tables.append(rows)
    patients = sorted(set.intersection(*(set(t) for t in tables)))
    if not patients:
        raise SystemExit("the folders have no patient in common")
    expert = np.array([float(tables[0][p]["expert_ef"]) for p in patients])
    ef = np.array([[float(t[p]["ef"]) for t in tables] for p in patients])
    keep = np.isfinite(expert) & np.isfinite(ef).all(axis=1)
    return [p for p, k in zip(patients, keep) if k], expert[keep], ef[keep]


def error_sources(expert: np.ndarray, ef: np.ndarray) -> dict:
    error = ef - expert[:, None]
    shared = error.mean(axis=1)
    return {
        "models": ef.shape[1],
        "patients": ef.shape[0],
        "mae_per_model": np.abs(error).mean(axis=0),
        "mae_of_mean": float(np.abs(shared).mean()),
        "bias_of_mean": float(shared.mean()),
        "model_specific": float(np.abs(error - shared[:, None]).mean()),
        "slope": float(np.polyfit(expert, ef.mean(axis=1), 1)[0]),
        "shared": shared,
        "spread": error.std(axis=1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="measure folders of the same patients (two or more)")
    parser.add_argument("--top", type=int, default=5, help="patients of largest shared error to list")
    args = parser.parse_args()
    if len(args.folders) < 2:
        raise SystemExit("give two or more measure folders")
    patients, expert, ef = read_errors(args.folders)
    s = error_sources(expert, ef)
    mae = s["mae_per_model"]
    print(f"{s['models']} models, {s['patients']} patients")
    print(f"EF MAE per model: {mae.min():.2f} to {mae.max():.2f} (mean {mae.mean():.2f})")
    print(f"shared part (the models' mean EF), MAE: {s['mae_of_mean']:.2f} (bias {s['bias_of_mean']:+.2f})")
    print(f"model-specific part, mean |departure from the models' mean|: {s['model_specific']:.2f}")
    print(f"slope of the mean EF on the expert EF: {s['slope']:.2f}")
    order = np.argsort(-np.abs(s["shared"]))[: args.top]
    print(f"{'patient':<14}{'expert EF':>10}{'shared error':>14}{'model spread (SD)':>19}")
    for i in order:
        print(f"{patients[i]:<14}{expert[i]:>10.1f}{s['shared'][i]:>+14.1f}{s['spread'][i]:>19.1f}")


if __name__ == "__main__":
    main()
