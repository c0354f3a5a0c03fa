"""Training throughput: the input pipeline alone (with augmentation) next to training steps without and with
XLA, measured in one run.

    python benchmarks/training_throughput.py --data ../shared/data/camus4ch --preset lw-unet --batch-size 16

Prints frames per second for (1) the tf.data pipeline with augmentation, drained without a model, (2) Keras
training steps of the preset fed by that pipeline, eager TensorFlow graph (no XLA) and XLA-compiled (echolite's
default), their ratios, and the time of one epoch of the authors' reference run (320 training + 80 validation
frames). A pipeline/training ratio well above 1 means training never waits for its input.
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
    parser.add_argument("--steps", type=int, default=6, help="timed training steps (after two warm-up steps)")
    args = parser.parse_args()

    from echolite.data import load_data
    from echolite.data.pipeline import make_dataset

    frames = load_data(args.data, phantom_frames=96).frames
    dataset = make_dataset(frames, args.batch_size, ["seg"], args.augment, shuffle=True)
    start, count = time.perf_counter(), 0
    for images, _ in dataset.repeat(3):
        count += images.shape[0]
    pipeline_fps = count / (time.perf_counter() - start)

    graph_fps, _ = _train_fps(frames, args, jit=False)
    xla_fps, eval_fps = _train_fps(frames, args, jit=True)
    print(
        f"preset {args.preset}, batch {args.batch_size}, augment {args.augment}, {os.cpu_count()} CPUs, "
        f"data {args.data}"
    )
    print(f"pipeline (augmentation, no model)   {pipeline_fps:8.1f} frames/s")
    print(f"training steps, no XLA              {graph_fps:8.2f} frames/s  ({1 / graph_fps:.3f} s/frame)")
    print(f"training steps, XLA (default)       {xla_fps:8.2f} frames/s  ({1 / xla_fps:.3f} s/frame)")
    print(f"XLA / no XLA                        {xla_fps / graph_fps:8.2f}x")
    print(f"pipeline / XLA training             {pipeline_fps / xla_fps:8.1f}x")
    print(
        f"epoch of 320 train + 80 val frames  {320 / xla_fps + 80 / eval_fps:8.0f} s  "
        "(authors' PyTorch code here: ~133 s)"
    )


def _train_fps(frames, args, jit: bool) -> tuple[float, float]:
    from echolite.config import TrainConfig
    from echolite.data.pipeline import make_dataset
    from echolite.presets import get_preset
    from echolite.training.trainer import compiled_model

    config = TrainConfig(preset=args.preset, batch_size=args.batch_size, augment=args.augment, jit_compile=jit)
    model = compiled_model(get_preset(args.preset).model, config)
    import keras
    import numpy as np

    dataset = make_dataset(frames, args.batch_size, list(model.output_names), args.augment, shuffle=True).repeat()
    stamps: list[float] = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: stamps.append(time.perf_counter()))
    # one fit, timed between batch ends: the first steps trace and compile; a second fit() would add its own set-up
    model.fit(dataset.take(args.steps + 2), epochs=1, verbose=0, callbacks=[clock])
    train_fps = args.batch_size / float(np.median(np.diff(stamps)[1:]))
    model.evaluate(dataset.take(1), verbose=0)
    start = time.perf_counter()
    model.evaluate(dataset.take(2), verbose=0)
    return train_fps, 2 * args.batch_size / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
