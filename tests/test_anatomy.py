"""Anatomical criteria: the numpy morphology is exactly scipy's, each injected defect fires exactly its criteria on
a plausible apical four-chamber map, the measures follow vital's algorithms, and the library's sets."""

import numpy as np
import pytest
from scipy import ndimage

from echolite.errors import EcholiteError
from echolite.evaluation.anatomy import CRITERIA_SETS, AnatomyThresholds, check_anatomy, is_outlier
from echolite_edge import anatomy, morphology
from echolite_edge.anatomy import CamusCriteria, failed_criteria, measure_anatomy

CROSS, SQUARE = ndimage.generate_binary_structure(2, 1), np.ones((3, 3), bool)


def _random_regions(count=300, seed=0):
    rng = np.random.default_rng(seed)
    for t in range(count):
        region = rng.random(rng.integers(1, 48, 2)) < rng.uniform(0.2, 0.8)
        yield ndimage.binary_opening(region) if t % 3 == 0 else region


def test_numpy_morphology_is_exactly_scipys():
    for region in _random_regions():
        for connectivity, structure in ((4, CROSS), (8, SQUARE)):
            labels, count = ndimage.label(region, structure)
            mine, mine_count = morphology.label(region, connectivity)
            assert mine_count == count and np.array_equal(mine, labels)
            filled = ndimage.binary_fill_holes(region, structure)
            assert np.array_equal(morphology.fill_holes(region, connectivity), filled)
            sizes = np.bincount(labels.ravel())
            sizes[0] = 4  # background stays
            assert np.array_equal(morphology.remove_small(region, 4, connectivity), region & (sizes[labels] >= 4))
        for border in (True, False):
            eroded = ndimage.binary_erosion(region, SQUARE, border_value=border)
            assert np.array_equal(morphology.erode(region, border), eroded)
        assert np.array_equal(morphology.dilate(region), ndimage.binary_dilation(region, SQUARE))
        if region.any() and not region.all():
            expected = ndimage.distance_transform_edt(region).max()
            assert morphology.max_distance_to_background(region) == pytest.approx(expected, abs=1e-12)


def _erosions_before_split(region, small):
    """vital's loop, one scipy erosion and labelling after another."""
    erosions = 0
    while ndimage.label(region, SQUARE)[1] == 1:
        region = ndimage.binary_erosion(region, SQUARE, border_value=1)
        labels = ndimage.label(region, CROSS)[0]
        region = region & (np.bincount(labels.ravel())[labels] >= small)
        erosions += 1
    return erosions


def test_erosions_counted_at_once_are_vitals_loop():
    """Every level labelled in one pass counts vital's erosions, for small pieces of any size, on regions with thin
    necks, pieces that break off and holes."""
    regions = [r for r in _random_regions(400, seed=4) if r.any() and not r.all()]
    regions += [ndimage.binary_closing(r, iterations=2) for r in regions[:100]]
    for region in regions:
        crop = anatomy.around_heart(region)
        for small in (1, 2, 3, 4):
            expected = _erosions_before_split(region, small)
            assert anatomy.erosions_before_split(crop, small) == expected
        for small in (9, 20):  # larger dropped pieces
            assert anatomy.erosions_before_split(crop, small) == _erosions_before_split(region, small)


def _four_chamber():
    """A plausible apical four-chamber map on the 256 grid: LV cavity (half ellipse, apex up) in a myocardium
    open at the base, LA below the mitral plane meeting the LV along its whole base."""
    y, x = np.mgrid[:256, :256]
    lv = (((y - 110) / 65) ** 2 + ((x - 128) / 30) ** 2 <= 1) & (y <= 150)
    outer = (((y - 110) / 77) ** 2 + ((x - 128) / 41) ** 2 <= 1) & (y <= 150)
    base = np.abs(x[150][lv[150]] - 128).max()
    la = ((((y - 180) / 30) ** 2 + ((x - 128) / 38) ** 2 <= 1) | ((np.abs(x - 128) <= base) & (y <= 165))) & (y > 150)
    mask = np.zeros((256, 256), np.uint8)
    mask[outer], mask[lv], mask[la] = 2, 1, 3
    return mask


def _lv_edge(mask, row):
    return np.nonzero(mask[row] == 1)[0][[0, -1]]


