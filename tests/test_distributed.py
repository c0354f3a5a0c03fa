"""tf.distribute for real: ``mirrored`` on two logical CPU devices against the default strategy, and
``multi-worker`` with two worker processes on 127.0.0.1 (free ports, bounded time, both processes ended)."""

import json
import os
import re
import socket
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

TRAIN = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
if {logical}:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from echolite.config import ModelConfig, TrainConfig
from echolite.errors import EcholiteError
from echolite.training.trainer import train
# no batch norm: the replicas agree
model = ModelConfig(encoder_channels=(8, 8, 16), decoder_channels=(8, 8), input_size=64)
out = {{}}
for strategy, folder in {runs}:
    batch = 3 if folder.endswith("odd") else {batch}
    config = TrainConfig(epochs={epochs}, batch_size=batch, loss="ce", data="phantom", phantom_frames=16,
                         augment="none", strategy=strategy, jit_compile=False)
    try:
        result = train(config, folder, model_config=model, resume={resume})
    except EcholiteError as exc:  # reported, and the next run goes on
        out[folder] = {{"error": str(exc)}}
        continue
    out[strategy] = {{"dice": result.val_dice, "epochs": result.epochs_done}}
print("RESULT " + json.dumps(out))
"""


def _run(code: str, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _result(proc) -> dict:
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    return json.loads(line[0][7:])


def test_mirrored_on_two_devices_matches_the_default_strategy(tmp_path):
    runs = [
        ("default", str(tmp_path / "one")),
        ("mirrored", str(tmp_path / "two")),
        ("mirrored", str(tmp_path / "odd")),
    ]
    result = _result(_run(TRAIN.format(logical=True, runs=runs, epochs=2, batch=8, resume=False)))
    print(result)
    for name in ("LV", "MYO", "LA"):
        assert abs(result["default"]["dice"][name] - result["mirrored"]["dice"][name]) < 0.02
    steps = [len((tmp_path / f / "history.csv").read_text().splitlines()) for f in ("one", "two")]
    assert steps[0] == steps[1] == 3  # header + 2 epochs
    # the same optimizer steps per epoch: the global batch is split over the replicas, not multiplied
    from echolite.run import RunDir

    for folder in ("one", "two"):
        assert json.loads(RunDir(tmp_path / folder).state.read_text())["epochs_done"] == 2
    # a global batch of 3 does not split over 2 replicas: refused before anything is written
    assert "does not split over 2 replicas" in result[str(tmp_path / "odd")]["error"]
    assert not (tmp_path / "odd").exists()


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _workers(tmp_path, epochs: int, resume: bool) -> list[subprocess.CompletedProcess]:
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    code = TRAIN.format(
        logical=False, runs=[("multi-worker", str(tmp_path / "run"))], epochs=epochs, batch=8, resume=resume
    )
    procs = []
    for index in range(2):
        env = {
            **os.environ,
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
            "ECHOLITE_WORKER_TIMEOUT": "60",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    try:
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    return [subprocess.CompletedProcess(p.args, p.returncode, o, e) for p, (o, e) in zip(procs, outputs)]


def test_multi_worker_trains_with_two_processes_and_resumes(tmp_path):
    first = _workers(tmp_path, epochs=1, resume=False)
    chief, worker = (_result(p)["multi-worker"] for p in first)
    assert chief["epochs"] == worker["epochs"] == 1 and set(chief["dice"]) == {"LV", "MYO", "LA"}
    assert worker["dice"] == {}  # only the chief scores and writes the run folder
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert names == ["checkpoint", "config.json", "curves.png", "history.csv", "model.keras", "summary.json"]
    second = _workers(tmp_path, epochs=2, resume=True)
    assert [_result(p)["multi-worker"]["epochs"] for p in second] == [2, 2]
    assert len((tmp_path / "run" / "history.csv").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "config, problem",
    [
        (None, "TF_CONFIG: not set"),
        ("{not json", "TF_CONFIG: not a valid cluster description"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', "not a valid cluster description ('task')"),
    ],
)
def test_malformed_tf_config_is_one_line(monkeypatch, config, problem):
    from echolite.errors import EcholiteError
    from echolite.training.distribute import place

    if config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", config)
    with pytest.raises(EcholiteError, match=re.escape(problem)):
        place("multi-worker", 8)


def test_unreachable_worker_is_one_line_within_the_timeout(tmp_path):
    code = TRAIN.format(logical=False, runs=[("multi-worker", str(tmp_path / "run"))], epochs=1, batch=8, resume=False)
    port = _free_ports(1)[0]
    config = {"cluster": {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}
    proc = _run(code, env={"TF_CONFIG": json.dumps(config), "ECHOLITE_WORKER_TIMEOUT": "5"}, timeout=120)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert proc.returncode != 0 and errors == [
        (
            "error: TF_CONFIG: worker 0 could not reach the other workers within 5 s "
            "(are they all started, and are their host:port reachable?)"
        )
    ]
    assert "Traceback" not in proc.stderr and not (tmp_path / "run").exists()
