"""``echolite-edge run MODEL INPUT --out DIR`` segments an image, a .npy stack or a folder and reports frames/s;
``echolite-edge bench MODEL`` times the model like TFLite's benchmark_model."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    """Option errors as one line and exit status 1, like every other error here."""

    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(1)


def main(argv=None) -> int:
    parser = _Parser(prog="echolite-edge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="segment frames and write mask and overlay PNGs")
    run.add_argument("model", type=Path, help="an exported .tflite (its .json metadata beside it is read too)")
    run.add_argument("input", type=Path, help="PNG/JPEG/BMP/TIFF, .npy frame or stack (T, H, W), or a folder of those")
    run.add_argument("--out", type=Path, required=True, help="folder for <name>_mask.png and <name>_overlay.png")
    run.add_argument("--threads", type=_positive, default=2, help="interpreter threads (default 2)")
    run.add_argument("--skip-bad", action="store_true", help="skip unreadable frames (listed) instead of stopping")
    run.add_argument("--cine", action="store_true",
                     help="the frames are one cine loop: pick ED (largest LV) and ES (smallest) and give EF")
    run.add_argument("--spacing", type=_positive_float, default=None,
                     help="pixel size in mm of the input frames (for --cine)")
    bench = sub.add_parser("bench", help="latency report like benchmark_model: invoke alone and end to end")
    bench.add_argument("model", type=Path, help="an exported .tflite")
    bench.add_argument("--runs", type=_positive, default=50, help="timed runs (default 50)")
    bench.add_argument("--warmup", type=_positive, default=5, help="untimed runs first (default 5)")
    bench.add_argument("--threads", type=_positive, default=2, help="interpreter threads (default 2)")
    bench.add_argument("--json", type=Path, help="also write the report as JSON")
    bench.add_argument("--image", type=Path,
                       help="frame for the end-to-end timing (default: noise, a worst case for post-processing)")
    bench.add_argument("--cine", type=Path, metavar="LOOP",
                       help="time a cine loop (folder of frames or .npy stack) end to end, read to written PNGs, "
                            "in frames/s")
    bench.add_argument("--scanner-fps", type=_positive_float, default=30.0,
                       help="the scanner's frame rate the cine loop is compared with (default 30)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or an option error (1, already printed)
        return int(exc.code or 0)
    try:
        return _bench(args) if args.command == "bench" else _run(args)
    except ValueError as exc:  # bad model, input or output: one line, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the file system refused (a full disk, a permission): one line too
        print(f"error: {exc.filename or args.model}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _run(args) -> int:
    from echolite_edge.runner import EdgeSegmenter, frame_files, read_frames_of, write_outputs

    for path in (args.model, args.input):
        if not path.exists():
            raise ValueError(f"{path}: not found")
    _check_out_dir(args.out)
    files = frame_files(args.input)
    if not files:
        raise ValueError(f"{args.input}: no frames found (PNG/JPEG/BMP/TIFF or .npy)")
    segmenter = EdgeSegmenter(args.model, args.threads)
    partial = args.out.parent / f".{args.out.name}.partial-{os.getpid()}"  # nothing reaches --out unless all succeed
    count, total, invoke, masks, skipped = 0, 0.0, 0.0, [], []
    try:
        for path in files:
            try:
                frames = read_frames_of(path)
            except ValueError as exc:
                if not args.skip_bad:
                    raise
                skipped.append(str(exc))
                continue
            for name, frame in frames:
                seg = segmenter.segment(frame, name)
                write_outputs(seg, frame, partial)
                count, total, invoke = count + 1, total + seg.seconds_total, invoke + seg.seconds_invoke
                if args.cine:
                    masks.append(seg.mask)
        if not count:
            raise ValueError(f"{args.input}: no readable frames ({len(skipped)} skipped)")
        _move_into(partial, args.out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    for line in skipped:
        print(f"skipped: {line}")
    print(f"{count} frames -> {args.out}: {count / total:.1f} frames/s end to end, "
          f"{1000 * invoke / count:.1f} ms per invoke ({args.threads} threads)")
    if args.cine:
        return _report_cine(masks, args.spacing)
    return 0


def _check_out_dir(out: Path) -> None:
    from echolite_edge.files import unwritable_reason

    reason = unwritable_reason(out)
    if reason:
        raise ValueError(f"{out}: cannot write there ({reason})")


def _move_into(partial: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for file in partial.iterdir():
        os.replace(file, out / file.name)


def _bench(args) -> int:
    import json

    from echolite_edge.bench import benchmark

    if not args.model.exists():
        raise ValueError(f"{args.model}: not found")
    if args.cine is not None:
        return _bench_cine(args)
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


def _bench_cine(args) -> int:
    import json

    from echolite_edge.bench import benchmark_cine

    if not args.cine.exists():
        raise ValueError(f"{args.cine}: not found")
    report = benchmark_cine(args.model, args.cine, args.threads, args.scanner_fps)
    verdict = "keeps up" if report["keeps_up"] else "does not keep up"
    print(f"{report['machine']}; {report['threads']} threads")
    print(f"cine: {report['frames']} frames, {report['frames_per_second']:.1f} frames/s end to end "
          f"({report['ms_per_frame']:.1f} ms per frame: read, resize, invoke, post-process, write); "
          f"{verdict} with a scanner at {report['scanner_fps']:g} frames/s")
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
