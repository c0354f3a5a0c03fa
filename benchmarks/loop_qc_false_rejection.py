"""How often the loop quality control (``echolite_edge.loop_qc``) refuses an EF for a loop that deserves one: its
false-rejection rate per check, on plausible loops built two ways.

- Phantom loops: the phantom's exact masks over several beats (``make_phantom_loop``) for several patients (seeds),
  heart rates and frame rates, as drawn and with each frame's LV outline moved by one pixel in or out at random
  (segmentation jitter); analysed with ``measure_loop`` (the per-frame anatomical verdicts included; no network).
- Real-image loops (with ``--data`` and ``--model``): per CAMUS patient, frames between its real ED and ES images
  following the phantom's contraction curve (systole in the first 40 % of each beat): ``--motion warp`` (default)
  moves both images part of the way along the optical flow from ED to ES (OpenCV's Farneback) and blends them,
  ``blend`` only cross-fades them (the model then jumps between the two outlines); each frame with its own small
  gain, noise and shift, at a drawn heart rate and frame rate, 2-3 beats, from a drawn
  point of the cycle; saved as a .npy stack under ``--out`` and run through the trained model with
  ``echolite-edge run MODEL LOOP.npy --cine --fps F --spacing S`` (and once more without ``--fps``). Use patients the
  model did not train on (edge-rt: trained on 0001-0160, so 0161-0200). The reference EF of a loop is the EF of the
  patient's expert ED and ES masks (single-plane disks, ES cut at the ED mitral plane).

Every loop here is plausible (rhythm 40-130 /min, EF of a real heart or the phantom's), so every rejection is a false
one. Nothing is written into the repository: ``--out`` must lie outside it.

    python benchmarks/loop_qc_false_rejection.py --out /tmp/loop-qc-warp \\
        --data ../shared/data/camus4ch --model runs/edge-rt/model_int8.tflite --patients 161-200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PHANTOM_HEART_RATES = (45, 60, 75, 100, 130, 170)
PHANTOM_FRAME_RATES = (25, 30, 50, 80)
PHANTOM_SPACING = (1.2, 1.2)  # the phantom's 0.6 mm at 256 pixels, on its 128 grid
LOOP_SIDE = 384  # real frames are resized so their longer side has this many pixels (the model sees 256)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the loops and results (outside the repo)")
    parser.add_argument("--data", type=Path, help="the camus4ch folder (img/, ref/)")
    parser.add_argument("--model", type=Path, help="an exported .tflite for the real-image loops")
    parser.add_argument("--patients", default="161-200", help="first-last patient numbers (default 161-200)")
    parser.add_argument("--phantom-seeds", type=int, default=10, help="phantom patients (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawn rates, phases and noise")
    parser.add_argument(
        "--motion", choices=("warp", "blend"), default="warp", help="how frames between ED and ES are made"
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == REPO or REPO in out.parents:
        parser.error(f"--out {args.out}: inside the repository; write derived data elsewhere")
    out.mkdir(parents=True, exist_ok=True)
    phantom = phantom_loops(args.phantom_seeds, args.seed)
    summary, records = {}, {"phantom": phantom}
    for kind in ("exact", "jittered"):
        summary[f"phantom, {kind} masks"] = summarise([r for r in phantom if r["kind"] == kind])
        print_summary(f"phantom loops, {kind} masks", summary[f"phantom, {kind} masks"])
    first, last = (int(v) for v in args.patients.split("-"))
    if args.data:
        summary["expert masks, LV shape"] = expert_shapes(args.data, range(first, last + 1))
        print_shapes(summary["expert masks, LV shape"])
    if args.data and args.model:
        records["real"] = real = real_loops(args.data, args.model, range(first, last + 1), out, args.seed, args.motion)
        for rate in ("given", "unknown"):
            summary[f"real, frame rate {rate}"] = summarise([r for r in real if r["rate"] == rate])
            print_summary(f"real-image loops, frame rate {rate}", summary[f"real, frame rate {rate}"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "loops.json").write_text(json.dumps(records, indent=2) + "\n")
    print(f"-> {out / 'summary.json'}")
    return 0


def phantom_loops(seeds: int, seed: int) -> list[dict]:
    from echolite.data.phantom import make_phantom_loop, phantom_contraction
    from echolite_edge.anatomy import failed_criteria
    from echolite_edge.loop import measure_loop

    rng, records = np.random.default_rng(seed), []
    for patient in range(seeds):
        for heart_rate in PHANTOM_HEART_RATES:
            for fps in PHANTOM_FRAME_RATES:
                beats, start = rng.uniform(2, 3), rng.uniform(0, 1)
                frames = int(beats * 60 * fps / heart_rate) + 1
                masks = make_phantom_loop(phantom_contraction(frames, fps, heart_rate, start), seed, patient)[1]
                for kind, loop in (("exact", masks), ("jittered", jitter(masks, rng))):
                    verdicts = [not failed_criteria(m) for m in loop]
                    report = measure_loop(loop, fps, PHANTOM_SPACING, True, verdicts)
                    records.append(record(report.as_dict(), kind=kind, heart_rate=heart_rate, fps=fps))
    return records


def jitter(masks: np.ndarray, rng) -> np.ndarray:
    """Each frame's endocardial border (LV against myocardium) moved one pixel out, in, or left, at random."""
    out = masks.copy()
    for frame, move in zip(out, rng.integers(0, 3, len(out))):
        lv, myo = frame == 1, frame == 2
        if move == 1:
            frame[_grown(lv) & myo] = 1
        elif move == 2:
            frame[lv & _grown(myo)] = 2
    return out


