"""The device-side runner: same masks as the library, and no TensorFlow, Keras or scipy on the way."""

import ast
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from echolite.errors import EcholiteError
from echolite.evaluation.postprocess import PostprocessConfig, postprocess
from echolite_edge.postprocess import keep_largest_components
from tests.helpers import ReplaySegmenter, StandInSegmenter

EDGE = Path(__file__).resolve().parents[1] / "edge"


def noisy_masks(seed: int, count: int, shape: tuple[int, int]):
    """Label maps of uniform noise, every other one median-filtered into blobs."""
    rng = np.random.default_rng(seed)
    for t in range(count):
        mask = rng.integers(0, 4, shape).astype(np.uint8)
        yield ndimage.median_filter(mask, 3) if t % 2 else mask


def test_numpy_postprocessing_matches_the_library():
    for mask in noisy_masks(0, 200, (48, 48)):
        components_only = PostprocessConfig(fill_enclosed=False, close_myocardium="off", detach_atrium=False)
        largest_only = postprocess(mask, components_only)
        np.testing.assert_array_equal(keep_largest_components(mask), largest_only)


def test_structures_known_whole_after_postprocessing_are_one_piece_and_keep_the_verdict():
    """``postprocess_labels`` names the structures it leaves in one 8-connected piece; quality control skips
    counting their fragments, with the same verdict. On noise and blobs, with each repair on and off: every
    structure named is one piece, and closing or detaching leaves some unnamed. Off the criteria's grid, where
    resampling may split a structure, every structure is counted."""
    from echolite_edge.anatomy import check_anatomy, failed_criteria
    from echolite_edge.postprocess import postprocess_labels, repair_anatomy

    unnamed = 0
    for t, mask in enumerate(noisy_masks(7, 120, (256, 256))):
        repairs = {
            "fill_enclosed": t % 5 != 0,
            "close_wall": ("off", "when-open", "always")[t % 3],
            "detach": t % 4 != 0,
        }
        labels, whole = postprocess_labels(mask, **repairs)
        np.testing.assert_array_equal(labels, repair_anatomy(keep_largest_components(mask), **repairs))
        for structure in whole:
            assert ndimage.label(labels == structure, np.ones((3, 3)))[1] <= 1
        assert check_anatomy(labels, whole=whole) == check_anatomy(labels)
        unnamed += len(whole) < 3
    assert 10 < unnamed < 110
    bridged = np.zeros((512, 512), np.uint8)
    bridged[100:200, 100:200] = bridged[100:200, 300:400] = bridged[150, 200:300] = 1  # one LV: a 1-pixel bridge
    assert ndimage.label(bridged, np.ones((3, 3)))[1] == 1  # that the 256 grid's nearest rows miss
    assert "lv_fragmented" in failed_criteria(bridged, whole=frozenset({1, 2, 3}))


def test_fill_enclosed_background_takes_the_label_around_each_pocket():
    from echolite_edge.anatomy import check_anatomy
    from echolite_edge.postprocess import fill_enclosed_background

    mask = np.zeros((16, 16), np.uint8)
    mask[2:14, 2:14] = 2  # myocardium block
    mask[4:10, 4:12] = 1  # LV cavity inside it
    mask[10:14, 5:11] = 3  # LA below, touching both
    mask[6, 6] = 0  # a hole in the LV
    mask[3, 8] = 0  # a hole in the MYO
    mask[10, 7] = mask[10, 8] = 0  # a crack between LV and LA, rim mostly LA
    mask[0:2, 0:3] = 0  # background open to the border stays
    filled = fill_enclosed_background(mask)
    assert filled[6, 6] == 1 and filled[3, 8] == 2 and filled[10, 7] == filled[10, 8] == 3
    assert (filled == 0).sum() == 256 - 144 and check_anatomy(filled)["lv_hole"] is False
    np.testing.assert_array_equal(postprocess(mask, PostprocessConfig(detach_atrium=False)), filled)
    clean = filled.copy()
    np.testing.assert_array_equal(fill_enclosed_background(clean), clean)


def test_fill_enclosed_background_matches_a_pocket_by_pocket_fill_on_noise():
    from echolite_edge.postprocess import fill_enclosed_background

    for mask in noisy_masks(1, 60, (40, 56)):
        enclosed = ndimage.binary_fill_holes(mask > 0) & (mask == 0)  # 4-connected background, as the fill
        pockets, count = ndimage.label(enclosed)
        expected = mask.copy()
        for pocket in range(1, count + 1):
            inside = pockets == pocket
            rim = mask[ndimage.binary_dilation(inside) & ~inside]
            expected[inside] = np.bincount(rim[rim > 0]).argmax()
        np.testing.assert_array_equal(fill_enclosed_background(mask), expected)


def test_close_myocardium_closes_the_wall_away_from_the_atrium():
    from echolite_edge.postprocess import close_myocardium

    mask = np.zeros((20, 20), np.uint8)
    mask[2:14, 3:17] = 2  # myocardium
    mask[4:14, 5:15] = 1  # LV cavity, open to the background on the right from row 6 down
    mask[6:14, 15:17] = 0
    mask[14:19, 5:15] = 3  # LA below the cavity
    closed = close_myocardium(mask)
    assert (closed[6:12, 14] == 2).all()  # the open wall: LV rim beside the background becomes MYO
    assert (closed[12:14, 14] == 1).all()  # within 2 pixels of the LA it stays LV (the mitral plane)
    assert (closed[4:14, 5:14] == mask[4:14, 5:14]).all() and (closed == 3).sum() == (mask == 3).sum()
    np.testing.assert_array_equal(postprocess(mask, PostprocessConfig(close_myocardium="always")), closed)


