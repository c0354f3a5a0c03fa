import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from echolite.cli.main import main
from echolite.data.phantom import make_phantom
from echolite.data.writers import write_png_export
from echolite.errors import EcholiteError
from echolite.evaluation.postprocess import PostprocessConfig
from echolite.evaluation.scoring import read_frame_csv, score_frames, summarize, write_frame_csv
from echolite_edge.words import counted


@pytest.fixture(scope="module")
def frames():
    return make_phantom(12, seed=5, size=256)


def _write_predictions(folder, frames, shift=0, island=False):
    folder.mkdir(parents=True, exist_ok=True)
    for mask, frame_id in zip(frames.masks, frames.frame_ids):
        pred = np.roll(mask, shift, axis=1)
        if island:
            pred[250:254, 2:6] = 1
        Image.fromarray(pred * 85).save(folder / f"{frame_id}_pred.png")


def test_perfect_predictions_score_dice_one(frames):
    scores = score_frames(frames.masks.copy(), frames)
    summary = summarize(scores)
    assert summary["n_frames"] == 12 and summary["dice"] == {"LV": 1.0, "MYO": 1.0, "LA": 1.0, "EPI": 1.0}
    assert summary["hd_px"]["LV"] == 0.0 and summary["mad_mm"]["EPI"] == 0.0
    assert set(summary["by_view_phase"]) == {"4CH_ED", "4CH_ES"} and set(summary["by_phase"]) == {"ED", "ES"}
    assert summary["by_phase"]["ED"]["n_frames"] == 6 and summary["missed"] == {"LV": 0, "MYO": 0, "LA": 0, "EPI": 0}
    assert summary["outlier_criteria"] == "camus" and {"outliers_camus", "outliers_echolite"} <= set(summary)


def _without_la_in_first_frame(frames):
    pred = frames.masks.copy()
    pred[0][pred[0] == 3] = 0
    return pred


def test_a_missed_structure_is_left_out_of_distance_means_and_counted(frames):
    scores = score_frames(_without_la_in_first_frame(frames), frames)
    assert scores[0].missed.tolist() == [False, False, True, False]
    assert scores[0].value("dice", "LA") == 0 and np.isnan(scores[0].value("hd_mm", "LA"))
    assert np.isnan(scores[0].value("mad_px", "LA"))
    summary = summarize(scores)
    assert summary["missed_distance"] == "nan" and summary["missed"]["LA"] == 1
    assert summary["hd_px"]["LA"] == 0.0 and summary["dice"]["LA"] == pytest.approx(11 / 12, abs=1e-4)
    phase = scores[0].phase
    assert summary["by_phase"][phase]["missed"]["LA"] == 1
    assert sum(group["missed"]["LA"] for group in summary["by_phase"].values()) == 1


def test_diagonal_penalty_for_a_missed_structure(frames):
    scores = score_frames(_without_la_in_first_frame(frames), frames, missed_distance="diagonal")
    rows, cols = frames.masks.shape[1:]
    spacing = frames.spacing_mm[0]
    assert scores[0].value("hd_px", "LA") == pytest.approx(np.hypot(rows, cols))
    assert scores[0].value("mad_mm", "LA") == pytest.approx(np.hypot(rows * spacing[0], cols * spacing[1]))
    summary = summarize(scores)
    assert summary["missed_distance"] == "diagonal" and summary["missed"]["LA"] == 1
    assert summary["hd_px"]["LA"] == pytest.approx(np.hypot(rows, cols) / 12, abs=1e-3)
    with pytest.raises(EcholiteError, match="unknown missed distance"):
        score_frames(frames.masks, frames, missed_distance="max")


def test_frames_csv_round_trip_keeps_metrics_missed_and_criteria_sets(frames, tmp_path):
    scores = score_frames(_without_la_in_first_frame(frames), frames)
    write_frame_csv(scores, tmp_path / "frames.csv")
    header = (tmp_path / "frames.csv").read_text().splitlines()[0].split(",")
    assert {"mad_mm_EPI", "hd_px_LV", "missed_LA", "outlier", "outlier_camus", "outlier_echolite"} <= set(header)
    assert any(c.startswith("camus_") for c in header) and "echolite_lv_hole" in header
    back = read_frame_csv(tmp_path / "frames.csv")
    assert _flat(summarize(back)) == pytest.approx(
        _flat(summarize(scores)), abs=2e-4, nan_ok=True
    )  # 4 decimals, twice rounded
    assert back[0].checks == scores[0].checks and back[0].missed_distance == "nan"