def _lv_hole(m):
    m[100:104, 126:130] = 0


def _la_hole(m):
    m[180:183, 126:129] = 0


def _epi_hole(m):
    m[100:103, _lv_edge(m, 100)[1] + 4 :][:, :3] = 0  # a pocket inside the lateral wall


def _lv_island(m):
    m[220:224, 60:64] = 1


def _myo_island(m):
    m[220:224, 60:64] = 2


def _la_island(m):
    m[220:224, 60:64] = 3


def _lv_myo_crack(m):
    for row in range(100, 105):  # the two LV columns along the lateral wall
        m[row, _lv_edge(m, row)[1] - 1 : _lv_edge(m, row)[1] + 1] = 0


def _lv_la_crack(m):
    m[150, 124:134] = 0  # on the mitral plane, LV above, LA below


def _open_lateral_wall(m):
    m[120:, 129:][m[120:, 129:] == 2] = 0  # the LV borders the background along the base of its lateral wall


def _myo_beside_la(m):
    for row in range(151, 166):  # the myocardium runs on down the sides of the atrium
        la = np.nonzero(m[row] == 3)[0]
        m[row, la[0] - 8 : la[0]] = m[row, la[-1] + 1 : la[-1] + 9] = 2


def _thin_walls_mid_cavity(m):
    for row in range(95, 116):
        left, right = _lv_edge(m, row)
        m[row, : left - 3][m[row, : left - 3] == 2] = 0
        m[row, right + 4 :][m[row, right + 4 :] == 2] = 0


DEFECTS = {  # defect → the criteria it must fire, and only those
    _lv_hole: {"lv_hole", "epi_hole"},  # a hole in the LV is a hole in LV ∪ MYO too
    _la_hole: {"la_hole"},
    _epi_hole: {"epi_hole"},
    _lv_island: {"lv_fragmented"},
    _myo_island: {"myo_fragmented", "myo_thinness"},  # a myocardium in pieces splits after 0 erosions
    _la_island: {"la_fragmented"},
    _lv_myo_crack: {"lv_myo_gap", "epi_hole"},  # an enclosed LV–MYO gap is a hole in LV ∪ MYO
    _lv_la_crack: {"lv_la_gap"},
    _open_lateral_wall: {"lv_background_frontier"},
    _myo_beside_la: {"myo_la_frontier"},
    _thin_walls_mid_cavity: {"lv_myo_width_ratio"},
}


def test_plausible_four_chamber_map_passes():
    assert failed_criteria(_four_chamber()) == []
    assert not is_outlier(check_anatomy(_four_chamber()))


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda f: f.__name__.strip("_"))
def test_each_defect_fires_exactly_its_criteria(defect):
    mask = _four_chamber()
    defect(mask)
    assert set(failed_criteria(mask)) == DEFECTS[defect]
    assert set(failed_criteria(np.kron(mask, np.ones((2, 2), np.uint8)))) == DEFECTS[defect]  # resampled to 256


def test_myocardium_thinner_than_a_twelfth_of_its_thickest_fails():
    mask = _four_chamber()
    y, x = np.mgrid[:256, :256]
    mask[((y - 38) ** 2 + (x - 128) ** 2 <= 12**2) & (mask == 0)] = 2  # a thick apical wall: 10 px to the background
    assert failed_criteria(mask) == []
    for row in range(125, 128):  # a neck 2 pixels thin on the lateral wall: split by one erosion, 1/10 < 0.12
        mask[row, _lv_edge(mask, row)[1] + 3 :][mask[row, _lv_edge(mask, row)[1] + 3 :] == 2] = 0
    assert failed_criteria(mask) == ["myo_thinness"]
    assert measure_anatomy(mask)["myo_thinness"] == pytest.approx(1 / 10, abs=0.01)


def test_missing_structures_fail_what_is_measured_on_them():
    empty = np.zeros((256, 256), np.uint8)
    assert failed_criteria(empty) == ["lv_myo_width_ratio", "myo_thinness"]
    no_myo = _four_chamber()
    no_myo[no_myo == 2] = 0
    assert {"lv_myo_width_ratio", "myo_thinness", "lv_background_frontier"} <= set(failed_criteria(no_myo))
    with pytest.raises(ValueError, match="one \\(H, W\\) label map"):
        failed_criteria(np.zeros((2, 8, 8), np.uint8))


