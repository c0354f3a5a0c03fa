"""Training: data → patient split → model → fit with resumable checkpoints → summary, in a run folder
(``echolite.run.RunDir`` names its files)."""

from __future__ import annotations

import csv
import os
import shutil
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from echolite.config import ModelConfig, TrainConfig
from echolite.data import FrameSet, LoadedData, load_data
from echolite.data.augment import check_augmentation
from echolite.data.pipeline import make_dataset
from echolite.data.splits import choose_split
from echolite.errors import EcholiteError, check_writable
from echolite.evaluation.metrics import dice_per_class
from echolite.inference import keras_file, predict_labels
from echolite.models import build_unet, inference_model
from echolite.models.layers import load_saved_model
from echolite.plots import plot_training_curves
from echolite.presets import get_preset
from echolite.pretrained import resolve_model
from echolite.run import RunConfig, RunDir
from echolite.training.averaging import EpochWeights, average_run, kept_epochs
from echolite.training.checkpoint import BatchProgress, EpochLog, HistoryCSV, RunCheckpoint, TrainState, load_state
from echolite.training.distribute import Placement, patch_symbolic_build, place, worker_scratch
from echolite.training.losses import DiceScore, SegmentationLoss
from echolite_edge.labels import LABELS


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
    averaged_val_dice: dict[str, float] | None = None  # model_averaged.keras, with TrainConfig.average_last

    @property
    def model_path(self) -> Path:
        return RunDir(self.run_dir).model


def train(
    config: TrainConfig,
    run_dir: Path,
    model_config: ModelConfig | None = None,
    resume: bool = False,
    frames: FrameSet | None = None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    saved: RunConfig | None = None,
) -> TrainResult:
    """Train (or resume) a run in ``run_dir`` with ``config``. ``model_config`` overrides the preset's
    architecture (tests use tiny ones); ``frames`` overrides ``config.data``. A resumed run continues from its
    checkpoint with the configs given (what a resumed run keeps of its saved settings is decided by its caller:
    ``echolite.workflows.train``), on the patient split of ``saved``, the run's saved configuration (None: read
    from ``run_dir``), whose model the checkpoint must be. A data folder is saved as an absolute path, so
    evaluation and resuming work from any directory. ``log`` receives one line per epoch, ``progress(step,
    steps)`` each training batch."""
    started = time.time()
    check_augmentation(config.augment)
    home = RunDir(run_dir)
    saved = (saved or saved_run_config(home)) if resume else None
    if resume:
        _check_resumable(home)
    config = replace(config, data=_absolute(config.data))
    placement = place(config.strategy, config.batch_size)
    if placement.is_chief:
        _check_run_dir(home, resume)
    run = home if placement.is_chief else RunDir(worker_scratch())  # only the chief writes the run folder
    existed = run.path.exists()
    try:
        return _train_in(run, home, config, model_config, saved, frames, placement, (log, progress), started)
    except BaseException:
        if not existed and not run.has_checkpoint():  # failed before its first epoch: leave nothing behind
            shutil.rmtree(run.path, ignore_errors=True)
        raise
    finally:
        if not placement.is_chief:
            shutil.rmtree(run.path, ignore_errors=True)


def _train_in(
    run: RunDir,
    home: RunDir,
    config: TrainConfig,
    model_config: ModelConfig | None,
    saved: RunConfig | None,
    frames: FrameSet | None,
    placement: Placement,
    report: tuple,
    started: float,
) -> TrainResult:
    model_config = model_config or get_preset(config.preset).model
    data = (
        LoadedData(frames, "given")
        if frames is not None
        else load_data(config.data, model_config.input_size, config.phantom_frames, config.seed, config.skip_bad)
    )
    frames = data.frames
    split = choose_split(data, config) if saved is None else _saved_split(saved.split, frames, config.data)
    train_frames, val_frames = frames.for_patients(split["train"]), frames.for_patients(split["val"])
    keras.utils.set_random_seed(config.seed)
    state = None if saved is None else load_state(home)
    with placement.strategy.scope():
        model = _load_checkpoint(home.last_model) if state else compiled_model(model_config, config)
        if not state and config.init:
            _start_from(model, config.init)
    if state:
        _check_checkpoint_matches(model, saved.model, home)
        _check_best_model(home, state)
    _history_rows(run.history)  # a damaged history stops the run before anything is written
    _create_run_dir(run)  # only now that the data, the split and any checkpoint are known to be good
    if placement.is_chief:
        run.save_config(model_config, config, split)
    if placement.replicas > 1:  # XLA cannot place the variables of other replicas (tf.distribute known issue)
        model.jit_compile = False
        patch_symbolic_build(model, placement)
    state = state or TrainState()
    if state.learning_rate is not None:
        model.optimizer.learning_rate.assign(state.learning_rate)
    _fit(model, config, run, state, train_frames, val_frames, report)
    if not placement.is_chief:
        return TrainResult(
            home.path,
            model.count_params(),
            state.epochs_done,
            state.best_epoch,
            {},
            time.time() - started,
            data.skipped,
            chief=False,
        )
    best = keras.models.load_model(run.model)
    val_dice = evaluate_dice(best, val_frames) if len(val_frames) else {}
    result = TrainResult(
        run.path,
        best.count_params(),
        state.epochs_done,
        state.best_epoch,
        val_dice,
        time.time() - started,
        data.skipped,
    )
    if config.average_last and kept_epochs(run):
        averaged = keras.models.load_model(
            average_run(run, min(config.average_last, len(kept_epochs(run))), train_frames.images, config.batch_size)
        )
        result.averaged_val_dice = evaluate_dice(averaged, val_frames) if len(val_frames) else {}
    _write_summary(result)
    _plot_curves(run)
    return result