def _flat(summary, prefix=""):
    """A nested summary as {"a/b/c": value}, for comparing within a tolerance."""
    flat = {}
    for key, value in summary.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


OLD_FRAMES_CSV = """frame_id,patient,view,phase,dice_LV,dice_MYO,dice_LA,hd_px_LV,hd_px_MYO,hd_px_LA,hd_mm_LV,hd_mm_MYO,hd_mm_LA,outlier,lv_hole,myo_hole,la_fragmented
p1_4CH_ED,p1,4CH,ED,0.9500,0.8000,0.0000,3.0000,4.0000,362.0387,2.0000,3.0000,217.2232,1,0,0,1
p1_4CH_ES,p1,4CH,ES,0.9000,0.7000,0.9000,5.0000,6.0000,7.0000,3.0000,4.0000,5.0000,0,0,0,0
"""


def test_old_frames_csv_still_reads(tmp_path):
    (tmp_path / "frames.csv").write_text(OLD_FRAMES_CSV)
    scores = read_frame_csv(tmp_path / "frames.csv")
    assert scores[0].value("hd_px", "LA") == pytest.approx(362.0387) and np.isnan(scores[0].value("mad_mm", "LV"))
    assert np.isnan(scores[0].value("dice", "EPI")) and scores[0].missed.tolist() == [False, False, True, False]
    assert scores[0].missed_distance == "diagonal"  # the old files penalized a miss with the diagonal
    assert scores[0].checks == {"echolite": {"lv_hole": False, "myo_hole": False, "la_fragmented": True}}
    summary = summarize(scores)
    assert summary["missed_distance"] == "diagonal" and summary["mad_px"]["LV"] is None and summary["outliers"] == 1
    (tmp_path / "bad.csv").write_text("frame_id,patient\np1,p1\n")
    with pytest.raises(EcholiteError, match="bad.csv: not an echolite frames.csv"):
        read_frame_csv(tmp_path / "bad.csv")


def test_postprocessing_removes_islands_and_changes_hausdorff(frames):
    pred = frames.masks.copy()
    pred[:, 250:254, 2:6] = 1  # a stray LV blob far from the heart
    raw = summarize(score_frames(pred, frames, post=None))
    post = summarize(score_frames(pred, frames, PostprocessConfig()))
    assert raw["hd_px"]["LV"] > 100 and post["hd_px"]["LV"] == 0.0
    assert raw["outliers"] == 12 and post["dice"]["LV"] == 1.0


