"""The page a clinician reads about one cine loop: ``report.html``, written beside the outputs of
``echolite-edge run ... --cine`` and ``echolite measure MODEL --sequence LOOP --out DIR``.

One self-contained HTML file per loop (the standard library, numpy and Pillow only, as everything on the device):
the source and the model, a "research use only" line, the ED and ES frames of each beat with the LV, MYO and LA
outlines (the colours of ``labels.py``) at the frame's own aspect ratio, the LV area curve over time as an inline SVG
with the beats, ED, ES and the frames that failed quality control marked, EDV, ESV and EF per beat with their mean
and SD (or "no EF" and each failing check in words), and the loop QC table. Images are embedded as ``data:`` PNGs;
there is no script, font or address from outside, so it opens offline and prints on A4. Every text inserted is
escaped. The numbers are those of the loop's ``cine`` section of ``results.json`` (``LoopReport.as_dict()``), so
the page and the file cannot disagree. Nothing that identifies a patient is written: a loop is named by its file
name (and DICOM instance number) only.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
from PIL import Image

from echolite_edge import __version__
from echolite_edge.cine import CineFrame, shown_frame_indices
from echolite_edge.files import write_atomically
from echolite_edge.frames import output_stem
from echolite_edge.labels import COLORS, LA, LABELS, LV, MYO, STRUCTURE_NAMES
from echolite_edge.loop_qc import CHECKS
from echolite_edge.morphology import dilate, erode
from echolite_edge.outputs import gray8, map_on_threads
from echolite_edge.png import png_bytes
from echolite_edge.pretrained import INT8
from echolite_edge.segmenter import read_metadata

REPORT = "report.html"
"""The report of a run with one loop; with several (a study folder), ``report-<loop's file stem>.html`` each."""
DISPLAY_ROWS = 420  # frames are shown at most this many pixels high (smaller ones at their own size)
RESEARCH_ONLY = (
    "Research use only. Not a medical device: not for diagnosis, treatment or any clinical decision. "
    "Every number here must be checked by a qualified reader on the images."
)
PASS_TEXT, FAIL_TEXT, NOT_RUN_TEXT = "passed", "failed", "not run"
ANATOMY_COLOR, OUTLIER_COLOR = "#d97706", "#7c3aed"  # frames failing the anatomical criteria; loop-QC outliers


@dataclass
class ShownFrame:
    """A frame the report shows: its gray pixels and labels (any sizes, e.g. the model's square grid), and the
    (rows, columns) of the frame as acquired, whose aspect ratio the picture keeps."""

    gray: np.ndarray
    mask: np.ndarray
    shape: tuple[int, int]


def report_name(stem: str | None) -> str:
    """``report.html`` for a run's only loop (``stem`` None), ``report-<stem>.html`` for one of several."""
    return REPORT if stem is None else f"report-{stem}.html"


def render_report(
    cine: dict,
    frames: dict[int, ShownFrame],
    source: dict,
    model: dict,
    frame_failures: list[list[str]] | None = None,
    names: list[str] | None = None,
) -> str:
    """The HTML page of one loop. ``cine``: its ``LoopReport.as_dict()``; ``frames``: frame index → the frame
    (``shown_frame_indices``); ``source``: ``name``, ``frames``, ``size`` (rows, columns), ``fps``, ``fps_from``,
    ``spacing_mm`` (row, column), ``spacing_from``, ``notes`` (``sources.Loop.describe()``'s keys); ``model``:
    ``name``, ``license`` (None: not named) and optionally ``details``; ``frame_failures``: per frame the anatomical
    criteria it failed (None: not checked); ``names``: per frame its output name."""
    title = f"Loop report: {source['name']}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="research">{escape(RESEARCH_ONLY)}</p>',
        _verdict_section(cine),
        _source_section(cine, source, model),
        _beats_section(cine),
        _qc_section(cine, frame_failures, names),
        _frames_section(cine, frames, names),
        _curve_section(cine, frame_failures),
        _foot(cine),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _foot(cine: dict) -> str:
    return (
        f'<p class="foot">Made by echolite-edge {escape(__version__)}; {escape(cine["method"])}. '
        "Frame numbers count from 0, as in results.json.</p>"
    )