def test_close_myocardium_when_open_closes_only_a_wall_the_criterion_rejects():
    from echolite_edge.anatomy import CAMUS, measure_anatomy
    from echolite_edge.postprocess import close_myocardium, lv_open_to_background, repair_anatomy

    mask = np.zeros((20, 20), np.uint8)
    mask[2:14, 3:17] = 2
    mask[4:14, 5:15] = 1
    mask[14:19, 5:15] = 3
    nicked, open_wall = mask.copy(), mask.copy()
    nicked[7, 15:17] = 0  # a one-row nick in the right wall: within the criterion
    open_wall[6:14, 15:17] = 0  # the right wall missing from row 6 down: beyond it
    limit = CAMUS.lv_background_frontier_ratio_max
    assert (
        measure_anatomy(nicked)["lv_background_frontier"]
        <= limit
        < measure_anatomy(open_wall)["lv_background_frontier"]
    )
    assert not lv_open_to_background(nicked) and lv_open_to_background(open_wall)
    closing_only = {"fill_enclosed": False, "detach": False}  # the nick splits the wall: no largest components
    np.testing.assert_array_equal(repair_anatomy(nicked, close_wall="when-open", **closing_only), nicked)
    np.testing.assert_array_equal(repair_anatomy(nicked, close_wall="always", **closing_only), close_myocardium(nicked))
    assert (close_myocardium(nicked) != nicked).any()
    np.testing.assert_array_equal(
        postprocess(open_wall, PostprocessConfig(close_myocardium="when-open")), close_myocardium(open_wall)
    )
    with pytest.raises(EcholiteError, match="when-open"):
        PostprocessConfig(close_myocardium="sometimes")


def test_detach_atrium_trims_the_wall_beside_the_atrium_back_to_the_annulus():
    from echolite_edge.anatomy import measure_anatomy
    from echolite_edge.postprocess import detach_atrium

    mask = np.zeros((24, 56), np.uint8)
    mask[2:14, 4:52] = 2  # myocardium
    mask[4:14, 6:50] = 1  # LV cavity, open at the bottom (the mitral plane, row 13)
    mask[14:22, 6:50] = 3  # LA below the plane
    mask[14:18, 4:6] = mask[14:18, 50:52] = 2  # the wall runs on beside the atrium for 4 rows
    detached = detach_atrium(mask)
    assert (detached[15:18, 5] == 0).all() and (detached[15:18, 50] == 0).all()  # the layer on the LA goes
    assert detached[14, 5] == detached[14, 50] == 2  # next to the LV too: kept (the annulus)
    assert (detached[14:18, 4] == 2).all() and (detached[14:18, 51] == 2).all()  # not on the LA: kept
    assert (detached[:14] == mask[:14]).all() and (detached == 1).sum() == (mask == 1).sum()
    assert measure_anatomy(mask)["myo_la_frontier"] > 0.11 >= measure_anatomy(detached)["myo_la_frontier"]
    np.testing.assert_array_equal(postprocess(mask), detached)
    np.testing.assert_array_equal(detach_atrium(detached), detached)  # nothing left to trim
    np.testing.assert_array_equal(postprocess(mask, PostprocessConfig(detach_atrium=False)), mask)


def test_argmax_labels_is_numpys_argmax_ties_included():
    from echolite_edge.segmenter import argmax_labels

    rng = np.random.default_rng(0)
    for classes in range(1, 9):
        for dtype in (np.int8, np.uint8, np.float32):
            scores = rng.integers(0, 3, (7, 9, classes)).astype(dtype)  # few values: many ties
            labels = argmax_labels(scores)
            assert labels.dtype == np.uint8
            np.testing.assert_array_equal(labels, np.argmax(scores, axis=-1))


def test_overlay_blends_each_structure_with_its_colour():
    from echolite_edge.labels import COLORS
    from echolite_edge.outputs import overlay

    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8], mask[8:12, 8:12], mask[0, 0] = 1, 3, 9  # 9: not a structure, shown gray
    rgb = overlay(gray, mask)
    assert rgb.dtype == np.uint8 and rgb.shape == (16, 16, 3)
    np.testing.assert_array_equal(rgb[mask == 0], np.repeat(gray[mask == 0][:, None], 3, axis=1))
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])
    for label in (1, 3):
        expected = np.round(0.6 * gray[mask == label][:, None].astype(np.float32) + 0.4 * np.float32(COLORS[label]))
        np.testing.assert_array_equal(rgb[mask == label], expected.astype(np.uint8))
    np.testing.assert_array_equal(overlay(gray.astype(np.float32) / 255, mask), rgb)  # a float frame alike


