import numpy as np
import pytest

from echolite.clinical.volumes import (
    ejection_fraction, long_axis, volume_area_length, volume_biplane, volume_single_plane,
)

SPACING = (0.3, 0.25)  # mm per (row, column): anisotropic on purpose


def _half_ellipsoid_view(long_mm, radius_mm, size=320, spacing=SPACING, with_atrium=True):
    """An apical view of a prolate half-ellipsoid LV (apex up), LA below the mitral plane."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    ymm, xmm = y * spacing[0], x * spacing[1]
    base_y, centre_x = 0.8 * size * spacing[0], 0.5 * size * spacing[1]
    u, v = base_y - ymm, xmm - centre_x  # u: up the long axis from the mitral plane
    mask = np.zeros((size, size), np.uint8)
    mask[(u >= 0) & ((u / long_mm) ** 2 + (v / radius_mm) ** 2 <= 1)] = 1
    if with_atrium:
        mask[(u < 0) & (u > -15) & (np.abs(v) < radius_mm * 1.05)] = 3
    return mask


def test_half_ellipsoid_volume_within_3_percent():
    long_mm, radius_mm = 70.0, 24.0
    truth_ml = 2 / 3 * np.pi * long_mm * radius_mm**2 / 1000
    axis = long_axis(_half_ellipsoid_view(long_mm, radius_mm), SPACING)
    assert axis.length == pytest.approx(long_mm, rel=0.02)
    assert volume_single_plane(axis) == pytest.approx(truth_ml, rel=0.03)
    assert volume_biplane(axis, axis) == pytest.approx(truth_ml, rel=0.03)
    assert volume_area_length(axis) == pytest.approx(truth_ml, rel=0.10)  # exact for an ellipsoid up to pixelation


def test_biplane_with_two_different_views():
    long_mm, a, b = 70.0, 24.0, 18.0
    truth_ml = 2 / 3 * np.pi * long_mm * a * b / 1000
    four, two = (long_axis(_half_ellipsoid_view(long_mm, r), SPACING) for r in (a, b))
    assert volume_biplane(two, four) == pytest.approx(truth_ml, rel=0.03)


def test_known_ed_es_pair_gives_known_ef():
    ed = volume_single_plane(long_axis(_half_ellipsoid_view(72, 26), SPACING))
    es = volume_single_plane(long_axis(_half_ellipsoid_view(62, 19), SPACING))
    expected = 100 * (1 - (62 * 19**2) / (72 * 26**2))
    assert ejection_fraction(ed, es) == pytest.approx(expected, abs=1.5)


def test_mitral_plane_without_atrium_uses_the_open_base():
    axis = long_axis(_half_ellipsoid_view(70, 24, with_atrium=False), SPACING)
    assert axis.length == pytest.approx(70, rel=0.03)


def test_empty_lv_is_a_user_error():
    from echolite.errors import EcholiteError

    with pytest.raises(EcholiteError, match="no left ventricle"):
        long_axis(np.zeros((32, 32), np.uint8), SPACING)


def test_measure_command_on_ground_truth_and_a_reference_ef(tmp_path):
    import json

    from click.testing import CliRunner

    from echolite.cli.main import main
    from echolite.data.phantom import make_phantom

    frames = make_phantom(6, seed=1, size=128)  # 3 patients, 4CH ED + ES
    from tests.helpers import camus_release

    camus_release(tmp_path / "data", frames, ".nii.gz", "database_nifti")  # Info_4CH.cfg says EF 57.5
    result = CliRunner().invoke(main, ["measure", "--ground-truth", "--data", str(tmp_path / "data"), "--json",
                                       "--out", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert len(report["patients"]) == 3 and report["patients"][0]["method"] == "single-plane disks 4CH"
    assert all(p["edv_ml"] > p["esv_ml"] > 0 and 10 < p["ef"] < 90 for p in report["patients"])
    assert report["patients"][0]["reference_ef"] == 57.5 and report["ef_vs_reference"]["n"] == 3
    assert (tmp_path / "m" / "measurements.csv").exists() and (tmp_path / "m" / "bland_altman.png").exists()
    both = CliRunner().invoke(main, ["measure", "--data", str(tmp_path / "data")])
    assert both.exit_code == 1 and "give either MODEL or --ground-truth" in both.output
