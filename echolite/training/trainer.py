"""Training: data → patient split → model → fit with resumable checkpoints → summary, in a run folder
(``echolite.run.RunDir`` names its files)."""

from __future__ import annotations

import csv
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from echolite import LABELS
from echolite.config import ModelConfig, TrainConfig
from echolite.data import FrameSet, LoadedData, load_data
from echolite.data.augment import check_augmentation
from echolite.data.pipeline import make_dataset
from echolite.data.splits import choose_split
from echolite.errors import EcholiteError
from echolite.evaluation.metrics import dice_per_class
from echolite.inference import predict_labels
from echolite.models import build_unet, get_preset, inference_model
from echolite.run import RunDir
from echolite.training.checkpoint import RunCheckpoint, TrainState, load_state
from echolite.training.distribute import Placement, patch_symbolic_build, place, worker_scratch
from echolite.training.losses import DiceScore, SegmentationLoss


@dataclass
class TrainResult:
    run_dir: Path
    parameters: int
    epochs_done: int
    best_epoch: int
    val_dice: dict[str, float]
    seconds: float
    skipped: list[str]
    chief: bool = True  # False on the other workers of a multi-worker run: they wrote nothing

    @property
    def model_path(self) -> Path:
        return RunDir(self.run_dir).model


def train(
    config: TrainConfig,
    run_dir: Path,
    model_config: ModelConfig | None = None,
    resume: bool = False,
    epochs_given: bool = True,
    frames: FrameSet | None = None,
    verbose: int | str = "auto",
) -> TrainResult:
    """Train (or resume) a run in ``run_dir``. ``model_config`` overrides the preset's architecture (tests use
    tiny ones); ``frames`` overrides ``config.data``. A resumed run keeps its saved configuration except the
    epoch budget, which ``config.epochs`` replaces when ``epochs_given``."""
    started = time.time()
    check_augmentation(config.augment)
    home = RunDir(run_dir)
    if resume:
        model_config, config = _resumed_configs(home, config.epochs if epochs_given else None)
    placement = place(config.strategy, config.batch_size)
    if placement.is_chief:
        _prepare_run_dir(home, resume)
    run = home if placement.is_chief else RunDir(worker_scratch())  # only the chief writes the run folder
    try:
        return _train_in(run, home, config, model_config, resume, frames, placement, verbose, started)
    finally:
        if not placement.is_chief:
            shutil.rmtree(run.path, ignore_errors=True)


def _train_in(run: RunDir, home: RunDir, config: TrainConfig, model_config: ModelConfig | None, resume: bool,
              frames: FrameSet | None, placement: Placement, verbose, started: float) -> TrainResult:
    model_config = model_config or get_preset(config.preset).model
    data = LoadedData(frames, "given") if frames is not None else load_data(
        config.data, model_config.input_size, config.phantom_frames, config.seed, config.skip_bad)
    frames, split = data.frames, choose_split(data, config)
    if placement.is_chief:
        run.save_config(model_config, config, split)
    train_frames, val_frames = frames.for_patients(split["train"]), frames.for_patients(split["val"])
    keras.utils.set_random_seed(config.seed)
    state = load_state(home) if resume else None
    with placement.strategy.scope():
        model = keras.models.load_model(home.last_model) if state else _compiled_model(model_config, config)
    if placement.replicas > 1:  # XLA cannot place the variables of other replicas (tf.distribute known issue)
        model.jit_compile = False
        patch_symbolic_build(model, placement)
    state = state or TrainState()
    if state.learning_rate is not None:
        model.optimizer.learning_rate.assign(state.learning_rate)
    _fit(model, config, run, state, train_frames, val_frames, verbose)
    if not placement.is_chief:
        return TrainResult(home.path, model.count_params(), state.epochs_done, state.best_epoch, {},
                           time.time() - started, data.skipped, chief=False)
    best = keras.models.load_model(run.model)
    val_dice = evaluate_dice(best, val_frames) if len(val_frames) else {}
    result = TrainResult(run.path, best.count_params(), state.epochs_done, state.best_epoch, val_dice,
                         time.time() - started, data.skipped)
    _write_summary(result)
    _plot_curves(run)
    return result




