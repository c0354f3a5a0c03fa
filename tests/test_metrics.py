import numpy as np
import pytest

from echolite.evaluation.metrics import dice_per_class, hausdorff, hausdorff_per_class
from echolite.evaluation.postprocess import PostprocessConfig, largest_component, postprocess


def _square(top, left, side=10, size=64):
    m = np.zeros((size, size), bool)
    m[top:top + side, left:left + side] = True
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
    assert np.all(hausdorff_per_class(mask[0], mask[0]) == 0)


def test_missing_structures():
    empty, square = np.zeros((64, 64), bool), _square(5, 5)
    assert np.isnan(hausdorff(empty, empty))
    assert hausdorff(empty, square) == pytest.approx(np.hypot(64, 64))
    truth = np.zeros((1, 8, 8), np.uint8)
    pred = truth.copy()
    pred[0, :2, :2] = 1
    scores = dice_per_class(pred, truth)
    assert scores[0, 0] == 0 and np.isnan(scores[0, 1])


def test_largest_component_keeps_the_biggest_blob_eight_connected():
    mask = np.zeros((32, 32), np.uint8)
    mask[2:12, 2:12] = 1  # LV
    mask[20:23, 20:23] = 1  # a stray LV island
    mask[12, 12] = 1  # diagonal neighbour of the big blob: same component with 8-connectivity
    mask[25:30, 2:7] = 3
    out = postprocess(mask)
    assert out[21, 21] == 0 and out[12, 12] == 1 and (out == 3).sum() == 25
    assert largest_component(mask == 1).sum() == 101


def test_hole_filling_and_switch_off():
    ring = np.zeros((32, 32), np.uint8)
    ring[5:20, 5:20] = 2
    ring[10:15, 10:15] = 0
    assert (postprocess(ring, PostprocessConfig(fill_holes=True)) == 2).sum() == 225
    island = ring.copy()
    island[28, 28] = 2
    np.testing.assert_array_equal(postprocess(island, PostprocessConfig(largest_component=False)), island)
