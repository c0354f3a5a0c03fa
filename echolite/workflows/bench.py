"""Latency of models in their forms (Keras float, TFLite fp32, int8, ...), measured in one run on this machine and
printed as one table with what each model costs (parameters, GMAC per frame, file size) and ratios against one
baseline row.

A model is a shipped model's name, a run folder (its ``model.keras`` and every export beside it), a ``.keras`` or
``.tflite`` file, or a preset name: an untrained model of that preset, built and exported (fp32 and int8,
calibrated on phantom frames) in a temporary folder. Untrained weights time the same graph as trained ones; rows
say which they are.

Two timings per form: ``invoke`` (the network call alone) and ``end to end`` (an 8-bit frame of the model's size
to the post-processed label map: scaling, quantization, the call, argmax, largest components), both as the device
runner does them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from echolite.data.phantom import make_phantom
from echolite.errors import EcholiteError
from echolite.export.tflite import export_tflite
from echolite.inference import load_keras_model
from echolite.presets import PRESETS, get_preset
from echolite.pretrained import resolve_model
from echolite.run import RunDir
from echolite_edge.bench import DEFAULT_RUNS, stats_ms
from echolite_edge.frames import read_one_frame
from echolite_edge.image import model_input, resize_nearest
from echolite_edge.postprocess import keep_largest_components, repair_anatomy
from echolite_edge.pretrained import NAMES as SHIPPED
from echolite_edge.segmenter import EdgeSegmenter, argmax_labels, read_metadata
from echolite_edge.words import counted

UNTRAINED_FORMS = ("fp32", "int8")


@dataclass
class BenchModel:
    """One model and the files of its forms (``keras``, ``fp32``, ``int8``, ``int8_qat``, ...)."""

    name: str
    forms: dict[str, Path]
    parameters: int | None = None
    gmac: float | None = None
    untrained: bool = False


def bench(
    sources: list[str | Path],
    runs: int = DEFAULT_RUNS,
    threads: int | tuple[int, ...] = 2,
    warmup: int = 3,
    image: Path | None = None,
    baseline: str | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> list[dict]:
    """One row per model, form and TFLite thread count (Keras rows: TensorFlow's own threading, ``threads``
    None): {model, form, threads, untrained, parameters, gmac, size_mb, invoke_p50_ms, invoke_p90_ms, e2e_p50_ms,
    e2e_p90_ms, fps, runs, speedup, parameter_ratio, gmac_ratio, baseline}. ``baseline``: ``MODEL`` or
    ``MODEL/FORM`` (default: the first row); the ratios say how many times faster (end to end, against the
    baseline's row with the same thread count where it has one), larger and costlier each row is, all measured in
    this call."""
    thread_counts = (threads,) if isinstance(threads, int) else tuple(threads)
    names = [_name_of(source) for source in sources]
    known = lambda name: name in (baseline, baseline.partition("/")[0]) or baseline.startswith(name + "/")
    if baseline is not None and not any(known(name) for name in names):  # before minutes of building presets
        raise EcholiteError(f"--baseline {baseline}: not among the models ({', '.join(names)})")
    frame = _read_frame(image) if image is not None else None
    with tempfile.TemporaryDirectory(prefix="echolite-bench-") as scratch:
        models = [_model_of(source, Path(scratch), log) for source in sources]
        _baseline_row([{"model": m.name, "form": form} for m in models for form in m.forms], baseline)  # early
        rows = []
        for model in models:
            for form, path in model.forms.items():
                for count in [None] if form == "keras" else thread_counts:
                    log(f"timing {model.name} {form}" + (f", {counted(count, 'thread')}" if count else ""))
                    invoke, end_to_end = _timers(path, form, count, frame)
                    rows.append(
                        {
                            "model": model.name,
                            "form": form,
                            "threads": count,
                            "untrained": model.untrained,
                            "parameters": model.parameters,
                            "gmac": model.gmac,
                            "size_mb": path.stat().st_size / 1e6,
                            "runs": runs,
                            **_timed("invoke", invoke, runs, warmup),
                            **_timed("e2e", end_to_end, runs, warmup),
                        }
                    )
    for row in rows:
        row["fps"] = 1000 / row["e2e_p50_ms"]
    return _with_ratios(rows, baseline)


def format_table(rows: list[dict]) -> list[str]:
    """The rows as the printed table, with a closing line saying what the ratios are against."""
    number = lambda value, spec: format(value, spec) if value is not None else "-"
    ratio = lambda value: f"{value:.2f}x" if value is not None else "-"
    lines = [
        (
            f"{'model':<28}{'form':<10}{'thr':>4}{'params':>8}{'GMAC':>7}{'MB':>7}{'invoke p50/p90 ms':>19}"
            f"{'e2e p50/p90 ms':>17}{'frames/s':>10}{'faster':>8}{'params':>8}{'GMAC':>7}"
        )
    ]
    for r in rows:
        name = (r["model"] + (" (untrained)" if r["untrained"] else ""))[-27:]
        params = f"{r['parameters'] / 1e6:.2f}M" if r["parameters"] else "-"
        lines.append(
            f"{name:<28}{r['form']:<10}{r['threads'] or '-':>4}{params:>8}{number(r['gmac'], '.2f'):>7}"
            f"{r['size_mb']:>7.2f}"
            f"{r['invoke_p50_ms']:>10.1f} /{r['invoke_p90_ms']:>6.1f}{r['e2e_p50_ms']:>9.1f} /{r['e2e_p90_ms']:>6.1f}"
            f"{r['fps']:>10.1f}{ratio(r['speedup']):>8}{ratio(r['parameter_ratio']):>8}{ratio(r['gmac_ratio']):>7}"
        )
    first = rows[0]
    lines.append(
        f"{counted(first['runs'], 'run')}, batch 1, all measured in this run; thr: TFLite interpreter threads (Keras: "
        f"TensorFlow's own); the last three columns are ratios against {first['baseline']} (its row with the "
        "same threads where it has one): how many times faster end to end, how many times the parameters "
        "and the GMAC. Untrained rows time the same graph with initial weights."
    )
    if any(r["untrained"] for r in rows) and not all(r["untrained"] for r in rows):
        lines.append(
            "warning: trained and untrained rows mixed: an untrained model's end-to-end time includes "
            "post-processing its noise mask (far slower than a trained model's), so compare invoke times "
            "across them"
        )
    return lines


def _timed(prefix: str, call: Callable[[], object], runs: int, warmup: int) -> dict:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    ms = stats_ms(times)
    return {f"{prefix}_p50_ms": ms["p50"], f"{prefix}_p90_ms": ms["p90"]}


def _with_ratios(rows: list[dict], baseline: str | None) -> list[dict]:
    chosen = _baseline_row(rows, baseline)
    same_threads = {r["threads"]: r for r in rows if (r["model"], r["form"]) == (chosen["model"], chosen["form"])}
    for row in rows:
        base = same_threads.get(row["threads"], chosen)
        row["speedup"] = base["e2e_p50_ms"] / row["e2e_p50_ms"]
        row["parameter_ratio"] = _ratio(row["parameters"], base["parameters"])
        row["gmac_ratio"] = _ratio(row["gmac"], base["gmac"])
        row["baseline"] = f"{chosen['model']}/{chosen['form']}"
    return rows


def _baseline_row(rows: list[dict], baseline: str | None) -> dict:
    if baseline is None:
        return rows[0]
    name, _, form = baseline.partition("/")
    matches = [r for r in rows if r["model"] == name and (not form or r["form"] == form)]
    if not matches:
        shown = ", ".join(sorted({f"{r['model']}/{r['form']}" for r in rows}))
        raise EcholiteError(f"--baseline {baseline}: not among the rows measured ({shown})")
    return matches[0]


def _ratio(value, base) -> float | None:
    return value / base if value and base else None


def _model_of(source: str | Path, scratch: Path, log) -> BenchModel:
    path = resolve_model(source)
    if path.is_dir():
        run = RunDir(path)
        forms = ({"keras": run.model} if run.model.exists() else {}) | {_form(p): p for p in run.exports()}
        if not forms:
            raise EcholiteError(f"{path}: no {run.MODEL} or {run.EXPORTS} to benchmark")
        return _with_cost(BenchModel(path.name, forms), run.load_config().model if run.is_run() else None)
    if path.suffix in (".keras", ".tflite") and path.is_file():
        run = RunDir(path.parent)
        if run.is_run() or path.suffix == ".keras":
            form = "keras" if path.suffix == ".keras" else _form(path)
            return _with_cost(
                BenchModel(_name_of(path), {form: path}), run.load_config().model if run.is_run() else None
            )
        return _exported_alone(path)

    if str(source) in PRESETS:
        return _untrained(str(source), scratch, log)
    raise EcholiteError(
        f"{source}: not a run folder, .keras or .tflite file, shipped model ({', '.join(SHIPPED)}) or preset name "
        f"({', '.join(PRESETS)})"
    )


def _name_of(source: str | Path) -> str:
    """A row's model name: a run folder's name, a preset's, a file's stem (an export in a run: RUN/STEM)."""
    path = Path(source)
    if path.suffix == ".tflite" and RunDir(path.parent).is_run():
        return f"{path.parent.name}/{path.stem}"
    return path.stem if path.suffix in (".keras", ".tflite") else path.name


def _exported_alone(path: Path) -> BenchModel:
    """An export outside its run folder: its form, parameters and GMAC from the metadata beside it (an export
    of an older echolite names the form only)."""
    try:
        metadata = read_metadata(path)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
    if not metadata.get("mode"):
        return BenchModel(path.stem, {_form(path): path})
    form = metadata["mode"] + (
        "_qat" if str(metadata.get("quantization_method")).startswith("quantization-aware") else ""
    )
    return BenchModel(path.stem, {form: path}, metadata.get("parameters"), metadata.get("gmac"))


def _form(path: Path) -> str:
    return path.stem.removeprefix("model_")


def _with_cost(model: BenchModel, architecture) -> BenchModel:
    from echolite.models.compute import count_macs  # Keras on use: a .tflite needs none
    from echolite.models.unet import build_unet  # Keras on use: a .tflite needs none

    if architecture is not None:
        built = build_unet(architecture)
        model.parameters, model.gmac = _inference_parameters(built), count_macs(built) / 1e9
    return model


def _inference_parameters(model) -> int:
    from echolite.models.unet import inference_model  # Keras on use: a .tflite needs none

    return inference_model(model).count_params()


def _untrained(preset: str, scratch: Path, log) -> BenchModel:
    """The preset with its initial weights, saved and exported like a trained run."""
    from echolite.models.unet import build_model, inference_model  # Keras on use: a .tflite needs none

    log(f"building and exporting an untrained {preset}")
    folder = scratch / preset
    folder.mkdir()
    model = inference_model(build_model(preset))
    forms = {"keras": folder / RunDir.MODEL}
    model.save(forms["keras"])
    calibration = make_phantom(16, seed=0, size=get_preset(preset).model.input_size)
    for mode in UNTRAINED_FORMS:
        forms[mode] = folder / RunDir.export_name(mode)
        export_tflite(model, forms[mode], mode, calibration=calibration if mode == "int8" else None)
    return _with_cost(BenchModel(preset, forms, untrained=True), get_preset(preset).model)


def _read_frame(image: Path) -> np.ndarray:
    """The frame of an image or a one-frame .npy, read as the device runner reads it."""

    try:
        return read_one_frame(image)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None


def _timers(path: Path, form: str, threads: int | None, frame: np.ndarray | None):
    """(invoke, end to end) callables for one form of a model."""
    if form == "keras":
        return _keras_timers(path, frame)

    try:
        segmenter = EdgeSegmenter(path, threads)
    except ValueError as exc:
        raise EcholiteError(str(exc)) from None
    frame = _frame_for(segmenter.size) if frame is None else frame
    x = segmenter.preprocess(frame)
    interpreter, index = segmenter.interpreter, segmenter.input["index"]

    def invoke():
        interpreter.set_tensor(index, x)
        interpreter.invoke()

    return invoke, lambda: segmenter.segment(frame)


def _keras_timers(path: Path, frame: np.ndarray | None):
    """The compiled Keras call, and the same end-to-end path as the device runner around it."""
    import tensorflow as tf  # TensorFlow on use: the module loads without it

    model = load_keras_model(path)
    size = model.input_shape[1]
    frame = _frame_for(size) if frame is None else frame
    compiled = tf.function(lambda image: model(image, training=False), jit_compile=False)
    x = tf.constant(model_input(frame, size)[None, ..., None])

    def end_to_end():
        scores = compiled(tf.constant(model_input(frame, size)[None, ..., None])).numpy()[0]
        return resize_nearest(repair_anatomy(keep_largest_components(argmax_labels(scores))), frame.shape)

    return (lambda: compiled(x).numpy()), end_to_end


def _frame_for(size: int) -> np.ndarray:
    """A phantom frame at the model's size, so post-processing sees a heart, not noise."""

    return np.round(make_phantom(1, seed=0, size=size).images[0] * 255).astype(np.uint8)