def test_evaluate_predictions_folder_cli(tmp_path, frames):
    write_png_export(frames, tmp_path / "data")
    _write_predictions(tmp_path / "pred", frames, island=True)
    args = ["evaluate", "--predictions", str(tmp_path / "pred"), "--data", str(tmp_path / "data"), "--split", "all"]
    result = CliRunner().invoke(main, args + ["--json", "--out", str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert summary["n_frames"] == 12 and summary["dice"]["LV"] > 0.99 and summary["outliers_echolite"] == 0
    assert (tmp_path / "eval" / "frames.csv").read_text().count("\n") == 13
    worst = sorted(p.name for p in (tmp_path / "eval" / "worst").glob("*.png"))
    assert len(worst) == 6 and [name[:3] for name in worst] == [f"{rank:02d}_" for rank in range(1, 7)]  # half of 12
    again = CliRunner().invoke(main, args[:-1] + ["test", "--out", str(tmp_path / "eval")])  # fewer frames, same folder
    assert again.exit_code == 0, again.output
    frames_now = (tmp_path / "eval" / "frames.csv").read_text().count("\n") - 1
    assert len(list((tmp_path / "eval" / "worst").glob("*.png"))) == max(1, frames_now // 2) < 6  # no stale overlays
    assert f"overlays of the {counted(max(1, frames_now // 2), 'worst frame')} of {frames_now}" in again.output
    raw = CliRunner().invoke(main, args + ["--json", "--no-postprocess"])
    raw_summary = json.loads(raw.output[raw.output.index("{") :])
    assert raw_summary["outliers"] == 12 and raw_summary["hd_px"]["LV"] > summary["hd_px"]["LV"]
    table = CliRunner().invoke(main, args + ["--missed-distance", "diagonal"])
    assert "Dice" in table.output and "4CH_ED" in table.output and "LV epi" in table.output
    assert "missed structure: the image diagonal" in table.output and "Table IV layout" in table.output
    bad = CliRunner().invoke(main, args + ["--missed-distance", "zero"])
    assert bad.exit_code == 1 and "'zero' is not one of 'nan', 'diagonal'" in bad.output
    closed = CliRunner().invoke(main, args + ["--close-myocardium", "always"])
    assert closed.exit_code == 0 and "myocardium closing always" in closed.output
    assert (tmp_path / "pred-evaluation-all-close-always" / "frames.csv").is_file()
    both = CliRunner().invoke(main, args + ["--no-postprocess", "--close-myocardium", "always"])
    assert both.exit_code == 1 and "leave out --no-postprocess" in both.output


def test_evaluate_keras_model_and_missing_predictions(tmp_path, frames, tiny_config):
    import dataclasses

    from echolite.models import build_unet

    build_unet(dataclasses.replace(tiny_config, input_size=256)).save(tmp_path / "m.keras")
    write_png_export(frames, tmp_path / "data")
    result = CliRunner().invoke(
        main, ["evaluate", str(tmp_path / "m.keras"), "--data", str(tmp_path / "data"), "--split", "all", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{") :])["n_frames"] == 12
    tta = CliRunner().invoke(
        main,
        ["evaluate", str(tmp_path / "m.keras"), "--data", str(tmp_path / "data"), "--split", "all", "--tta", "zoom"],
    )
    assert tta.exit_code == 0, tta.output
    assert "test-time augmentation zoom" in tta.output and (tmp_path / "m-evaluation-all-tta-zoom").is_dir()
    build_unet(dataclasses.replace(tiny_config, input_size=256)).save(tmp_path / "other.keras")
    pair = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(tmp_path / "m.keras"),
            "--data",
            str(tmp_path / "data"),
            "--split",
            "all",
            "--ensemble",
            str(tmp_path / "other.keras"),
        ],
    )
    assert pair.exit_code == 0, pair.output
    assert "ensemble of 2 models" in pair.output and (tmp_path / "m-evaluation-all-ensemble2").is_dir()
    no_model = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--predictions",
            str(tmp_path / "m-evaluation-all-tta-zoom"),
            "--data",
            str(tmp_path / "data"),
            "--tta",
            "zoom",
        ],
    )
    assert no_model.exit_code == 1 and "test-time augmentation and ensembles need a model" in no_model.output
    (tmp_path / "empty").mkdir()
    missing = CliRunner().invoke(
        main, ["evaluate", "--predictions", str(tmp_path / "empty"), "--data", str(tmp_path / "data"), "--split", "all"]
    )
    assert missing.exit_code == 1 and "no prediction for 12 of 12 frames" in missing.output


def test_compare_cli_wilcoxon_and_boxplots(tmp_path, frames):
    write_png_export(frames, tmp_path / "data")
    _write_predictions(tmp_path / "good", frames)
    _write_predictions(tmp_path / "shifted", frames, shift=3)
    out = tmp_path / "box.png"
    both = ["compare", str(tmp_path / "good"), str(tmp_path / "shifted"), "--data", str(tmp_path / "data")]
    both += ["--split", "all", "--out", str(out), "--json"]
    result = CliRunner().invoke(main, both)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("[") :])
    dice_lv = next(r for r in rows if r["metric"] == "dice" and r["structure"] == "LV")
    assert dice_lv["mean_a"] == 1.0 and dice_lv["diff"] < 0 and dice_lv["p"] < 0.01
    assert out.stat().st_size > 5000 and {(r["metric"], r["structure"]) for r in rows} >= {("mad_px", "EPI")}
    chosen = CliRunner().invoke(main, [*both, "--metric", "mad_px", "--metric", "dice", "--structure", "EPI"])
    assert chosen.exit_code == 0, chosen.output
    rows = json.loads(chosen.output[chosen.output.index("[") :])
    assert [(r["metric"], r["structure"]) for r in rows] == [("mad_px", "EPI"), ("dice", "EPI")]
    assert rows[0]["mean_a"] == 0.0 and rows[0]["diff"] > 0 and rows[0]["missed_b"] == 0
    bad = CliRunner().invoke(main, ["compare", str(tmp_path / "good"), str(tmp_path / "shifted"), "--structure", "rv"])
    assert bad.exit_code == 1 and "'rv' is not one of 'lv', 'myo', 'la', 'epi'" in bad.output


