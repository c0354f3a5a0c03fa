import os

import numpy as np
import pytest

from echolite.data import load_data
from echolite.data.augment import Augmenter
from echolite.data.phantom import make_phantom
from echolite.data.splits import split_patients
from echolite.data.writers import write_png_export
from echolite.errors import EcholiteError


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(8, seed=3, size=128)


def test_phantom_is_deterministic(phantom):
    again = make_phantom(8, seed=3, size=128)
    np.testing.assert_array_equal(phantom.images, again.images)
    np.testing.assert_array_equal(phantom.masks, again.masks)
    assert not np.array_equal(phantom.images, make_phantom(8, seed=4, size=128).images)


def test_phantom_looks_like_an_apical_four_chamber_echo(phantom):
    img, mask = phantom.images, phantom.masks
    assert img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    assert set(np.unique(mask)) == {0, 1, 2, 3}
    for i in range(len(phantom)):
        lv, myo, la = (img[i][mask[i] == c].mean() for c in (1, 2, 3))
        assert myo > 2 * lv and myo > 2 * la  # dark cavities in a bright wall
        rows_lv, rows_la = np.nonzero(mask[i] == 1)[0], np.nonzero(mask[i] == 3)[0]
        assert rows_lv.mean() < rows_la.mean()  # apex up, atrium below the mitral plane
    assert img[:, -1, :8].max() == 0 and img[:, 0, 0].max() == 0  # black outside the sector


def test_phantom_es_lv_is_smaller_than_ed(phantom):
    lv = (phantom.masks == 1).sum(axis=(1, 2))
    assert phantom.phases[:2] == ["ED", "ES"]
    assert np.all(lv[1::2] < lv[0::2])
    assert len(set(phantom.patients)) == 4


def test_png_export_roundtrip(tmp_path, phantom):
    write_png_export(phantom, tmp_path)
    back = load_data(str(tmp_path), size=128).frames
    np.testing.assert_array_equal(back.masks, phantom.masks)
    np.testing.assert_allclose(back.images, phantom.images, atol=1 / 255)
    assert back.frame_ids == phantom.frame_ids and back.views == ["4CH"] * 8


def test_png_export_bad_mask_names_the_file(tmp_path, phantom):
    write_png_export(phantom.subset([0]), tmp_path)
    from PIL import Image

    bad = tmp_path / "ref" / f"{phantom.frame_ids[0]}_gt.png"
    Image.fromarray(np.full((128, 128), 7, np.uint8)).save(bad)
    with pytest.raises(EcholiteError, match=r"_gt.png: labels \[7\] outside"):
        load_data(str(tmp_path))


def test_unknown_folder_is_a_user_error(tmp_path):
    with pytest.raises(EcholiteError, match="no supported layout"):
        load_data(str(tmp_path))
    with pytest.raises(EcholiteError, match="not found"):
        load_data(str(tmp_path / "missing"))


def test_split_is_by_patient_and_seeded():
    patients = [f"p{i // 2}" for i in range(100)]
    split = split_patients(patients, seed=1)
    sets = [set(split[k]) for k in ("train", "val", "test")]
    assert sum(len(s) for s in sets) == 50 and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert (len(sets[0]), len(sets[1]), len(sets[2])) == (40, 5, 5)
    assert split == split_patients(patients, seed=1) and split != split_patients(patients, seed=2)


def test_affine_augmentation_moves_image_and_mask_together(phantom):
    augment = Augmenter("affine")
    image, mask = phantom.images[0], phantom.masks[0]
    moved = [augment(image, mask, seed) for seed in range(12)]
    changed = [(i, m) for i, m in moved if not np.array_equal(m, mask)]
    assert 2 <= len(changed) <= 11  # p = 0.5
    for out_image, out_mask in changed:
        assert set(np.unique(out_mask)) <= {0, 1, 2, 3}  # nearest interpolation: no new labels
        assert out_image[out_mask == 2].mean() > 2 * out_image[out_mask == 1].mean()
    again = augment(image, mask, 5)
    np.testing.assert_array_equal(again[1], moved[5][1])


def test_echo_augmentation_changes_intensities_not_anatomy_and_keeps_the_black_outside(phantom):
    echo, affine = Augmenter("affine-echo"), Augmenter("affine")
    image, mask = phantom.images[0], phantom.masks[0]
    outside = np.zeros_like(image)
    intensity_changed = 0
    for seed in range(16):
        out_image, out_mask = echo(image, mask, seed)
        np.testing.assert_array_equal(out_mask, affine(image, mask, seed)[1])  # the same geometry as affine
        if np.array_equal(out_mask, mask):  # no affine move this time: any change is an intensity change, which
            intensity_changed += not np.allclose(out_image, image)  # fires on its own (each transform its seed)
        assert not echo(outside, mask, seed)[0].any()  # gain, gamma, speckle, blur, resolution: black stays black
    assert intensity_changed >= 2


