import dataclasses

import numpy as np
import pytest

from echolite.config import ModelConfig
from echolite.errors import EcholiteError
from echolite.models.unet import build_model, build_unet, inference_model
from echolite.presets import PRESETS

PAPER_PARAMS = {
    "unet0": 119e3,
    "unet1": 2e6,
    "unet2": 11e6,
    "unet3": 31e6,
    "nnunet": 33e6,
    "lw-unet": 2e6,
    "lw-unet-relu": 2e6,
}


@pytest.mark.parametrize("name", list(PAPER_PARAMS))
def test_parameter_count_matches_paper_within_10_percent(name):
    params = build_model(name).count_params()
    assert abs(params - PAPER_PARAMS[name]) / PAPER_PARAMS[name] < 0.10, params


def test_presets_follow_tables():
    assert PRESETS["unet1"].model.lowest_resolution == 8
    assert PRESETS["unet0"].model.lowest_resolution == 64
    assert PRESETS["unet3"].model.lowest_resolution == 16
    assert PRESETS["nnunet"].model.lowest_resolution == 4
    lw = PRESETS["lw-unet"].model
    assert (lw.norm, lw.activation, lw.deep_supervision, lw.downsampling, lw.upsampling) == (
        "batch",
        "mish",
        True,
        "maxpool",
        "nearest",
    )
    assert (PRESETS["unet2"].batch_size, PRESETS["unet3"].batch_size, PRESETS["unet0"].batch_size) == (16, 8, 64)


def test_lw_unet_outputs_named_and_shaped():
    model = build_model("lw-unet")
    assert model.input.name.startswith("image") or model.layers[0].name == "image"
    assert sorted(model.output_names) == ["ds_1", "ds_2", "ds_3", "ds_4", "seg"]
    for out in model.outputs:
        assert tuple(out.shape) == (None, 256, 256, 4)
    seg = inference_model(model)
    assert tuple(seg.output.shape) == (None, 256, 256, 4)


@pytest.mark.parametrize(
    "change",
    [
        {"norm": "instance", "activation": "leaky_relu"},
        {"norm": "none", "activation": "gelu", "residual": True},
        {"downsampling": "strided", "upsampling": "transposed"},
        {"deep_supervision": False, "activation": "relu"},
        {"num_classes": 3, "residual": True, "norm": "batch"},
    ],
)
def test_every_knob_builds_and_outputs_probabilities(tiny_config, change):
    config = dataclasses.replace(tiny_config, **change)
    model = build_unet(config)
    x = np.random.default_rng(0).random((2, 64, 64, 1), dtype=np.float32)
    seg = model(x, training=False)["seg"]
    assert seg.shape == (2, 64, 64, config.num_classes)
    np.testing.assert_allclose(np.asarray(seg).sum(-1), 1.0, atol=1e-5)


def test_nearest_upsampling_is_exact_repeat(tiny_config):
    from echolite.models import NearestUpsample

    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    expected = np.repeat(np.repeat(x[0, :, :, 0], 2, 0), 2, 1)
    for training in (False, True):  # resize at inference, broadcast in training: the same values
        np.testing.assert_array_equal(np.asarray(NearestUpsample(2)(x, training=training))[0, :, :, 0], expected)


@pytest.mark.parametrize(
    "bad",
    [
        {"norm": "layer"},
        {"activation": "swish"},
        {"decoder_channels": (8,)},
        {"input_size": 66},
    ],
)
def test_bad_config_is_a_user_error(tiny_config, bad):
    with pytest.raises(EcholiteError):
        dataclasses.replace(tiny_config, **bad)


def test_unknown_preset():
    with pytest.raises(EcholiteError, match="unknown preset"):
        build_model("unet9")


def test_config_roundtrip(tmp_path, tiny_config):
    from echolite.config import TrainConfig
    from echolite.run import RunDir

    RunDir(tmp_path).save_config(tiny_config, TrainConfig(epochs=3), {"train": ["a"]})
    saved = RunDir(tmp_path).load_config()
    assert saved.model == tiny_config and saved.train.epochs == 3 and saved.split["train"] == ["a"]
    assert ModelConfig.__dataclass_params__.frozen


