"""Training throughput: the input pipeline alone (with augmentation) next to full training steps, in one run.

    python benchmarks/training_throughput.py --data ../shared/data/camus4ch --preset lw-unet --batch-size 16

Prints frames per second for (1) the tf.data pipeline with augmentation, drained without a model, and (2) Keras
training steps of the preset fed by that pipeline, and their ratio. A ratio well above 1 means training never
waits for the pipeline. The last line is the time of one paper-sized epoch (320 training + 80 validation frames).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="phantom")
    parser.add_argument("--preset", default="lw-unet")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--augment", default="affine")
    parser.add_argument("--steps", type=int, default=6, help="timed training steps (after one warm-up epoch)")
    args = parser.parse_args()

    import keras

    from echolite.config import TrainConfig, get_preset
    from echolite.data import load_data
    from echolite.data.pipeline import make_dataset
    from echolite.train import _compiled_model

    frames = load_data(args.data, phantom_frames=96).frames
    config = TrainConfig(preset=args.preset, batch_size=args.batch_size, augment=args.augment)
    model = _compiled_model(get_preset(args.preset).model, config)
    names = list(model.output_names)
    dataset = make_dataset(frames, args.batch_size, names, args.augment, shuffle=True)

    start, count = time.perf_counter(), 0
    for images, _ in dataset.repeat(3):
        count += images.shape[0]
    pipeline_fps = count / (time.perf_counter() - start)

    steps = dataset.repeat().take(args.steps + 2)
    model.fit(steps.take(2), epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter()
    model.fit(dataset.repeat().take(args.steps), epochs=1, verbose=0)
    train_fps = args.steps * args.batch_size / (time.perf_counter() - start)
    eval_start = time.perf_counter()
    model.predict(frames.images[:32, ..., None], batch_size=args.batch_size, verbose=0)
    eval_fps = 32 / (time.perf_counter() - eval_start)

    print(f"preset {args.preset}, batch {args.batch_size}, augment {args.augment}, keras {keras.__version__}, "
          f"{os.cpu_count()} CPUs")
    print(f"pipeline (augmentation, no model)  {pipeline_fps:8.1f} frames/s")
    print(f"training steps                     {train_fps:8.1f} frames/s  ({1 / train_fps:.3f} s/frame)")
    print(f"pipeline / training                {pipeline_fps / train_fps:8.1f}x")
    print(f"epoch of 320 train + 80 val frames {320 / train_fps + 80 / eval_fps:8.0f} s")


if __name__ == "__main__":
    main()