def test_device_overlay_has_smooth_edges_a_legend_and_the_qc_verdict():
    from echolite_edge.image import resize_nearest
    from echolite_edge.labels import COLORS, LV
    from echolite_edge.marks import FAIL_COLOR, PASS_COLOR
    from echolite_edge.outputs import overlay_image
    from echolite_edge.segmenter import Segmentation

    rows, cols = np.mgrid[:32, :32]
    labels = np.where((cols > rows) & (rows > 4) & (cols < 28), LV, 0).astype(np.uint8)  # a diagonal edge
    gray = np.full((128, 128), 60, np.uint8)  # 4 frame pixels per grid pixel
    seg = Segmentation("f", resize_nearest(labels, gray.shape), 0.0, 0.0, labels)
    red = lambda rgb: rgb[..., 0].astype(int) - rgb[..., 1]  # how much of the LV's colour a pixel holds
    passing, failing, unchecked = (overlay_image(gray, seg, qc) for qc in ([], ["lv_hole"], None))
    straightness = lambda edge: np.abs(edge - np.polyval(np.polyfit(np.arange(60), edge, 1), np.arange(60))).max()
    edge = np.array([np.argmax(red(passing)[r] > 40) for r in range(40, 100)])
    nearest = np.array([np.argmax(seg.mask[r] == LV) for r in range(40, 100)])
    assert np.diff(nearest).max() == 4 and straightness(nearest) > 1.4  # the grid's steps, 4 frame pixels each
    assert np.diff(edge).max() <= 2 and straightness(edge) <= 1.0  # within a pixel of the diagonal
    assert red(passing)[70, 100] == red(passing)[60, 100] > 40 and red(passing)[100, 20] == 0  # inside, outside
    legend = passing[:12, :40].reshape(-1, 3)
    assert (np.abs(legend.astype(int) - COLORS[LV]).sum(axis=1) == 0).any()  # the LV's colour box, top left
    assert (failing[-1] == FAIL_COLOR).all() and (failing[:, 0] == FAIL_COLOR).all()  # a red border all around
    assert (passing[-1] == gray[-1, :, None]).all()  # no border on a passing frame
    assert (passing[:12, -20:] == PASS_COLOR).any() and not (unchecked[:12, -20:] == PASS_COLOR).all(axis=-1).any()


def test_device_pngs_hold_their_pixels():
    """The device's own PNG encoder: what any reader (here Pillow) decodes is the image written, gray or RGB, one
    pixel to a real overlay's size; anything else is refused."""
    from PIL import Image

    from echolite_edge.png import png_bytes

    rng = np.random.default_rng(0)
    for shape in ((1, 1), (1, 1, 3), (5, 7), (5, 7, 3), (519, 630, 3)):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        with Image.open(io.BytesIO(png_bytes(pixels))) as image:
            image.load()  # the checksums checked
            np.testing.assert_array_equal(np.asarray(image), pixels)
    for bad in (
        np.zeros((4, 4), np.uint16),
        np.zeros((4, 4, 4), np.uint8),
        np.zeros(4, np.uint8),
        np.zeros((0, 4), np.uint8),
    ):
        with pytest.raises(ValueError, match="uint8 image"):
            png_bytes(bad)


def test_zoom_about_the_centre_scales_a_square():
    from echolite_edge.tta import coverage, zoom

    square = np.zeros((1, 64, 64), np.float32)
    square[0, 28:36, 28:36] = 1  # 8 px wide, centred on 31.5
    zoomed = zoom(square, 2.0)[0]
    rows = np.nonzero(zoomed.max(1) > 0.5)[0]
    assert (rows.min(), rows.max()) == (24, 39) and zoomed.sum() == pytest.approx(4 * square.sum())
    np.testing.assert_array_equal(zoom(square, 1.0), square)
    assert coverage(64, 2.0).min() == 1.0 and coverage(64, 0.5)[0, 0] == 0.0


def test_test_time_augmentation_keeps_what_an_equivariant_model_sees():
    """A model that thresholds the image commutes with zoom and (on a 0/1 image) with gamma: averaging its views
    must give back its own labels."""
    from echolite_edge.tta import TTA_MODES, tta_probabilities

    yy, xx = np.mgrid[:64, :64]
    disk = ((yy - 30) ** 2 + (xx - 34) ** 2 < 15**2).astype(np.float32)[None]
    model_calls = []

    def threshold(views):
        model_calls.append(len(views))
        return np.stack([views <= 0.5, views > 0.5], -1).astype(np.float32)

    for mode in TTA_MODES:
        probs = tta_probabilities(disk, threshold, mode)
        assert probs.shape == (1, 64, 64, 2)
        np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(probs.argmax(-1), disk.astype(int))
    assert len(model_calls) == sum(len(views) for views in TTA_MODES.values())


def test_edge_sources_import_nothing_heavy():
    banned = {"tensorflow", "keras", "scipy", "echolite", "tf_keras"}
    for path in EDGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for name in names:
                if name.split(".")[0] in banned and name != "tensorflow.lite":
                    pytest.fail(f"{path.name} imports {name}")


