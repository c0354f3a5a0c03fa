import csv

import pytest
from click.testing import CliRunner

from echolite.cli.main import main
from echolite.config import TrainConfig
from echolite.errors import EcholiteError
from echolite.workflows.ablation.plan import Plan, load_plan, resolve, with_rule
from echolite.workflows.ablation.rules import parse_rule
from echolite.workflows.ablation.runs import Outcome, make_runner
from echolite.workflows.ablation.study import run_plan
from echolite.workflows.ablation.tables import write_tables
from tests.helpers import TINY_TRAIN

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
    from echolite.workflows.ablation.plan import builtin_plans, describe

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
        run_plan(
            load_plan(str(plan_file)),
            out,
            TrainConfig(),
            make_runner(out, "val", log=lambda _: None),
            log=lambda _: None,
        )

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
    bigger = resolve(
        {**plan.baseline, "norm": "batch", "activation": "mish"}, {"size": "unet2"}, "U-Net 2", TrainConfig()
    )
    assert bigger.model.encoder_channels == (64, 64, 128, 256, 256, 512)
    assert (bigger.model.norm, bigger.model.activation) == (base.model.norm, base.model.activation)
    assert [s["name"] for s in plan.steps][:4] == [
        "Normalization",
        "Activation functions",
        "Postprocessing",
        "Data augmentation",
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("baseline: {preset: unet0}\nsteps: [{name: x, variants: {a: {colour: red}}}]", "unknown setting"),
        ("baseline: {preset: unet9}\nsteps: []", "unknown preset"),
        ("steps: []", "baseline"),
        ("baseline: {}\nrule: fastest\nsteps: []", "unknown rule"),
        ("baseline: {}\nrule: mean_dice_rv\nsteps: []", "unknown rule 'mean_dice_rv'; a rule is mean_<metric>"),
    ],
)
def test_bad_plans_are_user_errors(tmp_path, text, message):
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    with pytest.raises(EcholiteError, match=message):
        load_plan(str(path))


@pytest.mark.parametrize(
    "rule, metric, structures, higher",
    [
        ("mean_dice", "dice", ("LV", "MYO", "LA"), True),
        ("mean_hd", "hd_px", ("LV", "MYO", "LA"), False),
        ("mean_dice_epi", "dice", ("EPI",), True),
        ("mean_mad_mm_LA", "mad_mm", ("LA",), False),
        ("mean_hd_px", "hd_px", ("LV", "MYO", "LA"), False),
    ],
)
def test_a_rule_names_any_metric_and_structure(rule, metric, structures, higher):
    parsed = parse_rule(rule)
    assert (parsed.metric, parsed.structures, parsed.higher_is_better) == (metric, structures, higher)


def test_the_rule_decides_which_variant_is_kept(tmp_path):
    import numpy as np

    from echolite.data.phantom import make_phantom
    from echolite.evaluation.scoring import score_frames, summarize

    frames = make_phantom(4, seed=1, size=64)
    shifts = {"baseline": 2, "closer": 1, "further": 3}  # predictions shifted sideways by that many pixels

    def run_variants(variants):
        scored = [score_frames(np.roll(frames.masks, shifts[v.label], axis=2), frames) for v in variants]
        return [Outcome(v, s, summarize(s)) for v, s in zip(variants, scored)]

    plan = Plan(
        "p",
        "",
        "mean_mad_px_epi",
        "val",
        {"preset": "unet0"},
        [{"name": "Step", "variants": {"further": {"epochs": 2}, "closer": {"epochs": 3}}}],
    )
    rows = run_plan(plan, tmp_path, TrainConfig(), run_variants, log=lambda _: None)
    assert [r["variant"] for r in rows if r["kept"]] == ["baseline", "closer"]
    assert rows[2]["rule_value"] < rows[0]["rule_value"] < rows[1]["rule_value"] and rows[2]["p_rule"] is not None
    _, md = write_tables(rows, tmp_path, plan)
    assert "| mean_mad_px_epi | p Dice |" in md.read_text() and "| Missed |" in md.read_text()
    with pytest.raises(EcholiteError, match="--rule: unknown rule 'mean_iou'"):
        with_rule(plan, "mean_iou")
    assert with_rule(plan, "mean_hd_mm").rule == "mean_hd_mm"
    refused = CliRunner().invoke(main, ["ablate", "tiny", "--rule", "mean_dice_heart", "--out", str(tmp_path / "a")])
    assert refused.exit_code == 1 and "unknown rule 'mean_dice_heart'" in refused.output


def test_train_with_mirrored_strategy(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            *TINY_TRAIN,
            "--batch-size",
            "4",
            "--strategy",
            "mirrored",
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "model.keras").exists()


def test_workers_train_variants_in_parallel_processes(tmp_path):
    plan = tmp_path / "two.yaml"
    plan.write_text(
        SMALL_PLAN.replace("variants: {BN: {norm: batch}}", "variants: {BN: {norm: batch}, IN: {norm: instance}}")
    )
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

    from echolite.workflows.ablation.devices import device_slots

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert device_slots(3) == ["0", "1", "0"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert device_slots(2) == ["cpu:0,2", "cpu:1,3"]
    assert device_slots(5)[4] == "cpu:0"


def test_a_plan_is_checked_whole_but_a_step_may_build_on_an_earlier_one(tmp_path):
    from echolite.workflows.ablation.plan import load_plan

    (tmp_path / "chain.yaml").write_text(
        "baseline: {preset: unet0, input_size: 64, epochs:}\n"  # an empty setting is not set
        "steps:\n"
        "  - {name: Stem, variants: {patch: {stem_stride: 2}}}\n"
        "  - {name: Head, variants: {bilinear: {head: bilinear}, supervised: {deep_supervision: 1}}}\n"
    )
    assert [s["name"] for s in load_plan(str(tmp_path / "chain.yaml")).steps] == ["Stem", "Head"]
    (tmp_path / "alone.yaml").write_text(
        "baseline: {preset: unet0, input_size: 64}\nsteps: [{name: Head, variants: {bilinear: {head: bilinear}}}]\n"
    )
    with pytest.raises(EcholiteError, match="step 'Head', variant 'bilinear': .*stem_stride 2"):
        load_plan(str(tmp_path / "alone.yaml"))
