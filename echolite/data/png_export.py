"""CAMUS PNG exports: ``img/<frame>.png`` with ``ref/<frame>_gt.png`` masks coded 0/85/170/255.

Frame names follow CAMUS (``patientNNNN_4CH_ED``). Pixel size: these exports are resampled to square pixels of
about 0.154 mm (an inferred, approximate default; see ``PNG_EXPORT_SPACING_MM``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from echolite.data.frames import FrameSet
from echolite.errors import EcholiteError

PNG_EXPORT_SPACING_MM = 0.154
_NAME = re.compile(r"^(?P<patient>.+?)_(?P<view>[24]CH)_(?P<phase>ED|ES)$", re.IGNORECASE)


def is_png_export(root: Path) -> bool:
    return (root / "img").is_dir() and (root / "ref").is_dir()


def read_png_export(root: Path, size: int = 256) -> FrameSet:
    image_files = sorted((root / "img").glob("*.png"))
    if not image_files:
        raise EcholiteError(f"{root / 'img'}: no PNG images found")
    images, masks, ids, patients, views, phases, spacings, shapes = [], [], [], [], [], [], [], []
    for path in image_files:
        frame_id = path.stem
        match = _NAME.match(frame_id)
        if not match:
            raise EcholiteError(f"{path}: name does not follow patientNNNN_{{2CH,4CH}}_{{ED,ES}}.png")
        image = _read_gray(path)
        mask_path = root / "ref" / f"{frame_id}_gt.png"
        mask = _read_mask(mask_path, image.shape)
        images.append(_resize(image, size, Image.BILINEAR).astype(np.float32) / 255.0)
        masks.append(_resize(mask, size, Image.NEAREST))
        ids.append(frame_id)
        patients.append(match["patient"])
        views.append(match["view"].upper())
        phases.append(match["phase"].upper())
        shapes.append(image.shape)
        spacings.append((PNG_EXPORT_SPACING_MM * image.shape[0] / size, PNG_EXPORT_SPACING_MM * image.shape[1] / size))
    return FrameSet(
        np.stack(images), np.stack(masks), ids, patients, views, phases,
        np.asarray(spacings, np.float32), np.asarray(shapes, np.int32),
    )


def _read_gray(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"))
    except (OSError, UnidentifiedImageError) as exc:
        raise EcholiteError(f"{path}: cannot read image ({exc})") from None


def _read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if not path.exists():
        raise EcholiteError(f"{path}: ground-truth mask missing for this image")
    values = _read_gray(path)
    if values.shape != shape:
        raise EcholiteError(f"{path}: mask size {values.shape} differs from its image {shape}")
    unknown = set(np.unique(values).tolist()) - {0, 85, 170, 255}
    if unknown:
        raise EcholiteError(f"{path}: unexpected mask values {sorted(unknown)[:5]}; expected 0/85/170/255")
    return (values // 85).astype(np.uint8)


def _resize(array: np.ndarray, size: int, resample) -> np.ndarray:
    return np.asarray(Image.fromarray(array).resize((size, size), resample))
