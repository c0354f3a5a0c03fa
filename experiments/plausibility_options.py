"""What each option for plausible masks buys, measured in one run: every model given predicts the split once per
test-time augmentation mode, and every post-processing option is scored on those predictions: Dice and Hausdorff
per structure, anatomical outliers under both criteria sets, ejection fraction against the expert masks (MAE, bias,
limits of agreement; with and without the mitral cut), and the cost per frame (model calls and post-processing).

    python experiments/plausibility_options.py runs/camus-lw runs/camus-lw/model_averaged.keras \\
        --data ../shared/data/camus4ch --split-file benchmarks/camus4ch_split.yaml --split train

Options are chosen on the training patients (``--split train``) and then reported on the validation patients, so the
choice never looks at the frames it is judged on. Rows without augmentation and with "largest components"
are the model as the paper post-processes it. ``--ensemble`` adds the rows of all the models given averaged as one
(``echolite evaluate MODEL --ensemble OTHER``).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

OFF = {"fill_enclosed": False, "close_myocardium": "off", "detach_atrium": False}  # the largest components alone
POSTPROCESSING = {
    "raw argmax": None,
    "largest components": OFF,
    "+ fill enclosed": {**OFF, "fill_enclosed": True},
    "+ close myocardium": {**OFF, "close_myocardium": "always"},
    "+ close myocardium when open": {**OFF, "close_myocardium": "when-open"},
    "+ detach atrium": {**OFF, "detach_atrium": True},
    "+ fill, detach": {"close_myocardium": "off"},
    "+ fill, close when open, detach (default)": {},
    "+ all three": {"close_myocardium": "always"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="run folders, .keras or .tflite files")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-file")
    parser.add_argument("--split", default="train")
    parser.add_argument("--tta", nargs="+", default=["none", "zoom", "zoom-gamma"])
    parser.add_argument(
        "--post",
        nargs="+",
        default=list(POSTPROCESSING),
        choices=list(POSTPROCESSING),
        help="post-processing rows to score",
    )
    parser.add_argument("--ensemble", action="store_true", help="also score the ensemble of all the models given")
    args = parser.parse_args()

    from echolite.data.run_split import frames_for_split
    from echolite.evaluation.postprocess import PostprocessConfig, postprocess
    from echolite.evaluation.scoring import score_frames, summarize
    from echolite.inference import load_segmenter
    from echolite.run import RunDir
    from echolite.workflows.measure import measure_masks

    first = load_segmenter(args.models[0])
    frames = frames_for_split(
        args.data, args.split, RunDir.of(args.models[0]), first.input_size, args.split_file
    ).frames
    print(
        f"{args.split}: {len(frames)} frames; Dice and HD (px, 256 grid) LV / MYO / LA; EF of the masks against "
        "EF of the expert masks, 4CH single plane, per patient, the ES masks cut at the ED mitral plane (uncut MAE: "
        "without the cut); ms/frame: model calls + post-processing, this CPU"
    )
    print(
        f"{'model':<34}{'tta':<11}{'post-processing':<42}{'Dice':>23}{'HD px':>23}{'camus':>6}{'echolite':>9}"
        f"{'EF MAE':>8}{'bias':>7}{'LoA':>16}{'uncut MAE':>10}{'ms/frame':>10}"
    )
    candidates = [(m, ()) for m in args.models] + ([(args.models[0], tuple(args.models[1:]))] if args.ensemble else [])
    for model, others in candidates:
        label = f"ensemble of {len(others) + 1}" if others else str(model)[-33:]
        for tta in args.tta:
            segmenter = load_segmenter(model, tta, others)
            start = time.perf_counter()
            raw = segmenter.predict_labels(frames.images)
            model_ms = 1000 * (time.perf_counter() - start) / len(frames)
            for name in args.post:
                fields = POSTPROCESSING[name]
                start = time.perf_counter()
                masks = raw if fields is None else postprocess(raw, PostprocessConfig(**fields))
                ms = model_ms + 1000 * (time.perf_counter() - start) / len(frames)
                summary = summarize(score_frames(masks, frames, post=None))
                ef, uncut = (
                    measure_masks(masks, frames, name, expert_masks=frames.masks, qc="off", mitral_cut=cut).agreement[
                        "vs_expert_masks"
                    ]["ef"]["all"]
                    for cut in (True, False)
                )
                dice = " / ".join(f"{summary['dice'][s]:.3f}" for s in ("LV", "MYO", "LA"))
                hd = " / ".join(f"{summary['hd_px'][s]:.2f}" for s in ("LV", "MYO", "LA"))
                loa = f"{ef['loa'][0]:.1f} to {ef['loa'][1]:.1f}" if ef["loa"] else "-"
                print(
                    f"{label:<34}{tta:<11}{name:<42}{dice:>23}{hd:>23}{summary['outliers_camus']:>6}"
                    f"{summary['outliers_echolite']:>9}{ef['mae']:>8.2f}{ef['bias']:>7.2f}{loa:>16}"
                    f"{uncut['mae']:>10.2f}{ms:>10.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