def _vital_reference(mask):
    """vital's measures written with scipy (its segmentation.py algorithms: 8-connected holes and fragments,
    4-connected gaps with the top-left component as outside, centre-of-mass row widths, frontier over bbox width,
    erosions to split over the largest distance to the background); the LV–LA gap taken between LV and LA."""
    lv, myo, la = mask == 1, mask == 2, mask == 3

    def holes(r):
        return int((ndimage.binary_fill_holes(r, SQUARE) & ~r).sum())

    def fragments(r):
        sizes = np.bincount(ndimage.label(r, SQUARE)[0].ravel())[1:]
        return int(sizes.sum() - sizes.max()) if len(sizes) > 1 else 0

    def own_holes_without(a, b):
        labels = ndimage.label(~a, CROSS)[0]
        labels[labels == labels[0, 0]] = 0
        return (labels > 0) & ~np.isin(labels, np.unique(labels[b]))

    def gap(a, b):
        labels = ndimage.label(~(a | b | own_holes_without(a, b) | own_holes_without(b, a)), CROSS)[0]
        count = int(((labels > 0) & (labels != labels[0, 0])).sum())
        return count if count > 4 else 0

    def width(a, b):
        row = int(ndimage.center_of_mass(a | b)[0])
        return a[row].sum() / b[row].sum() if a[row].sum() and b[row].sum() else float("nan")

    def frontier(a, b):
        touching = int((a & ndimage.binary_dilation(b, SQUARE)).sum())
        cols = np.nonzero(a.any(axis=0))[0]
        return (touching if touching > 1 else 0) / (cols[-1] - cols[0] + 1) if a.any() else 0.0

    def erosion(r):
        return _erosions_before_split(r, 4) / ndimage.distance_transform_edt(r).max()

    return {
        "lv_hole": holes(lv),
        "la_hole": holes(la),
        "epi_hole": holes(lv | myo),
        "lv_fragmented": fragments(lv),
        "myo_fragmented": fragments(myo),
        "la_fragmented": fragments(la),
        "lv_myo_gap": gap(lv, myo),
        "lv_la_gap": gap(lv, la),
        "lv_myo_width_ratio": width(lv, myo),
        "myo_thinness": erosion(myo),
        "lv_background_frontier": frontier(lv, mask == 0),
        "myo_la_frontier": frontier(myo, la),
    }


def test_measures_follow_vitals_algorithms():
    from echolite.data.phantom import make_phantom

    masks = [*make_phantom(6, seed=3, size=256).masks]
    for defect in DEFECTS:
        mask = _four_chamber()
        defect(mask)
        masks.append(mask)
    for mask in masks:
        mine, reference = measure_anatomy(mask), _vital_reference(mask)
        for name in anatomy.CRITERIA:
            assert mine[name] == pytest.approx(reference[name], nan_ok=True), name


def test_gaps_skipped_where_the_union_has_no_hole_equal_vitals():
    """The LV–MYO and LV–LA gaps, measured only for a pair whose union has more than the tolerated holes, on
    random label maps (cracks, islands, enclosed pieces of every kind) and on maps with a crack of each size."""
    rng = np.random.default_rng(5)
    masks = []
    for smoothing in [1.5] * 30 + [10] * 30:  # many pieces, then a few large ones (unions mostly without holes)
        noise = ndimage.zoom(ndimage.gaussian_filter(rng.random((64, 64)), smoothing), 4, order=0)  # the 256 grid
        mask = np.digitize(noise, np.quantile(noise, [0.3, 0.55, 0.8])).astype(np.uint8)
        mask[[0, -1]], mask[:, [0, -1]] = 0, 0  # background around, as in an apical view (vital's outside)
        masks.append(mask)
    for width in range(1, 5):
        mask = _four_chamber()
        rows = slice(100, 100 + width)
        mask[rows][mask[rows] == 2] = 0  # a crack through the wall, 1 to 4 rows
        masks.append(mask)
    unions_with_holes = np.zeros(2, int)  # LV ∪ MYO, LV ∪ LA
    for mask in masks:
        mine, reference = measure_anatomy(mask), _vital_reference(mask)
        assert (mine["lv_myo_gap"], mine["lv_la_gap"]) == (reference["lv_myo_gap"], reference["lv_la_gap"])
        for pair, other in enumerate((2, 3)):
            union = (mask == 1) | (mask == other)
            unions_with_holes[pair] += (ndimage.binary_fill_holes(union, CROSS) & ~union).sum() > 4
    assert all(10 < count < len(masks) - 10 for count in unions_with_holes)  # pairs measured and pairs skipped


