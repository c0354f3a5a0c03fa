"""The embedded synthetic echo phantom: apical four-chamber-like frames with exact masks.

Each phantom "patient" gets one heart geometry (size, shape, tilt, position, wall thickness, image gain) and
two frames: end-diastole (ED) and end-systole (ES, smaller and thicker-walled LV, larger LA). The image is built
like a B-mode frame: tissue reflectivity per structure (dark blood pools, bright myocardium, grey surrounding
tissue, unlabelled right heart), multiplicative speckle, depth attenuation, near-field clutter, then the fan-shaped
sector on black. Deterministic: the same seed and index give the same frame.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from echolite.data.frames import FrameSet

PHANTOM_SPACING_MM = 0.6
"""Nominal pixel size of a 256×256 phantom frame (the sector is ≈140 mm deep)."""


def phantom_spacing_mm(size: int) -> float:
    """The pixel size of a phantom frame of ``size`` pixels a side: the same sector at another resolution."""
    return PHANTOM_SPACING_MM * 256 / size


def make_phantom(n_frames: int = 200, seed: int = 0, size: int = 256) -> FrameSet:
    """Make ``n_frames`` frames (ED/ES pairs, so patients = ceil(n / 2)) at ``size``×``size`` pixels."""
    images = np.empty((n_frames, size, size), np.float32)
    masks = np.empty((n_frames, size, size), np.uint8)
    ids, patients, phases = [], [], []
    for i in range(n_frames):
        patient, phase = i // 2, ("ED", "ES")[i % 2]
        images[i], masks[i] = phantom_frame(seed, patient, phase, size)
        patients.append(f"phantom{patient:04d}")
        phases.append(phase)
        ids.append(f"phantom{patient:04d}_4CH_{phase}")
    spacing = np.full((n_frames, 2), phantom_spacing_mm(size), np.float32)
    shapes = np.full((n_frames, 2), size, np.int32)
    return FrameSet(images, masks, ids, patients, ["4CH"] * n_frames, phases, spacing, shapes)


def phantom_frame(
    seed: int,
    patient: int,
    phase: str = "ED",
    size: int = 256,
    contraction: float | None = None,
    noise_key: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One frame: (image float32 in [0, 1], mask uint8) for a patient index and phase. ``contraction`` (0 = ED,
    1 = ES) overrides the phase for frames in between."""
    heart = _heart_inside_sector(np.random.default_rng([seed, patient]))
    rng = np.random.default_rng([seed, patient, 0 if phase == "ED" else 1, noise_key])
    c = {"ED": 0.0, "ES": 1.0}[phase] if contraction is None else float(contraction)
    mask, right_heart = _anatomy(heart, c, size)
    image = _ultrasound(mask, right_heart, heart, size, rng)
    sector = _sector(size, heart)
    return image * sector, np.where(sector, mask, 0).astype(np.uint8)


def make_phantom_cine(frames: int = 24, seed: int = 0, patient: int = 0, size: int = 256):
    """One cardiac cycle of a phantom patient: (images (T, H, W), masks (T, H, W), contraction (T,)). Contraction
    follows (1 − cos 2πt/T) / 2, so end-diastole is frame 0 and end-systole frame T // 2."""
    contraction = (1 - np.cos(2 * np.pi * np.arange(frames) / frames)) / 2
    pairs = [phantom_frame(seed, patient, "ED", size, c, noise_key=t + 1) for t, c in enumerate(contraction)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]), contraction


def phantom_contraction(frames: int, fps: float, heart_rate: float, start: float = 0.0) -> np.ndarray:
    """Contraction (0 = end-diastole, 1 = end-systole) per frame of a loop at ``heart_rate`` beats/min sampled at
    ``fps``, beginning at ``start`` (a fraction of the cycle; 0 = end-diastole): systole, a cosine fall, takes the
    first 40 % of each cycle, diastolic filling the rest."""
    phase = (start + np.arange(frames) * heart_rate / 60 / fps) % 1
    systole = 0.4
    rise = (1 - np.cos(np.pi * phase / systole)) / 2
    fall = (1 + np.cos(np.pi * (phase - systole) / (1 - systole))) / 2
    return np.where(phase < systole, rise, fall)


