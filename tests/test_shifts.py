"""The scanner-shift benchmark: each shift keeps image and mask aligned (a bright block and its mask land where the
zoom-out and shift put them), masks keep labels 0..3 and are never interpolated, the strengths are the ones
docs/evaluation.md states, shifted frames are the same in every run, and the benchmark's unshifted row is plain
evaluate's Dice."""

import csv
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from echolite.cli.main import main
from echolite.data.phantom import make_phantom
from echolite.errors import EcholiteError
from echolite.evaluation import shifts
from echolite.evaluation.shifts import SHIFT_NAMES, pick_shifts, shift_frames

DOCS = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
GEOMETRIC = {"wide-80": shifts.WIDE_80, "wide-60": shifts.WIDE_60, "combined": shifts.WIDE_80}


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(4, seed=3, size=64)


def _block_frames(size=100):
    """One frame: black, a bright 10×10 block at rows 40-49, columns 30-39, labelled LV; an LA block below."""
    frames = make_phantom(1, seed=0, size=size)
    image, mask = np.zeros((1, size, size), np.float32), np.zeros((1, size, size), np.uint8)
    image[0, 40:50, 30:40], mask[0, 40:50, 30:40] = 1.0, 1
    mask[0, 70:80, 30:40] = 3
    frames.images, frames.masks = image, mask
    return frames


@pytest.mark.parametrize("name", ["wide-80", "wide-60"])
def test_the_zoom_out_moves_image_and_mask_to_the_known_place(name):
    fov, size = GEOMETRIC[name], 100
    shifted = shift_frames(_block_frames(size), name)
    # a pixel centre c of the input lands at top + (c + 0.5) * scale - 0.5: the block's centre (44.5, 34.5)
    expected = (size * fov.top + 45 * fov.scale - 0.5, size * fov.left + 35 * fov.scale - 0.5)
    lv = np.argwhere(shifted.masks[0] == 1).mean(axis=0)
    bright = np.argwhere(shifted.images[0] > 0.5).mean(axis=0)
    assert np.allclose(lv, expected, atol=0.5) and np.allclose(bright, expected, atol=0.5)
    assert ((shifted.images[0] > 0.5) == (shifted.masks[0] == 1)).mean() > 0.99
    assert (
        shifted.masks[0][: round(size * fov.top)].max() == 0
        and shifted.images[0][:, : round(size * fov.left)].max() == 0
    )


@pytest.mark.parametrize("name", SHIFT_NAMES)
def test_masks_keep_their_labels_and_are_never_interpolated(name, phantom):
    shifted = shift_frames(phantom, name)
    assert shifted.masks.dtype == np.uint8 and shifted.masks.shape == phantom.masks.shape
    assert set(np.unique(shifted.masks)) <= set(np.unique(phantom.masks)) <= {0, 1, 2, 3}
    assert shifted.images.dtype == np.float32 and 0 <= shifted.images.min() and shifted.images.max() <= 1
    assert not np.array_equal(shifted.images, phantom.images)
    if name not in GEOMETRIC:  # intensity and resolution shifts leave the anatomy where it is
        assert np.array_equal(shifted.masks, phantom.masks)
    two_labels = _block_frames()  # LV and LA only: an interpolated mask would show 2 between them
    assert set(np.unique(shift_frames(two_labels, name).masks)) <= {0, 1, 3}


@pytest.mark.parametrize("name", SHIFT_NAMES)
def test_shifted_frames_are_the_same_in_every_run(name, phantom):
    assert np.array_equal(shift_frames(phantom, name).images, shift_frames(phantom, name).images)
    assert phantom.frame_ids == shift_frames(phantom, name).frame_ids


def test_speckle_differs_between_frames_but_not_between_runs(phantom):
    a = shift_frames(phantom.subset([0, 0]), "speckle")
    ratio = a.images / np.maximum(phantom.images[[0, 0]], 1e-3)
    assert np.array_equal(ratio[0], ratio[1])  # seeded by the frame's name
    b = shift_frames(phantom, "speckle").images / np.maximum(phantom.images, 1e-3)
    assert not np.allclose(b[0], b[1])