def write_report(path: Path, text: str) -> Path:
    """Write the page whole or not at all."""

    write_atomically(Path(path), text)
    return Path(path)


def write_loop_reports(
    folder: Path,
    results: dict,
    source: Path,
    model: Path,
    frames: Mapping[str, CineFrame],
    spacing: float | None = None,
) -> list[Path]:
    """The reports of ``echolite-edge run ... --cine`` into ``folder``, from its ``results.json`` (``results``) and
    its frames by name (``frames``: the gray frames and masks in memory). ``source``: the run's input (a loop of
    frame files is named by it); ``model``: the model file (its metadata may name the weights' license);
    ``spacing``: the run's ``--spacing`` (mm), where a loop carries no pixel size of its own. One loop:
    ``report.html``; several (a study folder): ``report-<file stem>.html`` each. Returns the files written."""

    about_model = describe_model(model) | {"details": _model_details(results)}
    written = []
    for stem, cine, names, described in _loops_of(results, Path(source)):
        shown = {i: frames[names[i]] for i in shown_frame_indices(cine)}
        pictures = {i: ShownFrame(f.gray, f.mask(), f.gray.shape) for i, f in shown.items()}
        about = dict(described, frames=len(names))
        about.setdefault("size", list(frames[names[0]].gray.shape))
        about.setdefault("fps_from", cine.get("fps_from"))
        if not about.get("spacing_mm") and spacing is not None:
            about.update(spacing_mm=[spacing, spacing], spacing_from="--spacing")
        failures = [frames[n].failed for n in names]
        failures = None if None in failures else failures  # QC off
        page = render_report(cine, pictures, about, about_model, failures, names)
        written.append(write_report(folder / report_name(stem), page))
    return written


def _loops_of(results: dict, source: Path):
    """(file stem or None for the run's only loop, its ``cine``, its frame names, what is known of its source) per
    loop measured."""

    loops = results.get("loops") or []
    if "cine" in results:
        if loops:
            (entry,) = loops
            yield None, results["cine"], entry["masks"], _described(entry)
        else:
            names = [frame["name"] for frame in results["frames"]]
            yield None, results["cine"], names, {"name": source.name}
        return
    for entry in loops:
        if "cine" in entry:
            yield output_stem(Path(entry["file"])), entry["cine"], entry["masks"], _described(entry)


def _described(entry: dict) -> dict:
    keys = ("name", "size", "fps_from", "spacing_mm", "spacing_from", "notes")
    return {key: entry[key] for key in keys if entry.get(key) is not None}


def describe_model(model: Path) -> dict:
    """The model as a report names it: a shipped model by its name, else by its file or folder name; its weights'
    license from the export metadata (a run folder's: its int8 export's), where one is named."""
    model = Path(model)
    exported = model if model.suffix == ".tflite" else model / INT8 if model.is_dir() else None
    metadata = read_metadata(exported) if exported is not None else {}
    return {"name": metadata.get("shipped_model") or model.name, "license": weights_license(metadata)}


def weights_license(metadata: dict) -> str | None:
    """The weights' license where the export metadata names one."""
    for key in ("license", "weights_license"):
        if isinstance(metadata.get(key), str) and metadata[key].strip():
            return metadata[key].strip()
    return None


def _model_details(results: dict) -> str:
    details = []
    if results.get("ensemble"):
        details.append("ensemble with " + ", ".join(Path(p).name for p in results["ensemble"]))
    if results.get("tta", "none") != "none":
        details.append(f"test-time augmentation {results['tta']}")
    return "; ".join(details)


