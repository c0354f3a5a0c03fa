"""The console holds echolite's own lines: no TensorFlow start-up line, converter chatter or TFLite INFO line on
stderr, with TF_CPP_MIN_LOG_LEVEL unset, for the commands that load TensorFlow or a TFLite interpreter; --verbose
shows them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EDGE = Path(__file__).resolve().parents[1] / "edge"
OWN = ("error: ", "note: ", "warning: ", "skipped: ")


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join([str(EDGE), env.get("PYTHONPATH", "")])
    code = f"import sys; from {module} import main; sys.exit(main({list(args)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def _foreign_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith(OWN)]


@pytest.mark.slow
def test_commands_print_only_their_own_lines(tmp_path):
    run, phantom = str(tmp_path / "run"), str(tmp_path / "phantom")
    train = ["train", "--preset", "edge-xs", "--image-size", "64", "--epochs", "1", "--phantom-frames", "16"]
    commands = [
        ("echolite.cli.main", *train, "--batch-size", "8", "--out", run),
        ("echolite.cli.main", "export", run, "--int8", "--calib-samples", "8"),
        ("echolite.cli.main", "bench", f"{run}/model_int8.tflite", "--runs", "2"),
        ("echolite.cli.main", "phantom", "--out", phantom, "-n", "4"),
        ("echolite_edge.cli", "run", f"{run}/model_int8.tflite", f"{phantom}/img", "--out", str(tmp_path / "m")),
        ("echolite_edge.cli", "bench", f"{run}/model_int8.tflite", "--runs", "2", "--warmup", "1"),
    ]
    for module, *args in commands:
        done = _run(module, *args)
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert not _foreign_lines(done.stderr), (args, _foreign_lines(done.stderr)[:5])
    loud = _run("echolite_edge.cli", "--verbose", "bench", f"{run}/model_int8.tflite", "--runs", "1", "--warmup", "1")
    assert loud.returncode == 0 and "XNNPACK" in loud.stderr  # what the quiet console keeps off
