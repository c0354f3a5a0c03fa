"""Training steps per second with 1 and 2 replicas on logical CPU devices, measured in one run.

    python benchmarks/distributed_steps.py --preset lw-unet --size 128 --batch-size 8 --steps 6

The same compiled model trains under the default strategy and under ``MirroredStrategy`` over two logical CPU
devices carved from this machine's CPU (both without XLA, which mirrored training does not use). Two logical
devices share the same cores, so this checks the machinery (the global batch split over the replicas, the
gradients all-reduced) and prints its overhead; it is not a speed-up measurement. Run it on a machine with GPUs
for that.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="lw-unet")
    parser.add_argument("--size", type=int, default=128, help="input size in pixels")
    parser.add_argument("--batch-size", type=int, default=8, help="global batch (split over the replicas)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps (after two warm-up steps)")
    args = parser.parse_args()

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from dataclasses import replace

    from echolite.data.phantom import make_phantom
    from echolite.data.pipeline import make_dataset
    from echolite.presets import resolve_configs
    from echolite.training.distribute import place
    from echolite.training.trainer import compiled_model

    model_config, config = resolve_configs(
        args.preset, input_size=args.size, batch_size=args.batch_size, jit_compile=False, augment="none"
    )
    frames = make_phantom(args.batch_size * (args.steps + 2), seed=0, size=args.size)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; {args.preset} at {args.size} px, "
        f"global batch {args.batch_size}, {args.steps} timed steps"
    )
    rates = {}
    for name in ("default", "mirrored"):
        placement = place(name, args.batch_size)
        with placement.strategy.scope():
            model = compiled_model(model_config, replace(config, strategy=name))
        dataset = make_dataset(frames, args.batch_size, list(model.output_names))
        rates[name] = _steps_per_second(model, dataset, args.steps)
        print(
            f"{name:<9} replicas {placement.replicas}  {rates[name]:.2f} steps/s  "
            f"{rates[name] * args.batch_size:.1f} frames/s"
        )
    print(f"mirrored / default: {rates['mirrored'] / rates['default']:.2f}x (same cores: overhead, not speed-up)")


def _steps_per_second(model, dataset, steps: int) -> float:
    import keras

    ends = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            ends.append(time.perf_counter())

    model.fit(dataset, epochs=1, verbose=0, shuffle=False, callbacks=[Clock()])
    timed = ends[2:]  # after two warm-up steps (tracing)
    return (len(timed) - 1) / (timed[-1] - timed[0])


if __name__ == "__main__":
    main()