def _verdict_section(cine: dict) -> str:
    unit = cine["unit"]
    if cine["ef_percent"] is None:
        failed = [c for c in cine["loop_qc"]["checks"] if c["passed"] is False]
        items = [f"<li><b>{escape(c['check'])}</b>: {escape(c['reason'])}</li>" for c in failed]
        if not items:
            items = [f"<li>{escape(cine['ef_withheld'] or 'no beat measured')}</li>"]
        return (
            '<section class="verdict refused"><h2>No EF</h2>'
            "<p>The ejection fraction is not given: this loop fails the loop quality control. "
            "Why, check by check:</p>"
            f"<ul>{''.join(items)}</ul></section>"
        )
    beats = [b for b in cine["beats"] if "ef_percent" in b]
    if cine["ef_sd"] is not None:
        ef = f"EF {_one(cine['ef_percent'])} ± {_one(cine['ef_sd'])} %"
        note = f"mean ± SD of {len(beats)} beats"
    else:
        ef = f"EF {_one(cine['ef_percent'])} %"
        note = "one beat only; guidelines average about 3"
    volumes = f"EDV {_one(cine['edv'])} {unit}, ESV {_one(cine['esv'])} {unit} (means over beats)"
    return (
        f'<section class="verdict given"><h2 class="ef">{escape(ef)}</h2>'
        f"<p>{escape(note)}; {escape(volumes)}; the loop passes every loop check that ran.</p></section>"
    )


def _source_section(cine: dict, source: dict, model: dict) -> str:
    rows, cols = source["size"]
    fps = cine["fps"]
    rate = f"{fps:.4g} frames/s (from {source.get('fps_from') or 'unknown'})" if fps else cine["frame_rate"]
    spacing = source.get("spacing_mm")
    pixel = (
        f"{spacing[0]:.4g} × {spacing[1]:.4g} mm (row × column, from {source.get('spacing_from') or 'unknown'})"
        if spacing
        else "unknown: volumes in pixel units, the EF (a ratio) needs none"
    )
    rhythm = next((c for c in cine["loop_qc"]["checks"] if c["check"] == "rhythm"), {"passed": True})
    heart = f"{cine['heart_rate_bpm']:.0f} /min" if cine["heart_rate_bpm"] else "not measured"
    if rhythm["passed"] is False:
        heart = "not given: the loop fails the rhythm check"
    license_ = model.get("license") or "not named in the model's metadata: the weights are under the user's own terms"
    entries = [
        ("Loop", source["name"]),
        ("Frames", f"{source['frames']} of {rows} × {cols} pixels"),
        ("Frame rate", rate),
        ("Pixel size", pixel),
        ("Heart rate", heart),
        ("Model", model["name"]),
        ("Weights' license", license_),
        ("Software", f"echolite-edge {__version__}"),
    ]
    entries += [("Model options", model["details"])] if model.get("details") else []
    entries += [("Reader's note", note) for note in source.get("notes") or ()]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in entries)
    return f'<section class="keep"><h2>Source and model</h2><table class="facts">{table}</table></section>'


