import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from echolite.cli.main import main
from echolite.data.phantom import make_phantom
from echolite.data.writers import write_png_export
from echolite.evaluation.scoring import score_frames, summarize
from echolite.evaluation.postprocess import PostprocessConfig


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
    assert summary["n_frames"] == 12 and summary["dice"] == {"LV": 1.0, "MYO": 1.0, "LA": 1.0}
    assert summary["hd_px"]["LV"] == 0.0 and set(summary["by_view_phase"]) == {"4CH_ED", "4CH_ES"}


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
    summary = json.loads(result.output[result.output.index("{"):])
    assert summary["n_frames"] == 12 and summary["dice"]["LV"] > 0.99 and summary["outliers"] == 0
    assert (tmp_path / "eval" / "frames.csv").read_text().count("\n") == 13
    assert len(list((tmp_path / "eval" / "worst").glob("*.png"))) == 8
    raw = CliRunner().invoke(main, args + ["--json", "--no-postprocess"])
    raw_summary = json.loads(raw.output[raw.output.index("{"):])
    assert raw_summary["outliers"] == 12 and raw_summary["hd_px"]["LV"] > summary["hd_px"]["LV"]
    table = CliRunner().invoke(main, args)
    assert "Dice" in table.output and "4CH_ED" in table.output


def test_evaluate_keras_model_and_missing_predictions(tmp_path, frames, tiny_config):
    import dataclasses

    from echolite.models import build_unet

    build_unet(dataclasses.replace(tiny_config, input_size=256)).save(tmp_path / "m.keras")
    write_png_export(frames, tmp_path / "data")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "m.keras"), "--data", str(tmp_path / "data"),
                                       "--split", "all", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):])["n_frames"] == 12
    (tmp_path / "empty").mkdir()
    missing = CliRunner().invoke(main, ["evaluate", "--predictions", str(tmp_path / "empty"), "--data",
                                        str(tmp_path / "data"), "--split", "all"])
    assert missing.exit_code == 1 and "no prediction for 12 of 12 frames" in missing.output


def test_compare_cli_wilcoxon_and_boxplots(tmp_path, frames):
    write_png_export(frames, tmp_path / "data")
    _write_predictions(tmp_path / "good", frames)
    _write_predictions(tmp_path / "shifted", frames, shift=3)
    out = tmp_path / "box.png"
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "good"), str(tmp_path / "shifted"), "--data",
                                       str(tmp_path / "data"), "--split", "all", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output[result.output.index("["):])
    dice_lv = next(r for r in rows if r["metric"] == "dice" and r["structure"] == "LV")
    assert dice_lv["mean_a"] == 1.0 and dice_lv["diff"] < 0 and dice_lv["p"] < 0.01
    assert out.stat().st_size > 5000


def test_compare_evaluation_outputs_and_refuse_different_frames(tmp_path, frames):
    write_png_export(frames, tmp_path / "data")
    _write_predictions(tmp_path / "good", frames)
    _write_predictions(tmp_path / "shifted", frames, shift=2)
    for name in ("good", "shifted"):
        result = CliRunner().invoke(main, ["evaluate", "--predictions", str(tmp_path / name), "--data",
                                           str(tmp_path / "data"), "--split", "all", "--out", str(tmp_path / f"ev_{name}")])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "ev_good"), str(tmp_path / "ev_shifted"),
                                       "--out", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    assert "B lower, significant at α = 0.05" in result.output and "median" in result.output
    csv_b = tmp_path / "ev_shifted" / "frames.csv"
    csv_b.write_text("\n".join(csv_b.read_text().splitlines()[:-2]) + "\n")  # drop a frame from B
    refused = CliRunner().invoke(main, ["compare", str(tmp_path / "ev_good"), str(tmp_path / "ev_shifted")])
    assert refused.exit_code == 1 and "not scored on the same frames: 2 only in A" in refused.output


def test_verdict_never_claims_equivalence():
    from echolite.evaluation.stats import verdict

    assert "not a claim of equivalence" in verdict(0.4, 0.01)
    assert verdict(0.001, 0.2).startswith("B higher")
