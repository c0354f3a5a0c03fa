"""The loop report (``echolite_edge.loop_report``): ``report.html`` beside the outputs of ``echolite-edge run
--cine`` and ``echolite measure --sequence``, read back with the standard library's HTML parser: self-contained,
its numbers those of ``results.json``, a refusal naming its checks, and no patient identifier."""

import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
from PIL import Image

from echolite.data.phantom import make_phantom_loop, phantom_contraction
from echolite_edge.labels import COLORS, LA
from echolite_edge.loop_report import REPORT
from tests.helpers import ReplaySegmenter, replay_library_segmenter

SPACING_MM = 1.2  # of the 160 × 120 frames below: the phantom's heart at a plausible size


class _Page(HTMLParser):
    """What a test reads of a report: every tag's attributes, the text of each table row (by class) and all text."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.rows, self.text, self._row = [], [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self._row = (dict(attrs).get("class"), [])
        elif tag == "td" and self._row is not None:
            self._row[1].append("")

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._row is not None and self._row[1]:
            self._row[1][-1] += data

    def cells(self, kind: str) -> list[list[str]]:
        return [cells for row_class, cells in self.rows if row_class == kind]


def _frames(count: int) -> np.ndarray:
    """Gray 160 × 120 frames (not square, as a scanner's): the report must keep that shape."""
    y, x = np.mgrid[:160, :120]
    return np.stack([(40 + x + y + 3 * t) % 256 for t in range(count)]).astype(np.uint8)


def _run(monkeypatch, tmp_path, labels, source, *options):
    import echolite_edge.cli as runner_cli
    from echolite_edge.cli import main

    monkeypatch.setattr(runner_cli, "EdgeSegmenter", lambda *args: ReplaySegmenter(labels, 0.9))
    model = tmp_path / "m.tflite"
    model.write_bytes(b"stand-in")
    out = tmp_path / "out"
    assert main(["run", str(model), str(source), "--out", str(out), "--cine", *options]) == 0
    return out, json.loads((out / "results.json").read_text())


def _beating(frames=62):
    return make_phantom_loop(phantom_contraction(frames, 40, 90, 0.8), seed=2, size=128)[1]


def _self_contained(text: str, page: _Page) -> list[bytes]:
    """No address, script or font from outside; every image a data: PNG. Returns the PNGs."""
    lowered = re.sub(r"data:image/png;base64,[a-z0-9+/=]+", "", text.lower())  # base64 may hold "//"
    assert "http:" not in lowered and "https:" not in lowered and "//" not in lowered
    assert "@import" not in lowered and "url(" not in lowered and "@font-face" not in lowered
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "iframe", "object", "embed")]
    assert not [attrs for _, attrs in page.tags if "href" in attrs]
    sources = [attrs["src"] for tag, attrs in page.tags if "src" in attrs]
    assert sources and all(src.startswith("data:image/png;base64,") for src in sources)
    return [base64.b64decode(src.split(",", 1)[1]) for src in sources]


def test_a_passing_loop_gives_a_page_with_the_numbers_of_results_json(tmp_path, monkeypatch):
    labels = _beating()
    failing = (20, 33)
    for t in failing:
        labels[t][labels[t] == LA] = 0  # frames failing the anatomical criteria
    np.save(tmp_path / "loop.npy", _frames(len(labels)))
    out, results = _run(
        monkeypatch, tmp_path, labels, tmp_path / "loop.npy", "--fps", "40", "--spacing", str(SPACING_MM)
    )
    cine = results["cine"]
    assert cine["ef_percent"] is not None and len(cine["beats"]) == 2
    text = (out / REPORT).read_text()
    page = _Page(text)
    pngs = _self_contained(text, page)
    assert len(pngs) == 2 * len(cine["beats"])
    for png in pngs:  # each frame at its own aspect ratio, with the outlines in the palette's colours
        image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        assert image.shape[:2] == (160, 120)
        for label in COLORS:
            assert (image == COLORS[label]).all(axis=-1).any(), label
    rows = page.cells("beat")
    assert [row[1:3] for row in rows] == [[str(b["ed_frame"]), str(b["es_frame"])] for b in cine["beats"]]
    assert [row[4:] for row in rows] == [[f"{b[k]:.1f}" for k in ("edv", "esv", "ef_percent")] for b in cine["beats"]]
    assert page.cells("mean")[0][4:] == [f"{cine[k]:.1f}" for k in ("edv", "esv", "ef_percent")]
    assert page.cells("sd")[0][-1] == f"{cine['ef_sd']:.1f}"
    words = "".join(page.text)
    assert f"EF {cine['ef_percent']:.1f} ± {cine['ef_sd']:.1f} %" in words and "No EF" not in words
    assert "Research use only. Not a medical device" in words and "loop.npy" in words
    assert (
        f"{SPACING_MM:.4g} × {SPACING_MM:.4g} mm (row × column, from --spacing)" in words
        and "40 frames/s (from --fps)" in words
    )
    assert "m.tflite" in words and "user's own terms" in words
    assert all(f"{name} (" in words for name in ("LV", "MYO", "LA"))  # the legend
    checks = {c["check"]: c for c in cine["loop_qc"]["checks"]}
    for row in page.cells("passed") + page.cells("not-run"):
        assert row[2] == checks[row[0]]["value"] + checks[row[0]]["reason"] and row[3] == checks[row[0]]["threshold"]
    assert len(page.cells("passed")) == sum(c["passed"] is True for c in checks.values())
    svg = [tag for tag, _ in page.tags if tag in ("svg", "polyline")]
    assert svg == ["svg", "polyline"]
    crosses = [a for tag, a in page.tags if tag == "path" and a.get("class") == "anatomy"]
    assert len(crosses) == len(failing) and "2 of 62 frames fail the anatomical criteria" in words


