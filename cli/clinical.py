"""``echolite measure``: LV volumes and ejection fraction from frames or a cine loop."""

from __future__ import annotations

import json
from pathlib import Path

import click

from echolite.cli.common import given_on_command_line, mask_options, two_decimals, without_nan
from echolite.config import SPLITS
from echolite.errors import EcholiteError
from echolite_edge.words import counted


@click.command(short_help="LV volumes and ejection fraction, with agreement and QC.")
@click.argument("model", required=False, type=click.Path(path_type=Path))
@click.option("--data", "data_path", help="Data folder with ED and ES frames, or 'phantom'.")
@click.option(
    "--sequence",
    type=click.Path(path_type=Path),
    help="A cine loop instead (NIfTI/MHD sequence, .npy stack, DICOM, video, or folder of frames): its beats, ED/ES "
    "per beat and their mean EF, given only when the loop passes the loop quality control.",
)
@click.option(
    "--fps",
    type=float,
    help="Frame rate of the --sequence loop in frames/s, where the file carries none (heart rate and rhythm check; "
    "without any rate the beats are counted in frames).",
)
@click.option(
    "--spacing",
    type=float,
    help="Pixel size in mm of the original frames, for data or a --sequence whose format carries none "
    "(refused where it carries one).",
)
@click.option("--ground-truth", is_flag=True, help="Measure the ground-truth masks instead of a model's.")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    default="all",
    show_default=True,
    help="Patients to measure: the run's saved split, else the data's own (all: every patient).",
)
@click.option(
    "--split-file",
    type=click.Path(path_type=Path),
    help="YAML/JSON with train, val, test patient lists (instead of the run's or the data's split).",
)
@click.option(
    "--qc",
    default="camus",
    show_default=True,
    metavar="[off|camus|echolite]",
    help="Anatomical criteria every ED/ES mask is checked against; a patient with a failing mask is "
    "left out of the 'QC passed' figures (the figures over all patients are always shown).",
)
@mask_options
@click.option(
    "--mitral-cut/--no-mitral-cut",
    default=True,
    show_default=True,
    help="Measure each end-systolic LV cut at the end-diastolic mitral plane (in systole the annulus moves "
    "toward the apex: LV beyond that plane is atrium).",
)
@click.option("--out", type=click.Path(path_type=Path), help="Folder for measurements.csv and the Bland–Altman plots.")
@click.option("--json", "as_json", is_flag=True, help="Print per-patient values, QC and agreement as JSON.")
def measure(
    model,
    data_path,
    sequence,
    fps,
    spacing,
    ground_truth,
    split,
    split_file,
    qc,
    masks,
    mitral_cut,
    out,
    as_json,
):
    """LV volumes (method of disks) and ejection fraction per patient, from MODEL's masks (MODEL: a shipped model's
    name, a run folder, .keras or .tflite) or the ground truth, with their agreement with the expert masks and the
    reference EF; or, with --sequence, EF from a cine loop."""

    if ground_truth and (masks.needs_model or given_on_command_line("close_myocardium")):
        raise EcholiteError("--ensemble, --tta and --close-myocardium apply to a model's masks, not --ground-truth")
    if sequence is not None:
        if data_path is not None or ground_truth or split_file is not None or given_on_command_line("split"):
            raise EcholiteError(
                "--sequence measures one cine loop: leave out --data, --ground-truth, --split and --split-file"
            )
        if model is None:
            raise EcholiteError("--sequence needs MODEL (the loop has no ground truth to measure)")
        return _print_cine(masks, sequence, spacing, out, as_json, qc, mitral_cut, fps)
    if fps is not None:
        raise EcholiteError("--fps: the frame rate is for a --sequence loop; add --sequence or leave it out")
    if data_path is None:
        raise EcholiteError("give --data PATH (or --sequence LOOP)")
    if (model is None) != ground_truth:
        raise EcholiteError("give either MODEL or --ground-truth")
    from echolite.workflows.measure import measure as run_measure  # on use: keeps `echolite --help` fast

    report = run_measure(
        None if ground_truth else masks,
        data_path,
        split,
        out,
        qc,
        str(split_file) if split_file else None,
        mitral_cut,
        spacing,
    )
    if as_json:
        click.echo(json.dumps(without_nan(report.as_dict()), indent=2))
        return
    _print_patients(report)
    click.echo(
        "ES masks measured "
        + (
            "cut at the ED mitral plane (--no-mitral-cut: as they are)"
            if report.mitral_cut
            else "as they are (not cut at the ED mitral plane)"
        )
    )
    for comparison, quantities in report.agreement.items():
        click.echo("")
        _print_agreement(report, comparison, quantities)
    if not report.agreement:
        click.echo("\nno agreement figures: the expert masks are the reference, and the data has no reference EF")
    if report.qc != "off":
        click.echo("")
        _print_qc(report)
    for path in report.written:
        click.echo(f"wrote {path}")


