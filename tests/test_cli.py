import pytest
from click.testing import CliRunner

from echolite import __version__
from echolite.cli.main import main
from tests.helpers import TINY_TRAIN


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--preset", "unet9"], "unknown preset 'unet9'"),
        (["train", "--epochs", "0"], "epochs must be >= 1, got 0"),
        (["train", "--batch-size", "-1"], "batch_size must be >= 1, got -1"),
        (["train", "--ds-weight", "-1"], "ds_weight must be >= 0, got -1"),
        (["train", "--image-size", "0"], "must be a positive multiple of"),
        (["train", "--augment", "heavy"], "unknown augmentation"),
        (["train", "--out", "/proc/echolite-run"], "cannot write the run folder"),
        (["train", "--resume"], "--resume needs --out"),
        (["train", "--data", "/nonexistent/data"], "data folder not found"),
        (["train", "--image-size", "100"], "must be a positive multiple of 32"),
    ],
)
def test_bad_input_gives_one_line_error(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert message in lines[-1] and lines[-1].startswith("error: ")
    assert "Traceback" not in result.output


def test_phantom_command_writes_frames_and_preview(tmp_path):
    result = CliRunner().invoke(main, ["phantom", "--out", str(tmp_path / "ph"), "-n", "4", "--size", "64"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "ph" / "img").glob("*.png"))) == 4
    assert len(list((tmp_path / "ph" / "ref").glob("*_gt.png"))) == 4
    assert (tmp_path / "ph" / "preview.png").stat().st_size > 1000
    from echolite.data import load_data

    loaded = load_data(str(tmp_path / "ph"), size=64)  # read back as it was made: phantom names, its pixel size
    assert loaded.layout == "png-export" and loaded.frames.frame_ids[0] == "phantom0000_4CH_ED"
    assert loaded.frames.spacing_mm[0, 0] == pytest.approx(0.6 * 256 / 64, rel=1e-5)
    inspected = CliRunner().invoke(main, ["data", "inspect", str(tmp_path / "ph")])
    assert "2.4×2.4 mm (4); phantom.json" in inspected.output, inspected.output


def test_train_command_end_to_end(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        [
            *TINY_TRAIN,
            "--batch-size",
            "4",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "validation Dice, the mean over frames  LV" in result.output and (out / "model.keras").exists()
    lines = result.stdout.splitlines()
    assert any("compiling the training step" in line for line in lines)
    epoch = next(line for line in lines if line.startswith("epoch 1/1 "))
    assert "val Dice LV" in epoch and "best" in epoch and len(epoch) <= 100
    assert f"run folder: {out}" in result.stdout and f"next: echolite evaluate {out}" in result.stdout
    resumed = CliRunner().invoke(main, ["train", "--out", str(out), "--resume", "--epochs", "2", "--batch-size", "8"])
    assert resumed.exit_code == 0, resumed.output
    assert "ignored --batch-size" in resumed.stderr and "2 epochs, batch 4" in resumed.stdout


def test_cli_import_is_light():
    """`echolite --help` must not pay for TensorFlow or Keras."""
    import subprocess
    import sys

    code = "import sys, echolite.cli.main; print(any(m in sys.modules for m in ('tensorflow', 'keras')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