def test_compare_evaluation_outputs_and_refuse_different_frames(tmp_path, frames):
    write_png_export(frames, tmp_path / "data")
    _write_predictions(tmp_path / "good", frames)
    _write_predictions(tmp_path / "shifted", frames, shift=2)
    for name in ("good", "shifted"):
        result = CliRunner().invoke(
            main,
            [
                "evaluate",
                "--predictions",
                str(tmp_path / name),
                "--data",
                str(tmp_path / "data"),
                "--split",
                "all",
                "--out",
                str(tmp_path / f"ev_{name}"),
            ],
        )
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "ev_good"), str(tmp_path / "ev_shifted")])
    assert result.exit_code == 0, result.output
    assert "B lower, significant at α = 0.05, Holm-corrected" in result.output and "p (Holm)" in result.output
    figure = tmp_path / "compare-ev_good-vs-ev_shifted.png"  # beside the two reports, not in the working directory
    assert f"boxplots: {figure}" in result.output and figure.stat().st_size > 5000
    with open(figure.with_suffix(".csv")) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 12 and all(float(r["p_holm"]) >= float(r["p"]) for r in table if r["p"])  # no mm: no spacing
    assert {r["verdict"] for r in table if r["p_holm"] and float(r["p_holm"]) < 0.05} <= {
        "B lower, significant at α = 0.05, Holm-corrected",
        "B higher, significant at α = 0.05, Holm-corrected",
    }
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            "--predictions",
            str(tmp_path / "good"),
            "--data",
            str(tmp_path / "data"),
            "--split",
            "val",
            "--out",
            str(tmp_path / "ev_val"),
        ],
    )
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(main, ["compare", str(tmp_path / "ev_good"), str(tmp_path / "ev_val")])
    assert refused.exit_code == 1 and "not scored on the same frames: " in refused.output, refused.output
    csv_b = tmp_path / "ev_shifted" / "frames.csv"
    csv_b.write_text("\n".join(csv_b.read_text().splitlines()[:-2]) + "\n")  # drop a frame from B
    refused = CliRunner().invoke(main, ["compare", str(tmp_path / "ev_good"), str(tmp_path / "ev_shifted")])
    assert refused.exit_code == 1 and "not scored on the same frames: 2 only in A" in refused.output


def test_compare_old_reports_and_check_names(tmp_path):
    from echolite.workflows.evaluation import compare

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "frames.csv").write_text(OLD_FRAMES_CSV)
    result = compare(tmp_path / "a", tmp_path / "b")
    assert {(r["metric"], r["structure"]) for r in result.rows} == {
        (m, s) for m in ("dice", "hd_px", "hd_mm") for s in ("LV", "MYO", "LA")
    }  # what old files hold
    assert result.missed_distance == "diagonal"
    lv = compare(tmp_path / "a", tmp_path / "b", metrics=["hd_mm"], structures=["lv"]).rows
    assert [(r["metric"], r["structure"]) for r in lv] == [("hd_mm", "LV")]
    with pytest.raises(EcholiteError, match="unknown metric 'hd'; choose one of: dice, hd_px, hd_mm, mad_px, mad_mm"):
        compare(tmp_path / "a", tmp_path / "b", metrics=["hd"])
    with pytest.raises(EcholiteError, match="unknown structure 'rv'; choose one of: lv, myo, la, epi"):
        compare(tmp_path / "a", tmp_path / "b", structures=["rv"])
    # a report that leaves a miss out (NaN) does not compare with an old one that penalized it
    scores = read_frame_csv(tmp_path / "b" / "frames.csv")
    scores[0].hd_px[:], scores[0].hd_mm[:] = np.nan, np.nan
    write_frame_csv(scores, tmp_path / "b" / "frames.csv")
    assert read_frame_csv(tmp_path / "b" / "frames.csv")[0].missed_distance == "nan"
    with pytest.raises(EcholiteError, match="score a missed structure's distances differently"):
        compare(tmp_path / "a", tmp_path / "b")


