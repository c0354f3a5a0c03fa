import csv
import json
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from echolite.config import TrainConfig
from echolite.data.phantom import make_phantom
from echolite.training.trainer import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames():
    return make_phantom(24, seed=0, size=64)


def test_training_writes_the_run_folder(tmp_path, tiny_config, frames):
    steps = []
    result = train(
        TrainConfig(epochs=2, batch_size=8, average_last=2),
        tmp_path / "run",
        model_config=tiny_config,
        frames=frames,
        progress=lambda step, total: steps.append((step, total)),
    )
    per_epoch = steps[-1][1]  # every batch of both epochs reported, counted within its epoch
    assert per_epoch >= 1 and steps == [(s, per_epoch) for s in range(1, per_epoch + 1)] * 2
    run = tmp_path / "run"
    for name in (
        "model.keras",
        "config.json",
        "history.csv",
        "curves.png",
        "summary.json",
        "checkpoint/last.keras",
        "model_averaged.keras",
        "checkpoint/epochs/epoch_001.weights.h5",
    ):
        assert (run / name).exists(), name
    averaged = keras.models.load_model(run / "model_averaged.keras")
    kernels = []
    for epoch in (1, 2):
        averaged_copy = keras.models.clone_model(averaged)
        averaged_copy.load_weights(run / f"checkpoint/epochs/epoch_{epoch:03d}.weights.h5")
        kernels.append(averaged_copy.trainable_weights[0].numpy())
    np.testing.assert_allclose(averaged.trainable_weights[0].numpy(), np.mean(kernels, axis=0), rtol=1e-5, atol=1e-7)
    assert set(result.averaged_val_dice) == {"LV", "MYO", "LA"}
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["input_size"] == 64 and config["train"]["epochs"] == 2
    assert set(config["split"]) == {"train", "val", "test"}
    model = keras.models.load_model(run / "model.keras")
    assert getattr(model, "optimizer", None) is None  # the optimizer state stays in the checkpoint, for --resume
    assert keras.models.load_model(run / "checkpoint" / "last.keras").optimizer is not None
    seg = np.asarray(model(frames.images[:2, ..., None], training=False)["seg"])
    np.testing.assert_allclose(seg.sum(-1), 1.0, atol=1e-5)
    assert result.epochs_done == 2 and set(result.val_dice) == {"LV", "MYO", "LA"}
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_epoch"] in (1, 2) and summary["parameters"] == result.parameters


def test_kept_epochs_are_the_files_named_like_epoch_weights(tmp_path):
    from echolite.run import RunDir
    from echolite.training.averaging import kept_epochs

    run = RunDir(tmp_path)
    run.epoch_weights_dir.mkdir(parents=True)
    for name in (
        "epoch_002.weights.h5",
        "epoch_010.weights.h5",
        "epoch_002 (1).weights.h5",
        "epoch_3.weights.h5",
        "epoch_x.weights.h5",
        ".epoch_011.weights.h5.tmp.weights.h5",
    ):
        (run.epoch_weights_dir / name).write_bytes(b"")
    assert kept_epochs(run) == [2, 10]


def test_batch_norm_statistics_are_recomputed_as_the_mean_over_batches():
    from echolite.training.averaging import recompute_batch_norm

    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.99)(inputs))
    images = np.random.default_rng(0).normal(3.0, 2.0, (12, 4, 4, 1)).astype("float32")
    recompute_batch_norm(model, images, batch_size=4)
    bn = model.layers[-1]
    batches = images.reshape(3, -1)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [batches.mean(1).mean()], rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [batches.var(1).mean()], rtol=1e-4)
    assert bn.momentum == 0.99


def test_training_learns_the_phantom(tmp_path, frames):
    """A small model separates the dark LV from its bright wall within a few epochs."""
    from echolite.config import ModelConfig

    config = ModelConfig(
        encoder_channels=(16, 16, 32),
        decoder_channels=(16, 16),
        input_size=64,
        norm="batch",
        activation="relu",
        deep_supervision=True,
    )
    big = make_phantom(60, seed=1, size=64)
    result = train(
        TrainConfig(epochs=12, batch_size=4, augment="none", learning_rate=3e-3),
        tmp_path / "run",
        model_config=config,
        frames=big,
    )
    assert result.val_dice["LV"] > 0.7, result.val_dice