@pytest.mark.slow
def test_runner_gives_the_library_masks_without_tensorflow(tmp_path, tiny_config):
    import dataclasses

    from echolite.data.phantom import make_phantom
    from echolite.export.tflite import export_tflite
    from echolite.inference import TFLiteSegmenter, load_segmenter
    from echolite.models import build_unet, inference_model

    model = inference_model(build_unet(dataclasses.replace(tiny_config, activation="relu")))
    frames = make_phantom(4, seed=1, size=64)
    result = export_tflite(model, tmp_path / "m.tflite", "int8", calibration=frames)
    other = export_tflite(
        inference_model(build_unet(dataclasses.replace(tiny_config, activation="relu", norm="none"))),
        tmp_path / "other.tflite",
        "int8",
        calibration=frames,
    )
    expected = postprocess(TFLiteSegmenter(result.path).predict_labels(frames.images))
    from echolite_edge.image import model_input

    eight_bit = (frames.images * 255).round().astype(np.uint8)  # what the device reads
    device_input = np.stack([model_input(frame, 64) for frame in eight_bit])
    expected_tta = postprocess(TFLiteSegmenter(result.path, tta="zoom-gamma").predict_labels(device_input))
    expected_ensemble = postprocess(load_segmenter(result.path, "zoom", (other.path,)).predict_labels(device_input))
    np.save(tmp_path / "loop.npy", eight_bit)
    code = f"""
import sys, numpy as np
sys.path.insert(0, {str(EDGE)!r})
from echolite_edge.cli import main
assert main(["run", {str(result.path)!r}, {str(tmp_path / "loop.npy")!r}, "--out", {str(tmp_path / "out")!r}]) == 0
assert main(["run", {str(result.path)!r}, {str(tmp_path / "loop.npy")!r}, "--out", {str(tmp_path / "tta")!r},
             "--tta", "zoom-gamma"]) == 0
assert main(["run", {str(result.path)!r}, {str(tmp_path / "loop.npy")!r}, "--out", {str(tmp_path / "both")!r},
             "--tta", "zoom", "--ensemble", {str(other.path)!r}]) == 0
bench = ["bench", {str(result.path)!r}, "--runs", "3", "--warmup", "1"]
assert main(bench + ["--json", {str(tmp_path / "bench.json")!r}]) == 0
assert main(["bench", {str(result.path)!r}, "--cine", {str(tmp_path / "loop.npy")!r}, "--scanner-fps", "0.001"]) == 0
assert main(["run", {str(result.path)!r}, {str(tmp_path / "loop.npy")!r}, "--out", {str(tmp_path / "cine")!r},
             "--cine", "--fps", "30"]) == 0
heavy = [m for m in ("tensorflow", "keras", "scipy") if m in sys.modules]
assert not heavy, heavy
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert "frames/s end to end" in run.stdout and "p99" in run.stdout
    assert "cine: 4 frames" in run.stdout and "keeps up with a scanner at 0.001 frames/s" in run.stdout
    assert "medians in ms: read " in run.stdout and "end to end / invoke alone: " in run.stdout
    assert "QC: " in run.stdout and "qc          median" in run.stdout
    import json

    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["invoke_ms"]["runs"] == 3 and report["end_to_end_ms"]["p50"] > 0 and report["threads"] == 2
    assert report["qc_ms"]["runs"] == 3 and report["qc_ms"]["p50"] > 0
    from PIL import Image

    assert json.loads((tmp_path / "tta" / "results.json").read_text())["tta"] == "zoom-gamma"
    checks = json.loads((tmp_path / "cine" / "results.json").read_text())["cine"]["loop_qc"]["checks"]
    assert [c["passed"] is not None for c in checks if c["check"] == "network confidence"] == [True]  # int8 logits
    assert "once per loop, at 0.001 frames/s: loop analysis and loop QC " in run.stdout
    assert ", writing the loop's outputs " in run.stdout
    cine_masks = np.load(tmp_path / "cine" / "masks.npz")  # --cine: the same masks, in one file for the loop
    for t in range(4):
        mask = np.asarray(Image.open(tmp_path / "out" / f"loop_{t:04d}_mask.png")) // 85
        np.testing.assert_array_equal(mask, expected[t])
        np.testing.assert_array_equal(cine_masks[f"loop_{t:04d}"], expected[t])
        mask = np.asarray(Image.open(tmp_path / "tta" / f"loop_{t:04d}_mask.png")) // 85
        np.testing.assert_array_equal(mask, expected_tta[t])
        mask = np.asarray(Image.open(tmp_path / "both" / f"loop_{t:04d}_mask.png")) // 85
        np.testing.assert_array_equal(mask, expected_ensemble[t])


def _run_on_masks(tmp_path, monkeypatch, masks, *options):
    """``echolite-edge run`` on a loop whose frames segment to ``masks``: (exit code, results.json)."""
    import json

    import echolite_edge.cli as runner_cli
    from echolite_edge.cli import main

    monkeypatch.setattr(runner_cli, "EdgeSegmenter", lambda model, threads, *repairs: ReplaySegmenter(masks))
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "m.tflite").write_bytes(b"replayed")
    np.save(tmp_path / "loop.npy", np.zeros((len(masks), *masks[0].shape), np.uint8))
    out = tmp_path / "out"
    code = main(["run", str(tmp_path / "m.tflite"), str(tmp_path / "loop.npy"), "--out", str(out), *options])
    return code, json.loads((out / "results.json").read_text())


def _cine_with_a_failing_es():
    """A phantom loop (ED frame 0, ES frame 4, all plausible) with an atrial fragment added at ES."""
    from echolite.data.phantom import make_phantom_cine

    masks = make_phantom_cine(frames=8, seed=1, size=128)[1]
    masks[4, 120:124, 4:8] = 3
    return list(masks)


def test_cine_outputs_fit_the_loop_and_hold_every_frames_mask(tmp_path, monkeypatch):
    from PIL import Image

    from echolite_edge.cine import MASKS_FILE

    masks = _cine_with_a_failing_es()
    code, default = _run_on_masks(tmp_path / "default", monkeypatch, masks, "--cine", "--spacing", "1.2")
    code_all, every = _run_on_masks(
        tmp_path / "every", monkeypatch, masks, "--cine", "--spacing", "1.2", "--every-frame"
    )
    assert code == code_all == 0
    out, out_all = tmp_path / "default" / "out", tmp_path / "every" / "out"
    shown = {i for beat in default["cine"]["beats"] for i in (beat["ed_frame"], beat["es_frame"])}
    expected = sorted(f"loop_{i:04d}_overlay.png" for i in shown | {4})  # ED and ES of each beat, and the failure
    assert sorted(p.name for p in out.glob("*.png")) == expected
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".png") == [MASKS_FILE, "report.html", "results.json"]
    assert [f.get("overlay") for f in default["frames"]] == [
        f"loop_{i:04d}_overlay.png" if f"loop_{i:04d}_overlay.png" in expected else None for i in range(8)
    ]
    assert {f["mask"] for f in default["frames"]} == {MASKS_FILE}
    assert len(list(out_all.glob("*_overlay.png"))) == len(list(out_all.glob("*_mask.png"))) == 8
    stored = np.load(out / MASKS_FILE)
    assert stored.files == [f"loop_{i:04d}.npy".removesuffix(".npy") for i in range(8)]
    for i, frame in enumerate(every["frames"]):  # the loop's file holds what each frame's PNG holds
        np.testing.assert_array_equal(stored[frame["name"]], np.asarray(Image.open(out_all / frame["mask_png"])) // 85)
        np.testing.assert_array_equal(stored[frame["name"]], masks[i])
    assert default["cine"]["beats"] == every["cine"]["beats"]
    assert default["qc"]["passed"] == every["qc"]["passed"] == 7


def test_a_run_stopped_or_killed_mid_loop_leaves_no_output(tmp_path):
    import signal
    import time

    slow = f"""
