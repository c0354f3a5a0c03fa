"""``echolite-edge run MODEL INPUT --out DIR``: segment an image, a .npy stack or a folder, report frames/s."""

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
    args = parser.parse_args(argv)
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


def _report_cine(masks, spacing_mm) -> int:
    import numpy as np

    from echolite_edge.clinical import MeasurementError, ejection_fraction, long_axis, volume_single_plane

    if len(masks) < 2:
        print("error: --cine needs at least 2 frames", file=sys.stderr)
        return 1
    areas = np.array([(m == 1).sum() for m in masks])
    ed, es = int(np.argmax(areas)), int(np.argmin(np.where(areas > 0, areas, areas.max() + 1)))
    spacing = (spacing_mm or 1.0,) * 2
    try:
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
