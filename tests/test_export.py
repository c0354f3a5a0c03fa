import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from echolite.data.phantom import make_phantom
from echolite.data.writers import write_png_export
from echolite.errors import EcholiteError
from echolite.export.tflite import export_tflite
from echolite.inference import TFLiteSegmenter
from echolite.models import build_unet, inference_model
from echolite_edge.tta import softmax

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames():
    return make_phantom(8, seed=0, size=64)


def test_fp32_tflite_matches_keras_within_1e4(tmp_path, tiny_config, frames):
    model = inference_model(build_unet(tiny_config))
    result = export_tflite(model, tmp_path / "m.tflite", "fp32", validation=frames)
    lite = TFLiteSegmenter(result.path)
    expected = np.asarray(model(frames.images[:3, ..., None], training=False))
    np.testing.assert_allclose(softmax(lite.predict_scores(frames.images[:3])), expected, atol=1e-4)
    meta = json.loads(result.metadata_path.read_text())
    assert meta["input"]["shape"] == [1, 64, 64, 1] and meta["output"]["shape"] == [1, 64, 64, 4]
    assert meta["labels"] == ["background", "LV", "MYO", "LA"] and meta["parity"]["frames"] == 8
    ops = set(result.ops["ops"])
    assert "DEPTH_TO_SPACE" in ops and not any(op.startswith("Flex") for op in ops) and "SOFTMAX" not in ops
    assert not ops & {"TILE", "READ_VARIABLE", "RESIZE_NEAREST_NEIGHBOR"}  # delegable upsampling, frozen weights
    # the whole fp32 graph is one XNNPACK partition
    assert result.ops["xnnpack_partitions"] == 1 and result.ops["not_delegated"] == {}
    assert meta["ops"] == result.ops
    from echolite.export.ops import format_op_report, op_report
    from echolite.models.compute import count_macs

    assert op_report(lite.interpreter) == result.ops  # the report reads the interpreter the device runs
    assert any("XNNPACK runs" in line and "1 partition" in line for line in format_op_report(result.ops))
    assert meta["parameters"] == model.count_params() and meta["gmac"] == pytest.approx(count_macs(model) / 1e9, 1e-3)


def test_export_formats_are_one_table():
    from echolite.errors import EcholiteError
    from echolite.export.formats import DEFAULT_MODE, FORMATS, MODES, get_format

    assert MODES == ("int8", "fp16", "dynamic", "fp32") and DEFAULT_MODE == "int8"
    assert get_format("int8").calibrated and not any(FORMATS[m].calibrated for m in MODES[1:])
    with pytest.raises(EcholiteError, match="unknown export mode 'int4'; choose one of: int8, fp16, dynamic, fp32"):
        get_format("int4")


def test_int8_input_takes_the_full_pixel_range_whatever_the_calibration_frames(tmp_path, tiny_config, frames):
    """Dim calibration frames must not narrow the input range: a brighter frame on the device would clip."""
    dim = dataclasses.replace(frames, images=(0.1 + 0.6 * frames.images).astype(np.float32))
    relu = inference_model(build_unet(dataclasses.replace(tiny_config, activation="relu")))
    meta = json.loads(export_tflite(relu, tmp_path / "dim.tflite", "int8", calibration=dim).metadata_path.read_text())
    assert meta["input"]["scale"] == pytest.approx(1 / 255, rel=1e-3) and meta["input"]["zero_point"] == -128