def test_scanner_augmentation_widens_the_view_with_image_and_mask_together(phantom):
    scanner = Augmenter("scanner")
    image, mask = phantom.images[0], phantom.masks[0]
    heart = (mask > 0).sum()
    areas = []
    for seed in range(24):
        out_image, out_mask = scanner(image, mask, seed)
        assert set(np.unique(out_mask)) <= {0, 1, 2, 3}
        if out_mask.any() and not np.array_equal(out_mask, mask):  # moved: the myocardium is still brighter
            assert out_image[out_mask == 2].mean() > 1.5 * out_image[out_mask == 1].mean()
        areas.append((out_mask > 0).sum() / heart)
        # the black outside the sector stays black (a JPEG block may round it to 1/255, as a compressed video does)
        assert scanner(np.zeros_like(image), mask, seed)[0].max() <= 1.5 / 255
    assert sum(a < 0.6 for a in areas) >= 2  # a wider field of view: the heart at under 0.6 of its area


def test_edge_rt_trains_with_the_scanner_recipe_and_lw_unet_with_table_vii():
    from echolite.presets import resolve_configs

    assert resolve_configs("edge-rt")[1].augment == "scanner"
    assert resolve_configs("lw-unet")[1].augment == "affine"
    assert resolve_configs("lw-unet", augment="scanner")[1].augment == "scanner"


def test_unknown_augmentation():
    with pytest.raises(EcholiteError, match="unknown augmentation"):
        Augmenter("heavy")


def test_pipeline_batches_and_targets(phantom):
    from echolite.data.pipeline import make_dataset

    ds = make_dataset(phantom, 4, ["seg", "ds_1"], augment="affine", shuffle=True, seed=0)
    batches = list(ds)
    assert len(batches) == 2
    x, y = batches[0]
    assert x.shape == (4, 128, 128, 1) and x.dtype.name == "float32"
    assert set(y) == {"seg", "ds_1"} and y["seg"].shape == (4, 128, 128, 1)
    first = [b[1]["seg"].numpy() for b in make_dataset(phantom, 4, ["seg"], "affine", shuffle=True, seed=0)]
    np.testing.assert_array_equal(first[0], y["seg"].numpy())  # same seed, same batches


def test_one_intensity_rule_for_every_bit_depth_in_library_and_device(tmp_path, phantom):
    """8-bit, 16-bit full range and 16-bit holding 8-bit values of the same frame read alike, never stretched by
    the image's own maximum, and the device runner's input equals the library's bit for bit."""
    from PIL import Image

    from echolite.clinical.cine import read_sequence
    from echolite.data.cases import gray8
    from echolite.data.io import read_frame
    from echolite_edge.image import describe_intensity, model_input, read_image, read_pixels

    base = np.round(phantom.images[0] * 200).astype(np.uint8)  # never reaches 255: a stretch would show
    files = {
        "8-bit": base,
        "16-bit, scaled by 255/65535": base.astype(np.uint16) * 257,
        "16-bit holding 8-bit values": base.astype(np.uint16),
    }
    for i, (kind, values) in enumerate(files.items()):
        path = tmp_path / f"frame{i}.png"
        Image.fromarray(values).save(path)
        assert describe_intensity(read_pixels(path)) == kind
        library = gray8(read_frame(path)[0], path)
        np.testing.assert_array_equal(library, base)
        np.testing.assert_array_equal(read_image(path), base)
    library_inputs = read_sequence(tmp_path, 32).images  # the library's own path: file → network input
    for i in range(len(files)):
        np.testing.assert_array_equal(library_inputs[i], model_input(read_image(tmp_path / f"frame{i}.png"), 32))
    with pytest.raises(ValueError, match="neither 8-bit, 16-bit nor"):
        from echolite_edge.image import to_gray8

        to_gray8(np.array([[-1.0, 0.5]]), "x")


def test_png_export_spacing_variable_is_a_positive_number(tmp_path, monkeypatch):
    from echolite.data import load_data
    from echolite.data.phantom import make_phantom
    from echolite.data.writers import write_png_export

    write_png_export(make_phantom(2, seed=0, size=32), tmp_path / "png")
    for file in (tmp_path / "png").rglob("phantom*.png"):  # CAMUS names: the PNG-export layout
        file.rename(file.with_name(file.name.replace("phantom", "patient")))
    for text in ("abc", "-1", "0", "inf"):
        monkeypatch.setenv("ECHOLITE_PNG_SPACING_MM", text)
        with pytest.raises(EcholiteError, match=f"ECHOLITE_PNG_SPACING_MM='{text}': not a pixel size"):
            load_data(str(tmp_path / "png"), 32, use_cache=False)
    monkeypatch.setenv("ECHOLITE_PNG_SPACING_MM", "0.5")
    np.testing.assert_allclose(load_data(str(tmp_path / "png"), 32, use_cache=False).frames.spacing_mm, 0.5)