def test_resolve_configs_preset_quickstart_and_overrides():
    from echolite.presets import QUICKSTART, resolve_configs

    model, train = resolve_configs("unet2", data="x")
    assert (train.batch_size, train.scheduler, train.epochs, model.input_size) == (16, "plateau", 100, 256)
    model, train = resolve_configs("lw-unet", quickstart=True, epochs=3, input_size=64, learning_rate=None)
    assert (train.epochs, train.batch_size, train.phantom_frames) == (
        3,
        QUICKSTART["batch_size"],
        QUICKSTART["phantom_frames"],
    )
    assert model.input_size == 64 and model.activation == "mish" and train.jit_compile
    assert not resolve_configs("edge-m")[1].jit_compile  # depthwise convolutions train faster without XLA
    assert resolve_configs("edge-s", jit_compile=True)[1].jit_compile
    with pytest.raises(EcholiteError, match="unknown setting"):
        resolve_configs("unet1", colour="red")


def test_saved_models_keep_their_registered_names():
    """.keras files name their custom objects by these strings: models saved before any reorganisation still load."""
    import keras

    from echolite.models.layers import NearestUpsample
    from echolite.training.losses import DiceScore, SegmentationLoss

    names = {keras.saving.get_registered_name(c) for c in (NearestUpsample, SegmentationLoss, DiceScore)}
    assert names == {"echolite>NearestUpsample", "echolite>SegmentationLoss", "echolite>DiceScore"}