def _section_rows() -> dict[str, str]:
    """Shift name → its strength column in docs/evaluation.md's table."""
    section = DOCS.read_text(encoding="utf-8").split("## Scanner shifts", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([\w.-]+)` \| ([^|]+) \|", section, re.MULTILINE))


def _documented_strengths() -> dict[str, list[float]]:
    """Shift name → the numbers of its strength column."""
    return {name: [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)] for name, text in _section_rows().items()}


def test_the_strengths_are_the_documented_ones():
    wide = lambda fov: [fov.scale, fov.top, fov.left]
    in_code = {
        "wide-80": wide(shifts.WIDE_80),
        "wide-60": wide(shifts.WIDE_60),
        "low-res": [shifts.LOW_RESOLUTION_PX, shifts.JPEG_QUALITY],
        "gain": [shifts.GAIN, shifts.CONTRAST, shifts.GAMMA],
        "speckle": [shifts.SPECKLE_SIGMA],
    }
    documented = _documented_strengths()
    assert list(documented) == list(SHIFT_NAMES)
    for name, numbers in in_code.items():
        assert documented[name] == numbers, name
    combined = _section_rows()["combined"]
    assert tuple(re.findall(r"`([\w.-]+)`", combined)) == shifts.COMBINED


def test_the_benchmark_shares_no_code_with_the_training_augmentation():
    imports = [line for line in inspect.getsource(shifts).splitlines() if line.startswith(("import ", "from "))]
    assert imports and not [line for line in imports if "augment" in line or "albumentations" in line]


def test_an_unknown_shift_is_one_line_naming_the_choices():
    with pytest.raises(EcholiteError, match=r"unknown shift 'fog'; choose one of: wide-80, .*combined, all"):
        pick_shifts(["fog"])
    assert pick_shifts(["all"]) == SHIFT_NAMES and pick_shifts(["speckle", "gain"]) == ("gain", "speckle")
    result = CliRunner().invoke(main, ["evaluate", "m.keras", "--data", "phantom", "--shift", "fog"])
    assert result.exit_code == 1 and result.output.startswith("error: Invalid value for '--shift': 'fog' is not")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_unshifted_row_is_plain_evaluates_dice(tmp_path, tiny_config):
    from echolite.data.writers import write_phantom  # writes a small data folder, as the other tiny runs
    from echolite.inference import MaskSpec
    from echolite.models.unet import build_model  # keras on use: the tests above stay light
    from echolite.workflows.evaluation import evaluate
    from echolite.workflows.shifts import UNSHIFTED

    write_phantom(tmp_path / "data", count=6, seed=0, size=64)
    model = tmp_path / "tiny.keras"
    build_model(tiny_config).save(model)
    plain = evaluate(MaskSpec(model), str(tmp_path / "data"), "all", out=tmp_path / "plain").summary
    result = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(model),
            "--data",
            str(tmp_path / "data"),
            "--split",
            "all",
            "--shift",
            "low-res",
            "--shift",
            "wide-60",
            "--out",
            str(tmp_path / "shifts"),
        ],
    )
    assert result.exit_code == 0, result.output
    with open(tmp_path / "shifts" / "shifts.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["shift"] for row in rows] == [UNSHIFTED, "wide-60", "low-res"]
    for structure in ("LV", "MYO", "LA"):
        assert float(rows[0][f"dice_{structure}"]) == pytest.approx(plain["dice"][structure], abs=1e-4)
        assert float(rows[0][f"drop_{structure}"]) == 0
        dropped = float(rows[0][f"dice_{structure}"]) - float(rows[2][f"dice_{structure}"])
        assert float(rows[2][f"drop_{structure}"]) == pytest.approx(dropped, abs=2e-4)
    assert rows[0]["outliers"] == str(plain["outliers"]) and rows[0]["frames"] == str(plain["n_frames"])
    assert "| none |" in result.output and (tmp_path / "shifts" / "shifts.md").read_text().count("\n") == 5


def test_the_command_line_offers_every_shift_in_order():
    from echolite.evaluation.shifts import SHIFTS

    assert tuple(SHIFTS) == SHIFT_NAMES  # evaluation.names lists them for the command line, without numpy
