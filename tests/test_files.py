"""Outputs written whole or not at all, whose output a file is, and a console without native libraries' lines."""

import os
import sys

import pytest

from echolite_edge.console import native_stderr_silenced
from echolite_edge.files import atomic_path, owner_of, unwritable_reason, write_atomically


def test_atomic_path_replaces_on_success_and_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "epoch_001.weights.h5"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".weights.h5") and tmp.name.startswith(".")
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed while writing")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_write_atomically_takes_text_and_bytes(tmp_path):
    write_atomically(tmp_path / "a.json", "é\n")
    write_atomically(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.json").read_bytes() == "é\n".encode() and (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_whose_output_a_file_is_and_where_nothing_can_be_written(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    (tmp_path / "run" / "model.keras").write_text("")
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "frames.csv").write_text("")
    (tmp_path / "report" / "summary.json").write_text("")
    (tmp_path / "notes.txt").write_text("")
    assert owner_of(tmp_path / "run" / "model.keras") == f"the run {tmp_path / 'run'}"
    assert owner_of(tmp_path / "report" / "summary.json") == f"the report {tmp_path / 'report'}"
    assert owner_of(tmp_path / "notes.txt") is None and owner_of(tmp_path / "missing.png") is None
    assert unwritable_reason(tmp_path / "new" / "deeper") is None
    assert unwritable_reason(tmp_path / "notes.txt" / "x") == f"{tmp_path / 'notes.txt'} is a file, not a folder"


def test_native_lines_vanish_and_python_lines_stay(capfd):
    with native_stderr_silenced():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")  # as a C++ library writes
        print("error: the command's own line", file=sys.stderr)
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "XNNPACK" not in err and "the command's own line" in err and "after" in err
