"""What a scanner writes: DICOM still and cine (every photometric interpretation, uncompressed and JPEG baseline,
with and without ultrasound regions) and video loops, read with the scanner's pixel size and frame rate, and no
patient identifier in any output. Every input is written here."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from echolite.data.ultrasound_dicom import Region, write_ultrasound_dicom
from tests.helpers import StandInSegmenter

PLANTED = {
    "PatientName": "Plantedname^Jane",
    "PatientID": "PID-4815162342",
    "PatientBirthDate": "19610704",
    "AccessionNumber": "ACC-99887766",
    "InstitutionName": "Plantedville Infirmary",
}
TISSUE = Region(6, 5, 55, 36, delta_x=0.02, delta_y=0.03)  # 0.02 cm columns, 0.03 cm rows: 0.2 × 0.3 mm


def colour_loop(frames=3, rows=42, cols=62) -> np.ndarray:
    """Smooth tinted frames (JPEG keeps them close): (T, H, W, 3) uint8, each frame shifted."""
    y, x = np.mgrid[:rows, :cols]
    base = 60 + 50 * np.sin(x / 9.0) + 40 * np.cos(y / 7.0)
    loop = []
    for t in range(frames):
        gray = base + 8 * t
        loop.append(np.stack([gray + 25, gray, gray - 20], -1))
    return np.clip(np.round(loop), 0, 255).astype(np.uint8)


def luma(rgb: np.ndarray) -> np.ndarray:
    return np.round(rgb.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)


CASES = [
    ("MONOCHROME2", False),
    ("RGB", False),
    ("YBR_FULL", False),
    ("YBR_FULL_422", False),
    ("PALETTE COLOR", False),
    ("MONOCHROME2", True),
    ("YBR_FULL", True),
    ("YBR_FULL_422", True),
]


@pytest.mark.parametrize("photometric,jpeg", CASES)
def test_every_photometric_interpretation_reads_as_luminance_cropped_at_the_regions_spacing(
    tmp_path, photometric, jpeg
):
    from echolite_edge.dicom import read_dicom

    rgb = colour_loop()
    gray_stored = photometric in ("MONOCHROME2", "PALETTE COLOR")
    stored = luma(rgb) if gray_stored else rgb
    path = write_ultrasound_dicom(tmp_path / "loop.dcm", stored, photometric, jpeg, (TISSUE,), frame_time_ms=20)
    loop = read_dicom(path)
    expected = luma(rgb)[:, 5:37, 6:56]  # the region's inclusive bounds
    assert loop.frames.shape == (3, 32, 50) and loop.frames.dtype == np.uint8
    error = np.abs(loop.frames.astype(int) - expected).max()
    assert error <= (4 if jpeg else 1), error  # luminance, not one colour channel (R is 25 above it, B 20 below)
    assert loop.spacing_mm == pytest.approx((0.3, 0.2))  # cm → mm: a unit slip (0.03 or 3.0) fails
    assert loop.fps == pytest.approx(50.0) and loop.fps_from == "FrameTime"
    assert loop.name == "loop.dcm (instance 1)"


def test_colour_luminance_is_exact_for_every_8_bit_colour():
    """0.299 R + 0.587 G + 0.114 B taken exactly, for all 2²⁴ colours: rounded half to even, the same on every
    machine (a floating-point product is off by a level for about 2,000 of them)."""
    from echolite_edge.dicom import _luma

    levels = np.arange(256)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    per_mille = rgb @ np.array([299, 587, 114])
    whole, rest = np.divmod(per_mille, 1000)
    expected = whole + (rest > 500) + ((rest == 500) & (whole % 2 == 1))  # half to even, as np.round
    np.testing.assert_array_equal(np.round(_luma(rgb.astype(np.uint8))), expected)


def test_regions_decide_crop_and_spacing_and_say_so(tmp_path):
    from echolite_edge.dicom import read_dicom
    from echolite_edge.sources import NotBMode

    frames = np.full((2, 60, 90), 250, np.uint8)  # a text band around the image
    frames[:, 5:37, 6:56] = 80  # the tissue region
    frames[:, 40:58, 6:86] = 30  # a Doppler strip below it
    doppler = Region(6, 40, 85, 57, delta_x=0.01, delta_y=2.0, units=7, data_type=3, spatial_format=3)
    write = lambda name, regions: read_dicom(
        write_ultrasound_dicom(tmp_path / name, frames, "MONOCHROME2", False, regions)
    )
    beside = write("beside.dcm", (TISSUE, doppler))
    assert beside.frames.shape == (2, 32, 50) and (beside.frames == 80).all()  # neither the band nor the strip
    assert beside.spacing_mm == pytest.approx((0.3, 0.2)) and "tissue region" in beside.spacing_from
    small = Region(60, 40, 70, 50, 0.05, 0.05)
    two = write("two.dcm", (small, TISSUE))
    assert two.frames.shape == (2, 32, 50) and any("2 tissue regions, took the largest" in n for n in two.notes)
    whole = write("none.dcm", ())
    assert whole.frames.shape == (2, 60, 90) and whole.spacing_mm is None
    assert any("no ultrasound region" in n and "pixel units" in n for n in whole.notes)
    not_length = write("seconds.dcm", (Region(6, 5, 55, 36, 0.02, 0.03, units=4),))
    assert not_length.spacing_mm is None and any("seconds, not a length" in n for n in not_length.notes)
    with pytest.raises(NotBMode, match=r"doppler\.dcm: no 2D tissue region \(PW Doppler spectral Doppler\)"):
        write("doppler.dcm", (doppler,))


@pytest.mark.parametrize(
    "frame_time,cine_rate,display_rate,fps,source",
    [(20.0, 30, None, 50.0, "FrameTime"), (None, 30, 25, 30.0, "CineRate"), (None, None, 25, 25.0, None)],
)
def test_frame_rate_from_frame_time_else_cine_rate_else_display_rate(
    tmp_path, frame_time, cine_rate, display_rate, fps, source
):
    from echolite_edge.dicom import read_dicom

    extra = {"RecommendedDisplayFrameRate": display_rate} if display_rate else {}
    gray = luma(colour_loop())
    path = write_ultrasound_dicom(tmp_path / "r.dcm", gray, "MONOCHROME2", False, (), frame_time, cine_rate, extra)
    loop = read_dicom(path)
    assert loop.fps == pytest.approx(fps) and loop.fps_from == (source or "RecommendedDisplayFrameRate")


def test_pydicoms_own_example_files_read(tmp_path):
    from pydicom.data import get_testdata_file

    from echolite_edge.dicom import read_dicom
    from echolite_edge.sources import NotBMode

    names = ("examples_ybr_color.dcm", "examples_palette.dcm", "examples_rgb_color.dcm", "reportsi.dcm")
    paths = {name: get_testdata_file(name, download=False) for name in names}
    if not all(paths.values()):
        pytest.skip("pydicom's example files are not installed")
    ybr = read_dicom(paths["examples_ybr_color.dcm"])  # JPEG baseline YBR_FULL_422, 30 frames, FrameTime 33.3 ms
    assert ybr.frames.shape == (30, 240, 320) and ybr.fps == pytest.approx(30.0, abs=0.01)
    # its region was recorded on the scanner's larger image: no crop, no pixel size, and it says why
    assert ybr.spacing_mm is None and any("lies outside" in n for n in ybr.notes)
    palette, rgb = read_dicom(paths["examples_palette.dcm"]), read_dicom(paths["examples_rgb_color.dcm"])
    assert palette.frames.shape == (1, 350, 800) and rgb.frames.shape == (1, 240, 320)
    assert 5 < palette.frames.mean() < 60 and 5 < rgb.frames.mean() < 80
    with pytest.raises(NotBMode, match="Basic Text SR Storage"):
        read_dicom(paths["reportsi.dcm"])


def write_video(path: Path, frames: np.ndarray, fps: int) -> Path:
    """Gray frames as a video through PyAV: H.264 in MP4, MJPEG in AVI, GIF."""
    import av

    codec, pix = {".mp4": ("libx264", "yuv420p"), ".avi": ("mjpeg", "yuvj420p"), ".gif": ("gif", "rgb8")}[path.suffix]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width, stream.pix_fmt = frames.shape[1], frames.shape[2], pix
        for frame in frames:
            rgb = np.repeat(frame[..., None], 3, -1)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def ramp_loop(frames=6, rows=48, cols=64) -> np.ndarray:
    return np.stack([np.full((rows, cols), 40 + 30 * t, np.uint8) for t in range(frames)])


@pytest.mark.parametrize("suffix,fps", [(".mp4", 30), (".avi", 25), (".gif", 25)])
def test_video_loops_keep_their_frames_and_the_containers_frame_rate(tmp_path, suffix, fps):
    from echolite_edge.video import read_video

    loop = read_video(write_video(tmp_path / f"loop{suffix}", ramp_loop(), fps))
    assert loop.frames.shape == (6, 48, 64) and loop.spacing_mm is None
    assert loop.fps == pytest.approx(fps) and "container" in loop.fps_from
    np.testing.assert_allclose(loop.frames.mean(axis=(1, 2)), 40 + 30 * np.arange(6), atol=3)


class _ByFrame(StandInSegmenter):
    """Stands in for the interpreter: the mask of the known image nearest the frame (the phantom's masks), so a
    run's ED/ES and volumes are those of the phantom whatever the file's format did to the pixels."""

    def __init__(self, images, masks):
        self.images, self.masks = images.astype(np.float32), masks

    def labels_for(self, gray):
        same = [i for i, image in enumerate(self.images) if image.shape == gray.shape]
        if not same:
            return np.zeros(gray.shape, np.uint8)
        return self.masks[min(same, key=lambda i: np.abs(self.images[i] - gray).mean())]


def _edge_run(monkeypatch, tmp_path, images, masks, source, *options):
    import echolite_edge.cli as runner_cli
    from echolite_edge.cli import main

    monkeypatch.setattr(runner_cli, "EdgeSegmenter", lambda *args: _ByFrame(images, masks))
    tmp_path.mkdir(parents=True, exist_ok=True)
    model = tmp_path / "m.tflite"
    model.write_bytes(b"stand-in")
    out = tmp_path / "out"
    return main(["run", str(model), str(source), "--out", str(out), *options]), out


def _phantom_loop(frames=8):
    from echolite.data.phantom import make_phantom_cine

    images, masks, _ = make_phantom_cine(frames=frames, seed=3, size=64)
    return np.round(images * 255).astype(np.uint8), masks


def _padded(images):
    """The phantom frames inside a larger scanner frame with a bright text band: (T, 90, 110)."""
    frames = np.full((len(images), 90, 110), 10, np.uint8)
    frames[:, :4, :] = 255
    frames[:, 10:74, 20:84] = images
    return frames


def _study(folder: Path, images) -> Path:
    """A study as a scanner exports it: a cine DICOM, a still, a video loop, a report, a Doppler acquisition."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder.mkdir()
    region = Region(20, 10, 83, 73, delta_x=0.03, delta_y=0.03)
    write_ultrasound_dicom(folder / "IM_0001", _padded(images), "MONOCHROME2", False, (region,), 20, None, PLANTED)
    write_ultrasound_dicom(
        folder / "IM_0002", _padded(images[:1]), "MONOCHROME2", False, (region,), None, None, PLANTED
    )
    still = _padded(images[:1])  # a scanner's UID-named files: their names differ only after the last dot
    write_ultrasound_dicom(folder / "1.2.826.0.1.7", still, "MONOCHROME2", False, (region,), None, None, PLANTED)
    write_ultrasound_dicom(folder / "1.2.826.0.1.8", still, "MONOCHROME2", False, (region,), None, None, PLANTED)
    write_video(folder / "loop.avi", images, 25)
    doppler = Region(0, 0, 109, 89, 0.01, 1.0, units=7, data_type=3, spatial_format=3)
    write_ultrasound_dicom(folder / "IM_0003", _padded(images[:2]), "MONOCHROME2", False, (doppler,), 20, None, PLANTED)
    report = Dataset()
    report.file_meta = FileMetaDataset()
    report.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    report.file_meta.MediaStorageSOPClassUID = report.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"
    report.file_meta.MediaStorageSOPInstanceUID = report.SOPInstanceUID = generate_uid()
    report.Modality = "SR"
    for keyword, value in PLANTED.items():
        setattr(report, keyword, value)
    report.save_as(folder / "IM_0004", enforce_file_format=True)
    (folder / "notes.txt").write_text("exported by the scanner\n")
    return folder


def test_loops_beside_frame_files_are_refused_before_the_loops_are_segmented(tmp_path, monkeypatch, capsys):
    from PIL import Image

    images, masks = _phantom_loop()
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(images[0]).save(folder / "a.png")  # a frame file, then a cine DICOM
    region = Region(20, 10, 83, 73, delta_x=0.03, delta_y=0.03)
    write_ultrasound_dicom(folder / "IM_0001", _padded(images), "MONOCHROME2", False, (region,), 20, None, PLANTED)
    segmented = []
    infer = _ByFrame.infer
    monkeypatch.setattr(_ByFrame, "infer", lambda self, gray: segmented.append(gray.shape) or infer(self, gray))
    code, out = _edge_run(monkeypatch, tmp_path, images, masks, folder, "--cine")
    error = capsys.readouterr().err.strip()
    assert code != 0 and "holds DICOM or video loops and frame files together" in error and "\n" not in error
    assert len(segmented) == 1 and not out.exists()  # the loop's frames never reached the network


def test_a_study_folder_gives_each_loop_its_own_result_and_lists_what_it_skips(tmp_path, monkeypatch, capsys):
    from echolite_edge.loop import measure_loop

    images, masks = _phantom_loop()
    study = _study(tmp_path / "study", images)
    code, out = _edge_run(monkeypatch, tmp_path, images, masks, study, "--cine")
    printed = capsys.readouterr()
    assert code == 0, printed.err
    results = json.loads((out / "results.json").read_text())
    assert "cine" not in results and [loop["name"] for loop in results["loops"]] == ["IM_0001 (instance 1)", "loop.avi"]
    dicom, video = results["loops"]
    assert (
        dicom["fps"] == pytest.approx(50.0) and dicom["fps_from"] == "FrameTime" and video["fps"] == pytest.approx(25)
    )
    assert dicom["spacing_mm"] == pytest.approx([0.3, 0.3]) and video["spacing_mm"] is None
    for loop, fps, spacing in ((dicom, 50.0, (0.3, 0.3)), (video, 25.0, None)):  # each at its own rate and pixel
        expected = measure_loop(masks, fps, spacing).as_dict()  # the crop found the phantom: its masks
        assert loop["cine"]["fps"] == pytest.approx(fps) and loop["cine"]["unit"] == expected["unit"]
        beats = [(b["ed_frame"], b["es_frame"]) for b in loop["cine"]["beats"]]
        assert beats == [(b["ed_frame"], b["es_frame"]) for b in expected["beats"]] and beats
        assert loop["cine"]["ef_percent"] == expected["ef_percent"] and loop["cine"]["edv"] == expected["edv"]
    assert dicom["cine"]["unit"] == "mL" and video["cine"]["unit"] == "pixel units"
    skipped = [line for line in printed.out.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 5
    assert any("IM_0002: a still frame" in line for line in skipped)
    assert any("IM_0003: no 2D tissue region" in line for line in skipped)
    assert any("IM_0004: not an ultrasound image (Comprehensive SR Storage" in line for line in skipped)
    assert "IM_0001 (instance 1): cine: 1 beat " in printed.out and "loop.avi: cine: 1 beat " in printed.out
    for loop, stem in ((dicom, "IM_0001"), (video, "loop")):  # each loop's masks in a file of its own, all of them
        stored = np.load(out / f"{stem}_masks.npz")
        assert sorted(stored.files) == sorted(loop["masks"])
        assert {frame["mask"] for frame in results["frames"] if frame["name"] in loop["masks"]} == {f"{stem}_masks.npz"}
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no masks file left unnamed


def test_no_patient_identifier_reaches_any_output(tmp_path, monkeypatch, capsys):
    from click.testing import CliRunner

    from echolite.cli.main import main as echolite

    images, masks = _phantom_loop()
    study = _study(tmp_path / "study", images)
    code, out = _edge_run(monkeypatch, tmp_path, images, masks, study, "--cine")
    assert code == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    data = (study / "IM_0001").read_bytes()
    (broken / "IM_0001.dcm").write_bytes(data[: len(data) - 3000])
    failed, failed_out = _edge_run(monkeypatch, tmp_path / "again", images, masks, broken / "IM_0001.dcm")
    assert failed == 1 and not failed_out.exists()
    printed = capsys.readouterr()
    inspected = [CliRunner().invoke(echolite, ["data", "inspect", str(p)]) for p in (study, broken)]
    assert inspected[0].exit_code == 0 and "IM_0001 (instance 1): 8 frames of 64×64" in inspected[0].output
    assert "files     8: 5 loops, 3 skipped, 0 unreadable" in inspected[0].output
    still, _ = _edge_run(monkeypatch, tmp_path / "stills", images, masks, study)  # without --cine: every frame
    assert still == 0 and (tmp_path / "stills" / "out" / "1.2.826.0.1.8_mask.png").is_file()
    assert inspected[1].exit_code == 1 and "IM_0001.dcm: corrupt or truncated" in inspected[1].output
    texts = [printed.out, printed.err, *(r.output for r in inspected)]
    texts += [p.read_bytes().decode("latin-1") for p in out.rglob("*") if p.is_file()]
    words = {part for value in PLANTED.values() for part in value.replace("^", " ").split()}
    for text in texts:
        for word in words:
            assert word not in text


def _truncated(path: Path, keep: float = 0.6) -> Path:
    data = path.read_bytes()
    cut = path.with_name(f"cut_{path.name}")
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


def test_corrupt_and_truncated_files_give_one_line_naming_the_file_and_write_nothing(tmp_path, monkeypatch, capsys):
    images, masks = _phantom_loop(4)
    gray = _padded(images)
    region = (Region(20, 10, 83, 73, 0.03, 0.03),)
    files = [
        _truncated(write_ultrasound_dicom(tmp_path / "plain.dcm", gray, "MONOCHROME2", False, region, 20)),
        _truncated(write_ultrasound_dicom(tmp_path / "jpeg.dcm", gray, "MONOCHROME2", True, region, 20), 0.7),
        _truncated(write_video(tmp_path / "loop.mp4", images, 30)),
        _truncated(write_video(tmp_path / "loop.avi", images, 30)),
        _truncated(write_video(tmp_path / "loop.gif", images, 25), 0.8),
    ]
    (tmp_path / "junk.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\xff" * 60)
    (tmp_path / "junk.mp4").write_bytes(b"not a video at all" * 10)
    for path in [*files, tmp_path / "junk.dcm", tmp_path / "junk.mp4"]:
        code, out = _edge_run(monkeypatch, tmp_path / path.stem, images, masks, path)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and not out.exists() and not list(out.parent.glob(".out*")), path
        assert len(err) == 1 and err[0].startswith(f"error: {path}: "), err


def test_dicom_and_video_reach_the_library_readers(tmp_path):
    from echolite.clinical.cine import read_sequence
    from echolite.data.io import read_frame, read_volume
    from echolite.errors import EcholiteError

    images, _ = _phantom_loop(4)
    region = (Region(20, 10, 83, 73, 0.03, 0.02),)
    still = write_ultrasound_dicom(tmp_path / "still.dcm", _padded(images[:1]), "MONOCHROME2", False, region)
    frame, spacing = read_frame(still)
    assert frame.shape == (64, 64) and (frame == images[0]).all() and spacing == pytest.approx((0.2, 0.3))
    cine = write_ultrasound_dicom(tmp_path / "cine.dcm", _padded(images), "MONOCHROME2", False, region, 25)
    loop = read_sequence(cine, size=32)
    assert loop.images.shape == (4, 32, 32) and loop.fps == pytest.approx(40.0) and loop.fps_from == "FrameTime"
    assert loop.spacing_mm == pytest.approx((0.4, 0.6))  # on the model's 32-pixel grid
    with pytest.raises(EcholiteError, match="carries its own pixel spacing"):
        read_sequence(cine, size=32, spacing_mm=0.5)
    video, video_spacing = read_volume(write_video(tmp_path / "v.mp4", images, 30))
    assert video.shape == (4, 64, 64) and video_spacing is None
    assert read_sequence(tmp_path / "v.mp4", size=32).fps == pytest.approx(30.0)
    with pytest.raises(EcholiteError, match="a folder of DICOM or video files; --sequence measures one loop"):
        read_sequence(tmp_path, size=32)


def test_a_dicom_still_runs_like_the_png_of_its_pixels(tmp_path, monkeypatch):
    from PIL import Image

    images, masks = _phantom_loop(2)
    Image.fromarray(images[0]).save(tmp_path / "still.png")
    region = (Region(20, 10, 83, 73, 0.03, 0.03),)
    rgb = np.repeat(_padded(images[:1])[..., None], 3, axis=-1)
    write_ultrasound_dicom(tmp_path / "still.dcm", rgb, "YBR_FULL", False, region)
    _, png_out = _edge_run(monkeypatch, tmp_path / "png", images, masks, tmp_path / "still.png")
    code, dicom_out = _edge_run(monkeypatch, tmp_path / "dcm", images, masks, tmp_path / "still.dcm")
    assert code == 0
    assert (
        np.asarray(Image.open(dicom_out / "still_mask.png")) == np.asarray(Image.open(png_out / "still_mask.png"))
    ).all()
    assert (np.asarray(Image.open(dicom_out / "still_mask.png")) > 0).any()


def test_the_device_core_runs_without_the_extras_and_names_the_extra_to_install(tmp_path, monkeypatch, capsys):
    for name in ("pydicom", "av", "echolite_edge.dicom", "echolite_edge.video"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed: importing it raises ImportError
    images, masks = _phantom_loop(2)
    (tmp_path / "a.dcm").write_bytes(b"\0" * 128 + b"DICM")
    (tmp_path / "a.mp4").write_bytes(b"\0" * 64)
    np.save(tmp_path / "loop.npy", images)
    for source, extra in (("a.dcm", "dicom"), ("a.mp4", "video")):
        code, out = _edge_run(monkeypatch, tmp_path / extra, images, masks, tmp_path / source)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and not out.exists()
        kind = "DICOM" if extra == "dicom" else "video"
        wanted = f'reading it needs the "{extra}" extra: pip install "echolite-edge[{extra}]"'
        assert err == [f"error: {tmp_path / source}: a {kind} file; {wanted}"]
    code, out = _edge_run(monkeypatch, tmp_path / "npy", images, masks, tmp_path / "loop.npy")
    assert code == 0 and (out / "loop_0001_mask.png").is_file()


def test_a_transfer_syntax_without_its_decoder_names_what_to_install(tmp_path):
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLosslessSV1

    from echolite_edge.dicom import read_dicom

    if get_decoder(JPEGLosslessSV1).is_available:
        pytest.skip("a JPEG lossless decoder is installed here")
    path = write_ultrasound_dicom(tmp_path / "lossless.dcm", luma(colour_loop()), "MONOCHROME2")
    dataset = pydicom.dcmread(path)
    dataset.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    dataset.PixelData = encapsulate([b"\xff\xd8\xff\xd9"] * 3)
    dataset.save_as(path, enforce_file_format=True)
    with pytest.raises(
        ValueError, match=r"lossless\.dcm: JPEG Lossless.* needs a decoding plugin: pip install pylibjpeg"
    ):
        read_dicom(path)


def test_spacing_option_only_where_the_file_carries_none(tmp_path, monkeypatch, capsys):
    images, masks = _phantom_loop(6)
    region = (Region(20, 10, 83, 73, 0.03, 0.03),)
    dicom = write_ultrasound_dicom(tmp_path / "cine.dcm", _padded(images), "MONOCHROME2", False, region, 20)
    code, out = _edge_run(monkeypatch, tmp_path / "refused", images, masks, dicom, "--cine", "--spacing", "0.3")
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "cine.dcm: --spacing: the file carries its own pixel size (0.3 × 0.3 mm" in err
    video = write_video(tmp_path / "loop.mp4", images, 30)
    code, out = _edge_run(monkeypatch, tmp_path / "video", images, masks, video, "--cine", "--spacing", "0.3")
    cine = json.loads((out / "results.json").read_text())["cine"]
    assert code == 0 and cine["unit"] == "mL" and cine["fps"] == pytest.approx(30) and "container" in cine["fps_from"]
