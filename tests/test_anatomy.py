import numpy as np

from echolite.evaluation.anatomy import AnatomyThresholds, check_anatomy, is_outlier


def _heart(size=64):
    """A plausible apical frame: LV inside a MYO horseshoe open at the bottom, LA below the mitral plane."""
    mask = np.zeros((size, size), np.uint8)
    mask[8:40, 16:48] = 2
    mask[12:40, 20:44] = 1
    mask[40:56, 22:42] = 3
    return mask


def test_plausible_frame_passes_every_check():
    checks = check_anatomy(_heart(), "echolite")
    assert not is_outlier(checks), [k for k, v in checks.items() if v]


def test_ring_with_a_hole_is_flagged():
    mask = _heart()
    mask[20:24, 28:32] = 0  # a hole inside the LV
    checks = check_anatomy(mask, "echolite")
    assert checks["lv_hole"] and checks["lv_myo_hole"] and is_outlier(checks)


def test_second_component_is_flagged():
    mask = _heart()
    mask[58:62, 2:6] = 3
    assert check_anatomy(mask, "echolite")["la_fragmented"]


def test_gap_between_lv_and_la_is_flagged():
    mask = _heart()
    mask[40, 22:42] = 0  # a background crack along the mitral plane
    mask[41:56, 22:42] = 3
    checks = check_anatomy(mask, "echolite")
    assert checks["lv_la_gap"]


def test_lv_touching_background_and_thin_myocardium():
    mask = _heart()
    mask[8:40, 16:20] = 0  # lateral wall missing: LV borders background
    checks = check_anatomy(mask, "echolite")
    assert checks["lv_touches_background"]
    thin = _heart()
    thin[8:12, 16:48] = 0  # apical wall gone...
    thin[8:12, 30:31] = 2
    assert check_anatomy(thin, AnatomyThresholds(myo_min_thickness=2))["myo_too_thin"]