def test_thinness_verdict_from_a_bound_is_the_measured_one():
    """A verdict takes the MYO's erosion ratio from a lower bound where one passes (a few erosions labelled, no
    distance measured): on walls of every thickness, with necks, fragments and holes, against thresholds from lax
    to strict, the verdict is the measured one; the bound decides some and the measure the others."""
    rng = np.random.default_rng(6)
    decided_by = {"bound": 0, "measure": 0}
    for _ in range(40):
        noise = ndimage.zoom(ndimage.gaussian_filter(rng.random((64, 64)), rng.uniform(1.5, 6)), 4, order=1)
        low = np.quantile(noise, rng.uniform(0.2, 0.6))
        band = (noise > low) & (noise < low + rng.uniform(0.005, 0.05))  # walls between two levels of the noise
        pieces = ndimage.label(band, SQUARE)[0]
        largest = pieces == np.argmax(np.bincount(pieces.ravel())[1:]) + 1  # one wall (its fragments ride along)
        mask = np.where(largest | (band & (rng.random() < 0.3)), 2, 0).astype(np.uint8)
        for minimum in (0.05, 0.12, 0.25, 0.5):
            criteria = CamusCriteria(myo_erosion_ratio_min=minimum)
            measured = measure_anatomy(mask, criteria)["myo_thinness"]
            assert anatomy.check_anatomy(mask, criteria)["myo_thinness"] == (not measured >= minimum)
            if not np.isnan(measured):
                bounded = measure_anatomy(mask, criteria, exact=False)["myo_thinness"]
                assert bounded <= measured
                decided_by["bound" if bounded != measured else "measure"] += 1
    assert min(decided_by.values()) > 20, decided_by


def test_library_criteria_sets():
    mask = _four_chamber()
    _lv_la_crack(mask)
    assert list(CRITERIA_SETS) == ["camus", "echolite"] and isinstance(CRITERIA_SETS["camus"], CamusCriteria)
    assert check_anatomy(mask) == check_anatomy(mask, "camus") == anatomy.check_anatomy(mask)
    assert check_anatomy(mask, CamusCriteria(gap_pixels_max=20))["lv_la_gap"] is False
    assert set(check_anatomy(mask, "echolite")) >= {"lv_touches_background", "myo_too_thin"}
    with pytest.raises(EcholiteError, match="unknown anatomical criteria 'vital'.*camus, echolite"):
        check_anatomy(mask, "vital")


def _heart(size=64):
    """A plausible apical frame: LV inside a MYO horseshoe open at the bottom, LA below the mitral plane."""
    mask = np.zeros((size, size), np.uint8)
    mask[8:40, 16:48] = 2
    mask[12:40, 20:44] = 1
    mask[40:56, 22:42] = 3
    return mask


def test_echolite_set_keeps_its_checks():
    assert not is_outlier(check_anatomy(_heart(), "echolite"))
    holed = _heart()
    holed[20:24, 28:32] = 0
    checks = check_anatomy(holed, "echolite")
    assert checks["lv_hole"] and checks["lv_myo_hole"]
    island = _heart()
    island[58:62, 2:6] = 3
    assert check_anatomy(island, "echolite")["la_fragmented"]
    cracked = _heart()
    cracked[40, 22:42] = 0
    cracked[41:56, 22:42] = 3
    assert check_anatomy(cracked, "echolite")["lv_la_gap"]
    open_wall = _heart()
    open_wall[8:40, 16:20] = 0
    assert check_anatomy(open_wall, "echolite")["lv_touches_background"]
    thin = _heart()
    thin[8:12, 16:48] = 0
    thin[8:12, 30:31] = 2
    assert check_anatomy(thin, AnatomyThresholds(myo_min_thickness=2))["myo_too_thin"]
