"""Every workflow the command line offers, called from Python: one tiny run on the phantom, then evaluate (with
its report folder), export, bench, measure, cross-evaluate and an ablation. Each is checked on what its outputs
say, against an answer known without it (a perfect prediction, a report against itself, the library's own
scores)."""

import json

import pytest

from echolite.config import TrainConfig
from echolite.data.writers import write_phantom

pytestmark = pytest.mark.slow

PHANTOM = {"data": "phantom", "phantom_frames": 12}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from echolite.config import ModelConfig
    from echolite.training.trainer import train

    config = ModelConfig(
        encoder_channels=(8, 8, 16),
        decoder_channels=(8, 8),
        input_size=64,
        norm="batch",
        activation="relu",
        deep_supervision=True,
    )
    folder = tmp_path_factory.mktemp("workflows") / "run"
    result = train(TrainConfig(epochs=1, batch_size=4, jit_compile=False, **PHANTOM), folder, model_config=config)
    assert result.model_path.exists()
    return folder


def test_evaluate_writes_its_report(run, tmp_path):
    from echolite.inference import MaskSpec
    from echolite.workflows.evaluation import evaluate

    seen = []
    result = evaluate(
        MaskSpec(run), "phantom", "val", out=tmp_path / "eval", progress=lambda step, total: seen.append(total)
    )
    assert result.summary["n_frames"] == len(result.frames) == len(seen) == seen[0]
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["n_frames"] == len(result.frames)
    assert (tmp_path / "eval" / "frames.csv").read_text().count("\n") == len(result.frames) + 1
    assert list((tmp_path / "eval" / "worst").glob("*.png"))
    write_phantom(tmp_path / "truth", count=6, seed=0, size=64)
    frames = tmp_path / "truth"
    raw = MaskSpec(post=None)
    perfect = evaluate(raw, str(frames), "all", predictions=frames / "ref", out=tmp_path / "p")
    for structure in ("LV", "MYO", "LA", "EPI"):  # the expert masks scored against themselves
        assert perfect.summary["dice"][structure] == 1.0 and perfect.summary["hd_mm"][structure] == 0.0
    assert perfect.summary["outliers"] == 0 and perfect.summary["missed"] == {"LV": 0, "MYO": 0, "LA": 0, "EPI": 0}


def test_compare_two_reports(run, tmp_path):
    from echolite.inference import MaskSpec
    from echolite.workflows.evaluation import compare, evaluate

    evaluate(MaskSpec(run), "phantom", "val", out=tmp_path / "a")
    evaluate(MaskSpec(run, post=None), "phantom", "val", out=tmp_path / "b")
    result = compare(tmp_path / "a", tmp_path / "b", boxplots=tmp_path / "box.png")
    assert result.n_frames > 0 and {r["structure"] for r in result.rows} == {"LV", "MYO", "LA", "EPI"}
    assert (tmp_path / "box.png").exists() and (tmp_path / "box.csv").read_text().startswith("metric,structure,n,")
    same = compare(tmp_path / "a", tmp_path / "a")  # a report against itself: no difference, nothing to test
    assert all(r["diff"] == 0 and r["p"] is None and r["p_holm"] is None for r in same.rows if r["n"])


def test_export_then_bench(run):
    from echolite.workflows.bench import bench
    from echolite.workflows.export import ExportSettings, export_run

    result = export_run(run, ExportSettings(mode="fp32"))
    assert result.path == run / "model_fp32.tflite" and result.metadata_path.exists() and result.parity["frames"] > 0
    for structure, dice in result.parity["dice_keras"].items():  # fp32: the converted model segments as Keras
        assert result.parity["dice_tflite"][structure] == pytest.approx(dice, abs=0.01)
    rows = bench([run], runs=2, warmup=1, baseline="run/fp32")
    assert [(r["model"], r["form"]) for r in rows] == [("run", "keras"), ("run", "fp32")]
    assert rows[1]["speedup"] == pytest.approx(1.0) and rows[0]["speedup"] > 0 and rows[0]["gmac"] > 0


def test_measure_per_patient(run):
    from echolite.inference import MaskSpec
    from echolite.workflows.measure import measure

    report = measure(MaskSpec(run), "phantom", "all", qc="echolite")
    figures = report.agreement["vs_expert_masks"]
    assert report.patients and set(figures) == {"edv_ml", "esv_ml", "ef"} and set(figures["ef"]) == {"all", "qc_passed"}
    assert figures["ef"]["qc_passed"]["n"] <= figures["ef"]["all"]["n"] <= len(report.patients)
    truth = measure(None, "phantom", "all")  # no model: the expert masks
    assert len(truth.patients) == 100  # the phantom's default 200 frames = 100 ED/ES pairs on the 256 grid
    from echolite.clinical.volumes import ejection_fraction
    from echolite.data.phantom import make_phantom
    from echolite_edge.clinical import pair_axes, volume_single_plane

    frames = make_phantom(2, seed=0)  # the first patient's ED and ES, measured by hand
    spacing = tuple(frames.spacing_mm[0])
    edv, esv = (volume_single_plane(a) for a in pair_axes(frames.masks[0], frames.masks[1], spacing, spacing))
    first = truth.patients[0]
    assert (first.edv_ml, first.esv_ml) == pytest.approx((edv, esv), rel=1e-6)
    assert first.ef == pytest.approx(ejection_fraction(edv, esv), abs=1e-6) and 20 < first.ef < 80


def test_cross_evaluate(run, tmp_path):
    from echolite.workflows.cross_dataset import cross_evaluate

    write_phantom(tmp_path / "other", count=6, seed=7, size=64)
    result = cross_evaluate([run], [("PH", "phantom"), ("OTHER", str(tmp_path / "other"))], split="val", out=tmp_path)
    assert result.rows[0]["trained_on"] == "PH" and 0 <= result.rows[0]["PH_LV"] <= 1
    from echolite.evaluation.postprocess import PostprocessConfig
    from echolite.inference import MaskSpec
    from echolite.workflows.evaluation import evaluate

    paper_post = PostprocessConfig(fill_enclosed=False, close_myocardium="off", detach_atrium=False)
    own = evaluate(MaskSpec(run, post=paper_post), str(tmp_path / "other"), "all", out=tmp_path / "own")
    assert result.rows[0]["OTHER_LV"] == pytest.approx(own.summary["dice"]["LV"], abs=1e-3)
    table = (tmp_path / "cross_dataset.md").read_text()
    assert "| Trained on | Model | PH LV |" in table and "OTHER LA" in table and "| PH | run |" in table


def test_ablate_trains_once_and_writes_tables(tmp_path):
    from echolite.workflows.ablation.plan import Plan
    from echolite.workflows.ablation.study import ablate

    plan = Plan(
        "mini",
        "",
        "mean_dice",
        "val",
        {"preset": "unet0", "input_size": 64, "epochs": 1, "batch_size": 4, "phantom_frames": 12, "jit_compile": False},
        [{"name": "Postprocessing", "variants": {"CCA": {"postprocess": True}}}],
    )
    result = ablate(plan, tmp_path, log=lambda line: None)
    assert len(list((tmp_path / "runs").glob("*/summary.json"))) == 1  # the variant reuses the baseline's run
    assert [r["variant"] for r in result.rows] == ["baseline", "CCA"] and result.md_path.name == "ablation.md"