def test_a_damaged_cache_entry_is_decoded_again(tmp_path, monkeypatch):
    from echolite.data import load_data
    from echolite.data.phantom import make_phantom
    from echolite.data.writers import write_png_export

    monkeypatch.setenv("ECHOLITE_CACHE", str(tmp_path / "cache"))
    write_png_export(make_phantom(2, seed=0, size=32), tmp_path / "png")
    first = load_data(str(tmp_path / "png"), 32).frames
    [entry] = (tmp_path / "cache").glob("*.npz")
    for damage in (b"", entry.read_bytes()[:300], b"PK\x03\x04garbage"):
        entry.write_bytes(damage)
        again = load_data(str(tmp_path / "png"), 32).frames
        assert np.array_equal(again.images, first.images) and entry.stat().st_size > 1000  # decoded and rewritten


def test_split_file_in_utf16_and_with_numeric_ids(tmp_path):
    from echolite.data.splits import read_split_file

    path = tmp_path / "split.yaml"
    path.write_bytes("train: [p0000, p0001]\nval: [p0002]\n".encode("utf-16"))  # Windows Notepad
    assert read_split_file(path, ["p0000", "p0001", "p0002"])["train"] == ["p0000", "p0001"]
    path.write_text("train: ['0001']\nval: [0002]\n")
    with pytest.raises(EcholiteError, match=r"split.yaml: 1 patient not in the data, e\.g\. 2; .* quote them"):
        read_split_file(path, ["0001", "0002"])


def test_broken_links_are_skipped_and_file_names_need_not_be_utf8(tmp_path):
    write_png_export(make_phantom(4, seed=0, size=32), tmp_path / "png")
    images, masks = tmp_path / "png" / "img", tmp_path / "png" / "ref"
    first = min(images.iterdir()).stem
    (images / "loop.png").symlink_to("loop.png")
    (images / "gone.png").symlink_to("nowhere.png")
    (masks / "gone_gt.png").symlink_to(masks / f"{first}_gt.png")
    with pytest.raises(EcholiteError, match="gone.png: a broken symbolic link"):
        load_data(str(tmp_path / "png"), 32)
    loaded = load_data(str(tmp_path / "png"), 32, skip_bad=True)
    assert len(loaded.frames.frame_ids) == 4 and len(loaded.skipped) == 2
    os.rename(images / f"{first}.png", os.fsencode(images / "p") + b"\xff_2CH_ED.png")  # not UTF-8
    os.rename(masks / f"{first}_gt.png", os.fsencode(masks / "p") + b"\xff_2CH_ED_gt.png")
    loaded = load_data(str(tmp_path / "png"), 32, skip_bad=True)
    assert "p\ufffd_2CH_ED" in loaded.frames.frame_ids and "p\ufffd" in loaded.frames.patients


def test_palette_masks_are_read_as_their_indices(tmp_path):
    from PIL import Image

    frames = make_phantom(2, seed=0, size=32)
    write_png_export(frames, tmp_path)
    for mask_file, mask in zip(sorted((tmp_path / "ref").glob("*.png")), frames.masks):
        indexed = Image.fromarray(mask.astype(np.uint8), mode="P")
        indexed.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 756)  # labels drawn in colour
        indexed.save(mask_file)
    loaded = load_data(str(tmp_path), 32, use_cache=False).frames
    assert np.array_equal(loaded.masks, frames.masks)


def test_a_run_split_selects_its_patients_and_names_an_empty_split(tmp_path, phantom):
    from echolite.data import LoadedData
    from echolite.data.frames import FrameSet
    from echolite.data.inspect import inspect_data
    from echolite.data.run_split import select_split
    from echolite.data.writers import write_png_export
    from echolite.errors import EcholiteError

    loaded = LoadedData(phantom, "phantom")
    chosen = {"train": ["phantom0000", "phantom0001"], "val": ["phantom0002"], "test": []}
    val = select_split(loaded, chosen, "val", "phantom").frames
    assert isinstance(val, FrameSet) and set(val.patients) == {"phantom0002"} and len(val) == 2
    assert select_split(loaded, chosen, "all", "phantom") is loaded
    with pytest.raises(EcholiteError, match="the test split has no patients here; choose another split \\(val, train"):
        select_split(loaded, chosen, "test", "phantom")
    write_png_export(phantom.subset([0, 1, 2, 3]), tmp_path / "export")
    report = inspect_data(tmp_path / "export")
    assert (report.frames, report.patients, sorted(report.labels)) == (4, 2, [0, 1, 2, 3])