import sys, time, numpy as np
sys.path[:0] = [{str(EDGE)!r}, {str(EDGE.parent)!r}]
import echolite_edge.cli as cli
from tests.helpers import StandInSegmenter

class Slow(StandInSegmenter):
    def labels_for(self, gray):
        time.sleep(0.05)
        return np.zeros(gray.shape, np.uint8)

cli.EdgeSegmenter = lambda *a: Slow()
sys.exit(cli.main(["run", sys.argv[1], sys.argv[2], "--out", sys.argv[3], "--cine", "--qc", "off"]))
"""
    (tmp_path / "m.tflite").write_bytes(b"replayed")
    np.save(tmp_path / "loop.npy", np.zeros((200, 32, 32), np.uint8))
    out = tmp_path / "out"
    args = [sys.executable, "-c", slow, str(tmp_path / "m.tflite"), str(tmp_path / "loop.npy"), str(out)]
    for stop in (signal.SIGTERM, signal.SIGKILL):
        run = subprocess.Popen(args)
        deadline = time.time() + 60
        while not list(tmp_path.glob(".out.partial-*")) and time.time() < deadline:  # mid-loop: writing has begun
            time.sleep(0.02)
        time.sleep(0.3)
        run.send_signal(stop)
        assert run.wait(timeout=60) == (128 + stop if stop == signal.SIGTERM else -stop)
        assert not out.exists()
        left = list(tmp_path.glob(".out.partial-*"))
        assert left == [] if stop == signal.SIGTERM else len(left) == 1  # SIGKILL: no clean-up is possible
    np.save(tmp_path / "loop.npy", np.zeros((3, 32, 32), np.uint8))
    assert subprocess.run(args, check=False).returncode == 0  # the next run removes the killed run's leftovers
    assert (out / "results.json").is_file() and not list(tmp_path.glob(".out.partial-*"))


def test_a_loop_folder_is_read_in_natural_order_and_a_still_loop_has_no_ed_or_es(tmp_path):
    from echolite.data.phantom import make_phantom_cine
    from echolite_edge.frames import frame_files
    from echolite_edge.loop import measure_loop

    for t in range(12):
        (tmp_path / f"frame{t}.png").write_bytes(b"")
    assert [p.name for p in frame_files(tmp_path)] == [f"frame{t}.png" for t in range(12)]
    still = measure_loop(np.repeat(make_phantom_cine(frames=2, size=64)[1][:1], 6, axis=0))
    assert still.ef is None and "does not change" in still.withheld


def test_an_earlier_output_is_replaced_whole(tmp_path, monkeypatch):
    """A second run into the same --out leaves its own masks only, never a mix of two runs under one results.json."""
    masks = _cine_with_a_failing_es()
    _run_on_masks(tmp_path, monkeypatch, masks)
    assert len(list((tmp_path / "out").glob("*_mask.png"))) == 8
    code, results = _run_on_masks(tmp_path, monkeypatch, masks[:3])
    assert (
        code == 0
        and sorted(p.name for p in (tmp_path / "out").glob("*_mask.png")) == [f["mask"] for f in results["frames"]]
        and len(results["frames"]) == 3
    )


def test_device_qc_verdicts_are_the_librarys(tmp_path, monkeypatch):
    from PIL import Image

    from echolite.evaluation.anatomy import check_anatomy

    masks = _cine_with_a_failing_es()
    masks[6] = masks[6].copy()
    masks[6][60:63, 60:63] = 0  # holes
    code, results = _run_on_masks(tmp_path, monkeypatch, masks)
    assert code == 0 and results["qc"]["mode"] == "report" and results["qc"]["failed"] == 2
    for frame in results["frames"]:
        written = np.asarray(Image.open(tmp_path / "out" / frame["mask"])) // 85
        expected = [name for name, failed in check_anatomy(written).items() if failed]
        assert frame["qc"] == {"passed": not expected, "failed": expected}
    assert results["frames"][4]["qc"]["failed"] == ["la_fragmented"] and results["frames"][6]["qc"]["failed"]


def test_a_frame_failing_qc_is_never_ed_or_es(tmp_path, monkeypatch, capsys):
    options = ("--cine", "--spacing", "1.2")  # the phantom's pixel size at 128 pixels
    code, results = _run_on_masks(tmp_path / "off", monkeypatch, _cine_with_a_failing_es(), *options, "--qc", "off")
    assert code == 0 and "qc" not in results["frames"][0] and results["cine"]["ef_percent"] > 20
    assert [b["es_frame"] for b in results["cine"]["beats"]] == [4]
    assert "EF 5" in capsys.readouterr().out
    code, results = _run_on_masks(tmp_path / "report", monkeypatch, _cine_with_a_failing_es(), *options)
    cine = results["cine"]
    (beat,) = cine["beats"]
    assert code == 0 and beat["ed_frame"] == 0 and beat["es_frame"] in (3, 5) and cine["ef_percent"] > 20
    assert beat["es_name"] == f"loop_{beat['es_frame']:04d}" and results["frames"][4]["qc"]["failed"]
    assert [c["passed"] for c in cine["loop_qc"]["checks"] if c["check"] == "frames passing"] == [True]
    out = capsys.readouterr().out
    assert "failing: loop_0004 (la_fragmented)" in out and f"ED->ES frames 0->{beat['es_frame']}" in out


def test_device_cine_cuts_the_systolic_mask_as_the_library_does(tmp_path, monkeypatch):
    from echolite.data.phantom import make_phantom_cine
    from echolite_edge.loop import measure_loop

    masks = make_phantom_cine(frames=8, seed=1, size=128)[1]
    es_atrium = np.argwhere(masks[4] == 3)
    top = es_atrium[:, 0].min()
    masks[4][tuple(es_atrium[es_atrium[:, 0] < top + 4].T)] = 1  # the ES "LV" takes the atrium's first rows
    efs = {}
    for cut in ("--mitral-cut", "--no-mitral-cut"):
        code, results = _run_on_masks(
            tmp_path / cut, monkeypatch, list(masks), "--cine", "--qc", "off", "--spacing", "1.2", cut
        )
        assert code == 0 and results["cine"]["beats"][0]["es_frame"] == 4
        efs[cut] = results["cine"]["ef_percent"]
    assert efs["--mitral-cut"] == pytest.approx(measure_loop(masks, spacing=(1.2, 1.2)).ef)
    assert efs["--no-mitral-cut"] == pytest.approx(measure_loop(masks, spacing=(1.2, 1.2), cut=False).ef)
    assert efs["--mitral-cut"] > efs["--no-mitral-cut"] + 1


def test_strict_qc_lists_the_failing_frames_and_a_loop_without_rhythm_gives_no_ef(tmp_path, monkeypatch, capsys):
    options = ("--cine", "--qc", "strict", "--spacing", "1.2", "--fps", "30")
    code, results = _run_on_masks(tmp_path / "strict", monkeypatch, _cine_with_a_failing_es(), *options)
    assert code == 0 and results["qc"]["rejected"] == ["loop_0004"]
    assert results["cine"]["beats"][0]["es_frame"] != 4 and results["cine"]["fps"] == 30
    assert len(np.load(tmp_path / "strict" / "out" / "masks.npz").files) == 8  # every mask is still written
    assert (tmp_path / "strict" / "out" / "loop_0004_overlay.png").is_file()  # and the failing frame's overlay
    out = capsys.readouterr().out
    assert "rejected (masks written, no volumes or EF from them): loop_0004 (la_fragmented)" in out
    jumping = [m for pair in zip(_cine_with_a_failing_es()[:4], _cine_with_a_failing_es()[4:]) for m in pair]
    code, results = _run_on_masks(tmp_path / "jumping", monkeypatch, jumping * 2, "--cine", "--qc", "off")
    assert code == 0 and results["cine"]["ef_percent"] is None and results["cine"]["ef_withheld"]
    assert "; no EF: " in capsys.readouterr().out


def test_bad_qc_option_is_a_one_line_error(tmp_path, capsys):
    from echolite_edge.cli import main

    assert main(["run", "m.tflite", "x.png", "--out", str(tmp_path), "--qc", "lax"]) == 1
    assert main(["bench", "m.tflite", "--qc", "strict"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "argument --qc: invalid choice: 'lax'" in err[0] and "--qc" in err[1]


def test_benchmark_model_output_parses_into_the_bench_report():
    """The fixture follows the published format of benchmark_model's output (values made up, not a recording)."""
    from echolite_edge.android import parse_benchmark_model

    text = (Path(__file__).parent / "data" / "benchmark_model_output.txt").read_text()
    report = parse_benchmark_model(text)
    assert report["threads"] == 4 and report["model_bytes"] == 2064100
    assert report["init_ms"] == pytest.approx(61.482) and report["first_inference_ms"] == pytest.approx(58.213)
    invoke = report["invoke_ms"]
    assert invoke["runs"] == 50 and invoke["mean"] == pytest.approx(36.3882) and invoke["p50"] == pytest.approx(36.105)
    assert invoke["p95"] == pytest.approx(39.877) and report["peak_memory_mb"] == pytest.approx(24.6328)
    with pytest.raises(ValueError, match="not benchmark_model output"):
        parse_benchmark_model("Segmentation fault")


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    from PIL import Image

    from echolite_edge.cli import main
    from echolite_edge.image import read_image

    fake = tmp_path / "model.tflite"
    fake.write_bytes(b"not a flatbuffer")
    (tmp_path / "frame.png").write_bytes(b"not a png")
    assert main(["run", str(fake), str(tmp_path / "frame.png"), "--out", str(tmp_path / "o")]) == 1
    assert main(["bench", str(tmp_path / "missing.tflite")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: ") and "not a TFLite model" in err[0] and "not found" in err[1]
    with pytest.raises(ValueError, match="missing.tflite: ensemble model not found"):
        from echolite_edge.segmenter import _member

        _member(tmp_path / "missing.tflite", 1, [1, 64, 64, 4])
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(tmp_path / "frame.png")
    deep = np.linspace(0, 4000, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 1] = 200
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    gray16, gray = read_image(tmp_path / "deep.png"), read_image(tmp_path / "rgb.png")
    assert gray16.dtype == np.uint8 and gray16.max() == round(4000 * 255 / 65535) and gray16.min() == 0  # no stretch
    assert gray.shape == (20, 30) and 100 < gray.mean() < 200


def test_npy_files_that_hold_no_usable_frames_are_named(tmp_path):
    from echolite_edge.frames import read_frames_of
    from echolite_edge.image import to_gray8

    (tmp_path / "text.npy").write_text("0 1 2\n")
    np.save(tmp_path / "objects.npy", np.array([{"frame": 1}], dtype=object), allow_pickle=True)
    for name in ("text.npy", "objects.npy"):
        with pytest.raises(ValueError, match=f"{name}: not a NumPy array file"):
            read_frames_of(tmp_path / name)
    np.save(tmp_path / "holes.npy", np.where(np.eye(32) > 0, np.nan, 0.5))
    with pytest.raises(ValueError, match="holes.npy: has NaN or infinite intensities"):
        read_frames_of(tmp_path / "holes.npy")
    assert to_gray8(np.full((2, 2), 0.5)).tolist() == [[128, 128], [128, 128]]


@pytest.mark.slow
def test_runner_in_a_venv_with_only_the_edge_requirements(tmp_path, tiny_config):
    """`pip install ./edge` into an empty venv (numpy, ai-edge-litert, Pillow), then segment a generated frame; a
    DICOM or video file names the extra that reads it."""
    import dataclasses
    import venv

    from echolite.export.tflite import export_tflite
    from echolite.models import build_unet, inference_model

    model = inference_model(build_unet(dataclasses.replace(tiny_config, activation="relu")))
    exported = export_tflite(model, tmp_path / "m.tflite", "fp32")
    import shutil

    source = shutil.copytree(EDGE, tmp_path / "edge-src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"  # build in a copy: the checkout gets no build/ or egg-info
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)], capture_output=True, text=True, check=False
    )
    assert install.returncode == 0, install.stderr[-2000:]
    frame = tmp_path / "frame.png"
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 120), dtype=np.uint8)).save(frame)
    code = f"""
import sys
from echolite_edge.cli import main
assert main(["run", {str(exported.path)!r}, {str(frame)!r}, "--out", {str(tmp_path / "out")!r}]) == 0
import contextlib, io
for scanner_file, extra in (("scan.dcm", "dicom"), ("scan.mp4", "video")):  # the extras are not installed here
    open(scanner_file, "wb").write(bytes(128) + b"DICM")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["run", {str(exported.path)!r}, scanner_file, "--out", "scan-out"]) == 1
    assert f'pip install "echolite-edge[{{extra}}]"' in err.getvalue(), err.getvalue()
import importlib.util
for name in ("tensorflow", "keras", "scipy", "pydicom", "av"):
    assert name not in sys.modules, name
    assert importlib.util.find_spec(name) is None, name + " is installed in the edge venv"
"""
    run = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    from PIL import Image as _Image

    assert _Image.open(tmp_path / "out" / "frame_mask.png").size == (120, 90)


