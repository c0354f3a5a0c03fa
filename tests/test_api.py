"""The public Python API of the README: ``echolite.load_model(path).segment(frame)`` at any frame size."""

import numpy as np
import pytest

import echolite
from echolite.errors import EcholiteError


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from echolite.config import ModelConfig
    from echolite.data.phantom import make_phantom
    from echolite.export.tflite import export_tflite
    from echolite.models import build_unet, inference_model

    config = ModelConfig(encoder_channels=(8, 8, 16), decoder_channels=(8, 8), input_size=64, activation="relu")
    folder = tmp_path_factory.mktemp("api")
    model = inference_model(build_unet(config))
    model.save(folder / "m.keras")
    export_tflite(model, folder / "m.tflite", "int8", calibration=make_phantom(4, seed=1, size=64))
    return folder


def test_load_model_segments_a_frame_of_any_size_as_the_device_does(models):
    from PIL import Image

    from echolite.data.phantom import make_phantom
    from echolite_edge.segmenter import EdgeSegmenter

    square = np.round(255 * make_phantom(1, seed=3, size=64).images[0]).astype(np.uint8)
    frame = np.asarray(Image.fromarray(square).resize((80, 100)))  # (100, 80): not the model's grid
    model = echolite.load_model(models / "m.tflite")  # as the README writes it
    labels = model.segment(frame)
    assert labels.shape == (100, 80) and labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(labels, EdgeSegmenter(models / "m.tflite").segment(frame).mask)
    keras_labels = echolite.load_model(models / "m.keras").segment(frame.astype(np.float32) / 255)
    assert keras_labels.shape == (100, 80)


def test_wrong_shapes_are_one_clear_error(models):
    model = echolite.load_model(models / "m.tflite")
    with pytest.raises(EcholiteError, match="one gray 2D frame"):
        model.segment(np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(EcholiteError, match=r"takes frames \(N, 64, 64\) on the model's grid.*segment\(frame\)"):
        model.segmenter.predict_labels(np.zeros((1, 100, 80), np.float32))


def test_load_model_segments_as_its_mask_spec_says(models):
    """``load_model``'s keywords become one ``MaskSpec``: the ensemble, test-time augmentation and post-processing
    the commands use, and nothing else."""
    from echolite.evaluation.postprocess import PostprocessConfig
    from echolite.inference import MaskSpec

    raw = PostprocessConfig(largest_component=False, fill_enclosed=False, detach_atrium=False, close_myocardium="off")
    model = echolite.load_model(
        str(models / "m.tflite"), tta="zoom", ensemble=[str(models / "m.keras")], postprocess=raw
    )
    assert model.masks == MaskSpec(models / "m.tflite", (models / "m.keras",), "zoom", raw)
    assert echolite.load_model(models / "m.tflite").masks.post == PostprocessConfig()  # the commands' default
    labels = np.pad(np.pad(np.zeros((1, 1), np.uint8), 2, constant_values=1), 2)  # an LV ring around a hole
    assert MaskSpec(post=None).postprocessed(labels) is labels  # None: the raw argmax
    assert MaskSpec().postprocessed(labels)[4, 4] == 1  # the default fills the background the heart encloses
    with pytest.raises(EcholiteError, match="zoomed"):
        MaskSpec(models / "m.tflite", tta="zoomed")
    with pytest.raises(EcholiteError, match="no model to segment with"):
        MaskSpec(post=None).segmenter()


def test_one_version_for_the_package_and_its_metadata():
    from importlib.metadata import version

    from echolite.version import __version__

    assert echolite.__version__ == __version__ == version("echolite")