def test_holm_correction_of_known_p_values():
    from echolite.evaluation.stats import holm, with_holm

    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == []
    rows = [{"p": p, "diff": 1.0} for p in (0.01, None, 0.04, 0.03, 0.005)]  # an untestable row is no test
    corrected = with_holm(rows)
    assert [r["p_holm"] for r in corrected] == pytest.approx([0.03, None, 0.06, 0.06, 0.02])
    assert [r["p"] for r in corrected] == [0.01, None, 0.04, 0.03, 0.005]  # the raw p kept
    assert corrected[2]["verdict"].startswith("no significant difference")  # 0.04 alone would be significant
    assert corrected[0]["verdict"] == "B higher, significant at α = 0.05, Holm-corrected"


def test_comparison_sides_are_named_by_what_was_scored(tmp_path):
    from echolite.workflows.evaluation import default_comparison_figure, side_name

    run = tmp_path / "runs" / "lw"
    for report in (
        run / "evaluation-val",
        run / "model_int8-evaluation-val-tta-zoom",
        tmp_path / "masks-evaluation-all",
    ):
        report.mkdir(parents=True)
        (report / "frames.csv").write_text("frame_id\n")
    (run / "config.json").write_text("{}")
    assert side_name(run / "evaluation-val") == "lw"
    assert side_name(run / "model_int8-evaluation-val-tta-zoom") == "lw/model_int8 (tta-zoom)"
    assert side_name(tmp_path / "masks-evaluation-all") == "masks"
    assert side_name(run / "model_int8.tflite") == "lw/model_int8"
    figure = default_comparison_figure(run / "evaluation-val", run / "model_int8-evaluation-val-tta-zoom")
    assert figure.absolute() == run / "compare-lw-vs-lw_model_int8_tta-zoom.png"


def test_verdict_never_claims_equivalence():
    from echolite.evaluation.stats import verdict

    assert "not a claim of equivalence" in verdict(0.4, 0.01)
    assert verdict(0.001, 0.2).startswith("B higher")


def test_an_ensemble_segments_by_the_mean_of_its_models_probabilities():
    from echolite.inference import EnsembleSegmenter

    rng = np.random.default_rng(0)

    class Member:
        def __init__(self, name, size=8):
            self.source, self.input_size = Path(name), size
            self.probabilities = rng.dirichlet(np.ones(4), (2, 8, 8)).astype(np.float32)

        def predict_probabilities(self, images):
            return self.probabilities[: len(images)]

    members = [Member("a"), Member("b"), Member("c")]
    labels = EnsembleSegmenter(members).predict_labels(np.zeros((2, 8, 8), np.float32))
    mean = (members[0].probabilities + members[1].probabilities + members[2].probabilities) / 3
    np.testing.assert_array_equal(labels, mean.argmax(-1))
    assert any((labels != m.probabilities.argmax(-1)).any() for m in members)  # not just one member's answer
    with pytest.raises(EcholiteError, match="ensemble: the models take different input sizes"):
        EnsembleSegmenter([Member("a"), Member("d", size=16)])


def test_bland_altman_draws_the_agreement_it_is_given_and_figures_have_known_formats(tmp_path):
    from echolite.clinical.volumes import agreement
    from echolite.errors import EcholiteError
    from echolite.evaluation.names import ALPHA, METRICS, STRUCTURES
    from echolite.plots import check_figure_path, save_bland_altman

    measured, reference = [50.0, 60.0, 40.0, float("nan")], [52.0, 57.0, 45.0, 50.0]
    figures = agreement(measured, reference)
    assert figures["n"] == 3 and figures["bias"] == pytest.approx(-4 / 3)
    save_bland_altman(measured, reference, figures, tmp_path / "ba.png", rejected=[False, True, False, False])
    assert (tmp_path / "ba.png").stat().st_size > 5000 and not list(tmp_path.glob(".*"))
    assert check_figure_path(tmp_path / "f.svg") == "svg"
    with pytest.raises(EcholiteError, match="cannot write a .txt figure"):
        check_figure_path(tmp_path / "f.txt")
    assert ALPHA == 0.05 and "hd_mm" in METRICS and STRUCTURES["EPI"] == (1, 2)
