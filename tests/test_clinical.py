import numpy as np
import pytest

from echolite.clinical.volumes import (
    ejection_fraction,
    long_axis,
    volume_area_length,
    volume_biplane,
    volume_single_plane,
)

SPACING = (0.3, 0.25)  # mm per (row, column): anisotropic on purpose


def _half_ellipsoid_view(long_mm, radius_mm, size=320, spacing=SPACING, with_atrium=True):
    """An apical view of a prolate half-ellipsoid LV (apex up), LA below the mitral plane."""
    y, x = np.mgrid[0:size, 0:size].astype(float)
    ymm, xmm = y * spacing[0], x * spacing[1]
    base_y, centre_x = 0.8 * size * spacing[0], 0.5 * size * spacing[1]
    u, v = base_y - ymm, xmm - centre_x  # u: up the long axis from the mitral plane
    mask = np.zeros((size, size), np.uint8)
    mask[(u >= 0) & ((u / long_mm) ** 2 + (v / radius_mm) ** 2 <= 1)] = 1
    if with_atrium:
        mask[(u < 0) & (u > -15) & (np.abs(v) < radius_mm * 1.05)] = 3
    return mask


def test_half_ellipsoid_volume_within_3_percent():
    long_mm, radius_mm = 70.0, 24.0
    truth_ml = 2 / 3 * np.pi * long_mm * radius_mm**2 / 1000
    axis = long_axis(_half_ellipsoid_view(long_mm, radius_mm), SPACING)
    assert axis.length == pytest.approx(long_mm, rel=0.02)
    assert volume_single_plane(axis) == pytest.approx(truth_ml, rel=0.03)
    assert volume_biplane(axis, axis) == pytest.approx(truth_ml, rel=0.03)
    assert volume_area_length(axis) == pytest.approx(truth_ml, rel=0.10)  # exact for an ellipsoid up to pixelation


def test_biplane_with_two_different_views():
    long_mm, a, b = 70.0, 24.0, 18.0
    truth_ml = 2 / 3 * np.pi * long_mm * a * b / 1000
    four, two = (long_axis(_half_ellipsoid_view(long_mm, r), SPACING) for r in (a, b))
    assert volume_biplane(two, four) == pytest.approx(truth_ml, rel=0.03)


def test_known_ed_es_pair_gives_known_ef():
    ed = volume_single_plane(long_axis(_half_ellipsoid_view(72, 26), SPACING))
    es = volume_single_plane(long_axis(_half_ellipsoid_view(62, 19), SPACING))
    expected = 100 * (1 - (62 * 19**2) / (72 * 26**2))
    assert ejection_fraction(ed, es) == pytest.approx(expected, abs=1.5)


def test_mitral_plane_without_atrium_uses_the_open_base():
    axis = long_axis(_half_ellipsoid_view(70, 24, with_atrium=False), SPACING)
    assert axis.length == pytest.approx(70, rel=0.03)


def test_empty_lv_is_a_user_error():
    from echolite.errors import EcholiteError

    with pytest.raises(EcholiteError, match="no left ventricle"):
        long_axis(np.zeros((32, 32), np.uint8), SPACING)