def _beats_section(cine: dict) -> str:
    unit, given = cine["unit"], cine["ef_percent"] is not None
    head = (
        "<tr><th>Beat</th><th>ED frame</th><th>ES frame</th><th>Cycle</th>"
        f"<th>EDV ({escape(unit)})</th><th>ESV ({escape(unit)})</th><th>EF (%)</th></tr>"
    )
    rows = []
    for number, beat in enumerate(cine["beats"], 1):
        cycle = f"{beat['cycle_frames']} frames" if beat["cycle_frames"] is not None else "to the loop's end"
        numbers = [_one(beat[k]) for k in ("edv", "esv", "ef_percent")] if "edv" in beat else ["—"] * 3
        cells = [str(number), str(beat["ed_frame"]), str(beat["es_frame"]), cycle, *numbers]
        rows.append('<tr class="beat">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    if given:
        mean = ["mean", "", "", "", _one(cine["edv"]), _one(cine["esv"]), _one(cine["ef_percent"])]
        rows.append('<tr class="mean">' + "".join(f"<td>{escape(c)}</td>" for c in mean) + "</tr>")
        if cine["ef_sd"] is not None:
            edv = [b["edv"] for b in cine["beats"]]
            esv = [b["esv"] for b in cine["beats"]]
            sd = ["SD", "", "", "", _one(np.std(edv, ddof=1)), _one(np.std(esv, ddof=1)), _one(cine["ef_sd"])]
            rows.append('<tr class="sd">' + "".join(f"<td>{escape(c)}</td>" for c in sd) + "</tr>")
    if not rows:
        rows.append(f'<tr><td colspan="7">{escape(cine["ef_withheld"] or "no beat found")}</td></tr>')
    notes = (
        ""
        if given or not cine["beats"]
        else "<p>The beats the analysis found; the loop fails, so no volume or EF is given for any.</p>"
    )
    dropped = "".join(f"<li>{escape(d)}</li>" for d in cine["beats_dropped"])
    dropped = (
        f"<p>Beats found but not measured (numbered among all the beats found):</p><ul>{dropped}</ul>"
        if dropped
        else ""
    )
    table = f'<table class="beats"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
    return f"<section><h2>Beats</h2>{table}{notes}{dropped}</section>"


def _frames_section(cine: dict, frames: dict[int, ShownFrame], names: list[str] | None) -> str:
    pictures = dict(
        zip(frames, map_on_threads(lambda shown: _png_uri(outlined(shown)), list(frames.values()), "report"))
    )

    def figure(index: int, caption: str) -> str:
        label = f"{caption}: frame {index}" + (f" ({names[index]})" if names else "")
        if index not in pictures:
            return f'<figure class="frame"><figcaption>{escape(label)}: not available</figcaption></figure>'
        rows, cols = frames[index].shape
        return (
            f'<figure class="frame"><img src="{pictures[index]}" alt="{escape(label)}" '
            f'style="aspect-ratio: {cols} / {rows}"><figcaption>{escape(label)}</figcaption></figure>'
        )

    if cine["beats"]:
        pairs = [
            (
                f"Beat {n}",
                figure(b["ed_frame"], f"Beat {n}, end-diastole"),
                figure(b["es_frame"], f"Beat {n}, end-systole"),
            )
            for n, b in enumerate(cine["beats"], 1)
        ]
        intro = "End-diastole (ED) and end-systole (ES) of each beat, with the outlines the model drew."
        if cine["ef_percent"] is None:
            intro = "The frames the analysis took for end-diastole (ED) and end-systole (ES) of each beat, with the "
            intro += "outlines the model drew: the loop fails, so they give no EF; shown for review."
    else:
        largest, smallest = int(np.argmax(cine["loop_qc"]["lv_area"])), int(np.argmin(cine["loop_qc"]["lv_area"]))
        pairs = [("", figure(largest, "Largest LV area"), figure(smallest, "Smallest LV area"))]
        intro = "No beat was found: the frames with the largest and the smallest LV area, with the model's outlines."
    rows = [f'<div class="pair">{ed}{es}</div>' for _, ed, es in pairs]
    head = f'<div class="keep"><h2>Frames</h2><p>{escape(intro)}</p>{legend_html()}{rows[0]}</div>'
    return f"<section>{head}{''.join(rows[1:])}</section>"


def legend_html() -> str:
    """The structure colours of ``labels.COLORS`` with their names."""
    items = "".join(
        f'<span class="key"><span class="swatch" style="border-color: {_hex(COLORS[label])}"></span>'
        f"{escape(LABELS[label])} ({escape(STRUCTURE_NAMES[label])})</span>"
        for label in (LV, MYO, LA)
    )
    return f'<p class="legend">Outlines: {items}</p>'


def outlined(shown: ShownFrame, max_rows: int = DISPLAY_ROWS) -> np.ndarray:
    """The frame in gray at its own aspect ratio (at most ``max_rows`` high) with each structure's outline in its
    colour, the LV drawn last (on top)."""
    rows = min(shown.shape[0], max_rows)
    cols = max(1, round(rows * shown.shape[1] / shown.shape[0]))
    gray = np.asarray(Image.fromarray(gray8(shown.gray)).resize((cols, rows), Image.BILINEAR))
    mask = np.asarray(Image.fromarray(np.asarray(shown.mask, np.uint8)).resize((cols, rows), Image.NEAREST))
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    width = max(2, rows // 160)
    lv = mask == LV
    for label in (MYO, LA):  # their borders with the LV are the LV's outline: one colour, not two side by side
        rgb[_outline(mask == label, width, lv)] = COLORS[label]
    rgb[_outline(lv, width)] = COLORS[LV]
    return rgb


def _outline(region: np.ndarray, width: int, beside: np.ndarray | None = None) -> np.ndarray:
    """The pixels of ``region`` on its border, thickened inward to about ``width`` pixels; with ``beside``, not
    where the border runs along that region."""

    inside = region if beside is None else region | beside
    edge = region & ~erode(inside, border=False)
    for _ in range(width - 1):
        edge = dilate(edge) & region | edge
    return edge


def _png_uri(rgb: np.ndarray) -> str:
    """An embedded PNG (``png.png_bytes``, fast as the run's other images: Pillow at its default level took 20 ms
    for a 420-row frame, most of the report's time)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def _curve_section(cine: dict, frame_failures: list[list[str]] | None) -> str:
    unit = "mm²" if cine["unit"] == "mL" else "pixel units"
    return (
        f'<section class="keep"><h2>LV area over the loop</h2>{area_curve_svg(cine, frame_failures)}'
        f'<p class="legend">LV area ({escape(unit)}) per frame. '
        '<span class="key"><span class="band"></span>a beat (ED to the next ED)</span> '
        '<span class="key"><b class="ed">┆ ED</b> end-diastole</span> '
        '<span class="key"><b class="es">┆ ES</b> end-systole</span> '
        f'<span class="key"><b style="color: {ANATOMY_COLOR}">✕</b> fails the anatomical criteria</span> '
        f'<span class="key"><b style="color: {OUTLIER_COLOR}">○</b> disagrees with its neighbours (loop QC)</span>'
        "</p></section>"
    )


def area_curve_svg(cine: dict, frame_failures: list[list[str]] | None, width: int = 900, height: int = 280) -> str:
    """The LV area curve as an inline SVG drawn from numbers: the beats shaded, ED and ES marked, and the frames
    that failed the anatomical criteria (a cross under the axis) or disagree with their neighbours (a ring)."""
    areas = np.asarray(cine["loop_qc"]["lv_area"], float)
    n = len(areas)
    left, right, top, bottom = 64, 16, 34, 54  # room above for the ED labels, below for the frame axis
    pad = 0.12 * float(areas.max() - areas.min())  # room for the ED and ES marks above and below the curve
    ticks = _nice_ticks(max(float(areas.min()) - pad, 0.0), float(areas.max()) + pad)
    low, high = ticks[0], ticks[-1]
    x = lambda t: left + (width - left - right) * (t / max(n - 1, 1))
    y = lambda v: top + (height - top - bottom) * (1 - (v - low) / (high - low))
    parts = [f'<svg class="curve" viewBox="0 0 {width} {height}" role="img" aria-label="LV area over the loop">']
    for number, beat in enumerate(cine["beats"], 1):
        end = beat["ed_frame"] + beat["cycle_frames"] if beat["cycle_frames"] is not None else n - 1
        parts.append(
            f'<rect x="{x(beat["ed_frame"]):.1f}" y="{top}" width="{x(end) - x(beat["ed_frame"]):.1f}" '
            f'height="{height - top - bottom}" class="band{number % 2}"/>'
        )
    for value in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" class="tick" text-anchor="end">{value:g}</text>'
        )
    for t in _frame_ticks(n):
        parts.append(f'<text x="{x(t):.1f}" y="{height - bottom + 16}" class="tick" text-anchor="middle">{t}</text>')
    seconds = f" (at {cine['fps']:.4g} frames/s: {(n - 1) / cine['fps']:.2f} s)" if cine["fps"] else ""
    parts.append(
        f'<text x="{(left + width - right) / 2:.1f}" y="{height - 4}" class="axis" text-anchor="middle">'
        f"frame{escape(seconds)}</text>"
    )
    points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in enumerate(areas))
    parts.append(f'<polyline points="{points}" class="area"/>')
    for t in cine["loop_qc"]["outlier_frames"]:
        parts.append(f'<circle cx="{x(t):.1f}" cy="{y(areas[t]):.1f}" r="4.5" class="outlier"/>')
    for t, failed in enumerate(frame_failures or ()):
        if failed:
            cx, cy = x(t), height - bottom + 26
            parts.append(f'<path d="M{cx - 4:.1f},{cy - 4} l8,8 m0,-8 l-8,8" class="anatomy"/>')
    for number, beat in enumerate(cine["beats"], 1):  # a dashed line per ED and ES, labelled above the plot
        for phase, t, label_y in (("ED", beat["ed_frame"], top - 20), ("ES", beat["es_frame"], top - 6)):
            cx, kind = x(t), phase.lower()
            parts.append(
                f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top}" y2="{height - bottom}" class="line {kind}"/>'
                f'<circle cx="{cx:.1f}" cy="{y(areas[t]):.1f}" r="4" class="{kind}"/>'
                f'<text x="{cx:.1f}" y="{label_y}" class="mark {kind}" text-anchor="middle">{phase}{number}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round y-axis ticks (steps of 1, 2 or 5 × a power of ten) from at or below ``low`` to at or above
    ``high`` (a flat curve gets a range too)."""
    if high <= low:
        low, high = low - max(abs(low) * 0.1, 1.0), high + max(abs(high) * 0.1, 1.0)
    raw = (high - low) / (count - 1)
    power = 10 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = np.floor(low / step) * step, np.ceil(high / step) * step
    return [float(first + k * step) for k in range(int(np.round((last - first) / step)) + 1)]


def _frame_ticks(n: int) -> list[int]:
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000) if n / s <= 12) if n <= 12000 else n // 10
    return list(range(0, n, step))


