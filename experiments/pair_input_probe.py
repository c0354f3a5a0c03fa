"""Does seeing the other phase help a model's EF? A probe, not a training path of the library.

The experts drew CAMUS with the cine loop in front of them; a single-frame model sees one still. This trains
``edge-rt`` (30 epochs, batch 16, Adam 1e-3; the library's model builder, loss and input pipeline, affine) with
either one input channel (the frame) or two (the frame, then the same view's frame of the other phase, both moved by
the same affine), keeps the epoch of best validation Dice, and reports on the validation patients Dice, outliers
(camus criteria, default post-processing) and EF against the expert masks (method of disks, mitral cut).

    python experiments/pair_input_probe.py --data ../shared/data/camus4ch \\
        --split-file benchmarks/camus4ch_inner_split.yaml --channels 2 --seed 0 --out runs/pair-2ch

It feeds its own batches (a ``keras.utils.PyDataset`` around the library's augmenter, both channels moved by the same
affine) on every Keras backend, XLA-compiled on JAX (``KERAS_BACKEND=jax`` on a GPU machine without TensorFlow). The
TensorFlow results in docs/research.md came from an earlier version that fed the library's tf.data pipeline
(git history), so a rerun on TensorFlow sees other augmentation draws. Unmaintained: see experiments/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np


def partner_index(frames) -> np.ndarray:
    """For each frame, the index of the same patient's and view's frame of the other phase (itself if none)."""
    where = {(p, v, ph): i for i, (p, v, ph) in enumerate(zip(frames.patients, frames.views, frames.phases))}
    other = {"ED": "ES", "ES": "ED"}
    return np.array(
        [
            where.get((p, v, other.get(ph)), i)
            for i, (p, v, ph) in enumerate(zip(frames.patients, frames.views, frames.phases))
        ]
    )


def inputs(frames, channels: int) -> np.ndarray:
    images = frames.images.astype(np.float32)
    if channels == 1:
        return images[..., None]
    partner = partner_index(frames)
    if (partner == np.arange(len(partner))).any():
        raise SystemExit(f"{int((partner == np.arange(len(partner))).sum())} frames have no frame of the other phase")
    return np.stack([images, images[partner]], axis=-1)


def keras_batches(
    images: np.ndarray, masks: np.ndarray, names: list[str], batch_size: int, augment: str = "none", seed: int = 0
):
    """The tf.data pipeline's batches as a ``keras.utils.PyDataset`` (any backend): shuffled each epoch when
    augmenting, each frame augmented with its own seed (the same for the same seed, epoch and position)."""
    import keras

    from echolite.data.augment import Augmenter

    augmenter = Augmenter(augment) if augment != "none" else None

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=4, use_multiprocessing=False)
            self.epoch = 0
            self.order = self._order()

        def _order(self):
            if augmenter is None:
                return np.arange(len(images))
            return np.random.default_rng([seed, self.epoch]).permutation(len(images))

        def __len__(self):
            return (len(images) + batch_size - 1) // batch_size

        def __getitem__(self, index):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            x, y = images[rows], masks[rows]
            if augmenter is not None:
                pairs = [
                    augmenter(
                        x[i, ..., 0] if x.shape[-1] == 1 else x[i],
                        y[i],
                        (seed * 1_000_003 + self.epoch) * 100_003 + index * batch_size + i,
                    )
                    for i in range(len(rows))
                ]
                x = np.stack([a.reshape(x.shape[1:]) for a, _ in pairs])
                y = np.stack([b for _, b in pairs])
            return x, {name: y[..., None] for name in names}

        def on_epoch_end(self):
            self.epoch += 1
            self.order = self._order()

    return Batches()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-file", required=True)
    parser.add_argument("--channels", type=int, choices=(1, 2), default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import keras

    from echolite.config import TrainConfig
    from echolite.data.run_split import frames_for_split
    from echolite.evaluation.anatomy import check_anatomy, is_outlier
    from echolite.evaluation.metrics import dice_per_class
    from echolite.evaluation.postprocess import postprocess
    from echolite.models import inference_model
    from echolite.presets import get_preset
    from echolite.training.trainer import compiled_model
    from echolite.workflows.measure import measure_masks

    preset = get_preset("edge-rt")
    model_config = dataclasses.replace(preset.model, in_channels=args.channels)
    tensorflow = keras.backend.backend() == "tensorflow"
    config = TrainConfig(
        preset="edge-rt", batch_size=16, epochs=args.epochs, seed=args.seed, jit_compile=not tensorflow
    )  # XLA off on TensorFlow, as the preset; on JAX jit is the engine
    train = frames_for_split(args.data, "train", None, model_config.input_size, args.split_file).frames
    val = frames_for_split(args.data, "val", None, model_config.input_size, args.split_file).frames
    keras.utils.set_random_seed(args.seed)
    model = compiled_model(model_config, config)
    names = list(model.output_names)
    args.out.mkdir(parents=True, exist_ok=True)
    best = args.out / "best.weights.h5"
    started = time.time()
    feed = keras_batches(inputs(train, args.channels), train.masks, names, 16, "affine", args.seed)
    val_feed = keras_batches(inputs(val, args.channels), val.masks, names, 16)
    model.fit(
        feed,
        validation_data=val_feed,
        epochs=args.epochs,
        verbose=2,
        shuffle=False,
        callbacks=[
            keras.callbacks.ModelCheckpoint(
                best, "val_seg_dice_mean", mode="max", save_best_only=True, save_weights_only=True
            )
        ],
    )
    minutes = (time.time() - started) / 60
    model.load_weights(best)
    seg = inference_model(model)
    labels = np.argmax(seg.predict(inputs(val, args.channels), batch_size=8, verbose=0), axis=-1).astype(np.uint8)
    masks = postprocess(labels)
    dice = np.nanmean(dice_per_class(masks, val.masks, 4), axis=0)
    outliers = sum(is_outlier(check_anatomy(m, "camus")) for m in masks)
    report = measure_masks(masks, val, f"pair probe, {args.channels} channel(s)", val.masks)
    ef = report.agreement["vs_expert_masks"]["ef"]["all"]
    result = {
        "channels": args.channels,
        "seed": args.seed,
        "epochs": args.epochs,
        "minutes": round(minutes, 1),
        "dice": [round(float(d), 3) for d in dice],
        "outliers_camus": int(outliers),
        "ef": ef,
        "patients": [
            {"patient": p.patient, "ef": p.ef, "edv_ml": p.edv_ml, "esv_ml": p.esv_ml} for p in report.patients
        ],
        "expert": [{"patient": p.patient, "ef": p.ef} for p in report.expert],
    }
    (args.out / "result.json").write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({k: v for k, v in result.items() if k not in ("patients", "expert")}, default=float))


if __name__ == "__main__":
    main()