def test_a_json_report_may_replace_an_earlier_one_but_not_a_folder(tmp_path):
    from echolite_edge.files import check_report_file

    (tmp_path / "earlier.json").write_text("{}")
    check_report_file(tmp_path / "earlier.json", "the JSON report")  # replaced, as before
    check_report_file(tmp_path / "new" / "report.json", "the JSON report")  # its folder is made
    (tmp_path / "afile").write_text("")
    for bad, reason in ((tmp_path, "a folder"), (tmp_path / "afile" / "r.json", "is a file, not a folder")):
        with pytest.raises(ValueError, match=reason):
            check_report_file(bad, "the JSON report")


def test_latency_statistics_in_milliseconds():
    from echolite_edge.bench import stats_ms

    stats = stats_ms([0.001, 0.002, 0.003, 0.004, 0.010])
    assert stats["runs"] == 5 and stats["min"] == pytest.approx(1) and stats["max"] == pytest.approx(10)
    assert stats["p50"] == pytest.approx(3) and stats["mean"] == pytest.approx(4)


class _TimedSegmenter(StandInSegmenter):
    """A network of ``network`` seconds per thread count and ``finishing`` seconds after it, by sleeping."""

    def __init__(self, network, finishing, threads=2):
        self.network, self.finishing, self.threads = network, finishing, threads

    def set_threads(self, threads):
        self.threads = threads

    def labels_for(self, gray):
        import time

        time.sleep(self.network[self.threads])
        return np.zeros(gray.shape, np.uint8)

    def finish(self, inference, name="", full_size=True):
        import time

        time.sleep(self.finishing)
        return super().finish(inference, name, full_size)