def _qc_section(cine: dict, frame_failures: list[list[str]] | None, names: list[str] | None) -> str:
    head = "<tr><th>Check</th><th>Result</th><th>This loop</th><th>Passes when</th></tr>"
    rows = []
    for check in sorted(cine["loop_qc"]["checks"], key=lambda c: CHECKS.index(c["check"])):
        verdict = {True: PASS_TEXT, False: FAIL_TEXT, None: NOT_RUN_TEXT}[check["passed"]]
        why = f'<div class="why">{escape(check["reason"])}</div>' if check["reason"] else ""
        rows.append(
            f'<tr class="{verdict.replace(" ", "-")}"><td>{escape(check["check"])}</td><td>{verdict}</td>'
            f"<td>{escape(check.get('value', ''))}{why}</td><td>{escape(check.get('threshold', ''))}</td></tr>"
        )
    failing = [t for t, failed in enumerate(frame_failures or ()) if failed]
    listed = ""
    if failing:
        items = ", ".join(
            f"{t}" + (f" {names[t]}" if names else "") + f" ({', '.join(frame_failures[t])})" for t in failing[:40]
        )
        more = f" and {len(failing) - 40} more (results.json)" if len(failing) > 40 else ""
        listed = (
            f"<p>{len(failing)} of {len(frame_failures)} frames fail the anatomical criteria: "
            f"{escape(items + more)}.</p>"
        )
    return (
        "<section><h2>Loop quality control</h2>"
        "<p>Thresholds fixed before any loop was measured (docs/loops.md); a check that cannot run does not "
        f'withhold the EF.</p><table class="qc"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        f"{listed}</section>"
    )


