"""How the expert masks of a data set change from one group of patients to the next: per group of consecutive
patients (in patient order) and phase, the myocardium's and the atrium's area relative to the LV cavity's, and the
LV's end-systolic to end-diastolic area ratio. A trend across groups means the groups were drawn (or the hearts
were) differently, which no model trained on the first groups can learn from the images alone.

    python experiments/mask_statistics.py ../shared/data/camus4ch --group 20
"""

from __future__ import annotations

import argparse
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="a data folder in any supported layout")
    parser.add_argument("--group", type=int, default=20, help="patients per group")
    args = parser.parse_args()

    from echolite.data import load_data

    frames = load_data(args.data).frames
    areas = np.stack([(frames.masks == label).sum(axis=(1, 2)) for label in (1, 2, 3)], axis=1).astype(float)
    patients = sorted(set(frames.patients))
    print(f"{len(patients)} patients, {len(frames)} frames; areas on the {frames.masks.shape[1]}² grid")
    print(f"{'patients':<26}{'MYO/LV ED':>10}{'MYO/LV ES':>10}{'LA/LV ED':>10}{'LA/LV ES':>10}{'ES/ED LV':>10}")
    for start in range(0, len(patients), args.group):
        group = patients[start : start + args.group]
        ratios = {phase: _ratios(frames, areas, group, phase) for phase in ("ED", "ES")}
        es_over_ed = _es_over_ed(frames, areas, group)
        print(
            f"{group[0] + '–' + group[-1][-4:]:<26}{ratios['ED'][0]:>10.3f}{ratios['ES'][0]:>10.3f}"
            f"{ratios['ED'][1]:>10.3f}{ratios['ES'][1]:>10.3f}{es_over_ed:>10.3f}"
        )


def _ratios(frames, areas: np.ndarray, group: list[str], phase: str) -> tuple[float, float]:
    chosen = [i for i, (p, ph) in enumerate(zip(frames.patients, frames.phases)) if p in group and ph == phase]
    lv, myo, la = areas[chosen].T
    return float(np.mean(myo / lv)), float(np.mean(la / lv))


def _es_over_ed(frames, areas: np.ndarray, group: list[str]) -> float:
    index = {(p, ph): i for i, (p, ph) in enumerate(zip(frames.patients, frames.phases))}
    pairs = [(index[(p, "ES")], index[(p, "ED")]) for p in group if (p, "ES") in index and (p, "ED") in index]
    return float(np.mean([areas[es, 0] / areas[ed, 0] for es, ed in pairs]))


if __name__ == "__main__":
    main()