def test_a_loop_shares_the_cores_as_measured():
    """A fast network gives finishing a core of its own (the slower stage sets the pace: 20 ms, not 10 + 20); a slow
    one keeps every thread (40 + 10 ms, not 75); one thread has nothing to share."""
    from echolite_edge.cine import split_threads

    frame = np.zeros((32, 32), np.uint8)
    fast = _TimedSegmenter({2: 0.010, 1: 0.018}, 0.020)
    choice = split_threads(fast, frame, qc=False, runs=2)
    assert fast.threads == 1 and choice["interpreter_threads"] == 1 and choice["beside"] == "own core"
    slow = _TimedSegmenter({2: 0.040, 1: 0.075}, 0.010)
    choice = split_threads(slow, frame, qc=False, runs=2)
    assert slow.threads == 2 and choice == {
        "interpreter_threads": 2,
        "beside": "shared",
        "predicted_ms": choice["predicted_ms"],
    }
    assert choice["predicted_ms"]["all_threads"] < choice["predicted_ms"]["one_core_beside"]
    single = _TimedSegmenter({1: 0.001}, 0.001, threads=1)
    assert split_threads(single, frame, qc=True) == {"interpreter_threads": 1, "beside": "shared"}


def test_live_drops_frames_rather_than_fall_behind():
    import time

    from echolite_edge.live import run_live

    def scanner(count=40, every=0.005):
        for t in range(count):
            time.sleep(every)
            yield np.full((16, 16), t, np.uint8)

    report = run_live(_TimedSegmenter({1: 0.02}, 0.0, threads=1), scanner(), None)
    summary = report.as_dict()
    assert summary["arrived"] == 40 and summary["dropped"] > 0
    assert summary["segmented"] + summary["dropped"] == 40  # each frame is segmented or replaced by a newer one
    assert report.arrival == sorted(set(report.arrival)) and report.arrival[-1] == 39  # the newest, in order
    assert [int(f.gray[0, 0]) for f in report.frames] == report.arrival
    assert summary["segmented_fps"] < summary["arrival_fps"]