@pytest.mark.parametrize("preset", ["edge-m", "edge-rt"])
def test_int8_runs_wholly_in_xnnpack_and_keeps_mish_in_float(tmp_path, tiny_config, frames, preset):
    from echolite.presets import get_preset
    from echolite_edge.image import model_input
    from echolite_edge.segmenter import EdgeSegmenter, quantize

    # a ReLU model: a real-time preset at 64 pixels, with every block of the family (strided stem,
    # depthwise-separable and full levels, a convolution head at full resolution or bilinear logits)
    relu = inference_model(build_unet(dataclasses.replace(get_preset(preset).model, input_size=64)))
    # untrained models: near-uniform scores make argmax parity meaningless, so no gate here (see the next test)
    full = export_tflite(relu, tmp_path / "relu.tflite", "int8", calibration=frames)
    meta = json.loads(full.metadata_path.read_text())
    assert meta["input"]["dtype"] == meta["output"]["dtype"] == "int8" and meta["input"]["zero_point"] == -128
    assert meta["input"]["scale"] == pytest.approx(1 / 255, rel=1e-3) and meta["float_ops"] == []
    segmenter = EdgeSegmenter(full.path)  # raw 8-bit pixels go in shifted, as quantizing them gives
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    np.testing.assert_array_equal(
        segmenter.preprocess(pixels), quantize(model_input(pixels, 64)[None, ..., None], segmenter.input)
    )
    mish = inference_model(build_unet(tiny_config))
    mixed = export_tflite(mish, tmp_path / "mish.tflite", "int8", calibration=frames)
    assert json.loads(mixed.metadata_path.read_text())["float_ops"] == ["EXP", "LOG", "TANH", "MUL", "ADD"]
    ops = {d["op_name"] for d in TFLiteSegmenter(mixed.path).interpreter._get_ops_details()}
    assert {"QUANTIZE", "DEQUANTIZE", "EXP"} <= ops
    assert full.ops["float_islands"] == {} and full.ops["xnnpack_partitions"] == 1
    assert full.ops["not_delegated"] == {} and "DEPTHWISE_CONV_2D" in full.ops["ops"]
    assert set(mixed.ops["float_islands"]) == {"EXP", "LOG", "TANH", "MUL", "ADD"}


def test_failed_parity_gate_leaves_nothing_behind(tmp_path, tiny_config, frames):
    model = inference_model(build_unet(dataclasses.replace(tiny_config, activation="relu")))
    with pytest.raises(EcholiteError, match="parity gate"):
        export_tflite(
            model, tmp_path / "m.tflite", "int8", calibration=frames, validation=frames, parity_threshold=-1.0
        )
    assert list(tmp_path.iterdir()) == []