def _grown(region: np.ndarray) -> np.ndarray:
    grown = region.copy()
    grown[1:] |= region[:-1]
    grown[:-1] |= region[1:]
    grown[:, 1:] |= region[:, :-1]
    grown[:, :-1] |= region[:, 1:]
    return grown


def real_loops(data: Path, model: Path, patients, out: Path, seed: int, motion: str = "warp") -> list[dict]:
    from echolite.data.layouts import PNG_EXPORT_SPACING_MM
    from echolite_edge.clinical import ejection_fraction, pair_axes, volume_single_plane

    rng, records = np.random.default_rng(seed), []
    for number in patients:
        patient = f"patient{number:04d}"
        ed, es, masks, scale = _patient_frames(data, patient)
        spacing = PNG_EXPORT_SPACING_MM * scale  # the project's pixel size of the CAMUS PNG export
        axes = pair_axes(masks[0], masks[1], (spacing, spacing), (spacing, spacing))
        reference = ejection_fraction(*(volume_single_plane(a) for a in axes))
        heart_rate, fps, beats, start = (
            rng.uniform(45, 120),
            rng.choice([25, 30, 40, 50, 60, 80]),
            *rng.uniform((2, 0), (3, 1)),
        )
        loop = real_loop(ed, es, heart_rate, fps, beats, start, rng, motion)
        path = out / "loops" / f"{patient}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, loop)
        for rate in ("given", "unknown"):
            folder = out / "runs" / f"{patient}-{rate}"
            command = [sys.executable, "-m", "echolite_edge.cli", "run", str(model), str(path), "--out", str(folder)]
            command += ["--cine", "--spacing", f"{spacing:.4f}"] + (["--fps", str(fps)] if rate == "given" else [])
            subprocess.run(command, check=True, capture_output=True, text=True)
            cine = json.loads((folder / "results.json").read_text())["cine"]
            entry = record(cine, patient=patient, rate=rate, heart_rate=heart_rate, fps=float(fps))
            entry.update(reference_ef=reference, frames=len(loop), beats_drawn=beats)
            records.append(entry)
            print(f"{patient} {rate:>7}: {summary_line(entry)}", flush=True)
    return records


def expert_shapes(data: Path, patients) -> dict:
    """The LV shape measures of the loop QC on the expert ED and ES masks of ``patients``: how close the experts'
    own outlines come to the thresholds."""
    from PIL import Image

    from echolite.data.layouts import PNG_EXPORT_SPACING_MM
    from echolite_edge.clinical import long_axis
    from echolite_edge.loop_qc import limit, shape_measures, shape_problem

    pixel = (PNG_EXPORT_SPACING_MM, PNG_EXPORT_SPACING_MM)
    measures, failing = {"solidity": [], "axis_inside": [], "sphericity": []}, []
    for number in patients:
        for phase in ("ED", "ES"):
            mask = np.asarray(Image.open(data / "ref" / f"patient{number:04d}_4CH_{phase}_gt.png")) // 85
            axis = long_axis(mask, pixel)
            for name, value in zip(measures, shape_measures(mask, axis, pixel)):
                measures[name].append(value)
            problem = shape_problem(mask, axis, pixel)
            if problem:
                failing.append(f"patient{number:04d} {phase}: {problem}")
    return {
        "masks": len(measures["solidity"]),
        "failing": failing,
        "thresholds": {name: limit(name) for name in measures},
        **{
            name: {
                "min": float(np.min(v)),
                "p1": float(np.percentile(v, 1)),
                "median": float(np.median(v)),
                "max": float(np.max(v)),
            }
            for name, v in measures.items()
        },
    }


def print_shapes(shapes: dict) -> None:
    print(f"\nexpert masks: {shapes['masks']} ED/ES masks, {len(shapes['failing'])} fail the LV shape check")
    for name, threshold in shapes["thresholds"].items():
        m = shapes[name]
        print(
            f"  {name:<12} min {m['min']:.3f}  1st pct {m['p1']:.3f}  median {m['median']:.3f}  max {m['max']:.3f}"
            f"  (threshold {threshold})"
        )
    for line in shapes["failing"]:
        print(f"  {line}")