def test_existing_run_is_not_overwritten(tmp_path, tiny_config, frames):
    from echolite.errors import EcholiteError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_bytes(b"a trained model")
    with pytest.raises(EcholiteError, match="already holds a trained run"):
        train(TrainConfig(epochs=1), tmp_path / "run", model_config=tiny_config, frames=frames)
    with pytest.raises(EcholiteError, match="nothing to resume"):
        train(TrainConfig(epochs=1), tmp_path / "new", model_config=tiny_config, frames=frames, resume=True)


def test_killed_run_resumes_with_nothing_lost(tmp_path):
    """SIGKILL a real training process after its first checkpoint, then --resume to the end."""
    run = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "echolite.cli.main",
        "train",
        "--preset",
        "unet0",
        "--image-size",
        "64",
        "--phantom-frames",
        "20",
        "--batch-size",
        "4",
        "--out",
        str(run),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(args + ["--epochs", "200"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = run / "checkpoint" / "state.json"
    deadline = time.time() + 240
    while not state.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = json.loads(state.read_text())["epochs_done"]
    assert 1 <= done_before < 200
    target = done_before + 2
    out = subprocess.run(
        args + ["--resume", "--epochs", str(target)], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(state.read_text())["epochs_done"] == target
    with open(run / "history.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == list(range(1, target + 1))  # every epoch logged exactly once, counted from 1
    assert "best epoch" in out.stdout


def test_poly_schedule_decays_by_epoch_index_across_a_resume(tmp_path, tiny_config, frames):
    from echolite.training.trainer import poly_learning_rate

    run = tmp_path / "run"
    train(TrainConfig(epochs=2, batch_size=8, scheduler="poly"), run, model_config=tiny_config, frames=frames)
    train(
        TrainConfig(epochs=3, batch_size=8, scheduler="poly"), run, model_config=tiny_config, frames=frames, resume=True
    )
    with (run / "history.csv").open() as f:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(f)]
    expected = [poly_learning_rate(0, 2, 1e-3), poly_learning_rate(1, 2, 1e-3), poly_learning_rate(2, 3, 1e-3)]
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert expected[1] == pytest.approx(1e-3 * 0.5**0.9) and expected[2] == pytest.approx(1e-3 * (1 / 3) ** 0.9)


def test_resume_keeps_the_saved_split_and_refuses_what_it_cannot_continue(tmp_path, tiny_config, frames):
    import shutil

    from echolite.errors import EcholiteError

    run = tmp_path / "run"
    quick = {"batch_size": 8, "jit_compile": False}
    train(
        TrainConfig(epochs=1, **quick),
        run,
        model_config=tiny_config,
        frames=frames.for_patients(sorted(set(frames.patients))[:10]),
    )
    split = json.loads((run / "config.json").read_text())["split"]
    train(TrainConfig(epochs=2, **quick), run, model_config=tiny_config, frames=frames, resume=True)  # data grown
    assert json.loads((run / "config.json").read_text())["split"] == split  # new patients stay out of every role

    lost = sorted(set(frames.patients))[:5]
    with pytest.raises(EcholiteError, match=r"lacks \d+ of the run's patients"):
        train(TrainConfig(epochs=3), run, model_config=tiny_config, frames=frames.for_patients(lost), resume=True)
    for name, damage in {
        "nolast": lambda c: (c / "last.keras").unlink(),
        "badstate": lambda c: (c / "state.json").write_text('{"epochs_do'),
        "badlast": lambda c: (c / "last.keras").write_bytes(b"half a model"),
    }.items():
        shutil.copytree(run, tmp_path / name)
        damage(tmp_path / name / "checkpoint")
        best = (tmp_path / name / "model.keras").read_bytes()
        message = {
            "nolast": "nothing to resume from",
            "badstate": "state.json: not a training state",
            "badlast": "last.keras: cannot load the checkpoint",
        }[name]
        with pytest.raises(EcholiteError, match=message):
            train(TrainConfig(epochs=3), tmp_path / name, model_config=tiny_config, frames=frames, resume=True)
        assert (tmp_path / name / "model.keras").read_bytes() == best  # nothing overwritten
    shutil.copytree(run, tmp_path / "foreign")  # a config.json of another model beside the checkpoint
    saved = json.loads((run / "config.json").read_text())
    saved["model"]["encoder_channels"] = [8, 16, 16]
    (tmp_path / "foreign" / "config.json").write_text(json.dumps(saved))
    with pytest.raises(EcholiteError, match="last.keras: not the model config.json describes"):
        train(TrainConfig(epochs=3), tmp_path / "foreign", model_config=tiny_config, frames=frames, resume=True)


def test_a_run_keeps_its_data_folder_absolute_and_resumes_where_it_moved(tmp_path, tiny_config, monkeypatch):
    from echolite.data.writers import write_png_export

    write_png_export(make_phantom(8, seed=0, size=64), tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    train(
        TrainConfig(epochs=1, batch_size=8, data="data", jit_compile=False), tmp_path / "run", model_config=tiny_config
    )
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["data"] == str(tmp_path / "data")
    (tmp_path / "data").rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path / "moved")
    from echolite.run import RunDir
    from echolite.workflows.train import plan_training, run_training

    reads, load_config = [], RunDir.load_config
    monkeypatch.setattr(RunDir, "load_config", lambda run: reads.append(run.path) or load_config(run))
    given = {"epochs": "--epochs", "data": "--data"}
    run_training(plan_training("lw-unet", {"epochs": 2, "data": "."}, given, tmp_path / "run", resume=True))
    assert reads == [tmp_path / "run"]  # the run's config.json, read once for the whole resumed training
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["train"]["data"] == str(tmp_path / "moved") and saved["train"]["epochs"] == 2


def test_a_resumed_run_keeps_its_settings_but_the_epochs_and_data_given(tmp_path, tiny_config):
    from echolite.errors import EcholiteError
    from echolite.presets import QUICKSTART
    from echolite.run import RunDir
    from echolite.workflows.train import plan_training

    saved = TrainConfig(epochs=5, batch_size=16, learning_rate=3e-4, data=str(tmp_path / "data"))
    split = {"train": ["p1", "p2"], "val": ["p3"], "test": []}
    (tmp_path / "run").mkdir()
    RunDir(tmp_path / "run").save_config(tiny_config, saved, split)
    given = {"preset": "--preset", "epochs": "--epochs", "batch_size": "--batch-size", "learning_rate": "--lr"}
    settings = {"epochs": 9, "batch_size": 4, "learning_rate": 1e-2, "data": "phantom"}
    plan = plan_training("unet1", settings, given, tmp_path / "run", resume=True)
    assert plan.resume and plan.model == tiny_config and plan.saved.split == split
    assert plan.train == TrainConfig(epochs=9, batch_size=16, learning_rate=3e-4, data=saved.data)
    assert plan.ignored == ("--preset", "--batch-size", "--lr")
    moved = plan_training("lw-unet", {"data": "elsewhere"}, {"data": "--data"}, tmp_path / "run", resume=True)
    assert moved.train == TrainConfig(epochs=5, batch_size=16, learning_rate=3e-4, data="elsewhere")
    assert moved.ignored == ()
    new = plan_training("lw-unet", {"epochs": None, "data": "phantom"}, {}, None)
    assert not new.resume and new.train.epochs == QUICKSTART["epochs"] and new.out.parent.name == "runs"
    assert new.out.name.startswith("lw-unet-")
    with pytest.raises(EcholiteError, match="--resume needs --out"):
        plan_training("lw-unet", {}, {}, None, resume=True)
    with pytest.raises(EcholiteError, match="nothing to resume"):
        plan_training("lw-unet", {}, {}, tmp_path / "new", resume=True)


def test_without_validation_patients_the_log_and_curves_say_training_dice(tmp_path, tiny_config, frames):
    patients = sorted(set(frames.patients))
    (tmp_path / "split.yaml").write_text(f"train: [{', '.join(patients[:6])}]\n")
    lines = []
    config = TrainConfig(epochs=1, batch_size=8, split_file=str(tmp_path / "split.yaml"), jit_compile=False)
    result = train(config, tmp_path / "run", model_config=tiny_config, frames=frames, log=lines.append)
    assert result.val_dice == {} and any(" train Dice LV " in line for line in lines)
    assert (tmp_path / "run" / "curves.png").exists()


def test_a_training_state_is_read_back_and_a_damaged_one_refused_by_name(tmp_path):
    from echolite.errors import EcholiteError
    from echolite.run import RunDir
    from echolite.training.checkpoint import TrainState, load_state

    run = RunDir(tmp_path)
    assert load_state(run) is None  # no checkpoint: a new run
    run.last_model.parent.mkdir()
    run.last_model.write_bytes(b"a checkpoint")
    run.state.write_text(json.dumps({"epochs_done": 3, "best_score": 0.8, "best_epoch": 2, "wait": 1}))
    assert load_state(run) == TrainState(3, 0.8, 2, 1)
    run.state.write_text(json.dumps({"epochs_done": "three", "best_score": 0.8, "best_epoch": 2, "wait": 1}))
    with pytest.raises(EcholiteError, match=r"state.json: not a training state \(epochs_done 'three' is not a count\)"):
        load_state(run)
