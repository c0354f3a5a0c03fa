"""Models that ship with echolite, trained on CAMUS, usable by name wherever a trained model segments frames.

Each lives in ``weights/NAME/`` as package data: ``model_int8.tflite`` with its ``model_int8.json`` (the device's
model, and ``evaluate``'s), ``weights.npz`` (the Keras weights in float16, for evaluation and fine-tuning; the
library builds its ``model.keras`` from them) and ``config.json`` (architecture, training settings and patient split
of the run that made it). ``weights/LICENSE`` (CC BY-NC-SA 4.0, as CAMUS) and ``weights/MODEL_CARD.md`` (data,
recipe, command, commit, validation numbers) sit beside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from echolite_edge.segmenter import read_metadata

WEIGHTS = Path(__file__).parent / "weights"
"""The folder of the shipped models, their license and their model card."""
NAMES = ("camus-edge-rt", "camus-lw-unet")
"""The shipped models: the CAMUS-trained ``edge-rt`` (real time) and ``lw-unet`` (the paper's final model)."""
INT8 = "model_int8.tflite"
KERAS_WEIGHTS = "weights.npz"
CONFIG = "config.json"


def shipped_folder(name: str) -> Path:
    """The folder of shipped model ``name``; an unknown name, or a name whose files are missing from this
    installation, is one line naming the choices."""
    if name not in NAMES:
        raise ValueError(f"{name}: not a shipped model; the shipped models are {', '.join(NAMES)}")
    folder = WEIGHTS / name
    if not (folder / INT8).is_file():
        raise ValueError(f"{name}: its files are missing from this installation ({folder}); reinstall echolite-edge")
    return folder


def is_shipped_name(text: str | Path) -> bool:
    """``text`` names a shipped model rather than a file (a file of that name in the working directory wins)."""
    return str(text) in NAMES and not Path(text).exists()


def model_file(text: str) -> Path:
    """A command-line MODEL: a shipped model's name (its int8 ``.tflite``) or a path, as given."""
    return shipped_folder(str(text)) / INT8 if is_shipped_name(text) else Path(text)


def describe_shipped() -> list[dict]:
    """Each shipped model present in this installation: name, preset, augmentation, training patients and
    validation Dice (int8, from its export's parity check)."""
    rows = []
    for name in NAMES:
        try:
            folder = shipped_folder(name)
        except ValueError:  # its files are missing from this installation
            continue
        config = json.loads((folder / CONFIG).read_text())
        rows.append(
            {
                "name": name,
                "preset": config["train"]["preset"],
                "augment": config["train"]["augment"],
                "trained_on": f"{len(config['split']['train'])} CAMUS patients",
                "val_dice_int8": read_metadata(folder / INT8).get("parity", {}).get("dice_tflite", {}),
            }
        )
    return rows