def _print_patients(report) -> None:
    click.echo(f"{'patient':<14}{'method':<26}{'EDV mL':>8}{'ESV mL':>8}{'EF %':>7}{'ref EF':>8}  {'QC':<5} problem")
    for r in report.patients:
        verdict = {None: "-", True: "pass", False: "FAIL"}[r.qc_passed]
        click.echo(
            f"{r.patient:<14}{r.method:<26}{r.edv_ml:>8.1f}{r.esv_ml:>8.1f}{r.ef:>7.1f}{r.reference_ef:>8.1f}"
            f"  {verdict:<5} {r.problem}"
        )


def _print_agreement(report, comparison: str, quantities: dict) -> None:
    from echolite.workflows.measure import QUANTITIES  # on use: keeps `echolite --help` fast

    against = {"vs_expert_masks": "expert masks", "vs_reference": "reference EF"}[comparison]
    click.echo(
        f"agreement, {report.measured} − {against} (bias = mean difference, LoA = bias ± 1.96 SD, "
        f"MAE = mean |difference|, r = Pearson)"
    )
    click.echo(f"{'':<10}{'patients':<20}{'n':>4}{'bias':>9}{'LoA':>20}{'MAE':>8}{'r':>7}")
    populations = {"all": "all", "qc_passed": f"QC passed ({report.qc})"}
    for quantity, figures in quantities.items():
        for i, (population, a) in enumerate(figures.items()):
            loa = "-" if a["loa"] is None else f"{a['loa'][0]:.1f} to {a['loa'][1]:.1f}"
            name = QUANTITIES[quantity] if i == 0 else ""
            click.echo(
                f"{name:<10}{populations[population]:<20}{a['n']:>4}{_signed(a['bias']):>9}{loa:>20}"
                f"{two_decimals(a['mae']):>8}{two_decimals(a['r']):>7}"
            )


def _signed(value) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _print_qc(report) -> None:
    click.echo(
        f"QC ({report.qc} criteria): {len(report.failing_frames)} of {counted(report.qc_frames, 'ED/ES frame')} of the "
        f"{report.measured} fail; {len(report.rejected)} of {counted(len(report.patients), 'patient')} rejected"
    )
    for f in report.failing_frames:
        click.echo(f"  {f.frame}: {', '.join(f.failed)}")
    from echolite.clinical.quality import volume_problem  # on use: keeps `echolite --help` fast

    for p, problem in ((p, volume_problem(p)) for p in report.patients):
        if problem:
            click.echo(f"  {p.patient}: {problem}")


def _print_cine(
    masks,
    sequence: Path,
    spacing: float | None,
    out: Path | None,
    as_json: bool,
    qc: str,
    mitral_cut: bool,
    fps: float | None,
) -> None:
    from echolite.workflows.measure import measure_cine  # on use: keeps `echolite --help` fast

    report = measure_cine(masks, sequence, spacing, out, qc, mitral_cut, fps)
    if as_json:
        click.echo(json.dumps(without_nan(report.as_dict()), indent=2))
        return
    click.echo(
        f"{sequence.name}: {counted(report.frames, 'frame')} segmented at {report.frames_per_second:.1f} frames/s"
    )
    if report.loop_fps:
        click.echo(f"loop recorded at {report.loop_fps:.4g} frames/s ({report.loop_fps_from})")
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo(report.loop.summary_line())
