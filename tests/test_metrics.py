import numpy as np
import pytest

from echolite.errors import EcholiteError
from echolite.evaluation.metrics import boundary_distances, dice_per_class, hausdorff, mean_absolute_distance
from echolite.evaluation.postprocess import PostprocessConfig, largest_component, postprocess
from echolite.evaluation.scoring import STRUCTURE_INDEX, structure_metrics


def _square(top, left, side=10, size=64):
    m = np.zeros((size, size), bool)
    m[top : top + side, left : left + side] = True
    return m


@pytest.mark.parametrize("k", [1, 3, 7])
def test_hausdorff_of_two_squares_k_apart_is_k(k):
    assert hausdorff(_square(10, 10), _square(10, 10 + k)) == pytest.approx(k)


def test_hausdorff_in_mm_uses_spacing_per_axis():
    assert hausdorff(_square(10, 10), _square(10 + 4, 10), spacing=(0.5, 2.0)) == pytest.approx(2.0)
    assert hausdorff(_square(10, 10), _square(10, 10 + 4), spacing=(0.5, 2.0)) == pytest.approx(8.0)


def test_identical_masks_dice_one_hausdorff_zero():
    mask = np.zeros((1, 64, 64), np.uint8)
    mask[0, 5:20, 5:20], mask[0, 20:30, 5:20], mask[0, 40:50, 40:50] = 1, 2, 3
    assert np.all(dice_per_class(mask, mask) == 1)
    metrics = structure_metrics(mask[0], mask[0], (0.3, 0.2))
    assert all(np.all(metrics[m] == 0) for m in ("hd_px", "hd_mm", "mad_px", "mad_mm"))
    assert np.all(metrics["dice"] == 1) and not metrics["missed"].any()


def test_mad_is_the_mean_of_the_two_directed_mean_distances():
    # A single pixel against the 3x3 square around it: the square's boundary is its 8-pixel ring (the centre has
    # all four neighbours inside). Pixel -> ring: 1. Ring -> pixel: 4 edge neighbours at 1, 4 corners at sqrt 2.
    pixel, square = np.zeros((9, 9), bool), np.zeros((9, 9), bool)
    pixel[4, 4], square[3:6, 3:6] = True, True
    assert mean_absolute_distance(pixel, square) == pytest.approx((1 + (4 + 4 * np.sqrt(2)) / 8) / 2)
    assert hausdorff(pixel, square) == pytest.approx(np.sqrt(2))
    # (row, column) spacing 2 x 1 mm: ring -> pixel is 2, 2, 1, 1 and sqrt 5 at the corners; pixel -> ring 1
    assert mean_absolute_distance(square, pixel, (2.0, 1.0)) == pytest.approx((1 + (6 + 4 * np.sqrt(5)) / 8) / 2)


def test_missing_structures_are_nan_unless_penalized():
    empty, square = np.zeros((64, 64), bool), _square(5, 5)
    assert all(np.isnan(d) for d in boundary_distances(empty, empty, missed_distance="diagonal"))
    assert all(np.isnan(d) for d in boundary_distances(empty, square))
    assert boundary_distances(square, empty, missed_distance="diagonal") == pytest.approx((np.hypot(64, 64),) * 2)
    assert hausdorff(empty, square, (0.5, 2.0), "diagonal") == pytest.approx(np.hypot(32, 128))
    with pytest.raises(EcholiteError, match="unknown missed distance 'zero'; choose one of: nan, diagonal"):
        hausdorff(empty, square, missed_distance="zero")
    truth = np.zeros((1, 8, 8), np.uint8)
    pred = truth.copy()
    pred[0, :2, :2] = 1
    scores = dice_per_class(pred, truth)
    assert scores[0, 0] == 0 and np.isnan(scores[0, 1])


def test_epicardium_is_the_union_of_cavity_and_myocardium():
    truth = np.zeros((32, 32), np.uint8)
    truth[4:28, 4:28], truth[8:24, 8:24] = 2, 1
    pred = truth.copy()
    pred[8:24, 8:10] = 2  # the wall drawn 2 pixels into the cavity: the outer contour is unchanged
    metrics = structure_metrics(pred, truth, (1.0, 1.0))
    lv, myo, la, epi = (STRUCTURE_INDEX[name] for name in ("LV", "MYO", "LA", "EPI"))
    assert metrics["dice"][lv] < 1 and metrics["dice"][myo] < 1 and metrics["hd_px"][lv] == 2
    assert metrics["dice"][epi] == 1 and metrics["hd_px"][epi] == 0 and metrics["mad_px"][epi] == 0
    assert np.isnan(metrics["dice"][la]) and np.isnan(metrics["hd_px"][la])  # no LA in either: undefined


def test_largest_component_keeps_the_biggest_blob_eight_connected():
    mask = np.zeros((32, 32), np.uint8)
    mask[2:12, 2:12] = 1  # LV
    mask[20:23, 20:23] = 1  # a stray LV island
    mask[12, 12] = 1  # diagonal neighbour of the big blob: same component with 8-connectivity
    mask[25:30, 2:7] = 3
    out = postprocess(mask, PostprocessConfig(close_myocardium="off"))  # an LV with no wall: closing would add one
    assert out[21, 21] == 0 and out[12, 12] == 1 and (out == 3).sum() == 25
    assert largest_component(mask == 1).sum() == 101


def test_hole_filling_and_switch_off():
    ring = np.zeros((32, 32), np.uint8)
    ring[5:20, 5:20] = 2
    ring[10:15, 10:15] = 0
    assert (postprocess(ring, PostprocessConfig(fill_holes=True)) == 2).sum() == 225
    island = ring.copy()
    island[28, 28] = 2
    np.testing.assert_array_equal(
        postprocess(island, PostprocessConfig(largest_component=False, fill_enclosed=False)), island
    )
