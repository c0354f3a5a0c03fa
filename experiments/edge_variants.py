"""Where a real-time preset's int8 time goes: untrained variants of ``edge-m`` and ``lw-unet-relu`` (one knob
changed each), exported fully int8 and timed in one run, GMAC next to the invoke time.

    python experiments/edge_variants.py --threads 2 --runs 40

On a CPU with VNNI the time stops following the MACs; the variants show which part of the graph to cut next (there,
the full-resolution convolution head: ``edge-rt`` drops it, and the 3×3 stem on the one-channel image).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    import numpy as np

    from echolite.data.phantom import make_phantom
    from echolite.export.tflite import export_tflite
    from echolite.models import build_unet, inference_model
    from echolite.models.compute import count_macs
    from echolite.presets import get_preset
    from echolite_edge.segmenter import load_interpreter

    edge, relu = get_preset("edge-m").model, get_preset("lw-unet-relu").model
    variants = {
        "edge-m": edge,
        "edge-m, head 8 wide": dataclasses.replace(edge, head_channels=8),
        "edge-m, no separable": dataclasses.replace(edge, separable_levels=0),
        "edge-rt": get_preset("edge-rt").model,
        "edge-rt, 3x3 stem": dataclasses.replace(get_preset("edge-rt").model, stem_kernel=3),
        "lw-unet-relu": relu,
        "lw-unet-relu, stem 2": dataclasses.replace(relu, stem_stride=2),
    }
    calibration = make_phantom(32, seed=0, size=edge.input_size)
    with tempfile.TemporaryDirectory() as scratch:
        for i, (name, config) in enumerate(variants.items()):
            model = inference_model(build_unet(config))
            path = Path(scratch) / f"variant{i}.tflite"
            export_tflite(model, path, "int8", calibration=calibration)
            interpreter = load_interpreter(path, args.threads)
            given = interpreter.get_input_details()[0]
            x = np.zeros(given["shape"], given["dtype"])
            seconds = []
            for run in range(args.runs + 5):  # 5 untimed first
                start = time.perf_counter()
                interpreter.set_tensor(given["index"], x)
                interpreter.invoke()
                if run >= 5:
                    seconds.append(time.perf_counter() - start)
            print(
                f"{name:<24} GMAC {count_macs(model) / 1e9:5.2f}   int8 invoke p50 "
                f"{1000 * np.median(seconds):6.2f} ms ({args.threads} threads)",
                flush=True,
            )


if __name__ == "__main__":
    main()