def make_phantom_loop(
    contraction: np.ndarray, seed: int = 0, patient: int = 0, size: int = 128, images: bool = False
) -> tuple[np.ndarray | None, np.ndarray]:
    """A phantom patient's cine loop following ``contraction`` (see ``phantom_contraction``): (images or None,
    masks (T, H, W)). Without ``images`` only the masks are drawn, on one geometry, which is much faster."""
    if images:
        pairs = [phantom_frame(seed, patient, "ED", size, c, noise_key=t + 1) for t, c in enumerate(contraction)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
    heart = _heart_inside_sector(np.random.default_rng([seed, patient]))
    coordinates = _heart_coordinates(heart, size)
    sector = _sector(size, heart)
    masks = [np.where(sector, _anatomy(heart, c, size, coordinates)[0], 0) for c in contraction]
    return None, np.stack(masks).astype(np.uint8)


def _heart_inside_sector(rng: np.random.Generator) -> dict:
    """Draw geometries until the whole ED heart (the larger phase) lies inside the sector with a margin, so
    masks are never cut by the sector edge."""
    for _ in range(50):
        heart = _heart(rng)
        mask, _ = _anatomy(heart, 0.0, 64)
        inside = _sector(64, {**heart, "sector_half_angle": heart["sector_half_angle"] - np.deg2rad(3)})
        if not (mask.astype(bool) & ~inside).any():
            return heart
    return heart


def _heart(rng: np.random.Generator) -> dict:
    """Per-patient geometry in 256-pixel units (scaled later to the output size)."""
    return {
        "base": (rng.uniform(132, 156), rng.uniform(140, 162)),  # (x, y) of the mitral plane centre
        "tilt": np.deg2rad(rng.normal(-4, 7)),
        "length": rng.uniform(92, 118),
        "half_width": rng.uniform(30, 40),
        "bullet": rng.uniform(1.6, 2.6),
        "wall": rng.uniform(8, 13),
        "la_length": rng.uniform(30, 42),
        "la_half_width": rng.uniform(24, 32),
        "rv_gap": rng.uniform(6, 10),
        "sector_half_angle": np.deg2rad(rng.uniform(34, 40)),
        "attenuation": rng.uniform(0.5, 1.3),
        "gain": rng.uniform(0.8, 1.15),
        "warp": rng.integers(0, 2**31),
        "es_length": rng.uniform(0.84, 0.9),
        "es_width": rng.uniform(0.7, 0.8),
    }


def _anatomy(heart: dict, contraction: float, size: int, coordinates=None) -> tuple[np.ndarray, np.ndarray]:
    """Label map (LV, MYO, LA) and a boolean map of the unlabelled right heart cavities, at a point of the cardiac
    cycle: contraction 0 is end-diastole, 1 end-systole (shorter, narrower LV, thicker wall, larger LA).
    ``coordinates``: the heart's (u, v) grid when already computed."""
    c = contraction
    length = heart["length"] * (1 - c * (1 - heart["es_length"]))
    half_width = heart["half_width"] * (1 - c * (1 - heart["es_width"]))
    wall = heart["wall"] * (1 + 0.3 * c)
    la_scale = 1 + 0.12 * c
    u, v = coordinates if coordinates is not None else _heart_coordinates(heart, size)
    cavity = (u >= 0) & ((np.clip(u, 0, None) / length) ** heart["bullet"] + (v / half_width) ** 2 <= 1)
    outer = (u >= 0) & (
        (np.clip(u, 0, None) / (length + wall)) ** heart["bullet"] + (v / (half_width + wall)) ** 2 <= 1
    )
    la_len, la_w = heart["la_length"] * la_scale, heart["la_half_width"] * la_scale
    atrium = (u < 0) & (((u + 0.8 * la_len) / la_len) ** 2 + (v / la_w) ** 2 <= 1)
    # The LA meets the LV along the whole mitral plane: a funnel from the LV's width to the atrium's.
    funnel = 0.35 * la_len
    width_at_plane = half_width * np.sqrt(np.clip(1 - (1 / length) ** heart["bullet"], 0, 1))
    atrium |= (u < 0) & (u >= -funnel) & (np.abs(v) <= width_at_plane + (0.6 * la_w - width_at_plane) * (-u / funnel))
    rv_v = v + half_width + wall + heart["rv_gap"] + 0.8 * half_width
    right_heart = ((u >= 0) & ((u / (0.8 * length)) ** 2 + (rv_v / (0.8 * half_width)) ** 2 <= 1)) | (
        (u < 0) & (((u + 0.7 * la_len) / (0.9 * la_len)) ** 2 + (rv_v / (0.8 * la_w)) ** 2 <= 1)
    )
    mask = np.zeros(u.shape, np.uint8)
    mask[outer] = 2
    mask[cavity] = 1
    mask[atrium] = 3
    return mask, right_heart & (mask == 0)


def _heart_coordinates(heart: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) in 256-pixel units: u along the long axis from the mitral plane towards the apex, v across it.
    A smooth random displacement makes every outline slightly irregular."""
    scale = 256 / size
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) * scale
    warp_rng = np.random.default_rng(heart["warp"])
    dx, dy = (ndimage.gaussian_filter(warp_rng.normal(0, 1, (size, size)), 12 / scale) for _ in range(2))
    amplitude = 3.0 / max(np.abs(dx).max(), np.abs(dy).max(), 1e-6)
    x, y = x + amplitude * dx, y + amplitude * dy
    bx, by = heart["base"]
    axis = np.array([np.sin(heart["tilt"]), -np.cos(heart["tilt"])])  # towards the apex (image top)
    u = (x - bx) * axis[0] + (y - by) * axis[1]
    v = (x - bx) * -axis[1] + (y - by) * axis[0]
    return u, v


def _ultrasound(mask: np.ndarray, right_heart: np.ndarray, heart: dict, size: int, rng) -> np.ndarray:
    """Reflectivity per structure × speckle × depth attenuation, log-compressed to [0, 1]."""
    tissue = 0.14 + 0.06 * ndimage.gaussian_filter(rng.normal(0, 1, mask.shape), size / 24)
    tissue = np.where(mask == 2, rng.uniform(0.4, 0.65), tissue)
    blood = (mask == 1) | (mask == 3) | right_heart
    haze = 0.02 + 0.02 * ndimage.gaussian_filter(rng.normal(0, 1, mask.shape), size / 32)
    tissue = np.where(blood, np.clip(haze, 0.005, None), tissue)
    tissue = np.clip(ndimage.gaussian_filter(tissue, size / 200), 0, None)
    scale = size / 256
    field = rng.normal(size=mask.shape) + 1j * rng.normal(size=mask.shape)
    speckle = np.abs(
        ndimage.gaussian_filter(field.real, (0.7 * scale, 1.4 * scale))
        + 1j * ndimage.gaussian_filter(field.imag, (0.7 * scale, 1.4 * scale))
    )
    speckle /= speckle.mean()
    depth = _depth(size)
    clutter = 0.25 * np.exp(-depth / 0.12)
    echo = (tissue * speckle + clutter) * heart["gain"] * np.exp(-heart["attenuation"] * depth)
    return np.clip(np.log1p(12 * echo) / np.log1p(12), 0, 1).astype(np.float32)


def _depth(size: int) -> np.ndarray:
    """Distance from the probe (top centre), as a fraction of the image height."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return np.hypot(x - size / 2, y - 0.03 * size) / size


def _sector(size: int, heart: dict) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = x - size / 2, y - 0.03 * size
    angle = np.arctan2(dx, dy)
    return (np.abs(angle) <= heart["sector_half_angle"]) & (np.hypot(dx, dy) <= 0.95 * size) & (dy >= 0)