def _one(value) -> str:
    """A volume or EF as the report shows it (and a test reads it back): one decimal."""
    return f"{float(value):.1f}"


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


STYLE = f"""
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1a1a1a;
  max-width: 1100px; margin: 0 auto; padding: 16px 24px; line-height: 1.4; }}
h1 {{ font-size: 1.5em; margin: 0.2em 0; }}
h2 {{ font-size: 1.2em; margin: 1em 0 0.4em; border-bottom: 1px solid #ccc; break-after: avoid; }}
.research {{ border: 2px solid #b91c1c; color: #7f1d1d; background: #fef2f2; padding: 6px 10px; font-weight: 600; }}
.verdict {{ padding: 4px 14px; border-radius: 4px; }}
.verdict h2 {{ border: none; font-size: 1.6em; margin: 0.3em 0; }}
.given {{ background: #ecfdf5; border: 2px solid #15803d; }}
.refused {{ background: #fef2f2; border: 2px solid #b91c1c; }}
.refused h2 {{ color: #b91c1c; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.92em; }}
th, td {{ border: 1px solid #d4d4d4; padding: 3px 7px; text-align: left; vertical-align: top; }}
.facts th {{ width: 11em; background: #f5f5f5; }}
.beats td:nth-child(n+5) {{ text-align: right; font-variant-numeric: tabular-nums; }}
tr.mean td, tr.sd td {{ font-weight: 600; background: #f5f5f5; }}
tr.failed td:nth-child(2) {{ color: #b91c1c; font-weight: 700; }}
tr.passed td:nth-child(2) {{ color: #15803d; font-weight: 700; }}
tr.not-run td:nth-child(2) {{ color: #737373; }}
.pair {{ display: flex; gap: 12px; break-inside: avoid; page-break-inside: avoid; margin-bottom: 10px; }}
.frame {{ flex: 1 1 0; margin: 0; }}
.frame img {{ width: 100%; height: auto; display: block; background: #000; }}
figcaption {{ font-size: 0.9em; color: #333; }}
.legend {{ font-size: 0.9em; }}
.key {{ margin-right: 1.2em; white-space: nowrap; }}
.swatch {{ display: inline-block; width: 1.1em; height: 0.8em; border: 3px solid; margin-right: 0.3em;
  vertical-align: middle; }}
.band {{ display: inline-block; width: 1.4em; height: 0.8em; background: #e0ecff; border: 1px solid #bcd;
  vertical-align: middle; margin-right: 0.3em; }}
.curve {{ width: 100%; height: auto; }}
.curve .band1 {{ fill: #e0ecff; }} .curve .band0 {{ fill: #f1f5fb; }}
.curve .grid {{ stroke: #ddd; }} .curve .tick {{ font-size: 12px; fill: #444; }}
.curve .axis {{ font-size: 13px; fill: #222; }}
.curve .area {{ fill: none; stroke: #222; stroke-width: 1.6; }}
.curve .ed {{ fill: {_hex(COLORS[LV])}; stroke: {_hex(COLORS[LV])}; }}
.curve .es {{ fill: #1d4ed8; stroke: #1d4ed8; }}
.curve .line {{ stroke-width: 1.2; stroke-dasharray: 4 3; }}
.curve text.mark {{ stroke: none; }}
.curve .mark {{ font-size: 12px; font-weight: 700; }}
b.ed {{ color: {_hex(COLORS[LV])}; }} b.es {{ color: #1d4ed8; }}
.curve .outlier {{ fill: none; stroke: {OUTLIER_COLOR}; stroke-width: 2; }}
.curve .anatomy {{ stroke: {ANATOMY_COLOR}; stroke-width: 2.2; fill: none; }}
.why {{ margin-top: 3px; color: #7f1d1d; }}
tr.not-run .why {{ color: #555; }}
.foot {{ font-size: 0.85em; color: #555; margin-top: 1.5em; }}
@page {{ size: A4; margin: 12mm; }}
@media print {{
  body {{ max-width: none; padding: 0; font-size: 10pt; }}
  .keep, .verdict, .research, tr, svg {{ break-inside: avoid; page-break-inside: avoid; }}
  th, td {{ padding: 2px 6px; }}
  .pair {{ break-inside: avoid; page-break-inside: avoid; }}
  .frame img {{ max-height: 64mm; object-fit: contain; }}
  * {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
}}
"""