def evaluate_dice(model: keras.Model, frames: FrameSet, batch_size: int = 8) -> dict[str, float]:
    """Mean per-frame Dice per structure of the argmax segmentation."""
    labels = predict_labels(inference_model(model), frames.images, batch_size)
    scores = dice_per_class(labels, frames.masks, len(LABELS))
    return {LABELS[c]: float(np.nanmean(scores[:, c - 1])) for c in range(1, len(LABELS))}


def poly_learning_rate(epoch: int, epochs: int, initial: float, exponent: float = 0.9) -> float:
    """nnU-Net's polynomial decay: ``initial`` at epoch 0, falling to ``initial · (1/epochs)^exponent`` in the last."""
    return initial * (1 - epoch / epochs) ** exponent


def _fit(model, config: TrainConfig, run: RunDir, state: TrainState, train_frames, val_frames, report) -> None:
    """``report``: (a line per epoch, a call per batch), either None."""
    log, progress = report
    if state.epochs_done >= config.epochs or state.wait >= config.patience:
        return
    names = list(model.output_names)
    train_ds = make_dataset(train_frames, config.batch_size, names, config.augment, shuffle=True, seed=config.seed)
    val_ds = make_dataset(val_frames, config.batch_size, names) if len(val_frames) else None
    _truncate_history(run.history, state.epochs_done)
    monitor = ("val_" if val_ds is not None else "") + ("seg_dice_mean" if len(names) > 1 else "dice_mean")
    callbacks = [RunCheckpoint(run, monitor, config.patience, state), HistoryCSV(run.history)]
    if config.average_last:  # before RunCheckpoint: an epoch is done once its checkpoint is written
        callbacks.insert(0, EpochWeights(run, config.epochs - config.average_last + 1))
    if log is not None:
        callbacks.append(EpochLog(log, config.epochs, state, " (XLA)" if model.jit_compile else ""))
    if progress is not None:
        callbacks.append(BatchProgress(progress, int(train_ds.cardinality())))
    if config.scheduler == "plateau":  # Table III: U-Net 0/2/3
        callbacks.insert(
            0, keras.callbacks.ReduceLROnPlateau(monitor, mode="max", factor=0.5, patience=10, min_lr=1e-6)
        )
    elif config.scheduler == "poly":  # from the epoch index, so a resumed run continues the same decay
        callbacks.insert(
            0,
            keras.callbacks.LearningRateScheduler(
                lambda epoch: poly_learning_rate(epoch, config.epochs, config.learning_rate)
            ),
        )
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=config.epochs,
        initial_epoch=state.epochs_done,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )


def compiled_model(model_config: ModelConfig, config: TrainConfig) -> keras.Model:
    """A new model of ``model_config``, compiled as ``train`` compiles it: Adam, the loss on every output (deep
    supervision weighted by ``config.ds_weight``), Dice metrics on ``seg``; scripts that feed their own batches train
    with it, so they train what ``train`` trains."""
    model = build_unet(model_config, name=config.preset.replace("-", "_"))
    loss = SegmentationLoss(config.loss, model_config.num_classes, size_weight=config.size_weight)
    names = list(model.output_names)
    dice = [DiceScore((1, 2, 3), name="dice_mean")] + [
        DiceScore((c,), name=f"dice_{LABELS[c].lower()}") for c in range(1, model_config.num_classes)
    ]
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss={n: loss for n in names},
        loss_weights={n: 1.0 if n == "seg" else config.ds_weight for n in names},
        metrics={"seg": dice},
        jit_compile=config.jit_compile,  # per preset: on CPU XLA speeds up plain convolutions, slows depthwise ones
    )
    return model


def _start_from(model: keras.Model, init: str) -> None:
    """Fine-tuning: ``model`` takes the weights of ``init`` (a shipped model's name, a run folder or a .keras file),
    which must be of the same architecture."""
    initial = load_saved_model(keras_file(resolve_model(init)))
    shapes = [tuple(w.shape) for w in model.weights]
    if [tuple(w.shape) for w in initial.weights] != shapes:
        raise EcholiteError(f"--init {init}: its weights do not fit the architecture being trained")
    model.set_weights(initial.get_weights())


