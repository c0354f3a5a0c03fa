"""What the device's overlays carry besides the masks, drawn with Pillow: a legend of the structure colours and the
quality-control verdict. Each mark is rendered once per text and size and then pasted, so a cine loop pays for
drawing text only on its first frame."""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from echolite_edge.labels import COLORS, LABELS

PASS_COLOR, FAIL_COLOR = (40, 160, 60), (220, 30, 30)


def paste_legend(rgb: np.ndarray) -> None:
    """The colour of each structure and its name, on black in the top-left corner (outside an apical sector)."""
    _paste(rgb, _legend(_text_size(rgb.shape[0])), right=False)


def mark_quality(rgb: np.ndarray, failed: list[str]) -> None:
    """The anatomical quality-control verdict in the top-right corner: "QC pass" on green, or "QC FAIL" and the
    failed criteria on red with a red border around the whole image, so a failing frame cannot pass for a good one."""
    size = _text_size(rgb.shape[0])
    if failed:
        border = max(3, min(rgb.shape[:2]) // 100)
        rgb[:border], rgb[-border:], rgb[:, :border], rgb[:, -border:] = FAIL_COLOR, FAIL_COLOR, FAIL_COLOR, FAIL_COLOR
        _paste(rgb, _label(("QC FAIL", *failed), size, FAIL_COLOR), right=True, inset=border)
    else:
        _paste(rgb, _label(("QC pass",), size, PASS_COLOR), right=True)


def _text_size(rows: int) -> int:
    """Text height for a frame of ``rows``: readable on a small frame, not crowding a large one."""
    return max(12, min(24, rows // 30))


def _paste(rgb: np.ndarray, patch: np.ndarray, right: bool, inset: int = 0) -> None:
    h, w = min(patch.shape[0], rgb.shape[0] - inset), min(patch.shape[1], rgb.shape[1] - inset)
    if h <= 0 or w <= 0:
        return
    columns = slice(rgb.shape[1] - inset - w, rgb.shape[1] - inset) if right else slice(inset, inset + w)
    rgb[inset : inset + h, columns] = patch[:h, :w] if not right else patch[:h, patch.shape[1] - w :]


def _font(size: int):

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1: its one small bitmap font
        return ImageFont.load_default()


@functools.lru_cache(maxsize=8)
def _legend(size: int) -> np.ndarray:

    font, pad = _font(size), max(2, size // 3)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    entries = [(LABELS[label], COLORS[label], measure.textbbox((0, 0), LABELS[label], font=font)) for label in COLORS]
    height = max(size, *(box[3] for _, _, box in entries)) + 2 * pad
    width = pad + sum(size + pad + box[2] + 2 * pad for _, _, box in entries)
    image = Image.new("RGB", (width, height))
    draw, x = ImageDraw.Draw(image), pad
    for name, color, box in entries:
        draw.rectangle((x, (height - size) // 2, x + size - 1, (height + size) // 2 - 1), fill=color)
        x += size + pad
        draw.text((x, (height - box[3] - box[1]) // 2), name, fill=(255, 255, 255), font=font)
        x += box[2] + 2 * pad
    return np.asarray(image)


@functools.lru_cache(maxsize=64)
def _label(lines: tuple[str, ...], size: int, background: tuple[int, int, int]) -> np.ndarray:

    font, pad = _font(size), max(2, size // 3)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes = [measure.textbbox((0, 0), line, font=font) for line in lines]
    step = max(size, *(box[3] for box in boxes)) + pad
    image = Image.new("RGB", (max(box[2] for box in boxes) + 2 * pad, step * len(lines) + pad), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((pad, pad + i * step), line, fill=(255, 255, 255), font=font)
    return np.asarray(image)
