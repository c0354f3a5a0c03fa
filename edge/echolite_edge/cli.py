"""``echolite-edge run MODEL INPUT --out DIR`` segments an image, a .npy stack or a folder and reports frames/s;
``echolite-edge bench MODEL`` times the model like TFLite's benchmark_model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="echolite-edge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="segment frames and write mask and overlay PNGs")
    run.add_argument("model", type=Path)
    run.add_argument("input", type=Path, help="PNG/JPEG, .npy frame or stack (T, H, W), or a folder")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--threads", type=int, default=2)
    run.add_argument("--cine", action="store_true",
                     help="the frames are one cine loop: pick ED (largest LV) and ES (smallest) and give EF")
    run.add_argument("--spacing", type=float, default=None, help="pixel size in mm of the input frames (for --cine)")
    bench = sub.add_parser("bench", help="latency report like benchmark_model: invoke alone and end to end")
    bench.add_argument("model", type=Path)
    bench.add_argument("--runs", type=int, default=50)
    bench.add_argument("--warmup", type=int, default=5)
    bench.add_argument("--threads", type=int, default=2)
    bench.add_argument("--json", type=Path, help="also write the report as JSON")
    bench.add_argument("--image", type=Path,
                       help="frame for the end-to-end timing (default: noise, a worst case for post-processing)")
    args = parser.parse_args(argv)
    try:
        return _bench(args) if args.command == "bench" else _run(args)
    except ValueError as exc:  # bad model or input file: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args) -> int:
    from echolite_edge.runner import EdgeSegmenter, read_frames, write_outputs

    for path in (args.model, args.input):
        if not path.exists():
            print(f"error: {path}: not found", file=sys.stderr)
            return 1
    segmenter = EdgeSegmenter(args.model, args.threads)
    count, total, invoke, masks = 0, 0.0, 0.0, []
    for name, frame in read_frames(args.input):
        seg = segmenter.segment(frame, name)
        write_outputs(seg, frame, args.out)
        count, total, invoke = count + 1, total + seg.seconds_total, invoke + seg.seconds_invoke
        if args.cine:
            masks.append(seg.mask)
    if not count:
        print(f"error: {args.input}: no frames found", file=sys.stderr)
        return 1
    print(f"{count} frames -> {args.out}: {count / total:.1f} frames/s end to end, "
          f"{1000 * invoke / count:.1f} ms per invoke ({args.threads} threads)")
    if args.cine:
        return _report_cine(masks, args.spacing)
    return 0


def _bench(args) -> int:
    import json

    from echolite_edge.bench import benchmark

    if not args.model.exists():
        print(f"error: {args.model}: not found", file=sys.stderr)
        return 1
    from echolite_edge.image import read_image

    frame = read_image(args.image) if args.image else None
    report = benchmark(args.model, args.runs, args.warmup, args.threads, frame)
    print(f"{report['machine']}; {report['threads']} threads; model {report['model_bytes'] / 1e6:.2f} MB")
    print(f"init {report['init_ms']:.1f} ms, first inference {report['first_inference_ms']:.1f} ms, "
          f"warm-up mean {report['warmup_mean_ms'] or 0:.1f} ms, peak memory {report['peak_memory_mb']:.0f} MB")
    for key in ("invoke_ms", "end_to_end_ms"):
        s = report[key]
        print(f"{key[:-3]:<11} mean {s['mean']:.2f} std {s['std']:.2f} min {s['min']:.2f} max {s['max']:.2f} "
              f"p50 {s['p50']:.2f} p90 {s['p90']:.2f} p99 {s['p99']:.2f} ms over {s['runs']} runs")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _report_cine(masks, spacing_mm) -> int:
    import numpy as np

    from echolite_edge.clinical import (
        MeasurementError, ejection_fraction, long_axis, lv_areas, pick_ed_es, volume_single_plane,
    )

    if len(masks) < 2:
        print("error: --cine needs at least 2 frames", file=sys.stderr)
        return 1
    spacing = (spacing_mm or 1.0,) * 2
    try:
        ed, es = pick_ed_es(lv_areas(np.stack(masks)))
        edv, esv = (volume_single_plane(long_axis(masks[i], spacing)) for i in (ed, es))
    except MeasurementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    unit = "mL" if spacing_mm else "(pixel units; pass --spacing for mL)"
    print(f"cine: ED frame {ed}, ES frame {es}, EDV {edv:.1f} ESV {esv:.1f} {unit}, "
          f"EF {ejection_fraction(edv, esv):.1f} % (single-plane disks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