def test_a_refused_loop_says_no_ef_and_names_each_failing_check(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    labels = make_phantom_loop(rng.permutation(np.linspace(0, 1, 60)), seed=3, size=128)[1]  # no rhythm
    loop = tmp_path / "loop <i>&amp;.npy"  # a name that is HTML: inserted as text
    np.save(loop, _frames(len(labels)))
    out, results = _run(monkeypatch, tmp_path, labels, loop, "--fps", "50")
    cine = results["cine"]
    failed = [c for c in cine["loop_qc"]["checks"] if c["passed"] is False]
    assert cine["ef_percent"] is None and {c["check"] for c in failed} >= {"rhythm"}
    text = (out / REPORT).read_text()
    page = _Page(text)
    _self_contained(text, page)
    words = "".join(page.text)
    assert "No EF" in words and "no heartbeat rhythm" in words
    assert "Loop report: loop <i>&amp;.npy" in words and "i" not in [tag for tag, _ in page.tags]
    assert [row[0] for row in page.cells("failed")] == [c["check"] for c in failed]
    for check in failed:
        assert f"{check['check']}: {check['reason']}" in words
    assert all(row[4:] == ["—"] * 3 for row in page.cells("beat")) and not page.cells("mean")
    withheld = [row for row in page.cells("passed") if row[0] in ("EF range", "volume range")]
    assert all(row[2] == "not shown: the loop gives no EF" for row in withheld)  # no number from a failing loop
    assert "pixel units" in words  # no pixel size given


def test_a_dicom_loop_is_named_by_file_and_instance_and_no_identifier_reaches_the_report(tmp_path, monkeypatch):
    from echolite.data.ultrasound_dicom import Region, write_ultrasound_dicom
    from tests.test_scanner_inputs import PLANTED

    labels = _beating(44)
    tissue = Region(0, 0, 119, 159, delta_x=SPACING_MM / 10, delta_y=SPACING_MM / 10)
    attributes = PLANTED | {"InstanceNumber": 7}
    dicom = write_ultrasound_dicom(
        tmp_path / "IM_0001.dcm", _frames(44), "MONOCHROME2", False, (tissue,), 25, None, attributes
    )
    out, results = _run(monkeypatch, tmp_path, labels, dicom)
    text = (out / REPORT).read_text()
    words = "".join(_Page(text).text)
    assert "IM_0001.dcm (instance 7)" in words and "frames/s (from FrameTime)" in words
    assert f"{SPACING_MM:.4g} × {SPACING_MM:.4g} mm" in words and results["loops"][0]["spacing_from"] in words
    planted = {part for value in PLANTED.values() for part in value.replace("^", " ").split()}
    assert not [word for word in planted if word.lower() in text.lower()]


def test_measure_sequence_writes_the_same_report(tmp_path, monkeypatch):
    from echolite.inference import MaskSpec
    from echolite.workflows.measure import measure_cine

    labels = _beating()
    replay_library_segmenter(monkeypatch, labels)
    np.save(tmp_path / "loop.npy", _frames(len(labels)))
    spec = MaskSpec(tmp_path / "m.keras")
    report = measure_cine(spec, tmp_path / "loop.npy", SPACING_MM, tmp_path / "cine", fps=40)
    cine = report.loop.as_dict()
    text = (tmp_path / "cine" / REPORT).read_text()
    page = _Page(text)
    for png in _self_contained(text, page):
        assert Image.open(io.BytesIO(png)).size == (120, 160)  # the frame's own shape, from the model's square grid
    rows = page.cells("beat")
    assert [row[6] for row in rows] == [f"{b['ef_percent']:.1f}" for b in cine["beats"]] and rows
    assert "loop.npy" in "".join(page.text) and "m.keras" in "".join(page.text)


def test_a_study_of_two_loops_gives_a_report_per_loop(tmp_path, monkeypatch):
    from echolite.data.ultrasound_dicom import write_ultrasound_dicom

    labels = _beating(44)
    study = tmp_path / "study"
    study.mkdir()
    for name in ("IM_0001", "IM_0002"):
        write_ultrasound_dicom(study / name, _frames(44), "MONOCHROME2", False, (), 25)
    out, results = _run(monkeypatch, tmp_path, labels, study)
    assert sorted(p.name for p in out.glob("*.html")) == ["report-IM_0001.html", "report-IM_0002.html"]
    for entry, other in zip(results["loops"], reversed(results["loops"])):
        words = "".join(_Page((out / f"report-{entry['file']}.html").read_text()).text)
        assert f"Loop report: {entry['name']}" in words and other["file"] not in words  # each page its own loop