def test_a_saved_model_loads_in_a_fresh_process(tmp_path, tiny_config):
    """Commands that only load models (``echolite average``) must register the custom layers themselves."""
    import os
    import subprocess
    import sys

    path = tmp_path / "model.keras"
    build_unet(dataclasses.replace(tiny_config, head="bilinear", stem_stride=2)).save(path)
    code = (
        "import sys; from echolite.models.layers import load_saved_model; m = load_saved_model(sys.argv[1]); "
        "print(*(type(m.get_layer(n)).__name__ for n in ('dec0_up', 'seg_logits')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["NearestUpsample", "BilinearUpsample"]


def test_mac_counter_matches_a_hand_count():
    import keras

    from echolite.models.compute import count_macs

    x = keras.Input((8, 8, 1))
    y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 8·8 · 3·3·1 · 4 = 2304
    y = keras.layers.DepthwiseConv2D(3, padding="same")(y)  # 8·8 · 3·3 · 4   = 2304
    y = keras.layers.Conv2DTranspose(2, 2, strides=2)(y)  # 8·8 · 2·2 · 4·2 = 2048
    y = keras.layers.Dense(3)(keras.layers.Flatten()(y))  # 16·16·2 · 3     = 1536
    assert count_macs(keras.Model(x, y)) == 2304 + 2304 + 2048 + 1536


def test_mac_counts_of_the_paper_models():
    from echolite.models import build_model
    from echolite.models.compute import count_macs

    lw, nn = (count_macs(build_model(name)) / 1e9 for name in ("lw-unet", "nnunet"))
    assert 3.9 < lw < 4.1 and 14.5 < nn < 15.0  # 4.0 and 14.8 GMAC per 256×256 frame: 3.7× the compute


@pytest.mark.slow
def test_listed_preset_costs_are_the_counted_ones():
    from echolite.models.compute import describe_presets
    from echolite.presets import preset_table

    listed = {row["name"]: row for row in preset_table()}
    for counted in describe_presets():
        row = listed[counted["name"]]
        assert row["parameters"] == counted["parameters"], counted["name"]
        assert row["gmac"] == pytest.approx(counted["gmac"], abs=5e-4) and row["int8_mb"] == pytest.approx(
            counted["int8_mb"], abs=5e-4
        ), counted["name"]


def test_edge_presets_cost_at_most_a_quarter_of_lw_unet():
    from echolite.presets import COSTS

    gmac = {name: cost[1] for name, cost in COSTS.items()}
    edge = {name: gmac[name] for name in ("edge-m", "edge-rt", "edge-s", "edge-xs")}
    assert all(g <= 1.0 and g * 4 <= gmac["lw-unet"] for g in edge.values()), edge
    assert edge["edge-xs"] < edge["edge-s"] < edge["edge-rt"] < edge["edge-m"]


def test_bilinear_head_upsamples_the_logits_of_the_half_resolution_unet(tiny_config):
    import keras

    config = dataclasses.replace(tiny_config, stem_stride=2, head="bilinear", deep_supervision=True)
    model = build_unet(config)
    layers = {layer.name: layer for layer in model.layers}
    assert "head_detail_conv" not in layers and layers["head_logits"].output.shape[1] == config.input_size // 2
    x = np.random.default_rng(0).random((1, 64, 64, 1), dtype=np.float32)
    outputs = model(x, training=False)
    assert all(out.shape == (1, 64, 64, 4) for out in outputs.values())
    low = keras.Model(model.input, layers["head_logits"].output)(x)[0].numpy()
    up = keras.Model(model.input, layers["seg_logits"].output)(x)[0].numpy()
    np.testing.assert_allclose(
        up[1:-1:2, 1:-1:2],
        0.75 * (0.75 * low[:-1, :-1] + 0.25 * low[1:, :-1]) + 0.25 * (0.75 * low[:-1, 1:] + 0.25 * low[1:, 1:]),
        atol=1e-5,
    )  # half-pixel centres
    with pytest.raises(EcholiteError, match="needs stem_stride 2"):
        dataclasses.replace(tiny_config, head="bilinear")


def test_patch_stem_takes_non_overlapping_two_by_two_patches(tiny_config):
    import keras

    model = build_unet(dataclasses.replace(tiny_config, stem_stride=2, stem_kernel=2, head="bilinear"))
    stem = model.get_layer("enc0_conv0")
    assert stem.kernel_size == (2, 2) and stem.strides == (2, 2)
    x = np.random.default_rng(0).random((1, 64, 64, 1), dtype=np.float32)
    first = keras.Model(model.input, stem.output)(x)[0].numpy()
    kernel = stem.get_weights()[0]  # (2, 2, 1, channels), no bias (batch norm follows)
    patch = x[0, 10:12, 20:22, 0]
    np.testing.assert_allclose(first[5, 10], np.einsum("ij,ijc->c", patch, kernel[:, :, 0]), atol=1e-5)
    with pytest.raises(EcholiteError, match="stem_kernel must be 3, or 2 with stem_stride 2"):
        dataclasses.replace(tiny_config, stem_kernel=2)


def test_strided_stem_predicts_at_full_resolution_with_separable_levels(tiny_config):
    config = dataclasses.replace(tiny_config, stem_stride=2, separable_levels=1, deep_supervision=True)
    model = build_unet(config)
    layers = {layer.name: layer for layer in model.layers}
    assert layers["enc0_conv0"].strides == (2, 2) and layers["enc0_conv0"].kernel_size == (3, 3)  # on the image
    assert "enc0_dw1" in layers and "enc1_dw0" not in layers and "head_dw0" in layers
    assert layers["head_detail_conv"].output.shape[1] == config.input_size
    assert config.total_stride == 2 * tiny_config.total_stride
    x = np.random.default_rng(0).random((1, 64, 64, 1), dtype=np.float32)
    assert all(out.shape == (1, 64, 64, 4) for out in model(x, training=False).values())


def test_int8_size_estimate_counts_one_byte_per_weight():
    import keras

    from echolite.models.compute import int8_bytes

    x = keras.Input((8, 8, 1))
    y = keras.layers.Conv2D(4, 3, padding="same")(x)  # 36 weights, 4 channels
    y = keras.layers.DepthwiseConv2D(3, padding="same")(y)  # 36 weights, 4 channels
    assert int8_bytes(keras.Model(x, y)) == 36 + 36 + 16 * (4 + 4)


def test_keras_loads_a_saved_model_after_importing_echolite_models(tmp_path, tiny_config):
    import subprocess
    import sys

    build_unet(tiny_config).save(tmp_path / "m.keras")
    code = (
        "import sys, echolite; assert 'keras' not in sys.modules; import echolite.models, keras; "
        f"print(keras.models.load_model({str(tmp_path / 'm.keras')!r}).count_params())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and int(out.stdout.split()[-1]) == build_unet(tiny_config).count_params(), out.stderr
