"""Does a scanner's DICOM give the masks and volumes of the same frames as PNG? Real ED and ES frames are written as
the scanner would write them (one multi-frame JPEG-baseline YBR_FULL_422 DICOM, each frame padded into a larger
scanner frame with a text band and an ECG strip, the image in a tissue region at its known pixel size, patient
attributes planted), then ``echolite-edge run --cine`` segments the PNGs (with ``--spacing``) and the DICOM (whose
region gives the pixel size and the crop), and the two are compared: Dice per structure per frame, EDV, ESV and EF,
and that no planted identifier reached the output; then EDV, ESV and EF through the library (``measure_cine``).

    python benchmarks/dicom_parity.py runs/edge-rt/model_int8.tflite \\
        ../shared/data/camus4ch/img/patient0170_4CH_ED.png ../shared/data/camus4ch/img/patient0170_4CH_ES.png \\
        --spacing 0.154 --out /tmp/dicom-parity

Everything it writes goes under ``--out`` (a new or empty folder outside the repository).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PLANTED = {"PatientName": "Parity^Planted", "PatientID": "PID-20261207", "InstitutionName": "Planted Hospital"}
PAD = (70, 40, 50, 60)  # pixels above (the text band), left, right and below (the ECG strip) the image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("frames", type=Path, nargs="+", help="gray PNG frames of one loop, in order (ED, ES)")
    parser.add_argument("--spacing", type=float, required=True, help="their square pixel size in mm")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--quality",
        type=int,
        default=95,
        help="JPEG quality of the DICOM's frames (default 95; 0: uncompressed, the reader without JPEG's loss)",
    )
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out}: not empty")
    from echolite.data.ultrasound_dicom import Region, write_ultrasound_dicom

    pngs = args.out / "png"
    pngs.mkdir(parents=True)
    for i, frame in enumerate(args.frames):
        shutil.copy(frame, pngs / f"frame{i}.png")
    gray = np.stack([np.asarray(Image.open(f).convert("L")) for f in args.frames])
    scanner = np.stack([_scanner_frame(g) for g in gray])
    rows, cols = gray.shape[1:]
    top, left = PAD[0], PAD[1]
    region = Region(left, top, left + cols - 1, top + rows - 1, args.spacing / 10, args.spacing / 10)
    dicom = args.out / "dicom" / "frame.dcm"
    dicom.parent.mkdir()
    rgb = np.repeat(scanner[..., None], 3, axis=-1)
    jpeg = bool(args.quality)
    write_ultrasound_dicom(dicom, rgb, "YBR_FULL_422", jpeg, (region,), 20.0, None, PLANTED, args.quality or 95)
    png_run, _ = _run(args.model, pngs, args.out / "png-out", "--spacing", str(args.spacing))
    dicom_run, dicom_text = _run(args.model, dicom, args.out / "dicom-out")
    _report(args, png_run, dicom_run, dicom_text)
    _library(args, pngs, dicom)


def _library(args, pngs: Path, dicom: Path) -> None:
    """The same comparison through the library: ``echolite measure MODEL --sequence`` on the two inputs."""
    from echolite.inference import MaskSpec
    from echolite.workflows.measure import measure_cine

    png = measure_cine(MaskSpec(args.model), pngs, args.spacing)
    loop = measure_cine(MaskSpec(args.model), dicom)
    first_beats = [report.loop.analysis.beats[0] for report in (png, loop) if report.loop.analysis.beats]
    for key in ("edv", "esv", "ef") if len(first_beats) == 2 else ():
        a, b = (getattr(beat, key) for beat in first_beats)
        print(f"library first beat {key}: PNG {a:.2f}, DICOM {b:.2f} ({100 * (b - a) / a:+.2f} %)")
    print(f"library DICOM loop: {loop.loop_fps:.4g} frames/s from {loop.loop_fps_from}; notes: {'; '.join(loop.notes)}")


def _scanner_frame(gray: np.ndarray) -> np.ndarray:
    """The image inside a scanner's frame: a text band above, an ECG-like trace below, black around."""
    top, left, right, bottom = PAD
    columns = gray.shape[1] + left + right
    frame = np.zeros((gray.shape[0] + top + bottom, columns + columns % 2), np.uint8)  # even: YBR_FULL_422 pairs
    frame[top : top + gray.shape[0], left : left + gray.shape[1]] = gray
    canvas = Image.fromarray(frame)
    draw = ImageDraw.Draw(canvas)
    draw.text((10, 10), "ECHO 4CH  HR 72  FR 50 Hz  depth 16 cm  gain 52", fill=255)
    draw.text((10, 35), "M3S  TIS 0.7  MI 1.2", fill=255)
    xs = np.arange(10, frame.shape[1] - 10)
    ys = frame.shape[0] - bottom // 2 - 12 * np.exp(-(((xs % 90) - 45) ** 2) / 8.0)
    draw.line(list(zip(xs.tolist(), ys.tolist())), fill=200)
    return np.asarray(canvas)


def _run(model: Path, source: Path, out: Path, *options: str) -> tuple[dict, str]:
    from echolite_edge.cli import main as edge

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = edge(["run", str(model), str(source), "--out", str(out), "--cine", *options])
    if code != 0:
        raise SystemExit(f"echolite-edge run {source} failed: {printed.getvalue()}")
    results = json.loads((out / "results.json").read_text())
    results["masks"] = [np.asarray(Image.open(out / frame["mask"])) // 85 for frame in results["frames"]]
    return results, printed.getvalue()


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    both = a.sum() + b.sum()
    return 1.0 if both == 0 else float(2 * (a & b).sum() / both)


def _report(args, png_run: dict, dicom_run: dict, dicom_text: str) -> None:
    frames = ", ".join(f.name for f in args.frames)
    print(f"model {args.model}; frames {frames}; spacing {args.spacing} mm; JPEG quality {args.quality}")
    print(dicom_text.strip())
    for t, (a, b) in enumerate(zip(png_run["masks"], dicom_run["masks"])):
        if a.shape != b.shape:
            raise SystemExit(f"frame {t}: PNG mask {a.shape}, DICOM mask {b.shape}: the crop is wrong")
        dice = {name: _dice(a == label, b == label) for label, name in ((1, "LV"), (2, "MYO"), (3, "LA"))}
        same = float((a == b).mean())
        print(f"frame {t}: Dice " + ", ".join(f"{k} {v:.4f}" for k, v in dice.items()) + f"; pixels equal {same:.4f}")
    png, dicom = png_run["cine"], dicom_run["cine"]
    for key in ("edv", "esv", "ef_percent"):
        if png[key] is None or dicom[key] is None:
            print(f"{key}: PNG {png[key]}, DICOM {dicom[key]} (withheld by QC)")
            continue
        change = 100 * (dicom[key] - png[key]) / png[key]
        print(f"{key}: PNG {png[key]:.2f}, DICOM {dicom[key]:.2f} ({change:+.2f} %)")
    print(f"DICOM loop: {json.dumps(dicom_run['loops'][0], default=str)}")
    written = [p.read_bytes().decode("latin-1") for p in args.out.glob("*-out/**/*") if p.is_file()]
    leaked = [v for v in PLANTED.values() for text in written + [dicom_text] if v.split("^")[0] in text]
    print(f"planted identifiers found in outputs: {sorted(set(leaked)) or 'none'}")


if __name__ == "__main__":
    main()
