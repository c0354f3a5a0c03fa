"""``echolite measure``: LV volumes and ejection fraction from frames or a cine loop."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from echolite.cli.common import num, without_nan
from echolite.config import SPLITS
from echolite.errors import EcholiteError


@click.command()
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder with ED and ES frames, or 'phantom'. MODEL: run, .keras or .tflite.")
@click.option("--sequence", type=click.Path(path_type=Path),
              help="A cine loop instead (NIfTI/MHD sequence, .npy stack, or folder of frames): ED/ES found from the LV area.")
@click.option("--spacing", type=float, help="Pixel size in mm for a --sequence whose format carries none.")
@click.option("--ground-truth", is_flag=True, help="Measure the ground-truth masks instead of a model's.")
@click.option("--split", type=click.Choice(SPLITS), default="all", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for measurements.csv and bland_altman.png.")
@click.option("--json", "as_json", is_flag=True, help="Print per-patient values and agreement as JSON.")
def measure(model, data_path, sequence, spacing, ground_truth, split, out, as_json):
    """LV volumes (method of disks) and ejection fraction per patient, from MODEL's masks or the ground truth;
    or, with --sequence, EF from a whole cine loop."""
    if sequence is not None:
        if model is None:
            raise EcholiteError("--sequence needs MODEL (the loop has no ground truth to measure)")
        return _print_cine(model, sequence, spacing, out, as_json)
    if data_path is None:
        raise EcholiteError("give --data PATH (or --sequence LOOP)")
    if (model is None) != ground_truth:
        raise EcholiteError("give either MODEL or --ground-truth")
    from echolite.clinical.measure import measure as run_measure

    report = run_measure(model, data_path, split, ground_truth, out)
    if as_json:
        payload = {"source": report.source, "patients": [dataclasses.asdict(r) for r in report.patients],
                   **report.agreement}
        click.echo(json.dumps(without_nan(payload), indent=2))
        return
    click.echo(f"{'patient':<14}{'method':<26}{'EDV mL':>8}{'ESV mL':>8}{'EF %':>7}{'ref EF':>8}  problem")
    for r in report.patients:
        click.echo(f"{r.patient:<14}{r.method:<26}{r.edv_ml:>8.1f}{r.esv_ml:>8.1f}{r.ef:>7.1f}{r.reference_ef:>8.1f}  {r.problem}")
    for key, a in report.agreement.items():
        click.echo(f"{key}: n {a['n']}, MAE {num(a['mae'])} points, bias {num(a['bias'])}, r {num(a['r'])}")
    if out:
        click.echo(f"wrote {out}/measurements.csv")


def _print_cine(model: Path, sequence: Path, spacing: float | None, out: Path | None, as_json: bool) -> None:
    from echolite.clinical.measure import measure_cine

    report = measure_cine(model, sequence, spacing, out)
    r = report.result
    if as_json:
        click.echo(json.dumps(without_nan({
            "sequence": str(sequence), "frames": report.frames, "ed_frame": r.ed_index, "es_frame": r.es_index,
            "edv_ml": r.edv_ml, "esv_ml": r.esv_ml, "ef": r.ef, "frames_per_second": report.frames_per_second}), indent=2))
        return
    click.echo(f"{sequence.name}: {report.frames} frames segmented at {report.frames_per_second:.1f} frames/s")
    click.echo(f"ED frame {r.ed_index}, ES frame {r.es_index}: EDV {r.edv_ml:.1f} mL, "
               f"ESV {r.esv_ml:.1f} mL, EF {r.ef:.1f} % (single-plane disks)")