def test_measure_command_on_ground_truth_and_a_reference_ef(tmp_path):
    import json

    from click.testing import CliRunner

    from echolite.cli.main import main
    from echolite.data.phantom import make_phantom

    frames = make_phantom(6, seed=1, size=128)  # 3 patients, 4CH ED + ES
    from tests.helpers import camus_release

    camus_release(tmp_path / "data", frames, ".nii.gz", "database_nifti")  # Info_4CH.cfg says EF 57.5
    result = CliRunner().invoke(
        main, ["measure", "--ground-truth", "--data", str(tmp_path / "data"), "--json", "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert len(report["patients"]) == 3 and report["patients"][0]["method"] == "single-plane disks 4CH"
    assert all(p["edv_ml"] > p["esv_ml"] > 0 and 10 < p["ef"] < 90 for p in report["patients"])
    assert report["patients"][0]["reference_ef"] == 57.5
    assert report["agreement"]["vs_reference"]["ef"]["all"]["n"] == 3
    assert report["qc"]["criteria"] == "camus" and report["qc"]["frames_checked"] == 6
    assert "qc_passed" in report["agreement"]["vs_reference"]["ef"]
    assert (tmp_path / "m" / "measurements.csv").exists() and (tmp_path / "m" / "bland_altman.png").exists()
    uncut = CliRunner().invoke(
        main, ["measure", "--ground-truth", "--data", str(tmp_path / "data"), "--json", "--no-mitral-cut"]
    )
    assert uncut.exit_code == 0, uncut.output
    uncut_report = json.loads(uncut.output[uncut.output.index("{") :])
    assert len(uncut_report["patients"]) == 3 and uncut_report["mitral_cut"] is False and report["mitral_cut"]
    both = CliRunner().invoke(main, ["measure", "--data", str(tmp_path / "data")])
    assert both.exit_code == 1 and "give either MODEL or --ground-truth" in both.output

    (tmp_path / "split.yaml").write_text("train: [patient0001]\nval: [patient0002, patient0003]\n")
    table = CliRunner().invoke(
        main,
        [
            "measure",
            "--ground-truth",
            "--data",
            str(tmp_path / "data"),
            "--split",
            "val",
            "--split-file",
            str(tmp_path / "split.yaml"),
            "--qc",
            "echolite",
        ],
    )
    assert table.exit_code == 0, table.output
    assert "patient0001" not in table.output and "patient0003" in table.output
    assert "QC passed (echolite)" in table.output and "QC (echolite criteria):" in table.output


def test_bad_qc_value_is_a_one_line_error():
    from click.testing import CliRunner

    from echolite.cli.main import main

    result = CliRunner().invoke(main, ["measure", "--ground-truth", "--data", "phantom", "--qc", "strict"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: --qc 'strict': unknown; choose off, camus or echolite"]


def test_agreement_matches_a_hand_computed_case():
    from echolite.clinical.volumes import agreement

    # differences 1, 0, −1, 4: bias 1, sample SD sqrt(14 / 3); r = 36 / sqrt(56 · 30); the NaN pair is left out
    figures = agreement([10, 12, 14, 20, np.nan], [9, 12, 15, 16, 30])
    assert figures["n"] == 4 and figures["bias"] == pytest.approx(1.0) and figures["mae"] == pytest.approx(1.5)
    assert figures["sd"] == pytest.approx(2.160247, abs=1e-6)
    assert figures["loa"] == pytest.approx([1 - 1.96 * 2.160247, 1 + 1.96 * 2.160247], abs=1e-6)
    assert figures["r"] == pytest.approx(0.878310, abs=1e-6)
    kept = agreement([10, 12, 14, 20], [9, 12, 15, 16], where=[True, True, True, False])  # differences 1, 0, −1
    assert kept["n"] == 3 and kept["bias"] == pytest.approx(0.0) and kept["loa"] == pytest.approx([-1.96, 1.96])
    assert agreement([1.0], [2.0]) == {"n": 1, "bias": None, "sd": None, "loa": None, "mae": None, "r": None}


def _model_and_expert(defective_patient=2):
    """Expert masks of 4 phantom patients, 'model' masks from another phantom seed (different hearts, all
    anatomically plausible), one patient's ES mask with a hole punched in its LV cavity."""
    from echolite.data.phantom import make_phantom

    expert, model = make_phantom(8, seed=1), make_phantom(8, seed=2).masks.copy()
    es = 2 * defective_patient + 1
    rows, cols = np.nonzero(model[es] == 1)
    r, c = int(np.median(rows)), int(np.median(cols))
    assert (model[es][r - 2 : r + 2, c - 2 : c + 2] == 1).all()
    model[es][r - 2 : r + 2, c - 2 : c + 2] = 0
    return expert, model


def test_qc_rejects_a_patient_whose_systole_is_not_smaller_than_its_diastole():
    from echolite.workflows.measure import measure_masks

    expert, model = _model_and_expert()
    ed, es = 2, 3  # patient 1: its plausible ED and ES masks swapped, so ESV > EDV
    assert expert.patients[ed] == expert.patients[es] and (expert.phases[ed], expert.phases[es]) == ("ED", "ES")
    model[[ed, es]] = model[[es, ed]]
    report = measure_masks(model, expert, "model", expert.masks, qc="camus")
    swapped = report.patients[1]
    assert swapped.ef < 0 and swapped.qc_passed is False and swapped.qc_failed.startswith("volumes: ESV ")
    assert report.rejected == ["phantom0001", "phantom0002"]  # and the patient with the holed ES mask
    assert measure_masks(model, expert, "model", qc="off").patients[1].qc_passed is None


def test_qc_rejects_the_patient_with_a_defective_es_mask_and_its_figures_exclude_it(tmp_path):
    from echolite.clinical.volumes import agreement
    from echolite.workflows.measure import BLAND_ALTMAN, BLAND_ALTMAN_VS_EXPERT, measure_masks, write_measurements

    expert, model = _model_and_expert()
    reference = {p: 55.0 + i for i, p in enumerate(sorted(set(expert.patients)))}
    report = measure_masks(model, expert, "model", expert.masks, reference, qc="camus")
    assert report.rejected == ["phantom0002"] and report.qc_frames == 8
    [failing] = report.failing_frames
    assert failing.frame == "phantom0002_4CH_ES" and "lv_hole" in failing.failed
    assert report.patients[2].qc_failed.startswith("phantom0002_4CH_ES: lv_hole")
    kept = [i for i, p in enumerate(report.patients) if p.qc_passed]
    for quantity in ("edv_ml", "esv_ml", "ef"):
        a = [getattr(p, quantity) for p in report.patients]
        b = [getattr(p, quantity) for p in report.expert]
        figures = report.agreement["vs_expert_masks"][quantity]
        assert figures["all"] == agreement(a, b) and figures["all"]["n"] == 4
        assert figures["qc_passed"] == agreement([a[i] for i in kept], [b[i] for i in kept])
        assert figures["qc_passed"]["n"] == 3
    assert report.agreement["vs_reference"]["ef"]["qc_passed"]["n"] == 3

    written = write_measurements(report, tmp_path)
    assert {p.name for p in written} == {"measurements.csv", BLAND_ALTMAN, *BLAND_ALTMAN_VS_EXPERT.values()}
    assert all(p.stat().st_size > 10_000 for p in written if p.suffix == ".png")
    header, *rows = (tmp_path / "measurements.csv").read_text().splitlines()
    assert "qc_passed,qc_failed" in header and "expert_ef" in header and rows[2].count("False") == 1

    unchecked = measure_masks(model, expert, "model", expert.masks, qc="off")
    assert unchecked.patients[2].qc_passed is None and set(unchecked.agreement["vs_expert_masks"]["ef"]) == {"all"}


def test_a_failed_write_of_measurements_leaves_no_folder_behind(tmp_path, monkeypatch):
    import echolite.workflows.measure as measure_module

    expert, model = _model_and_expert()
    report = measure_module.measure_masks(model, expert, "model", expert.masks)

    def disk_full(report, folder):
        (folder / "measurements.csv").write_text("patient\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(measure_module, "_write_measurement_files", disk_full)
    with pytest.raises(OSError):
        measure_module.write_measurements(report, tmp_path / "new" / "out")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(OSError):
        measure_module.write_measurements(report, tmp_path / "kept")
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())  # a user's folder stays


def test_a_cine_frame_failing_qc_is_never_es(tmp_path, monkeypatch):
    from echolite.data.phantom import make_phantom_cine
    from echolite.inference import MaskSpec
    from echolite.workflows.measure import measure_cine

    images, masks, _ = make_phantom_cine(frames=8, size=128)
    masks[4, 60:63, 60:63] = 0  # a hole at end-systole (frame 4)
    one_hot = np.eye(4, dtype=np.float32)[masks]

    class Replay:
        input_size = 128

        def predict_probabilities(self, batch):
            return one_hot[: len(batch)] if len(batch) < len(masks) else one_hot

    monkeypatch.setattr(MaskSpec, "segmenter", lambda masks: Replay())
    np.save(tmp_path / "loop.npy", np.round(images * 255).astype(np.uint8))
    from echolite.evaluation.postprocess import PostprocessConfig

    unfilled = MaskSpec(tmp_path / "m.keras", post=PostprocessConfig(fill_enclosed=False))
    loop = tmp_path / "loop.npy"
    unchecked = measure_cine(unfilled, loop, spacing_mm=1.2, qc="off", fps=30).loop
    checked = measure_cine(unfilled, loop, spacing_mm=1.2, qc="camus", fps=30).loop
    assert [(b.ed, b.es) for b in unchecked.analysis.beats] == [(0, 4)] and unchecked.ef is not None
    assert [b.ed for b in checked.analysis.beats] == [0] and checked.analysis.beats[0].es in (3, 5)
    assert checked.analysis.anatomy_passed.tolist() == [t != 4 for t in range(8)] and checked.ef is not None
    filled = measure_cine(MaskSpec(tmp_path / "m.keras"), loop, spacing_mm=1.2, qc="camus", fps=30).loop
    assert filled.analysis.anatomy_passed.all() and filled.analysis.beats[0].es == 4  # the default fills the hole


def _measurements_csv(folder, model_ef, expert_ef=(60.0, 50.0, 40.0, 55.0)):
    folder.mkdir()
    lines = ["patient,method,edv_ml,esv_ml,ef,expert_edv_ml,expert_esv_ml,expert_ef"]
    for i, (ef, expert) in enumerate(zip(model_ef, expert_ef)):
        edv = 100 if np.isfinite(ef) else float("nan")  # a patient that could not be measured has NaN throughout
        lines.append(f"patient{i:04d},single-plane disks 4CH,{edv},{edv - ef},{ef},100,{100 - expert},{expert}")
    (folder / "measurements.csv").write_text("\n".join(lines) + "\n")


def test_compare_two_measure_reports_tests_the_patients_errors(tmp_path):
    from click.testing import CliRunner

    from echolite.cli.main import main
    from echolite.workflows.measure import compare_measurements

    _measurements_csv(tmp_path / "a", (50.0, 58.0, 30.0, float("nan")))  # errors 10, 8, 10; the last unmeasured
    _measurements_csv(tmp_path / "b", (58.0, 51.0, 38.0, 50.0))  # errors 2, 1, 2, 5
    result = compare_measurements(tmp_path / "a", tmp_path / "b")
    ef = {r["structure"]: r for r in result.rows}["EF %"]
    assert result.unit == "patients" and ef["n"] == 3 and ef["missed_a"] == 1 and ef["missed_b"] == 0
    assert ef["mean_a"] == pytest.approx(28 / 3) and ef["diff"] == pytest.approx(5 / 3 - 28 / 3)
    assert ef["p"] == pytest.approx(0.25)  # exact two-sided test: 3 of 3 pairs lower
    assert result.n_frames == 4
    printed = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert printed.exit_code == 0, printed.output
    assert "4 patients" in printed.output and "EF %" in printed.output and "boxplots" not in printed.output
    _measurements_csv(tmp_path / "c", (50.0, 58.0, 30.0), expert_ef=(60.0, 50.0, 40.0))
    other = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "c")])
    assert other.exit_code == 1 and "measured different patients" in other.output
    chosen = CliRunner().invoke(main, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "dice"])
    assert chosen.exit_code == 1 and "two measure folders" in chosen.output


