"""The shipped CAMUS-trained models (``echolite_edge.pretrained``) as run folders every command can take.

A shipped model carries its Keras weights in float16 (``weights.npz``, half the size) beside its int8 export. On
first use by name its run folder is built once in the cache (``$ECHOLITE_CACHE/pretrained/``, keyed by the files'
digest): ``config.json``, ``model.keras`` (the float16 weights in float32) and the int8 export, so evaluation,
benchmarks, fine-tuning (``train --init``) and the Python API treat it as any trained run. Reports a command would
write inside a run folder go to the working directory instead (``workflows.evaluation.default_report_folder``).
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from echolite.data.cache import cache_dir
from echolite.errors import EcholiteError
from echolite.run import RunDir
from echolite_edge.files import building_folder, write_json
from echolite_edge.pretrained import CONFIG, INT8, KERAS_WEIGHTS, is_shipped_name, shipped_folder
from echolite_edge.segmenter import metadata_path, read_metadata

LOG = logging.getLogger("echolite")
LICENSE_LINE = "CC BY-NC-SA 4.0, as the CAMUS data it was trained on (cite Leclerc et al., IEEE TMI 2019)"
"""What the export metadata of a shipped model says of its weights' license (reports show it)."""
_MATERIALISED = "pretrained"
"""The cache folder that holds the shipped models' run folders."""


def resolve_model(model: str | Path | None) -> Path | None:
    """A MODEL as the commands take it: a shipped model's name becomes its run folder; a path stays as given."""
    if model is None or not is_shipped_name(model):
        return None if model is None else Path(model)
    try:
        return shipped_run(str(model))
    except ValueError as exc:  # files missing from the installation
        raise EcholiteError(str(exc)) from None


def shipped_run(name: str) -> Path:
    """The run folder of shipped model ``name``, built on first use, under its files' digest."""
    source = shipped_folder(name)
    root = cache_dir() or _scratch()
    folder = root / _MATERIALISED / _digest(source) / name
    if RunDir(folder).model.is_file():
        return folder
    LOG.info(f"building {name}'s Keras model from its float16 weights in {folder}")
    with building_folder(folder) as scratch:
        for file in (CONFIG, INT8, metadata_path(INT8)):
            shutil.copyfile(source / file, scratch / file)
        _keras_from_weights(source, scratch / RunDir.MODEL)
    return folder


@functools.cache
def _digest(source: Path) -> str:
    """The shipped files' digest, hashed once per process (megabytes of weights)."""
    digest = hashlib.sha256()
    for file in (CONFIG, KERAS_WEIGHTS, INT8):
        digest.update((source / file).read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _scratch() -> Path:
    """With ``ECHOLITE_CACHE=off``: one folder for this process, removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="echolite-pretrained-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def shipped_name_of(path: Path) -> str | None:
    """The shipped model whose built run folder ``path`` is (or holds), else None."""
    path = Path(path).resolve()
    for candidate in (path, path.parent):
        if candidate.parent.parent.name == _MATERIALISED and is_shipped_name(candidate.name):
            return candidate.name
    return None


def _keras_from_weights(source: Path, out: Path) -> None:
    from echolite.models.unet import build_unet  # Keras: loaded on use, listing the models needs none

    config = RunDir(source).load_config()
    model = build_unet(config.model, name=config.train.preset.replace("-", "_"))
    with np.load(source / KERAS_WEIGHTS) as stored:
        names = [str(n) for n in stored["names"]]
        if names != [w.path for w in model.weights]:
            raise EcholiteError(f"{source / KERAS_WEIGHTS}: its weights do not match the architecture in {CONFIG}")
        model.set_weights([stored[f"w{i:03d}"].astype(np.float32) for i in range(len(names))])
    model.save(out)


def pack(run: Path, name: str, into: Path, commit: str) -> Path:
    """Write ``run`` (its best model and int8 export) as shipped model ``name`` under ``into``: the Keras weights in
    float16, the config with its data folder reduced to its name, the int8 export with its metadata naming the
    model and ``commit`` instead of the run's path. A release step (tools/ship_model.py), never per experiment."""
    from echolite.models.layers import load_saved_model  # Keras: loaded on use, listing the models needs none

    run_dir = RunDir.require(run)
    int8 = run_dir.export_path("int8")
    if not int8.is_file() or not metadata_path(int8).is_file():  # the metadata: labels, quantization, parity
        raise EcholiteError(f"{run}: no {INT8} with its metadata (run echolite export {run} --int8 first)")
    model = load_saved_model(run_dir.model)
    out = Path(into) / name
    with building_folder(out) as scratch:
        weights = {f"w{i:03d}": w.numpy().astype(np.float16) for i, w in enumerate(model.weights)}
        np.savez_compressed(scratch / KERAS_WEIGHTS, names=np.array([w.path for w in model.weights]), **weights)
        config = json.loads(run_dir.config.read_text())
        config["train"]["data"] = Path(config["train"]["data"]).name
        write_json(scratch / CONFIG, config)
        shutil.copyfile(int8, scratch / INT8)
        metadata = read_metadata(int8)
        metadata.update(source=name, packed_at_commit=commit, shipped_model=name, license=LICENSE_LINE)
        write_json(metadata_path(scratch / INT8), metadata)
    return out
