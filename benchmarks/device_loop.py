"""The device's cine loop before and after a change, in one run: ``echolite-edge bench --cine`` of the device package
at an earlier commit and of the working tree, alternated, on the same models and loop.

    python benchmarks/device_loop.py --before 336f344 --loop LOOP.npy camus-edge-rt camus-lw-unet [--repeats 2]

MODELS are exported ``.tflite`` files or shipped model names (the earlier commit gets the file: a name it may not
know is resolved here). LOOP is a folder of frames or a ``.npy`` stack. Prints the machine (CPU model and the flags
that decide int8 speed), then per model and version: frames/s end to end, ms per frame, the median per-frame QC, end
to end over the model's invoke alone on the 2 threads given (``echolite_edge.bench.invoke_alone``, measured here
with nothing beside it: one yardstick for both versions), and, for a version that may run its network on fewer
threads in the loop, the threads it chose and end to end over its invoke alone on them; the best of the repeats, so
a busy moment of the machine counts least.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "edge"))

from echolite_edge.bench import invoke_alone  # the working tree's device package, not a copy
from echolite_edge.frames import frame_files, read_frames_of
from echolite_edge.pretrained import model_file
from echolite_edge.segmenter import EdgeSegmenter

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    family = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("cpu family")), "?")
    return f"{model} (family {family}), flags: {', '.join(f for f in FLAGS if f in flags) or 'none of ' + str(FLAGS)}"


def bench(edge: Path, model: Path, loop: Path, out: Path) -> dict:
    code = (
        f"import sys; sys.path.insert(0, {str(edge)!r}); from echolite_edge.cli import main; "
        f"sys.exit(main(['bench', {str(model)!r}, '--cine', {str(loop)!r}, '--json', {str(out)!r}]))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--before", required=True, help="The earlier commit.")
    parser.add_argument("--loop", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    models = [model_file(m) for m in args.models]
    print(cpu())
    with tempfile.TemporaryDirectory() as scratch:
        earlier = Path(scratch) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.before], check=True)
        try:
            versions = {f"before ({args.before})": earlier / "edge", "after (working tree)": ROOT / "edge"}
            print(
                "| model | version | frames/s | ms per frame | QC ms | invoke alone, 2 threads | ratio | network "
                "threads in the loop | its invoke alone | ratio |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|")
            frame = read_frames_of(frame_files(args.loop)[0])[0][1]
            for name, model in zip(args.models, models):
                best, alone = {}, invoke_alone(EdgeSegmenter(model, 2), frame) * 1000
                for _ in range(args.repeats):
                    for version, edge in versions.items():
                        report = bench(edge, model, args.loop, Path(scratch) / "report.json")
                        if version not in best or report["ms_per_frame"] < best[version]["ms_per_frame"]:
                            best[version] = report
                for version, report in best.items():
                    own = report.get("invoke_alone_ms")  # versions that time the loop's own invoke alone
                    own_cells = f"{own:.2f} | {report['ms_per_frame'] / own:.2f}" if own else "– | –"
                    print(
                        f"| {name} | {version} | {report['frames_per_second']:.1f} | {report['ms_per_frame']:.2f} | "
                        f"{report['stage_ms_median']['qc']:.2f} | {alone:.2f} | {report['ms_per_frame'] / alone:.2f} | "
                        f"{report.get('interpreter_threads', report['threads'])} | {own_cells} |"
                    )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=False)
    print(f"loop: {args.loop}, {best[next(iter(versions))]['frames']} frames; 2 threads given (--threads 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