def _systole_reaching_into_the_atrium(spacing=SPACING, size=320):
    """ED and ES views of one heart whose ES mask takes the atrium's first 8 mm for ventricle (the mitral plane of
    ``_half_ellipsoid_view`` is the row 0.8·size), and the same ES mask without that."""
    ed = _half_ellipsoid_view(70.0, 24.0, size, spacing)
    es = _half_ellipsoid_view(60.0, 18.0, size, spacing)
    y, _x = np.mgrid[0:size, 0:size].astype(float)
    below = 0.8 * size * spacing[0] - y * spacing[0]
    reaching = es.copy()
    reaching[(below < 0) & (below > -8) & (es == 3)] = 1
    return ed, reaching, es


def test_mitral_cut_gives_the_atrium_back_what_lies_beyond_the_diastolic_plane():
    from echolite.clinical.volumes import mitral_cut, pair_axes
    from echolite.errors import EcholiteError

    ed, reaching, es = _systole_reaching_into_the_atrium()
    cut = mitral_cut(reaching, long_axis(ed, SPACING), SPACING)
    np.testing.assert_array_equal(cut, es)  # the LV ends at the plane, the atrium gets its pixels back
    assert volume_single_plane(long_axis(reaching, SPACING)) > 1.1 * volume_single_plane(long_axis(cut, SPACING))
    assert mitral_cut(es, long_axis(ed, SPACING), SPACING) is es  # nothing beyond the plane: untouched
    _, measured = pair_axes(ed, reaching, SPACING, SPACING)
    assert volume_single_plane(measured) == pytest.approx(volume_single_plane(long_axis(es, SPACING)))
    with pytest.raises(EcholiteError, match="no left ventricle"):
        pair_axes(np.zeros_like(ed), reaching, SPACING, SPACING)  # no diastolic LV to take the plane from


