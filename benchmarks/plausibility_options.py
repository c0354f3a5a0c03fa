"""What each post-processing option buys, measured in one run: a model predicts a split once, then every option
is scored on the same predictions: Dice and Hausdorff per structure, anatomical outliers under both criteria sets,
ejection fraction against the expert masks (MAE, bias, limits of agreement) and the option's time per frame.

    python benchmarks/postprocess_options.py RUN --data ../shared/data/camus4ch \\
        --split-file benchmarks/camus4ch_split.yaml --split train

Options are chosen on the training patients (``--split train``) and then reported on the validation patients, so the
choice never looks at the frames it is judged on.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OPTIONS = {
    "raw argmax": None,
    "largest components (default)": {},
    "+ fill enclosed": {"fill_enclosed": True},
    "+ close myocardium": {"close_myocardium": True},
    "+ both": {"fill_enclosed": True, "close_myocardium": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="run folder, .keras or .tflite")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-file")
    parser.add_argument("--split", default="train")
    args = parser.parse_args()

    from echolite.clinical.measure import measure_masks
    from echolite.evaluation.postprocess import PostprocessConfig, postprocess
    from echolite.evaluation.scoring import score_frames, summarize
    from echolite.inference import load_segmenter
    from echolite.run import RunDir, frames_for_split

    segmenter = load_segmenter(args.model)
    loaded = frames_for_split(args.data, args.split, RunDir.of(args.model), segmenter.input_size, args.split_file)
    frames = loaded.frames
    raw = segmenter.predict_labels(frames.images)
    print(f"{args.model} on {args.split}: {len(frames)} frames; Dice and HD (px, 256 grid) LV / MYO / LA; EF of "
          "the masks against EF of the expert masks, 4CH single plane, per patient")
    print(f"{'option':<30}{'Dice':>23}{'HD px':>23}{'outliers camus':>16}{'echolite':>9}"
          f"{'EF MAE':>8}{'bias':>7}{'LoA':>16}{'ms/frame':>10}")
    for name, fields in OPTIONS.items():
        start = time.perf_counter()
        masks = raw if fields is None else postprocess(raw, PostprocessConfig(**fields))
        ms = 1000 * (time.perf_counter() - start) / len(frames)
        summary = summarize(score_frames(masks, frames, post=None))
        ef = measure_masks(masks, frames, name, expert_masks=frames.masks, qc="off").agreement["vs_expert_masks"]["ef"]["all"]
        dice = " / ".join(f"{summary['dice'][s]:.3f}" for s in ("LV", "MYO", "LA"))
        hd = " / ".join(f"{summary['hd_px'][s]:.2f}" for s in ("LV", "MYO", "LA"))
        loa = f"{ef['loa'][0]:.1f} to {ef['loa'][1]:.1f}" if ef["loa"] else "-"
        print(f"{name:<30}{dice:>23}{hd:>23}{summary['outliers_camus']:>16}{summary['outliers_echolite']:>9}"
              f"{ef['mae']:>8.2f}{ef['bias']:>7.2f}{loa:>16}{ms:>10.2f}")


if __name__ == "__main__":
    main()
