"""Parse the output of TFLite's official ``benchmark_model`` tool (run on Android over adb) into the JSON that
``echolite-edge bench`` writes, so results from phones and from Python devices sit in one table.

    python -m echolite_edge.android benchmark_output.txt --json phone.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_NUMBER = r"([-+\d.e]+)"
_SUMMARY = re.compile(
    rf"Inference timings in us: Init: {_NUMBER}, First inference: {_NUMBER}, "
    rf"Warmup \(avg\): {_NUMBER}, Inference \(avg\): {_NUMBER}"
)
_COUNT = re.compile(r"count=(\d+)((?: \w+=[-+\d.e]+)+)")
_THREADS = re.compile(r"(?:Num threads|#threads used for CPU inference): \[(\d+)\]")
_SIZE = re.compile(rf"The input model file size \(MB\): {_NUMBER}")
_MEMORY = re.compile(
    rf"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
    rf"init={_NUMBER} overall={_NUMBER}"
)
_PEAK = re.compile(rf"Overall peak memory footprint \(MB\) via periodic monitoring: {_NUMBER}")


def parse_benchmark_model(text: str, machine: str = "android (benchmark_model)") -> dict:
    """The report of ``echolite_edge.bench.benchmark`` from ``benchmark_model`` output (times in ms). The tool
    times the interpreter call only, so ``end_to_end_ms`` is None; it reports p5/median/p95 where
    ``echolite-edge bench`` reports p50/p90/p99, and the missing ones are None."""
    summary = _SUMMARY.search(text)
    if not summary:
        raise ValueError("no 'Inference timings in us' line: not benchmark_model output, or the run failed")
    init, first, warmup, _ = (float(v) / 1000 for v in summary.groups())
    runs = [dict(kv.split("=") for kv in fields.split()) | {"count": count} for count, fields in _COUNT.findall(text)]
    if not runs:
        raise ValueError("no 'count=' statistics line in the benchmark_model output")
    timed = runs[-1]
    ms = lambda key: float(timed[key]) / 1000 if key in timed else None
    threads = _THREADS.search(text)
    size = _SIZE.search(text)
    memory, peak = _MEMORY.search(text), _PEAK.search(text)
    return {
        "model": None,
        "model_bytes": round(float(size.group(1)) * 1e6) if size else None,
        "threads": int(threads.group(1)) if threads else None,
        "machine": machine,
        "init_ms": init,
        "first_inference_ms": first,
        "warmup_mean_ms": warmup,
        "invoke_ms": {
            "runs": int(timed["count"]),
            "mean": ms("avg"),
            "std": ms("std"),
            "min": ms("min"),
            "max": ms("max"),
            "p50": ms("median"),
            "p90": None,
            "p99": None,
            "p5": ms("p5"),
            "p95": ms("p95"),
        },
        "end_to_end_ms": None,
        "peak_memory_mb": float(peak.group(1)) if peak else (float(memory.group(2)) if memory else None),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="saved stdout+stderr of benchmark_model")
    parser.add_argument("--json", type=Path, help="write the report here (default: print it)")
    parser.add_argument("--machine", default="android (benchmark_model)")
    args = parser.parse_args(argv)
    try:
        report = parse_benchmark_model(args.output.read_text(errors="replace"), args.machine)
    except (OSError, ValueError) as exc:
        print(f"error: {args.output}: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
