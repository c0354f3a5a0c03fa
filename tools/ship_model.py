"""Release step: write a trained run as a shipped model of the device package (echolite_edge/weights/NAME).

    python tools/ship_model.py RUN NAME

RUN must hold its best model and int8 export (``echolite export RUN --int8``); NAME is one of
``echolite_edge.pretrained.NAMES``. Run once per release, with the model card (weights/MODEL_CARD.md) updated from
the run's numbers; never per experiment.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from echolite.errors import EcholiteError
from echolite.pretrained import pack
from echolite_edge.pretrained import NAMES, WEIGHTS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("name", choices=NAMES)
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        out = pack(args.run, args.name, WEIGHTS, commit or "unknown")
    except EcholiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for file in sorted(out.iterdir()):
        print(f"{file}: {file.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