def test_mitral_cut_follows_a_tilted_annulus():
    """The plane is the line through the diastolic annulus points, not the normal of the long axis."""
    from echolite.clinical.volumes import mitral_cut

    size, spacing = 200, (1.0, 1.0)
    y, x = np.mgrid[0:size, 0:size].astype(float)
    plane = 120 + 0.3 * (x - 100)  # the mitral plane drops 0.3 px per column to the right
    ed = np.zeros((size, size), np.uint8)
    ed[(y < plane) & ((y - 70) ** 2 / 55**2 + (x - 100) ** 2 / 30**2 <= 1)] = 1
    ed[(y >= plane) & (y < plane + 15) & (np.abs(x - 100) < 28)] = 3
    es = ed.copy()
    es[(y >= plane) & (y < plane + 6) & (np.abs(x - 100) < 20)] = 1  # systolic LV past the tilted plane
    cut = mitral_cut(es, long_axis(ed, spacing), spacing)
    assert ((cut == 1) & (y >= plane + 1)).sum() == 0  # nothing left beyond the tilted plane
    assert ((cut == 1) != (ed == 1)).sum() <= 0.01 * (ed == 1).sum()  # and the LV above it kept (up to its rim)


def test_measure_cuts_the_systolic_masks_unless_told_not_to():
    from types import SimpleNamespace

    from echolite.clinical.volumes import measure_patients

    ed, reaching, es = _systole_reaching_into_the_atrium()
    frames = SimpleNamespace(
        patients=["p1", "p1"], views=["4CH", "4CH"], phases=["ED", "ES"], spacing_mm=np.array([SPACING, SPACING])
    )
    cut = measure_patients(np.stack([ed, reaching]), frames)[0]
    clean = measure_patients(np.stack([ed, es]), frames)[0]
    uncut = measure_patients(np.stack([ed, reaching]), frames, cut=False)[0]
    assert cut.esv_ml == pytest.approx(clean.esv_ml) and cut.ef == pytest.approx(clean.ef)
    assert uncut.esv_ml > 1.1 * clean.esv_ml and uncut.ef < clean.ef - 3


