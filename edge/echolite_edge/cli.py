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
    args = parser.parse_args(argv)
    from echolite_edge.runner import EdgeSegmenter, read_frames, write_outputs

    for path in (args.model, args.input):
        if not path.exists():
            print(f"error: {path}: not found", file=sys.stderr)
            return 1
    segmenter = EdgeSegmenter(args.model, args.threads)
    count, total, invoke = 0, 0.0, 0.0
    for name, frame in read_frames(args.input):
        seg = segmenter.segment(frame, name)
        write_outputs(seg, frame, args.out)
        count, total, invoke = count + 1, total + seg.seconds_total, invoke + seg.seconds_invoke
    if not count:
        print(f"error: {args.input}: no frames found", file=sys.stderr)
        return 1
    print(f"{count} frames -> {args.out}: {count / total:.1f} frames/s end to end, "
          f"{1000 * invoke / count:.1f} ms per invoke ({args.threads} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