def evaluate_dice(model: keras.Model, frames: FrameSet, batch_size: int = 8) -> dict[str, float]:
    """Mean per-frame Dice per structure of the argmax segmentation."""
    labels = predict_labels(inference_model(model), frames.images, batch_size)
    scores = dice_per_class(labels, frames.masks, len(LABELS))
    return {LABELS[c]: float(np.nanmean(scores[:, c - 1])) for c in range(1, len(LABELS))}


def _fit(model, config: TrainConfig, run: RunDir, state: TrainState, train_frames, val_frames, verbose) -> None:
    if state.epochs_done >= config.epochs or state.wait >= config.patience:
        return
    names = list(model.output_names)
    train_ds = make_dataset(train_frames, config.batch_size, names, config.augment, shuffle=True, seed=config.seed)
    val_ds = make_dataset(val_frames, config.batch_size, names) if len(val_frames) else None
    _truncate_history(run.history, state.epochs_done)
    monitor = ("val_" if val_ds is not None else "") + ("seg_dice_mean" if len(names) > 1 else "dice_mean")
    callbacks = [RunCheckpoint(run, monitor, config.patience, state), keras.callbacks.CSVLogger(str(run.history), append=True)]
    if config.scheduler == "plateau":  # Table III: U-Net 0/2/3
        callbacks.insert(0, keras.callbacks.ReduceLROnPlateau(monitor, mode="max", factor=0.5, patience=10, min_lr=1e-6))
    model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state.epochs_done,
        callbacks=callbacks, shuffle=False, verbose=_verbosity(verbose),
    )


def _compiled_model(model_config: ModelConfig, config: TrainConfig) -> keras.Model:
    model = build_unet(model_config, name=config.preset.replace("-", "_"))
    loss = SegmentationLoss(config.loss, model_config.num_classes)
    names = list(model.output_names)
    dice = [DiceScore((1, 2, 3), name="dice_mean")] + [
        DiceScore((c,), name=f"dice_{LABELS[c].lower()}") for c in range(1, model_config.num_classes)
    ]
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={n: loss for n in names},
        loss_weights={n: 1.0 if n == "seg" else config.ds_weight for n in names},
        metrics={"seg": dice},
        jit_compile=config.jit_compile,  # XLA: about 2.4x faster training steps on CPU (benchmarks/)
    )
    return model


def _prepare_run_dir(run: RunDir, resume: bool) -> RunDir:
    if not resume and run.model.exists():
        raise EcholiteError(f"{run.path}: already holds a trained run; pass --resume or choose another --out")
    try:
        run.last_model.parent.mkdir(parents=True, exist_ok=True)
        probe = run.path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise EcholiteError(f"{run.path}: cannot write the run folder ({exc.strerror or exc})") from None
    return run


def _resumed_configs(run: RunDir, epochs: int | None) -> tuple[ModelConfig, TrainConfig]:
    if not run.is_run():
        raise EcholiteError(f"{run.path}: nothing to resume (no {run.CONFIG}); drop --resume to start a new run")
    saved = run.load_config()
    return saved.model, replace(saved.train, epochs=epochs or saved.train.epochs)


def _truncate_history(path: Path, epochs_done: int) -> None:
    """Drop rows of epochs that were logged but not checkpointed (a kill between the two writes)."""
    if not path.exists():
        return
    with path.open() as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) < epochs_done]
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(kept if epochs_done else [])


def _verbosity(verbose):
    if verbose != "auto":
        return verbose
    return 1 if sys.stdout.isatty() else 2


def _write_summary(result: TrainResult) -> None:
    RunDir(result.run_dir).write_summary({
        "parameters": result.parameters,
        "epochs_done": result.epochs_done,
        "best_epoch": result.best_epoch,
        "val_dice": result.val_dice,
        "seconds": round(result.seconds, 1),
    })


def _plot_curves(run: RunDir) -> None:
    from echolite.plots import plot_training_curves

    plot_training_curves(run.history, run.curves)