def test_measure_takes_the_spacing_a_plain_folder_lacks(tmp_path):
    from echolite.data.phantom import make_phantom
    from echolite.data.writers import write_png_export
    from echolite.errors import EcholiteError
    from echolite.workflows.measure import measure

    frames = make_phantom(4, seed=1, size=128)
    write_png_export(frames, tmp_path / "export")
    (tmp_path / "export" / "img").rename(tmp_path / "export" / "images")  # a plain images/ + masks/ folder
    (tmp_path / "export" / "ref").rename(tmp_path / "export" / "masks")
    with pytest.raises(EcholiteError, match="carry no pixel spacing"):
        measure(None, str(tmp_path / "export"))
    given = measure(None, str(tmp_path / "export"), spacing_mm=1.2)
    edv = [p.edv_ml for p in given.patients]
    assert all(np.isfinite(edv)) and all(p.edv_ml > p.esv_ml > 0 for p in given.patients)
    doubled = measure(None, str(tmp_path / "export"), spacing_mm=2.4)
    assert [p.edv_ml for p in doubled.patients] == pytest.approx([8 * v for v in edv])  # volume scales as length³
    assert [p.ef for p in doubled.patients] == pytest.approx([p.ef for p in given.patients])


def test_volumes_that_cannot_both_be_right_are_named():
    from echolite.clinical.quality import volume_problem
    from echolite.clinical.volumes import PatientMeasure

    nan = float("nan")
    ok = PatientMeasure("p1", "single-plane disks 4CH", 100.0, 40.0, 60.0)
    swapped = PatientMeasure("p2", "single-plane disks 4CH", 40.0, 100.0, -150.0)
    unmeasured = PatientMeasure("p3", "single-plane disks 4CH", nan, nan, nan)
    assert volume_problem(ok) == "" and volume_problem(unmeasured) == ""
    assert volume_problem(swapped) == "ESV 100.0 mL is not below EDV 40.0 mL"


def test_disk_diameters_count_every_sample_that_falls_in_the_lv():
    """Sampling only where the disks' lines cross the LV's bounding box gives the counts of sampling the whole image."""
    from echolite.data.phantom import make_phantom_cine
    from echolite_edge import clinical

    def every_sample(lv, spacing, base, apex):
        (sy, sx), axis = spacing, apex - base
        normal = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)
        step, reach = 0.1 * min(sy, sx), np.hypot(lv.shape[0] * sy, lv.shape[1] * sx)
        offsets, counts = np.arange(-reach, reach, step), []
        for i in range(clinical.DISKS):
            samples = base + (i + 0.5) / clinical.DISKS * axis + offsets[:, None] * normal
            rows, cols = np.round(samples[:, 0] / sy).astype(int), np.round(samples[:, 1] / sx).astype(int)
            inside = (rows >= 0) & (rows < lv.shape[0]) & (cols >= 0) & (cols < lv.shape[1])
            counts.append(lv[rows[inside], cols[inside]].sum() * step)
        return np.array(counts)

    masks = make_phantom_cine(frames=6, seed=4, size=128)[1]
    for mask in masks:
        for spacing in ((0.6, 0.6), (0.3, 0.45)):
            lv, annulus, apex = clinical._landmarks(mask, spacing)
            base = annulus.mean(axis=0)
            assert np.array_equal(clinical._diameters(lv, spacing, base, apex), every_sample(lv, spacing, base, apex))