def _patient_frames(data: Path, patient: str):
    """The ED and ES images and expert masks, resized so the longer side is ``LOOP_SIDE`` pixels, and the scale
    of the new pixel (original pixels per new one)."""
    from PIL import Image

    images = [Image.open(data / "img" / f"{patient}_4CH_{p}.png").convert("L") for p in ("ED", "ES")]
    masks = [Image.open(data / "ref" / f"{patient}_4CH_{p}_gt.png") for p in ("ED", "ES")]
    scale = max(images[0].size) / LOOP_SIDE
    size = tuple(round(v / scale) for v in images[0].size)
    resized = [np.asarray(im.resize(size, Image.BILINEAR), np.float32) for im in images]
    labels = [np.asarray(m.resize(size, Image.NEAREST)) // 85 for m in masks]
    return resized[0], resized[1], labels, scale


def real_loop(ed, es, heart_rate, fps, beats, start, rng, motion: str = "warp") -> np.ndarray:
    """(T, H, W) uint8: ED and ES moved toward each other (``warp``) and blended by the contraction of each frame,
    each with its own gain (±10 %), noise (σ 4 gray levels) and shift (up to 2 pixels each way)."""
    from echolite.data.phantom import phantom_contraction

    contraction = phantom_contraction(int(beats * 60 * fps / heart_rate) + 1, fps, heart_rate, start)
    between = _warp_between(ed, es) if motion == "warp" else lambda c: (1 - c) * ed + c * es
    frames = []
    for c in contraction:
        frame = between(c) * rng.uniform(0.9, 1.1) + rng.normal(0, 4, ed.shape)
        frame = np.roll(frame, tuple(rng.integers(-2, 3, 2)), axis=(0, 1))
        frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
    return np.stack(frames)


def _warp_between(ed: np.ndarray, es: np.ndarray):
    """The frame at contraction c: ED carried the fraction c, ES the fraction 1 - c back, along the dense optical
    flow from ED to ES (Farneback on the speckle-smoothed images), blended (1 - c) : c."""
    import cv2

    smooth = [cv2.GaussianBlur(x.astype(np.float32), (0, 0), 2) for x in (ed, es)]
    flow = cv2.calcOpticalFlowFarneback(*smooth, None, 0.5, 4, 31, 5, 7, 1.5, 0)  # ED(x) ≈ ES(x + flow)
    rows, cols = np.mgrid[0 : ed.shape[0], 0 : ed.shape[1]].astype(np.float32)

    def moved(image, fraction):
        x, y = cols + fraction * flow[..., 0], rows + fraction * flow[..., 1]
        return cv2.remap(image.astype(np.float32), x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR)

    return lambda c: (1 - c) * moved(ed, -c) + c * moved(es, 1 - c)


def record(cine: dict, **info) -> dict:
    checks = cine["loop_qc"]["checks"]
    return {
        **info,
        "ef": cine["ef_percent"],
        "beats": len(cine["beats"]),
        "failed": [c["check"] for c in checks if c["passed"] is False],
        "ran": [c["check"] for c in checks if c["passed"] is not None],
        "withheld": cine["ef_withheld"],
    }


def summarise(records: list[dict]) -> dict:
    if not records:
        return {}
    failed, ran = Counter(), Counter()
    for r in records:
        failed.update(r["failed"])
        ran.update(r["ran"])
    summary = {
        "loops": len(records),
        "no_ef": sum(r["ef"] is None for r in records),
        "per_check": {check: {"failed": failed[check], "ran": ran[check]} for check in ran},
        "one_beat": sum(r["beats"] == 1 and r["ef"] is not None for r in records),
    }
    errors = [abs(r["ef"] - r["reference_ef"]) for r in records if r["ef"] is not None and "reference_ef" in r]
    if errors:
        summary["ef_abs_error_vs_expert"] = {
            "n": len(errors),
            "mean": float(np.mean(errors)),
            "median": float(np.median(errors)),
            "max": float(np.max(errors)),
        }
    summary["withheld_examples"] = [r["withheld"] for r in records if r["ef"] is None][:10]
    return summary


def summary_line(entry: dict) -> str:
    ef = f"EF {entry['ef']:.1f} (expert {entry['reference_ef']:.1f})" if entry["ef"] is not None else "no EF"
    return f"{entry['beats']} beats, {ef}; failed: {', '.join(entry['failed']) or '-'}"


def print_summary(title: str, summary: dict) -> None:
    if not summary:
        return
    loops = summary["loops"]
    print(f"\n{title}: {loops} loops, no EF for {summary['no_ef']} ({100 * summary['no_ef'] / loops:.1f} %)")
    for check, counts in summary["per_check"].items():
        share = 100 * counts["failed"] / counts["ran"] if counts["ran"] else 0
        print(f"  {check:<24} failed {counts['failed']:>3} of {counts['ran']:>3} loops it ran on ({share:.1f} %)")
    if "ef_abs_error_vs_expert" in summary:
        e = summary["ef_abs_error_vs_expert"]
        print(
            f"  EF given: |loop EF - expert ED/ES EF| mean {e['mean']:.1f}, median {e['median']:.1f}, "
            f"max {e['max']:.1f}"
        )


if __name__ == "__main__":
    sys.exit(main())