def test_live_reads_raw_frames_on_stdin_and_names_a_cut_stream(tmp_path, monkeypatch, capsys):
    import io
    import json

    import echolite_edge.cli as runner_cli
    from echolite_edge.cli import main

    monkeypatch.setattr(runner_cli, "EdgeSegmenter", lambda *a: _TimedSegmenter({1: 0.0}, 0.0, threads=1))
    (tmp_path / "m.tflite").write_bytes(b"replayed")
    frames = (np.arange(3 * 16 * 20) % 256).astype(np.uint8).reshape(3, 16, 20)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(frames.tobytes())))
    live = ["live", str(tmp_path / "m.tflite"), "-", "--size", "20x16", "--qc", "off"]
    assert main([*live, "--out", str(tmp_path / "out")]) == 0
    assert "3 frames arrived" in capsys.readouterr().out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["live"]["arrived"] == 3 and results["live"]["ended_by"] == "the source"
    stored = np.load(tmp_path / "out" / "masks.npz")
    assert [stored[f["name"]].shape for f in results["frames"]] == [(16, 20)] * len(results["frames"])
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(frames.tobytes()[:-5])))
    assert main([*live, "--out", str(tmp_path / "cut")]) == 1
    assert "error: stdin: the stream ended inside a frame (315 of 320 bytes)" in capsys.readouterr().err
    assert not (tmp_path / "cut").exists()
    assert main(["live", str(tmp_path / "m.tflite"), "-"]) == 1
    assert "--size: raw frames on stdin" in capsys.readouterr().err


def test_background_jobs_raise_a_failed_write_before_the_run_ends():
    from echolite_edge.outputs import BackgroundJobs

    written = []

    def write(value):
        if value == 3:
            raise OSError(28, "No space left on device")
        written.append(value)

    with pytest.raises(OSError, match="No space left"), BackgroundJobs(depth=2) as writer:
        for value in range(10):
            writer.submit(write, value)
    assert written[:3] == [0, 1, 2] and 3 not in written
    with BackgroundJobs() as writer:  # all writes are done when the block ends
        for value in range(20):
            writer.submit(written.append, value)
    assert written[-20:] == list(range(20))


def test_mask_archives_keep_each_loops_masks_in_its_own_file(tmp_path):
    """Frames stream into their loop's file, one file open at a time; a loop's frames after another's are appended;
    each file is named when asked, after the block too."""
    from echolite_edge.cine import CineFrame, MaskArchives
    from echolite_edge.segmenter import Segmentation

    def frame(name, value):
        labels = np.full((4, 4), value, np.uint8)
        return CineFrame(np.zeros((8, 6), np.uint8), name, Segmentation(name, None, 0, 0, labels))

    with MaskArchives(tmp_path) as archives:
        archives.add("a", frame("a0", 1))
        archives.add("b", frame("b0", 2))
        archives.add("a", frame("a1", 3))
        archives.name("b", "b.npz")
    archives.name("a", "a.npz")
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert a.files == ["a0", "a1"] and b.files == ["b0"] and a["a1"].shape == (8, 6) and (a["a1"] == 3).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz"]
