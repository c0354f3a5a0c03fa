"""Detect a data folder's layout and list its cases.

Layouts, tried in this order:

- ``camus-nifti`` (CAMUS 2023 release): ``database_nifti/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}[_gt].nii.gz``,
  ``Info_{2CH,4CH}.cfg`` per patient, ``database_split/subgroup_{training,validation,testing}.txt``, and
  ``_half_sequence[_gt].nii.gz`` cine loops. The folder given may be the release root or ``database_nifti``.
- ``camus-mhd`` (CAMUS 2019 release): ``training/patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}[_gt].mhd`` (+ ``.raw``)
  and ``Info_{2CH,4CH}.cfg``; ``testing/`` patients have no ground truth and are reported, not loaded.
- ``png-export`` (CAMUS PNG exports such as ``shared/data/camus4ch``): ``img/NAME.png`` + ``ref/NAME_gt.png``,
  masks coded 0/85/170/255, pixel size assumed 0.308 mm (these files carry none; see ``PNG_EXPORT_SPACING_MM``).
- ``folder`` (a clinic's own data): an image folder (``images``, ``imgs`` or ``img``) and a mask folder (``masks``,
  ``labels``, ``ref`` or ``gt``) with files paired by name (a ``_gt``/``_mask``/``_label`` suffix on the mask is
  allowed); PNG/JPEG, NIfTI, .mhd or .npy; masks 0–3 or 0/85/170/255. The patient is the name up to the first
  underscore; view and phase are read from ``_2CH``/``_4CH`` and ``_ED``/``_ES`` when present.

Frames are used as stored: CAMUS stores them upright (apex at the top, as clinicians view them); a clinic's
folder must be stored upright too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from echolite.data.cases import Case
from echolite.data.io import ALL_SUFFIXES, read_frame, read_text, stem_of, suffix_of
from echolite.errors import EcholiteError
from echolite_edge.words import counted

PNG_EXPORT_SPACING_MM = 0.308
"""Square pixel size assumed for CAMUS PNG exports, which carry none. The export's README infers 0.154 mm, but
with it the 400 shared expert masks give a median end-diastolic LV area of about 7.6 cm² and volumes near
13 mL, a fraction of any adult heart (normal 4CH LV area ~30–40 cm², EDV ~70–150 mL) and images only 60 mm deep.
The LV pixel area is the same whatever the image size, so the spacing is constant, and 0.308 mm (CAMUS' lateral
spacing; the exports halve the 0.154 mm axial sampling to make pixels square) gives ~30 cm² and ~100 mL.
The environment variable ``ECHOLITE_PNG_SPACING_MM`` replaces it."""


def png_export_spacing_mm() -> float:
    """``ECHOLITE_PNG_SPACING_MM`` when set (a positive number of mm), else ``PNG_EXPORT_SPACING_MM``."""
    text = os.environ.get("ECHOLITE_PNG_SPACING_MM")
    if text is None:
        return PNG_EXPORT_SPACING_MM
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < float("inf")):
        raise EcholiteError(f"ECHOLITE_PNG_SPACING_MM={text!r}: not a pixel size (a positive number of mm)")
    return value


CAMUS_NAME = re.compile(r"^(?P<patient>patient\d+)_(?P<view>[24]CH)_(?P<phase>ED|ES)$", re.IGNORECASE)
_CAMUS_FILE = re.compile(r"^(patient\d+)_([24]CH)_(ED|ES|half_sequence)(_gt)?$", re.IGNORECASE)
_MASK_SUFFIX = re.compile(r"_(gt|mask|label|labels|seg)$", re.IGNORECASE)
_SPLIT_FILES = {"train": "subgroup_training.txt", "val": "subgroup_validation.txt", "test": "subgroup_testing.txt"}


@dataclass
class Layout:
    name: str
    root: Path
    cases: list[Case]
    split: dict[str, list[str]] | None = None
    info: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """CAMUS ``Info_*.cfg`` values: patient → view → key → value (ED, ES, NbFrame, Sex, Age, ImageQuality, EF,
    FrameRate)."""
    sequences: dict[tuple[str, str], tuple[Path, Path | None]] = field(default_factory=dict)
    """(patient, view) → (cine loop, its ground truth or None)."""
    problems: list[str] = field(default_factory=list)
    spacing_source: str = ""
    """Where a pixel size the files do not carry comes from, for a person reading it ("assumed: ...")."""


PHANTOM_MARKER = "phantom.json"
"""Written by ``echolite phantom`` beside img/ and ref/: the generator's settings and its pixel size."""
PHANTOM_NAME = re.compile(r"^(?P<patient>phantom\d+)_(?P<view>[24]CH)_(?P<phase>ED|ES)$", re.IGNORECASE)


