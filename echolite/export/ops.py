"""What a converted model runs: op types and counts, which ops XNNPACK takes (and in how many partitions), and
the float islands of an integer model. Read from a live interpreter, so it is what the runtime does, not a guess.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from echolite_edge.words import counted

# Ops that only move values across the int8/float boundary.
BOUNDARY_OPS = {"QUANTIZE", "DEQUANTIZE"}


def op_report(interpreter) -> dict:
    """``interpreter``: allocated, with the default (XNNPACK) delegate applied."""
    nodes = interpreter._get_ops_details()
    originals = [n for n in nodes if n["op_name"] != "DELEGATE"]
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    delegated = _delegated_nodes(originals, delegates)
    dtypes = {t["index"]: np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()}
    integer_model = any(
        dtypes.get(o) in (np.dtype(np.int8), np.dtype(np.uint8)) for n in originals for o in n["outputs"]
    )
    float_ops = (
        Counter(
            n["op_name"]
            for n in originals
            if n["op_name"] not in BOUNDARY_OPS and any(dtypes.get(o) == np.dtype(np.float32) for o in n["outputs"])
        )
        if integer_model
        else Counter()
    )
    return {
        "ops": dict(Counter(n["op_name"] for n in originals).most_common()),
        "xnnpack_partitions": len(delegates),
        "xnnpack_ops": len(delegated),
        "not_delegated": dict(Counter(n["op_name"] for n in originals if n["index"] not in delegated).most_common()),
        "float_islands": dict(float_ops.most_common()),
    }


def format_op_report(report: dict) -> list[str]:
    total = sum(report["ops"].values())
    lines = [
        "ops: " + _counts(report["ops"]),
        f"XNNPACK runs {report['xnnpack_ops']} of {total} ops in {counted(report['xnnpack_partitions'], 'partition')}"
        + (f"; outside: {_counts(report['not_delegated'])}" if report["not_delegated"] else ""),
    ]
    if report["float_islands"]:
        lines.append(f"float islands in the integer model: {_counts(report['float_islands'])}")
    return lines


def _delegated_nodes(originals: list[dict], delegates: list[dict]) -> set[int]:
    """A delegate partition is a convex subgraph: walk back from its outputs to its inputs."""
    producer = {t: n for n in originals for t in n["outputs"]}
    covered: set[int] = set()
    for delegate in delegates:
        boundary = {int(t) for t in delegate["inputs"]}
        stack = [int(t) for t in delegate["outputs"]]
        seen: set[int] = set()
        while stack:
            tensor = stack.pop()
            node = producer.get(tensor)
            if tensor in boundary or tensor in seen or node is None:
                continue
            seen.add(tensor)
            covered.add(node["index"])
            stack.extend(int(t) for t in node["inputs"] if t >= 0)
    return covered


def _counts(counts: dict) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items())
