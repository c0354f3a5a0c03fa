"""``echolite measure``: LV volumes and ejection fraction from frames or a cine loop."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from echolite.errors import EcholiteError
from echolite.cli.common import frames_for_split, input_size, load_any_model, num, predict, run_of, without_nan


@click.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder with ED and ES frames, or 'phantom'. MODEL: run, .keras or .tflite.")
@click.option("--sequence", type=click.Path(path_type=Path),
              help="A cine loop instead (NIfTI/MHD sequence, .npy stack, or folder of frames): ED/ES found from the LV area.")
@click.option("--spacing", type=float, help="Pixel size in mm for a --sequence whose format carries none.")
@click.option("--ground-truth", is_flag=True, help="Measure the ground-truth masks instead of a model's.")
@click.option("--split", type=click.Choice(["test", "val", "train", "all"]), default="all", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for measurements.csv and bland_altman.png.")
@click.option("--json", "as_json", is_flag=True, help="Print per-patient values and agreement as JSON.")
def measure(model, data_path, sequence, spacing, ground_truth, split, out, as_json):
    """LV volumes (method of disks) and ejection fraction per patient, from MODEL's masks or the ground truth;
    or, with --sequence, EF from a whole cine loop."""
    import dataclasses
    import json

    from echolite.clinical import agreement, measure_patients
    from echolite.postprocess import PostprocessConfig, postprocess

    if sequence is not None:
        if model is None:
            raise EcholiteError("--sequence needs MODEL (the loop has no ground truth to measure)")
        return _measure_cine(model, sequence, spacing, out, as_json)
    if data_path is None:
        raise EcholiteError("give --data PATH (or --sequence LOOP)")
    if (model is None) != ground_truth:
        raise EcholiteError("give either MODEL or --ground-truth")
    if model is not None:
        network = load_any_model(model)
        loaded = frames_for_split(data_path, split, run_of(model), input_size(network))
        masks = postprocess(predict(network, loaded.frames), PostprocessConfig())
    else:
        loaded = frames_for_split(data_path, split, None, 256)
        masks = loaded.frames.masks
    reference = _reference_ef(loaded.info)
    results = measure_patients(masks, loaded.frames, reference)
    report = {"source": "ground truth" if ground_truth else str(model),
              "patients": [dataclasses.asdict(r) for r in results]}
    if model is not None:
        truth = measure_patients(loaded.frames.masks, loaded.frames)
        report["ef_vs_ground_truth_masks"] = agreement([r.ef for r in results], [t.ef for t in truth])
    if reference:
        report["ef_vs_reference"] = agreement([r.ef for r in results], [r.reference_ef for r in results])
    if out:
        _write_measurements(out, results)
    if as_json:
        click.echo(json.dumps(without_nan(report), indent=2))
        return
    click.echo(f"{'patient':<14}{'method':<26}{'EDV mL':>8}{'ESV mL':>8}{'EF %':>7}{'ref EF':>8}  problem")
    for r in results:
        click.echo(f"{r.patient:<14}{r.method:<26}{r.edv_ml:>8.1f}{r.esv_ml:>8.1f}{r.ef:>7.1f}{r.reference_ef:>8.1f}  {r.problem}")
    for key in ("ef_vs_ground_truth_masks", "ef_vs_reference"):
        if key in report:
            a = report[key]
            click.echo(f"{key}: n {a['n']}, MAE {num(a['mae'])} points, bias {num(a['bias'])}, r {num(a['r'])}")


def _measure_cine(model: Path, sequence: Path, spacing: float | None, out: Path | None, as_json: bool) -> None:
    import json
    import time

    from echolite.cine import analyse_cine, read_sequence
    from echolite.postprocess import PostprocessConfig, postprocess

    network = load_any_model(model)
    loop = read_sequence(sequence, input_size(network), spacing)
    predict(network, dataclasses.replace(loop, images=loop.images[:9]))  # warm-up (a full batch of 8 and a rest)
    start = time.perf_counter()
    masks = postprocess(predict(network, loop), PostprocessConfig())
    fps = len(loop.images) / (time.perf_counter() - start)
    result = analyse_cine(masks, loop.spacing_mm)
    if out:
        from echolite.plots import save_area_curve

        out.mkdir(parents=True, exist_ok=True)
        save_area_curve(result.lv_area_mm2, result.ed_index, result.es_index, out / "lv_area.png")
    report = {"sequence": str(sequence), "frames": len(loop.images), "ed_frame": result.ed_index,
              "es_frame": result.es_index, "edv_ml": result.edv_ml, "esv_ml": result.esv_ml, "ef": result.ef,
              "frames_per_second": fps}
    if as_json:
        click.echo(json.dumps(without_nan(report), indent=2))
        return
    click.echo(f"{loop.name}: {len(loop.images)} frames segmented at {fps:.1f} frames/s")
    click.echo(f"ED frame {result.ed_index}, ES frame {result.es_index}: EDV {result.edv_ml:.1f} mL, "
               f"ESV {result.esv_ml:.1f} mL, EF {result.ef:.1f} % (single-plane disks)")


def _reference_ef(info: dict) -> dict[str, float]:
    """CAMUS Info_*.cfg EF per patient (the same value is in both views' files)."""
    reference = {}
    for patient, views in info.items():
        for values in views.values():
            try:
                reference[patient] = float(values["EF"])
            except (KeyError, ValueError):
                continue
    return reference


def _write_measurements(out: Path, results) -> None:
    import csv
    import dataclasses

    from echolite.plots import save_bland_altman

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "measurements.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in dataclasses.fields(results[0])])
        writer.writeheader()
        writer.writerows(dataclasses.asdict(r) for r in results)
    if any(r.reference_ef == r.reference_ef for r in results):
        save_bland_altman([r.ef for r in results], [r.reference_ef for r in results], out / "bland_altman.png")
