"""Does the device runner give the same masks as the library? For every frame of a split, compare
``echolite-edge``'s mask (read the original image file, resize, quantize, invoke, argmax, largest components, back
to the original size) with the library's (the frame as ``echolite evaluate`` loads it, ``TFLiteSegmenter``,
``echolite.evaluation.postprocess``, the same nearest resize back).

    python benchmarks/edge_parity.py RUN/model_int8.tflite --data ../shared/data/camus4ch --run RUN --split val

``--no-fill-enclosed``, ``--no-detach-atrium``, ``--close-myocardium MODE`` and ``--tta MODE`` compare the two with
those post-processing steps off or on, or that test-time augmentation; ``--ensemble MODEL`` (repeatable) averages more
models (the options of ``echolite-edge run`` and ``echolite evaluate``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from echolite_edge.postprocess import CLOSE_DEFAULT, CLOSE_MODES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--run", type=Path, help="run folder whose split to use")
    parser.add_argument("--split", default="val")
    parser.add_argument("--fill-enclosed", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--close-myocardium", choices=CLOSE_MODES, default=CLOSE_DEFAULT)
    parser.add_argument("--detach-atrium", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--tta", default="none")
    parser.add_argument("--ensemble", type=Path, action="append", default=[], help="more .tflite models averaged")
    args = parser.parse_args()

    import numpy as np

    from echolite.data.run_split import frames_for_split
    from echolite.evaluation.postprocess import PostprocessConfig, postprocess
    from echolite.inference import load_segmenter
    from echolite_edge.image import read_image, resize_nearest
    from echolite_edge.segmenter import EdgeSegmenter

    library = load_segmenter(args.model, args.tta, tuple(args.ensemble))
    frames = frames_for_split(args.data, args.split, args.run, library.input_size).frames
    post = PostprocessConfig(
        fill_enclosed=args.fill_enclosed, close_myocardium=args.close_myocardium, detach_atrium=args.detach_atrium
    )
    labels = postprocess(library.predict_labels(frames.images), post)
    edge = EdgeSegmenter(
        args.model, 2, args.fill_enclosed, args.close_myocardium, args.tta, args.detach_atrium, tuple(args.ensemble)
    )
    files = {p.stem: p for p in Path(args.data).rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg")}
    same, seconds = 0, []
    for i, frame_id in enumerate(frames.frame_ids):
        if frame_id not in files:
            raise SystemExit(f"{args.data}: no image file named {frame_id}.*")
        result = edge.segment(read_image(files[frame_id]))
        seconds.append(result.seconds_total)
        same += np.array_equal(result.mask, resize_nearest(labels[i], tuple(frames.original_shapes[i])))
    print(
        f"{same} of {len(frames)} frames: identical masks (edge runner vs library), "
        f"edge end to end {1000 * np.mean(seconds):.1f} ms per frame at the original size"
    )


if __name__ == "__main__":
    main()
