"""The shipped CAMUS-trained models: present, loadable by name in the library and on the device, their Keras and
int8 forms agreeing, fine-tunable with ``train --init``, under their own license."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import echolite
from echolite.cli.main import main
from echolite.data.phantom import make_phantom
from echolite.errors import EcholiteError
from echolite.evaluation.metrics import dice_per_class
from echolite.pretrained import resolve_model, shipped_name_of
from echolite.workflows.evaluation import default_report_folder
from echolite_edge.pretrained import INT8, NAMES, WEIGHTS, describe_shipped, model_file
from echolite_edge.segmenter import EdgeSegmenter


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return (make_phantom(1, seed=3).images[0] * 255).astype(np.uint8)


def test_every_shipped_model_is_there_within_the_size_budget():
    sizes = {name: {p.name: p.stat().st_size for p in (WEIGHTS / name).iterdir()} for name in NAMES}
    assert all(set(files) == {"config.json", "weights.npz", INT8, "model_int8.json"} for files in sizes.values())
    assert all(size <= 5e6 for files in sizes.values() for size in files.values())
    assert sum(size for files in sizes.values() for size in files.values()) <= 15e6
    assert [row["name"] for row in describe_shipped()] == list(NAMES)


def test_the_weights_carry_the_camus_license_and_citation():
    license_text = (WEIGHTS / "LICENSE").read_text(encoding="utf-8")
    assert "Attribution-NonCommercial-ShareAlike 4.0 International" in license_text
    assert "Leclerc" in license_text and "10.1109/TMI.2019.2900516" in license_text
    card = (WEIGHTS / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert all(name in card for name in NAMES) and "10.1109/TMI.2019.2900516" in card


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_shipped_model_loads_by_name_and_its_keras_and_int8_forms_agree(name, frame):
    keras_labels = echolite.load_model(name).segment(frame)  # the Keras model built from the float16 weights
    int8_labels = echolite.load_model(model_file(name)).segment(frame)
    device_labels = EdgeSegmenter(model_file(name)).segment(frame).mask  # the device runner takes the name too
    np.testing.assert_array_equal(device_labels, int8_labels)
    assert all((keras_labels == label).any() for label in (1, 2, 3))
    dice = dice_per_class(int8_labels[None], keras_labels[None])[0]
    assert np.nanmin(dice) >= 0.95, dice


def test_a_shipped_model_is_a_run_folder_whose_reports_go_to_the_working_directory(tmp_path, monkeypatch):
    run = resolve_model("camus-edge-rt")
    assert (run / "model.keras").is_file() and shipped_name_of(run) == "camus-edge-rt"
    assert json.loads((run / "config.json").read_text())["train"]["preset"] == "edge-rt"
    monkeypatch.chdir(tmp_path)
    assert default_report_folder(run, "val") == tmp_path / "camus-edge-rt-evaluation-val"
    assert resolve_model("runs/camus-edge-rt-copy") == resolve_model("runs/camus-edge-rt-copy")  # a path stays one
    (tmp_path / "camus-edge-rt").mkdir()  # a folder of that name in the working directory wins over the name
    assert str(resolve_model("camus-edge-rt")) == "camus-edge-rt"
    (tmp_path / "camus-edge-rt").rmdir()
    result = CliRunner().invoke(main, ["compare", "camus-edge-rt", "missing", "--data", "phantom"])
    assert result.exit_code == 1 and result.output.startswith("error: missing: not found")  # the name was taken


def test_an_unknown_model_name_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["bench", "camus-nnunet"])
    assert result.exit_code == 1 and "camus-nnunet: not a run folder, .keras or .tflite file, shipped model" in (
        result.output
    )
    with pytest.raises(EcholiteError, match="not a run folder or a shipped model"):
        from echolite.workflows.train import plan_training

        plan_training("edge-rt", {"init": str(tmp_path / "nothing")}, {})


@pytest.mark.slow
def test_init_fine_tunes_from_the_shipped_weights(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--init",
            "camus-edge-rt",
            "--epochs",
            "1",
            "--phantom-frames",
            "12",
            "--batch-size",
            "4",
            "--out",
            str(tmp_path / "tuned"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "edge-rt on phantom" in result.output and "from camus-edge-rt" in result.output
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["train"]["init"] == "camus-edge-rt" and config["train"]["preset"] == "edge-rt"
    summary = json.loads((tmp_path / "tuned" / "summary.json").read_text())
    assert summary["val_dice"]["LV"] > 0.5  # one epoch on 12 frames from random weights stays near 0

    refused = CliRunner().invoke(main, ["train", "--init", "camus-edge-rt", "--image-size", "128"])
    assert refused.exit_code == 1 and "the architecture is the initial model's; leave out --image-size" in (
        refused.output
    )


def test_the_quickstart_segments_a_phantom_loop_with_the_shipped_model(tmp_path):
    from echolite_edge.cli import main as edge_main

    written = CliRunner().invoke(main, ["phantom", "--out", str(tmp_path), "--loop"])
    assert written.exit_code == 0, written.output
    command = written.output.strip().splitlines()[-1].removeprefix("next: echolite-edge ").split()
    assert command[:3] == ["run", "camus-edge-rt", str(tmp_path / "loop.gif")]
    assert edge_main(command) == 0
    results = json.loads((tmp_path / "cine" / "results.json").read_text())
    assert results["loops"][0]["fps"] == 25 and len(results["frames"]) == 100
    assert (tmp_path / "cine" / "report.html").is_file()
    cine = results["cine"]  # an EF, or none with the reason: the quickstart shows either as it comes
    assert (cine["ef_percent"] is not None) != bool(cine["ef_withheld"])
