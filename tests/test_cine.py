import numpy as np
import pytest

from echolite.clinical.cine import read_sequence
from echolite.clinical.volumes import ejection_fraction, long_axis, mitral_cut, volume_single_plane
from echolite.data.phantom import make_phantom_cine
from echolite_edge.loop import measure_loop
from tests.helpers import write_medical


@pytest.fixture(scope="module")
def cine():
    return make_phantom_cine(frames=16, seed=4, size=128)


def test_cine_finds_ed_and_es_and_the_right_ef(cine):
    _images, masks, _contraction = cine
    spacing = (0.5, 0.5)
    report = measure_loop(masks, None, spacing)
    (beat,) = report.analysis.beats
    assert (beat.ed, beat.es) == (0, 8)
    measured_es = mitral_cut(masks[8], long_axis(masks[0], spacing), spacing)  # cut at the ED mitral plane
    expected = ejection_fraction(
        volume_single_plane(long_axis(masks[0], spacing)), volume_single_plane(long_axis(measured_es, spacing))
    )
    assert beat.ef == pytest.approx(expected) and 25 < beat.ef < 75
    uncut = ejection_fraction(
        volume_single_plane(long_axis(masks[0], spacing)), volume_single_plane(long_axis(masks[8], spacing))
    )
    assert measure_loop(masks, None, spacing, cut=False).analysis.beats[0].ef == pytest.approx(uncut)
    assert np.all(np.diff(report.analysis.areas[:9]) < 0)  # the LV shrinks through systole
    unknown = measure_loop(masks, None, None)  # no spacing: EF still (a ratio), volumes in pixel units
    assert unknown.ef == pytest.approx(beat.ef) and unknown.as_dict()["unit"] == "pixel units"


@pytest.mark.parametrize("fmt", ["npy", "nii.gz", "folder"])
def test_read_sequence_formats(tmp_path, cine, fmt):
    images = (cine[0] * 255).astype(np.uint8)
    if fmt == "npy":
        path = tmp_path / "loop.npy"
        np.save(path, images)
    elif fmt == "nii.gz":
        path = tmp_path / "patient0001_4CH_half_sequence.nii.gz"
        write_medical(images, path, spacing=(0.4, 0.3))
    else:
        from PIL import Image

        path = tmp_path / "frames"
        path.mkdir()
        for t, frame in enumerate(images):
            Image.fromarray(frame).save(path / f"frame{t:03d}.png")
    loop = read_sequence(path, size=64, spacing_mm=None if fmt == "nii.gz" else 0.5)
    assert loop.images.shape == (16, 64, 64) and loop.images.max() <= 1.0
    expected = (0.3 * 128 / 64, 0.4 * 128 / 64) if fmt == "nii.gz" else (1.0, 1.0)
    assert loop.spacing_mm == pytest.approx(expected)
    if fmt == "nii.gz":  # a second pixel size for a loop that carries one is refused, not silently dropped
        from echolite.errors import EcholiteError

        with pytest.raises(EcholiteError, match="carries its own pixel spacing"):
            read_sequence(path, size=64, spacing_mm=0.5)


def test_single_frame_is_not_a_sequence(tmp_path):
    from echolite.errors import EcholiteError

    np.save(tmp_path / "one.npy", np.zeros((32, 32)))
    with pytest.raises(EcholiteError, match="expected a sequence"):
        read_sequence(tmp_path / "one.npy")