def _check_run_dir(run: RunDir, resume: bool) -> None:
    """Refuse a finished run (without resume) and a folder that cannot be created, before any work."""
    if not resume and run.model.exists():
        raise EcholiteError(f"{run.path}: already holds a trained run; pass --resume or choose another --out")
    check_writable(run.path, "the run folder")


def _create_run_dir(run: RunDir) -> None:
    try:
        run.last_model.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EcholiteError(f"{run.path}: cannot write the run folder ({exc.strerror or exc})") from None


def saved_run_config(run: RunDir) -> RunConfig:
    """The configs and split ``run`` saved, which a resumed run continues from."""
    if not run.is_run():
        raise EcholiteError(f"{run.path}: nothing to resume (no {run.CONFIG}); drop --resume to start a new run")
    return run.load_config()


def _check_resumable(run: RunDir) -> None:
    """A run past its first epoch keeps its checkpoint: without it, resuming would start over and overwrite the
    best model and history (a run stopped in its first epoch, before its checkpoint, starts again)."""
    if not run.has_checkpoint() and (run.summary.exists() or _epochs_logged(run) > 0):
        raise EcholiteError(
            f"{run.path}: nothing to resume from ({run.last_model.relative_to(run.path)} or its "
            "state is missing); train into a new --out"
        )


def _epochs_logged(run: RunDir) -> int:
    return max(len(_history_rows(run.history)) - 1, 0)


def _absolute(data: str) -> str:
    """The data folder from the root, through its symbolic links as given (a link may be repointed on purpose)."""
    return data if data == "phantom" or not Path(data).exists() else os.path.abspath(data)


def _saved_split(split: dict[str, list[str]], frames: FrameSet, data: str) -> dict[str, list[str]]:
    """The split a run was trained with, all of whose patients ``data`` must still hold."""
    present = set(frames.patients)
    missing = [p for patients in split.values() for p in patients if p not in present]
    if missing:
        raise EcholiteError(
            f"{data}: lacks {len(missing)} of the run's patients (e.g. {missing[0]}); resume on the "
            "data the run was trained on (--data where it has moved)"
        )
    return split


def _load_checkpoint(path: Path) -> keras.Model:
    try:
        return keras.models.load_model(path)
    except (ValueError, OSError, TypeError, KeyError, zipfile.BadZipFile) as exc:
        raise EcholiteError(
            f"{path}: cannot load the checkpoint ({str(exc).splitlines()[0][:160]}); train into a new --out"
        ) from None


def _check_checkpoint_matches(model: keras.Model, model_config: ModelConfig, run: RunDir) -> None:
    """The checkpoint must be the model the run's config describes: the data is read on the config's grid, and
    export and averaging read the run's frames by that config."""
    size, channels = model_config.input_size, model_config.in_channels
    described = build_unet(model_config).count_params()
    got = tuple(model.input_shape[1:])
    if got != (size, size, channels) or model.count_params() != described:
        raise EcholiteError(
            f"{run.last_model}: not the model {run.config.name} describes (input {got} against "
            f"{(size, size, channels)}, {model.count_params():,} against {described:,} parameters); "
            "train into a new --out"
        )


def _check_best_model(run: RunDir, state: TrainState) -> None:
    if state.best_epoch and not run.model.exists():
        raise EcholiteError(
            f"{run.model}: missing (the best model, of epoch {state.best_epoch}); resuming would "
            "lose it: train into a new --out"
        )


def _history_rows(path: Path) -> list[list[str]]:
    """The rows of ``history.csv`` (none when it is absent), each after the header numbered by its epoch."""
    if not path.exists():
        return []
    try:
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error, OSError) as exc:
        raise EcholiteError(
            f"{path}: not a readable history ({str(exc)[:120]}); repair or delete the file (it is rebuilt)"
        ) from None
    if any(r and not r[0].isdigit() for r in rows[1:]):
        raise EcholiteError(f"{path}: a row without an epoch number; repair or delete the file (it is rebuilt)")
    return rows


def _truncate_history(path: Path, epochs_done: int) -> None:
    """Drop rows of epochs that were logged but not checkpointed (a kill between the two writes)."""
    if not path.exists():
        return
    rows = _history_rows(path)
    kept = rows[:1] + [r for r in rows[1:] if r and int(r[0]) <= epochs_done]  # epochs count from 1
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(kept if epochs_done else [])


def _write_summary(result: TrainResult) -> None:
    RunDir(result.run_dir).write_summary(
        {
            "parameters": result.parameters,
            "epochs_done": result.epochs_done,
            "best_epoch": result.best_epoch,
            "val_dice": result.val_dice,
            **({"averaged_val_dice": result.averaged_val_dice} if result.averaged_val_dice is not None else {}),
            "seconds": round(result.seconds, 1),
        }
    )


def _plot_curves(run: RunDir) -> None:
    plot_training_curves(run.history, run.curves)