def detect_layout(root: Path) -> Layout:
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise EcholiteError(f"{root}: a file, not a data folder (give the folder that holds the frames)")
    if not root.is_dir():
        raise EcholiteError(f"{root}: data folder not found (use --data phantom for the built-in phantom)")
    for finder in (_camus_nifti, _camus_mhd, _png_export, _folder):
        layout = finder(root)
        if layout is not None:
            _refuse_repeated_frames(layout)
            return layout
    image_dir = _first_dir(root, ("images", "imgs", "img", "image"))
    if image_dir is not None:
        raise EcholiteError(
            f"{root}: masks missing: {image_dir.name}/ has no sibling masks/ (or ref/, labels/, gt/) "
            "folder with the ground truth"
        )
    raise EcholiteError(
        f"{root}: no supported layout found (CAMUS database_nifti/ or training/, img/ + ref/, or images/ + masks/)"
    )


def _camus_nifti(root: Path) -> Layout | None:
    base = root / "database_nifti" if (root / "database_nifti").is_dir() else root
    patients = _patient_dirs(base, "*.nii.gz")
    if not patients:
        return None
    release = root if base != root else root.parent
    layout = _camus_layout("camus-nifti", root, patients, ".nii.gz")
    layout.split = _camus_split(release / "database_split", layout)
    return layout


def _camus_mhd(root: Path) -> Layout | None:
    base = root / "training" if (root / "training").is_dir() else root
    patients = _patient_dirs(base, "*.mhd")
    if not patients:
        return None
    layout = _camus_layout("camus-mhd", root, patients, ".mhd")
    testing = root / "testing"
    if testing.is_dir() and base != root:
        count = len(_patient_dirs(testing, "*.mhd"))
        layout.problems.append(f"{testing}: {counted(count, 'patient')} without public ground truth, not loaded")
    return layout


def _patient_dirs(base: Path, pattern: str) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted(
        p for p in base.iterdir() if p.is_dir() and p.name.lower().startswith("patient") and any(p.glob(pattern))
    )


def _camus_layout(name: str, root: Path, patient_dirs: list[Path], suffix: str) -> Layout:
    layout = Layout(name, root, [])
    for folder in patient_dirs:
        files = {stem_of(f).lower(): f for f in folder.iterdir() if suffix_of(f) == suffix}
        for stem, path in sorted(files.items()):
            match = _CAMUS_FILE.match(stem)
            if not match or match.group(4):
                continue
            patient, view, phase = match.group(1), match.group(2).upper(), match.group(3).upper()
            mask = files.get(f"{stem}_gt")
            if phase == "HALF_SEQUENCE":
                layout.sequences[(patient, view)] = (path, mask)
                continue
            if mask is None:
                layout.problems.append(f"{path}: no ground truth ({stem}_gt{suffix} missing)")
            layout.cases.append(Case(f"{patient}_{view}_{phase}", patient, view, phase, path, mask, read_frame))
        for cfg in sorted(folder.glob("Info_*.cfg")):
            layout.info.setdefault(folder.name, {})[cfg.stem.split("_")[-1].upper()] = _read_cfg(cfg, layout)
        _check_reference_ef(folder, layout)
    return layout


def _check_reference_ef(folder: Path, layout: Layout) -> None:
    """The views' Info files give one patient's EF: when they disagree, neither is the reference."""
    views = layout.info.get(folder.name, {})
    given = {view: values["EF"] for view, values in views.items() if "EF" in values}
    if len({float(ef) for ef in given.values()}) > 1:
        listed = ", ".join(f"{view} {ef}" for view, ef in given.items())
        layout.problems.append(
            f"{folder}: the Info files give different EF ({listed}); no reference EF for this patient"
        )
        for view in given:
            del views[view]["EF"]


def _read_cfg(path: Path, layout: Layout) -> dict[str, str]:
    """A CAMUS Info file's ``key: value`` lines; an EF that is not a percentage is listed and left out."""
    values = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    if "EF" in values:
        try:
            valid = 0 < float(values["EF"]) <= 100
        except ValueError:
            valid = False
        if not valid:
            layout.problems.append(f"{path}: EF {values.pop('EF')!r} is not a percentage (0–100]; no reference EF")
    return values


def _camus_split(folder: Path, layout: Layout) -> dict[str, list[str]] | None:
    if not folder.is_dir():
        return None
    split = {}
    for key, filename in _SPLIT_FILES.items():
        path = folder / filename
        if not path.exists():
            layout.problems.append(f"{path}: split file missing; using a seeded patient split instead")
            return None
        split[key] = [line.strip() for line in read_text(path, "the split file").splitlines() if line.strip()]
    return split


