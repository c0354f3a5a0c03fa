"""Every supported layout, written by the test itself from phantom frames, and every kind of bad input."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from echolite.cli.main import main
from echolite.data import load_data
from echolite.data.layouts import detect_layout
from echolite.data.phantom import make_phantom
from echolite.errors import EcholiteError
from tests.helpers import camus_release as _camus_release
from tests.helpers import write_medical as _write_medical

SIZE = 64


@pytest.fixture(scope="module")
def frames():
    return make_phantom(8, seed=2, size=SIZE)  # 4 patients, ED + ES


def test_camus_nifti_release(tmp_path, frames):
    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")
    (tmp_path / "database_split").mkdir()
    for name, ids in (("training", [1, 2]), ("validation", [3]), ("testing", [4])):
        (tmp_path / "database_split" / f"subgroup_{name}.txt").write_text("".join(f"patient{i:04d}\n" for i in ids))
    data = load_data(str(tmp_path), size=SIZE)
    assert data.layout == "camus-nifti" and len(data.frames) == 8
    np.testing.assert_array_equal(data.frames.masks, frames.masks)
    np.testing.assert_allclose(data.frames.spacing_mm[0], (0.2, 0.3), rtol=1e-6)  # (rows, cols)
    assert data.split == {"train": ["patient0001", "patient0002"], "val": ["patient0003"], "test": ["patient0004"]}
    assert data.info["patient0001"]["4CH"]["EF"] == "57.5"
    layout = detect_layout(tmp_path / "database_nifti")
    assert len(layout.sequences) == 4 and layout.name == "camus-nifti"


def test_camus_mhd_release(tmp_path, frames):
    _camus_release(tmp_path, frames, ".mhd", "training")
    data = load_data(str(tmp_path), size=SIZE)
    assert data.layout == "camus-mhd" and data.frames.patients[0] == "patient0001"
    np.testing.assert_array_equal(data.frames.masks, frames.masks)
    assert data.frames.views == ["4CH"] * 8 and data.frames.phases[:2] == ["ED", "ES"]


@pytest.mark.parametrize("fmt", ["npy", "nii.gz", "png"])
def test_generic_folder(tmp_path, frames, fmt):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for image, mask, frame_id in zip(frames.images, frames.masks, frames.frame_ids):
        name = frame_id.replace("phantom", "hunt")
        if fmt == "npy":
            np.save(tmp_path / "images" / f"{name}.npy", image)
            np.save(tmp_path / "masks" / f"{name}_mask.npy", mask)
        elif fmt == "png":
            from PIL import Image

            Image.fromarray((image * 255).astype(np.uint8)).save(tmp_path / "images" / f"{name}.png")
            Image.fromarray(mask).save(tmp_path / "masks" / f"{name}.png")
        else:
            _write_medical(image, tmp_path / "images" / f"{name}.nii.gz")
            _write_medical(mask, tmp_path / "masks" / f"{name}_gt.nii.gz")
    data = load_data(str(tmp_path), size=SIZE)
    assert data.layout == "folder" and len(set(data.frames.patients)) == 4
    np.testing.assert_array_equal(data.frames.masks, frames.masks)
    assert data.frames.phases[:2] == ["ED", "ES"]


def _nifti_with_one_bad(tmp_path, frames, damage):
    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")
    target = tmp_path / "database_nifti" / "patient0002" / "patient0002_4CH_ES_gt.nii.gz"
    damage(target)
    return target


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:40]), "corrupt or truncated"),
        (
            lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) * 6 // 10]),
            "the compressed stream is cut short",
        ),
        (lambda p: _write_medical(np.zeros((20, 24), np.uint8), p), "differs from its image"),
        (lambda p: _write_medical(np.full((SIZE, SIZE), 5, np.uint8), p), "labels [5] outside"),
        (lambda p: p.unlink(), "no ground-truth mask"),
    ],
)
def test_bad_file_names_the_file_or_is_skipped(tmp_path, frames, damage, message):
    bad = _nifti_with_one_bad(tmp_path, frames, damage)
    with pytest.raises(EcholiteError) as info:
        load_data(str(tmp_path), size=SIZE)
    assert message in str(info.value) and "patient0002_4CH_ES" in str(info.value)
    data = load_data(str(tmp_path), size=SIZE, skip_bad=True)
    assert len(data.frames) == 7 and len(data.skipped) == 1 and "patient0002_4CH_ES" in data.skipped[0]
    assert bad.name.startswith("patient0002")


@pytest.mark.parametrize("suffix", [".nii", ".mhd"])
def test_a_file_short_of_its_declared_pixels_is_refused(tmp_path, suffix):
    """ITK reads the missing pixels of a cut file as zeros without a word; a cut mask would teach an empty heart."""
    from echolite.data.io import read_frame

    pixels = (np.arange(SIZE * SIZE).reshape(SIZE, SIZE) % 200).astype(np.uint8)
    path = tmp_path / f"frame{suffix}"
    _write_medical(pixels, path)
    np.testing.assert_array_equal(read_frame(path)[0], pixels)
    stored = path if suffix == ".nii" else path.with_suffix(".raw")
    stored.write_bytes(stored.read_bytes()[:-100])
    with pytest.raises(EcholiteError, match=rf"frame{suffix}: corrupt or truncated file \(.*declares"):
        read_frame(path)


def test_the_cache_sees_a_changed_metaimage_data_file(tmp_path, frames, monkeypatch):
    _camus_release(tmp_path / "data", frames, ".mhd", "training")
    monkeypatch.setenv("ECHOLITE_CACHE", str(tmp_path / "cache"))
    first = load_data(str(tmp_path / "data"), size=SIZE)
    raw = tmp_path / "data" / "training" / "patient0001" / "patient0001_4CH_ED.raw"
    raw.write_bytes(bytes(255 - b for b in raw.read_bytes()))  # same size, other pixels; the header untouched
    again = load_data(str(tmp_path / "data"), size=SIZE)
    assert not np.array_equal(first.frames.images, again.frames.images)


def test_a_camus_split_file_not_in_utf8_is_named(tmp_path, frames):
    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")
    (tmp_path / "database_split").mkdir()
    for name in ("subgroup_training.txt", "subgroup_validation.txt", "subgroup_testing.txt"):
        (tmp_path / "database_split" / name).write_bytes("patient0001\n# r\xe9vis\xe9\n".encode("latin-1"))
    with pytest.raises(EcholiteError, match="subgroup_training.txt: not UTF-8 or UTF-16 text"):
        load_data(str(tmp_path), size=SIZE)


def test_empty_and_unknown_folders(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(EcholiteError, match="empty image folder"):
        load_data(str(tmp_path))
    with pytest.raises(EcholiteError, match="no supported layout"):
        load_data(str(tmp_path / "images"))


def test_missing_split_file_is_reported(tmp_path, frames):
    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")
    (tmp_path / "database_split").mkdir()
    (tmp_path / "database_split" / "subgroup_training.txt").write_text("patient0001\n")
    data = load_data(str(tmp_path), size=SIZE)
    assert data.split is None and any("subgroup_validation.txt: split file missing" in p for p in data.problems)


def test_user_split_file(tmp_path):
    from echolite.data.splits import read_split_file

    patients = ["a", "b", "c", "d"]
    path = tmp_path / "split.yaml"
    path.write_text("train: [a, b]\nval: [c]\ntest: []\n")
    assert read_split_file(path, patients) == {"train": ["a", "b"], "val": ["c"], "test": []}
    (tmp_path / "s.json").write_text(json.dumps({"train": ["a"], "val": ["a"]}))
    with pytest.raises(EcholiteError, match="in both train and val"):
        read_split_file(tmp_path / "s.json", patients)
    (tmp_path / "s.json").write_text(json.dumps({"train": ["zz"]}))
    with pytest.raises(EcholiteError, match="not in the data"):
        read_split_file(tmp_path / "s.json", patients)
    with pytest.raises(EcholiteError, match="cannot read split file"):
        read_split_file(tmp_path / "missing.yaml", patients)


def test_cache_is_used_and_a_broken_entry_is_rebuilt(tmp_path, frames, monkeypatch):
    from echolite.data import cache

    _camus_release(tmp_path / "data", frames, ".nii.gz", "database_nifti")
    monkeypatch.setenv("ECHOLITE_CACHE", str(tmp_path / "cache"))
    first = load_data(str(tmp_path / "data"), size=SIZE)
    entries = list((tmp_path / "cache").glob("*.npz"))
    assert len(entries) == 1
    entries[0].write_bytes(b"broken")
    calls = []
    monkeypatch.setattr(cache, "load_cached", lambda key, real=cache.load_cached: calls.append(key) or real(key))
    again = load_data(str(tmp_path / "data"), size=SIZE)
    assert len(calls) == 1  # the broken entry was looked up, then decoded again
    np.testing.assert_array_equal(first.frames.images, again.frames.images)
    assert np.load(entries[0])["images"].shape == (8, SIZE, SIZE)  # rewritten whole


def test_data_inspect_command(tmp_path, frames):
    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")
    (tmp_path / "database_nifti" / "patient0003" / "patient0003_4CH_ED_gt.nii.gz").unlink()
    result = CliRunner().invoke(main, ["data", "inspect", str(tmp_path)])
    assert result.exit_code == 1, result.output  # it found a problem: the report, then one error line
    out = result.output
    assert out.strip().splitlines()[-1] == f"error: {tmp_path}: 1 problem, listed above"
    assert out.count("no ground truth") == 1 and "pixels    8-bit 7" in out
    assert "camus-nifti" in out and "patients  4" in out and "frames    8" in out and "4CH 8" in out
    assert "ED 4, ES 4" in out and "labels    [0, 1, 2, 3]" in out and "0.2×0.3 mm" in out
    assert "patient0003_4CH_ED.nii.gz: no ground truth" in out


def test_data_preview_command(tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(main, ["data", "preview", "phantom", "--augment", "III", "--out", str(out), "-n", "4"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 5000


def test_ambiguous_pairs_in_a_plain_folder_are_refused_by_name_or_skipped(tmp_path):
    from echolite.data.writers import write_png_export

    write_png_export(make_phantom(4, seed=0, size=32), tmp_path / "export")
    folder = tmp_path / "plain"
    folder.mkdir()
    (tmp_path / "export" / "img").rename(folder / "images")
    (tmp_path / "export" / "ref").rename(folder / "masks")
    first = min((folder / "images").iterdir())
    (folder / "images" / f"{first.stem}.bmp").write_bytes(first.read_bytes())  # a second image of the same name
    second = sorted((folder / "images").iterdir())[2]
    gt = folder / "masks" / f"{second.stem}_gt.png"
    (folder / "masks" / f"{second.stem}_mask.png").write_bytes(gt.read_bytes())  # two masks for one image
    with pytest.raises(EcholiteError, match=rf"a second image of frame {first.stem} \(also "):
        load_data(str(folder), 32, use_cache=False)
    data = load_data(str(folder), 32, skip_bad=True, use_cache=False)
    assert len(data.frames) == 4 - 1 and len(data.skipped) == 2
    assert any("2 masks fit it" in line for line in data.skipped)


def test_a_stray_name_keeps_the_png_export_layout_and_its_spacing(tmp_path):
    from echolite.data.writers import write_png_export

    write_png_export(make_phantom(4, seed=0, size=32), tmp_path)
    for file in sorted(tmp_path.rglob("phantom000[1-9]*.png")):  # all but one frame get CAMUS names
        file.rename(file.with_name(file.name.replace("phantom", "patient")))
    layout = detect_layout(tmp_path)
    assert layout.name == "png-export" and len(layout.cases) == 4
    assert any("not a CAMUS name" in problem for problem in layout.problems)
    frames = load_data(str(tmp_path), 32, use_cache=False).frames
    assert np.isfinite(frames.spacing_mm).all() and sorted(set(frames.views)) == ["4CH", "unknown"]


def test_files_a_layout_leaves_unread_are_listed(tmp_path):
    """A frame in a format the PNG export does not read, a mask no image uses: listed, not silently dropped."""
    from echolite.data.writers import write_png_export

    write_png_export(make_phantom(4, seed=0, size=32), tmp_path / "export")
    for file in sorted((tmp_path / "export").rglob("phantom*.png")):
        file.rename(file.with_name(file.name.replace("phantom", "patient")))
    first = min((tmp_path / "export" / "img").iterdir())
    first.rename(first.with_suffix(".jpg"))
    layout = detect_layout(tmp_path / "export")
    assert layout.name == "png-export" and len(layout.cases) == 3
    assert layout.problems == [f"{first.with_suffix('.jpg')}: not read (the frames of a PNG export are .png files)"]
    (tmp_path / "export" / "img").rename(tmp_path / "export" / "images")
    (tmp_path / "export" / "ref").rename(tmp_path / "export" / "masks")
    layout = detect_layout(tmp_path / "export")
    assert layout.name == "folder" and len(layout.cases) == 4  # the .jpg is a frame here, the orphan mask none
    (tmp_path / "export" / "images" / first.with_suffix(".jpg").name).unlink()
    layout = detect_layout(tmp_path / "export")
    assert [p.split(": ")[1] for p in layout.problems] == [f"no image named {first.stem}.* in images/; not read"]


def test_an_info_file_ef_that_is_no_percentage_or_disagrees_is_listed_and_left_out(tmp_path, frames):
    from echolite.clinical.reference import reference_ef

    _camus_release(tmp_path, frames, ".nii.gz", "database_nifti")  # Info_4CH.cfg with EF 57.5 for each patient
    (tmp_path / "database_nifti" / "patient0001" / "Info_4CH.cfg").write_text("EF: abc\n")
    (tmp_path / "database_nifti" / "patient0002" / "Info_2CH.cfg").write_text("EF: 31\n")
    layout = detect_layout(tmp_path)
    assert any("patient0001/Info_4CH.cfg: EF 'abc' is not a percentage" in p for p in layout.problems)
    assert any("patient0002: the Info files give different EF (2CH 31, 4CH 57.5)" in p for p in layout.problems)
    assert set(reference_ef(layout.info)) == {"patient0003", "patient0004"}


def test_a_new_cache_entry_is_announced_and_the_cache_can_be_turned_off(tmp_path, frames, monkeypatch):
    _camus_release(tmp_path / "data", frames, ".nii.gz", "database_nifti")
    monkeypatch.setenv("ECHOLITE_CACHE", str(tmp_path / "cache"))
    first = CliRunner().invoke(main, ["data", "preview", str(tmp_path / "data"), "--out", str(tmp_path / "p.png")])
    assert first.exit_code == 0, first.output
    assert f"note: decoded frames cached in {tmp_path / 'cache'}" in first.output
    monkeypatch.setenv("ECHOLITE_CACHE", "off")
    monkeypatch.chdir(tmp_path)
    load_data(str(tmp_path / "data"), size=2 * SIZE)  # a new grid: a new entry, were the cache on
    assert not (tmp_path / "off").exists() and len(list((tmp_path / "cache").glob("*.npz"))) == 1
