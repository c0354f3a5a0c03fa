import csv

import pytest
from click.testing import CliRunner

from echolite.studies.ablation import load_plan, make_runner, resolve, run_plan, write_tables
from echolite.cli.main import main
from echolite.config import TrainConfig
from echolite.errors import EcholiteError

pytestmark = pytest.mark.slow

SMALL_PLAN = """
name: small
baseline: {preset: unet0, input_size: 64, epochs: 1, batch_size: 8, loss: dice, augment: none,
           phantom_frames: 20, jit_compile: false}
steps:
  - name: Normalization
    variants: {BN: {norm: batch}}
  - name: Postprocessing
    variants: {CCA: {postprocess: true}, raw: {postprocess: false}}
"""


def test_builtin_plans_resolve_without_training():
    from echolite.studies.ablation import builtin_plans, describe

    assert {"paper", "tiny"} <= set(builtin_plans())
    shown = describe(load_plan("tiny"))
    assert shown["baseline"]["model"]["input_size"] == 64 and [s["name"] for s in shown["steps"]]


def test_interrupted_study_resumes_without_retraining(tmp_path, monkeypatch):
    import echolite.training.trainer

    plan_file = tmp_path / "small.yaml"
    plan_file.write_text(SMALL_PLAN)
    real_train, trained = echolite.training.trainer.train, []

    def interrupted_train(config, run_dir, **kwargs):
        if trained:  # the second training (BN) is "killed" before it finishes
            raise KeyboardInterrupt
        trained.append(run_dir.name)
        return real_train(config, run_dir, **kwargs)

    out = tmp_path / "study"
    monkeypatch.setattr(echolite.training.trainer, "train", interrupted_train)
    with pytest.raises(KeyboardInterrupt):
        run_plan(load_plan(str(plan_file)), out, TrainConfig(), make_runner(out, "val", log=lambda _: None),
                  log=lambda _: None)

    def counting_train(config, run_dir, **kwargs):
        trained.append(run_dir.name)
        return real_train(config, run_dir, **kwargs)

    trained.clear()
    monkeypatch.setattr(echolite.training.trainer, "train", counting_train)
    plan = load_plan(str(plan_file))
    rows = run_plan(plan, out, TrainConfig(), make_runner(out, "val", log=lambda _: None), log=lambda _: None)
    assert len(trained) == 1  # only BN: the finished baseline is reused, post-processing variants share a run
    assert [r["variant"] for r in rows] == ["baseline", "BN", "CCA", "raw"]
    assert sum(r["conclusion"] != "-" for r in rows[2:]) == 1  # one decision per step
    md, _ = write_tables(rows, out, plan)
    assert "| Postprocessing |" in md.with_name("ablation.md").read_text()


def test_size_variant_swaps_only_the_widths():
    plan = load_plan("paper")
    base = resolve(plan.baseline, {"norm": "batch", "activation": "mish"}, "now", TrainConfig())
    bigger = resolve({**plan.baseline, "norm": "batch", "activation": "mish"}, {"size": "unet2"}, "U-Net 2", TrainConfig())
    assert bigger.model.encoder_channels == (64, 64, 128, 256, 256, 512)
    assert (bigger.model.norm, bigger.model.activation) == (base.model.norm, base.model.activation)
    assert [s["name"] for s in plan.steps][:4] == ["Normalization", "Activation functions", "Postprocessing",
                                                  "Data augmentation"]


@pytest.mark.parametrize("text, message", [
    ("baseline: {preset: unet0}\nsteps: [{name: x, variants: {a: {colour: red}}}]", "unknown setting"),
    ("baseline: {preset: unet9}\nsteps: []", "unknown preset"),
    ("steps: []", "baseline"),
    ("baseline: {}\nrule: fastest\nsteps: []", "unknown rule"),
])
def test_bad_plans_are_user_errors(tmp_path, text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(EcholiteError, match=message):
        load_plan(str(path))


def test_train_with_mirrored_strategy(tmp_path):
    result = CliRunner().invoke(main, ["train", "--preset", "unet0", "--image-size", "64", "--phantom-frames", "12",
                                       "--epochs", "1", "--batch-size", "4", "--strategy", "mirrored",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model.keras").exists()


def test_workers_train_variants_in_parallel_processes(tmp_path):
    plan = tmp_path / "two.yaml"
    plan.write_text(SMALL_PLAN.replace("variants: {BN: {norm: batch}}", "variants: {BN: {norm: batch}, IN: {norm: instance}}"))
    result = CliRunner().invoke(main, ["ablate", str(plan), "--out", str(tmp_path / "study"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "study" / "runs").glob("*/summary.json"))) == 3  # baseline, BN, IN
    text = (tmp_path / "study" / "ablation.md").read_text()
    assert "## Summary (Table VI)" in text and "## Every variant (Table V)" in text and "| Normalization | IN |" in text
    with open(tmp_path / "study" / "ablation.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows][:3] == ["Baseline", "Normalization", "Normalization"]
    assert all(0.0 <= float(r["dice_LV"]) <= 1.0 for r in rows) and rows[1]["p_dice"] != ""


def test_device_slots_share_gpus_or_cores(monkeypatch):
    import os

    from echolite.studies.ablation import device_slots

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert device_slots(3) == ["0", "1", "0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert device_slots(2) == ["cpu:0,2", "cpu:1,3"]
    assert device_slots(5)[4] == "cpu:0"
