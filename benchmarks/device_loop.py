"""The device's cine loop before and after a change, in one run: ``echolite-edge bench --cine`` of the device package
at an earlier commit and of the working tree, alternated, on the same models and loop.

    python benchmarks/device_loop.py --before 336f344 --loop LOOP.npy camus-edge-rt camus-lw-unet [--repeats 2]
        [--hide-avx512]

MODELS are exported ``.tflite`` files or shipped model names (the earlier commit gets the file: a name it may not
know is resolved here). LOOP is a folder of frames or a ``.npy`` stack. Prints the machine (CPU model and the flags
that decide int8 speed), then per model and version: frames/s end to end, ms per frame, the median per-frame QC, end
to end over the model's invoke alone on the 2 threads given (``echolite_edge.bench.invoke_alone``, measured here
with nothing beside it, once per repeat in a process of its own, the median: one yardstick for both versions), and,
for a version that may run its network on fewer threads in the loop, the threads it chose and end to end over its
invoke alone on them; the best of the repeats, so a busy moment of the machine counts least (and beside it the
median of the repeats' end to end over the yardstick).

``--hide-avx512`` times the code paths of a CPU without AVX-512 and VNNI (AVX2 only, where int8 XNNPACK is several
times slower and the network dominates a frame) on one that has them: every timing runs in a process that loads
``hide_avx512.c`` (built here with the C compiler), which answers CPUID without those feature bits (x86-64 Linux
with CPUID faulting). The paths are those of an AVX2 CPU; the core's speed stays this one's.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "edge"))

from echolite_edge.pretrained import model_file  # the working tree's device package, not a copy

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


@functools.cache
def _first_core() -> dict[str, str]:
    """The first core's fields in /proc/cpuinfo (empty where there is none)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    fields = {}
    for name, _, value in (line.partition(":") for line in info.split("\n\n")[0].splitlines()):
        fields.setdefault(name.strip(), value.strip())
    return fields


def cpu_info(field: str, default: str = "") -> str:
    return _first_core().get(field, default)


def cpu() -> str:
    flags = cpu_info("flags").split()
    listed = ", ".join(f for f in FLAGS if f in flags) or "none of " + str(FLAGS)
    return f"{cpu_info('model name', '?')} (family {cpu_info('cpu family', '?')}), flags: {listed}"


def hiding_avx512(scratch: Path) -> dict:
    """The environment of a process that sees no AVX-512 or VNNI (``hide_avx512.c``, built into ``scratch``)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if "cpuid_fault" not in cpu_info("flags").split() or compiler is None:
        sys.exit("--hide-avx512 needs x86-64 Linux with CPUID faulting (cpuid_fault in /proc/cpuinfo) and a C compiler")
    library = scratch / "hide_avx512.so"
    source = ROOT / "benchmarks" / "hide_avx512.c"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONFAULTHANDLER"}
    return {**environment, "LD_PRELOAD": str(library)}  # faulthandler would replace the library's CPUID handler


def python(edge: Path, code: str, environment: dict | None) -> None:
    """``code`` in a fresh Python that imports the device package of ``edge``."""
    code = f"import sys; sys.path.insert(0, {str(edge)!r}); {code}"
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=environment)
    if done.returncode:
        sys.exit(f"a timed process failed (exit {done.returncode}):\n{done.stderr.strip()}")


def bench(edge: Path, model: Path, loop: Path, out: Path, environment: dict | None) -> dict:
    python(
        edge,
        "from echolite_edge.cli import main; "
        f"sys.exit(main(['bench', {str(model)!r}, '--cine', {str(loop)!r}, '--json', {str(out)!r}]))",
        environment,
    )
    return json.loads(out.read_text())


def invoke_alone_ms(model: Path, loop: Path, out: Path, environment: dict | None) -> float:
    """The working tree's ``echolite_edge.bench.invoke_alone`` of ``model`` on the loop's first frame, 2 threads."""
    python(
        ROOT / "edge",
        "import json; from echolite_edge.bench import invoke_alone; "
        "from echolite_edge.frames import frame_files, read_frames_of; "
        "from echolite_edge.segmenter import EdgeSegmenter; "
        f"frame = read_frames_of(frame_files({str(loop)!r})[0])[0][1]; "
        f"seconds = invoke_alone(EdgeSegmenter({str(model)!r}, 2), frame); "
        f"open({str(out)!r}, 'w').write(json.dumps(seconds * 1000))",
        environment,
    )
    return json.loads(out.read_text())


def at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return int(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--before", required=True, help="The earlier commit.")
    parser.add_argument("--loop", type=Path, required=True)
    parser.add_argument("--repeats", type=at_least_one, default=2)
    parser.add_argument("--hide-avx512", action="store_true", help="Time the code paths of an AVX2-only CPU.")
    args = parser.parse_args()
    models = [model_file(m) for m in args.models]
    print(cpu() + ("; AVX-512 and VNNI hidden from the processes timed (AVX2 code paths)" if args.hide_avx512 else ""))
    with tempfile.TemporaryDirectory() as scratch:
        environment = hiding_avx512(Path(scratch)) if args.hide_avx512 else None
        earlier = Path(scratch) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(earlier), args.before], check=True)
        try:
            versions = {f"before ({args.before})": earlier / "edge", "after (working tree)": ROOT / "edge"}
            print(
                "| model | version | frames/s | ms per frame | QC ms | invoke alone, 2 threads | ratio | ratio, median "
                "of the repeats | network threads in the loop | its invoke alone | ratio |"
            )
            print("|---|---|---|---|---|---|---|---|---|---|---|")
            for name, model in zip(args.models, models):
                reports, alones = {version: [] for version in versions}, []
                for _ in range(args.repeats):
                    alones.append(invoke_alone_ms(model, args.loop, Path(scratch) / "alone.json", environment))
                    for version, edge in versions.items():
                        reports[version].append(
                            bench(edge, model, args.loop, Path(scratch) / "report.json", environment)
                        )
                alone = statistics.median(alones)  # the yardstick
                for version, runs in reports.items():
                    report = min(runs, key=lambda r: r["ms_per_frame"])
                    frames = report["frames"]
                    typical = statistics.median(r["ms_per_frame"] for r in runs)
                    own = report.get("invoke_alone_ms")  # versions that time the loop's own invoke alone
                    own_cells = f"{own:.2f} | {report['ms_per_frame'] / own:.2f}" if own else "– | –"
                    threads = report.get("interpreter_threads", report["threads"])
                    print(
                        f"| {name} | {version} | {report['frames_per_second']:.1f} | {report['ms_per_frame']:.2f} | "
                        f"{report['stage_ms_median']['qc']:.2f} | {alone:.2f} | {report['ms_per_frame'] / alone:.2f} | "
                        f"{typical / alone:.2f} | {threads} | {own_cells} |"
                    )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(earlier)], check=False)
    print(f"loop: {args.loop}, {frames} frames; 2 threads given (--threads 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