def _png_export(root: Path) -> Layout | None:
    if not ((root / "img").is_dir() and (root / "ref").is_dir()):
        return None
    phantom = _phantom_spacing_mm(root)
    names = PHANTOM_NAME if phantom else CAMUS_NAME
    images = sorted(p for p in (root / "img").iterdir() if suffix_of(p) == ".png")
    if not any(names.match(stem_of(p)) for p in images):
        return None
    spacing_mm = phantom or png_export_spacing_mm()
    source = (
        f"{PHANTOM_MARKER} (the phantom's own)"
        if phantom
        else "assumed: CAMUS PNG exports carry none (ECHOLITE_PNG_SPACING_MM sets it; docs/data.md)"
    )
    layout = Layout("png-export", root, [], spacing_source=source)
    layout.problems += [
        f"{p}: not read (the frames of a PNG export are .png files)"
        for p in sorted((root / "img").iterdir())
        if suffix_of(p) not in ("", ".png")
    ]
    for path in images:
        match = names.match(stem_of(path))
        mask = root / "ref" / f"{stem_of(path)}_gt.png"
        if not mask.exists():
            layout.problems.append(f"{path}: no ground truth ({mask.name} missing in ref/)")
        if match is None:  # one stray name does not turn the export into a plain folder (and lose its spacing)
            layout.problems.append(f"{path}: not a CAMUS name (patientNNNN_4CH_ED); read with view and phase unknown")
        patient, view, phase = (
            (match["patient"], match["view"].upper(), match["phase"].upper())
            if match
            else (stem_of(path).split("_")[0], "unknown", "unknown")
        )
        layout.cases.append(
            Case(
                stem_of(path),
                patient,
                view,
                phase,
                path,
                mask if mask.exists() else None,
                read_frame,
                default_spacing_mm=spacing_mm,
            )
        )
    return layout


def _folder(root: Path) -> Layout | None:
    image_dir = _first_dir(root, ("images", "imgs", "img", "image"))
    mask_dir = _first_dir(root, ("masks", "labels", "ref", "gt", "mask", "label"))
    if image_dir is None or mask_dir is None:
        return None
    masks: dict[str, list[Path]] = {}
    for p in sorted(mask_dir.iterdir()):
        if suffix_of(p):
            masks.setdefault(_MASK_SUFFIX.sub("", stem_of(p)), []).append(p)
    layout = Layout("folder", root, [])
    for path in sorted(p for p in image_dir.iterdir() if suffix_of(p)):
        stem = stem_of(path)
        found = masks.get(stem, [])
        read = read_frame
        if len(found) > 1:
            refusal = f"{path}: {len(found)} masks fit it ({', '.join(m.name for m in found)}); keep one"
            layout.problems.append(refusal)
            read = _refusing(refusal)
        elif not found:
            layout.problems.append(f"{path}: no mask named {stem}[_gt|_mask].* in {mask_dir.name}/")
        view = next((v for v in ("2CH", "4CH") if f"_{v}" in stem.upper()), "unknown")
        phase = next((p for p in ("ED", "ES") if re.search(rf"_{p}(_|$)", stem.upper())), "unknown")
        layout.cases.append(Case(stem, stem.split("_")[0], view, phase, path, found[0] if found else None, read))
    if not layout.cases:
        raise EcholiteError(f"{image_dir}: empty image folder (supported: {', '.join(ALL_SUFFIXES)})")
    used = {case.frame_id for case in layout.cases}
    layout.problems += [
        f"{path}: no image named {stem}.* in {image_dir.name}/; not read"
        for stem, paths in masks.items()
        if stem not in used
        for path in paths
    ]
    return layout


def _refuse_repeated_frames(layout: Layout) -> None:
    """A frame read twice (x.png beside x.bmp, a copy in another patient's folder, a linked folder) is refused by
    name: counted twice, it would weigh double in training and in every mean."""
    first: dict[str, Path] = {}
    for i, case in enumerate(layout.cases):
        key = case.frame_id.lower()
        if key not in first:
            first[key] = case.image_path
            continue
        refusal = (
            f"{case.image_path}: a second image of frame {case.frame_id} (also {first[key]}); rename or remove one"
        )
        layout.problems.append(refusal)  # loading this case fails by name (or, with skip_bad, skips it)
        layout.cases[i] = replace(case, read=_refusing(refusal))


def _refusing(message: str):
    """A reader that refuses its case with ``message``."""

    def read(path: Path):
        raise EcholiteError(message)

    return read


def _first_dir(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if (root / n).is_dir()), None)


def _phantom_spacing_mm(root: Path) -> float | None:
    """The pixel size ``echolite phantom`` wrote into ``phantom.json``, or None for any other folder."""
    marker = root / PHANTOM_MARKER
    if not marker.is_file():
        return None
    try:
        spacing = json.loads(read_text(marker, "the phantom's settings"))["spacing_mm"]
    except (ValueError, KeyError, TypeError):
        raise EcholiteError(f"{marker}: not the phantom's settings (no spacing_mm); write the phantom again") from None
    if not (isinstance(spacing, (int, float)) and 0 < spacing < 100):
        raise EcholiteError(f"{marker}: spacing_mm must be a positive number of mm, got {spacing!r}")
    return float(spacing)