def test_export_and_evaluate_tflite_from_the_cli(tmp_path, tiny_config):
    from click.testing import CliRunner

    from echolite.cli.main import main
    from echolite.config import TrainConfig
    from echolite.training.trainer import train

    run = tmp_path / "run"
    train(TrainConfig(epochs=1, batch_size=8, phantom_frames=24, jit_compile=False), run, model_config=tiny_config)
    result = CliRunner().invoke(main, ["export", str(run), "--fp16"])
    assert result.exit_code == 0, result.output
    assert (run / "model_fp16.tflite").exists() and "parity on" in result.output
    evaluated = CliRunner().invoke(
        main, ["evaluate", str(run / "model_fp16.tflite"), "--data", "phantom", "--split", "val", "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output[evaluated.output.index("{") :])["n_frames"] > 0
    assert CliRunner().invoke(main, ["export", str(run), "--fp32"]).exit_code == 0
    clinic = make_phantom(4, seed=3, size=64)  # calibration data of other patients: all its frames serve
    write_png_export(
        dataclasses.replace(
            clinic,
            frame_ids=[i.replace("phantom", "clinic") for i in clinic.frame_ids],
            patients=[p.replace("phantom", "clinic") for p in clinic.patients],
        ),
        tmp_path / "clinic",
    )
    foreign = CliRunner().invoke(
        main,
        [
            "export",
            str(run),
            "--fp32",
            "--calib-data",
            str(tmp_path / "clinic"),
            "--out",
            str(tmp_path / "clinic.tflite"),
        ],
    )
    assert foreign.exit_code == 0, foreign.output
    assert "holds none of the run's val patients; using all its 4 frames" in foreign.output
    assert f"--data {tmp_path / 'clinic'} --split all" in foreign.output
    timed = CliRunner().invoke(
        main,
        [
            "bench",
            str(run),
            "--runs",
            "2",
            "--baseline",
            "run/fp32",
            "--threads",
            "1",
            "--threads",
            "2",
            "--json",
            str(tmp_path / "b.json"),
        ],
    )
    assert timed.exit_code == 0, timed.output
    rows = json.loads((tmp_path / "b.json").read_text())
    assert [(r["model"], r["form"], r["threads"]) for r in rows] == [
        ("run", "keras", None),
        ("run", "fp16", 1),
        ("run", "fp16", 2),
        ("run", "fp32", 1),
        ("run", "fp32", 2),
    ]
    columns = {
        "parameters",
        "gmac",
        "size_mb",
        "invoke_p50_ms",
        "invoke_p90_ms",
        "e2e_p50_ms",
        "e2e_p90_ms",
        "fps",
        "speedup",
        "parameter_ratio",
        "gmac_ratio",
    }
    assert columns <= set(rows[0]) and rows[0]["parameters"] == inference_model(build_unet(tiny_config)).count_params()
    assert rows[3]["speedup"] == rows[4]["speedup"] == rows[4]["parameter_ratio"] == 1.0 and rows[0]["gmac"] > 0
    assert "against run/fp32" in timed.output and "frames/s" in timed.output
    unknown = CliRunner().invoke(main, ["bench", str(run), "--runs", "1", "--baseline", "nnunet"])
    assert unknown.exit_code == 1 and "--baseline nnunet: not among the models" in unknown.output
    unbuilt = CliRunner().invoke(main, ["bench", "nnunet", "--baseline", "lw-unet"])  # refused before building
    assert unbuilt.exit_code == 1 and "--baseline lw-unet: not among the models (nnunet)" in unbuilt.output
    (tmp_path / "alone").mkdir()
    for name in ("model_fp16.tflite", "model_fp16.json"):
        shutil.copy(run / name, tmp_path / "alone" / name)
    alone = CliRunner().invoke(main, ["bench", str(tmp_path / "alone" / "model_fp16.tflite"), "--runs", "1"])
    assert alone.exit_code == 0, alone.output
    assert "model_fp16                  fp16" in alone.output and f"{rows[1]['parameters'] / 1e6:.2f}M" in alone.output
    not_a_model = CliRunner().invoke(main, ["bench", "no-such-preset"])
    assert (
        not_a_model.exit_code == 1 and "not a run folder, .keras or .tflite file, shipped model" in not_a_model.output
    )
    qat_fp16 = CliRunner().invoke(main, ["export", str(run), "--fp16", "--qat", "1"])
    assert qat_fp16.exit_code == 1 and "--qat trains for int8" in qat_fp16.output
    not_a_run = CliRunner().invoke(main, ["export", str(tmp_path)])
    assert not_a_run.exit_code == 1 and "not a run folder" in not_a_run.output
    no_average = CliRunner().invoke(main, ["export", str(run), "--fp32", "--averaged"])
    assert no_average.exit_code == 1 and "no model_averaged.keras to export" in no_average.output
    shutil.copy(run / "model.keras", run / "model_averaged.keras")  # stands in for the averaged weights
    averaged = CliRunner().invoke(main, ["export", str(run), "--fp32", "--averaged"])
    assert averaged.exit_code == 0, averaged.output
    metadata = json.loads((run / "model_averaged_fp32.json").read_text())
    assert metadata["source"] == str(run / "model_averaged.keras") and (run / "model_averaged_fp32.tflite").exists()


@pytest.mark.parametrize("head", ["conv", "bilinear"])
def test_quantization_aware_training_runs_end_to_end(tmp_path, tiny_config, frames, head):
    from echolite.export.qat import QATSettings, quantization_aware_int8

    # with the real-time blocks (strided stem, depthwise-separable level, either head)
    config = dataclasses.replace(tiny_config, activation="relu", stem_stride=2, separable_levels=1, head=head)
    model = inference_model(build_unet(config))
    dim = dataclasses.replace(frames, images=(0.1 + 0.6 * frames.images).astype(np.float32))  # never 0 or 1
    content = quantization_aware_int8(model, config, dim, QATSettings(epochs=1, batch_size=4), log=lambda _: None)
    result = export_tflite(
        model,
        tmp_path / "qat.tflite",
        "int8",
        validation=dim,
        parity_threshold=1.0,
        content=content,
        method="quantization-aware, 1 epoch(s)",
    )
    meta = json.loads(result.metadata_path.read_text())
    assert meta["quantization_method"].startswith("quantization-aware") and meta["input"]["dtype"] == "int8"
    assert meta["input"]["scale"] == pytest.approx(1 / 255, rel=1e-3) and meta["input"]["zero_point"] == -128
    assert result.ops["float_islands"] == {} and result.ops["xnnpack_partitions"] == 1
    assert result.ops["not_delegated"] == {}
    assert TFLiteSegmenter(result.path).predict_labels(frames.images[:2]).shape == (2, 64, 64)


def test_quantization_aware_training_refuses_mish(tiny_config, frames):
    from echolite.export.qat import QATSettings, quantization_aware_int8

    with pytest.raises(EcholiteError, match="ReLU"):
        quantization_aware_int8(inference_model(build_unet(tiny_config)), tiny_config, frames, QATSettings())


def test_op_without_builtin_is_a_one_line_error(tmp_path):
    import keras
    import tensorflow as tf

    class Bessel(keras.layers.Layer):
        def call(self, x):
            return tf.math.special.bessel_i0e(x)

    image = keras.Input((16, 16, 1))
    model = keras.Model(image, keras.layers.Activation("softmax")(keras.layers.Conv2D(4, 1)(Bessel()(image))))
    with pytest.raises(EcholiteError, match="no TFLite builtin: tf.BesselI0e"):
        export_tflite(model, tmp_path / "m.tflite", "fp32")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_conversion_leaves_no_scratch_behind(tmp_path, monkeypatch):
    import tempfile

    from echolite.export.tflite import scratch_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    orphan = tmp_path / "echolite-export-pid999999999-abc"  # a process that no longer runs
    (orphan / "saved_model").mkdir(parents=True)
    with scratch_folder("export") as folder:
        assert not orphan.exists() and Path(folder).exists()
    assert not list(tmp_path.iterdir())


def test_bench_times_an_untrained_preset_in_its_three_forms(monkeypatch, tiny_config):
    from echolite.presets import PRESETS, Preset
    from echolite.workflows.bench import bench

    monkeypatch.setitem(PRESETS, "tiny", Preset(dataclasses.replace(tiny_config, activation="relu")))
    rows = bench(["tiny"], runs=1, warmup=1, threads=(1,))
    assert [(r["model"], r["form"], r["untrained"]) for r in rows] == [
        ("tiny", "keras", True),
        ("tiny", "fp32", True),
        ("tiny", "int8", True),
    ]
    assert rows[2]["size_mb"] < rows[1]["size_mb"] and rows[0]["speedup"] == 1.0


def test_bench_table_warns_when_trained_and_untrained_rows_are_mixed():
    from echolite.workflows.bench import format_table

    row = {
        "model": "edge-m",
        "form": "int8",
        "threads": 2,
        "untrained": False,
        "parameters": 1966148,
        "gmac": 0.78,
        "size_mb": 2.04,
        "runs": 30,
        "invoke_p50_ms": 6.5,
        "invoke_p90_ms": 6.9,
        "e2e_p50_ms": 11.0,
        "e2e_p90_ms": 11.8,
        "fps": 91.0,
        "speedup": 1.0,
        "parameter_ratio": 1.0,
        "gmac_ratio": 1.0,
        "baseline": "edge-m/int8",
    }
    assert not any("warning" in line for line in format_table([row]))
    mixed = format_table([row, {**row, "model": "lw-unet-relu", "untrained": True}])
    assert "lw-unet-relu (untrained)" in mixed[2] and "compare invoke times" in mixed[-1]
