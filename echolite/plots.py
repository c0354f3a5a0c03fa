"""Figures (matplotlib, headless)."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from echolite.errors import EcholiteError, check_writable
from echolite_edge.files import owner_of
from echolite_edge.labels import COLORS, LA, LV, MYO

FIGURE_FORMATS = ("png", "pdf", "svg")


def check_figure_path(out: Path, chosen: bool = True) -> str:
    """Before any work: ``out`` names a figure file that can be written; its format. A path the user ``chosen``
    must not hold a file of a run or a report (another command's output)."""
    out = Path(out)
    kind = out.suffix[1:].lower() or "png"
    if out.is_dir():
        raise EcholiteError(f"{out}: is a folder; name a figure file ({', '.join(FIGURE_FORMATS)})")
    check_writable(out.parent, "the figure")
    if kind not in FIGURE_FORMATS:
        raise EcholiteError(f"{out}: cannot write a .{kind} figure; name a {', '.join(FIGURE_FORMATS)} file")
    owner = owner_of(out) if chosen else None
    if owner:
        raise EcholiteError(f"{out}: a file of {owner}; write the figure elsewhere")
    return kind


def save_figure(fig, out: Path, dpi: int) -> None:
    """Write ``fig`` to ``out`` (its suffix gives the format; none: PNG) whole or not at all: drawn to a hidden
    name beside it, then renamed; the parent folders are created. The figure is closed either way."""
    out = Path(out)
    try:
        kind = check_figure_path(out, chosen=False)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        try:
            fig.savefig(partial, dpi=dpi, format=kind)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        plt.close(fig)


def plot_training_curves(history_csv: Path, out_png: Path) -> None:
    """Loss (train/val) and validation Dice per structure against epoch."""
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]  # counted from 1
    fig, (ax_loss, ax_dice) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("loss", "training"), ("val_loss", "validation")):
        if key in rows[0]:
            ax_loss.plot(epochs, [float(r[key]) for r in rows], label=label)
    validated = any(k.startswith("val_") for k in rows[0])  # a split without validation patients: training Dice
    for key in [k for k in rows[0] if k.startswith("val_" if validated else ("dice", "seg_dice")) and "dice" in k]:
        ax_dice.plot(epochs, [float(r[key]) for r in rows], label=_dice_label(key))
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_dice.set(xlabel="epoch", ylabel="Dice", title=f"{'validation' if validated else 'training'} Dice", ylim=(0, 1))
    for ax in (ax_loss, ax_dice):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_png, 100)


def _dice_label(key: str) -> str:
    """``val_seg_dice_myo`` → "myocardium (MYO)"."""
    names = {
        "lv": "left ventricle (LV)",
        "myo": "myocardium (MYO)",
        "la": "left atrium (LA)",
        "mean": "mean of the three",
    }
    return names.get(key.rsplit("_", 1)[-1], key)


LABEL_COLORS = {label: tuple(c / 255 for c in rgb) for label, rgb in COLORS.items()}
"""Overlay colours, the device runner's: LV red, MYO green, LA blue."""
STRUCTURE_NAMES = {LV: "LV (left ventricle)", MYO: "MYO (myocardium)", LA: "LA (left atrium)"}


def _legend(ax_or_fig) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=LABEL_COLORS[label], label=name) for label, name in STRUCTURE_NAMES.items()]
    ax_or_fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7, frameon=False)


def overlay(image, mask, alpha: float = 0.35):
    """RGB float image in [0, 1]: grayscale frame with coloured, translucent structures."""
    import numpy as np

    rgb = np.repeat(np.clip(image, 0, 1)[..., None], 3, axis=-1)
    for label, color in LABEL_COLORS.items():
        where = mask == label
        rgb[where] = (1 - alpha) * rgb[where] + alpha * np.asarray(color)
    return rgb


def save_preview_grid(frames, out_png: Path, columns: int = 8) -> None:
    """Each frame above its overlay, titled with the frame id."""
    n = len(frames)
    columns = min(columns, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(2 * rows, columns, figsize=(2.2 * columns, 4.6 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = 2 * (i // columns), i % columns
        axes[r, c].imshow(frames.images[i], cmap="gray", vmin=0, vmax=1)
        axes[r, c].set_title(frames.frame_ids[i], fontsize=7)
        axes[r + 1, c].imshow(overlay(frames.images[i], frames.masks[i]))
    fig.tight_layout()
    save_figure(fig, out_png, 80)


def save_augmentation_grid(frames, augmented, name: str, out_png: Path, columns: int = 4) -> None:
    """Original and augmented frame side by side, each with its mask outlines, one colour per structure."""
    n = len(augmented)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(4.4 * columns, 2.3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (image, mask) in enumerate(augmented):
        r, c = i // columns, 2 * (i % columns)
        for ax, (img, msk), title in (
            (axes[r, c], (frames.images[i], frames.masks[i]), frames.frame_ids[i]),
            (axes[r, c + 1], (image, mask), name),
        ):
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            for label, color in LABEL_COLORS.items():
                if (msk == label).any():
                    ax.contour(msk == label, levels=[0.5], colors=[color], linewidths=0.8)
            ax.set_title(title, fontsize=7)
    fig.suptitle(f"augmentation: {name}", fontsize=10)
    _legend(fig)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    save_figure(fig, out_png, 80)


def save_overlay(image, pred, truth, out_png: Path, title: str = "", dice=None) -> None:
    """The frame three times: as acquired, the prediction, the expert ground truth (structures filled, one colour
    each, legend below); ``dice`` (LV, MYO, LA) is named per structure in the title."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
    panels = ((image, None, "frame"), (image, pred, "prediction"), (image, truth, "ground truth (expert)"))
    for ax, (img, mask, name) in zip(axes, panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=1) if mask is None else ax.imshow(overlay(img, mask, alpha=0.45))
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    scores = (
        ""
        if dice is None
        else "   Dice "
        + "  ".join(
            f"{short} {'–' if math.isnan(value) else f'{value:.2f}'}" for short, value in zip(("LV", "MYO", "LA"), dice)
        )
    )
    fig.suptitle(f"{title}{scores}", fontsize=10)
    _legend(fig)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, out_png, 90)


def save_comparison_boxplots(scores_a, scores_b, names: tuple[str, str], out_png: Path) -> None:
    """Fig. 3 of the paper: Dice (top) and Hausdorff distance in pixels (bottom) per structure, two models."""
    import numpy as np

    structures = ("LV", "MYO", "LA")
    fig, axes = plt.subplots(2, 1, figsize=(7, 6))
    for ax, metric, label in ((axes[0], "dice", "Dice"), (axes[1], "hd_px", "Hausdorff (px, 256 grid)")):
        data, positions = [], []
        for k in range(3):
            for j, scores in enumerate((scores_a, scores_b)):
                values = np.array([getattr(s, metric)[k] for s in scores], float)
                data.append(values[np.isfinite(values)])
                positions.append(3 * k + j)
        boxes = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=True)
        for i, box in enumerate(boxes["boxes"]):
            box.set_facecolor(("#4c72b0", "#dd8452")[i % 2])
        ax.set_xticks([3 * k + 0.5 for k in range(3)], structures)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend([boxes["boxes"][0], boxes["boxes"][1]], names, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out_png, 100)


def save_bland_altman(
    measured,
    reference,
    out_png: Path,
    label: str = "EF (%)",
    names: tuple[str, str] = ("measured", "reference"),
    rejected=None,
) -> None:
    """Bland–Altman plot: difference (measured − reference) against their mean, with the bias and the 95 % limits
    of agreement of all pairs (``clinical.volumes.agreement``). ``label``: the quantity and its unit; ``names``:
    what the two sides are; ``rejected``: a flag per pair, drawn as a red cross (failed quality control)."""
    import numpy as np

    from echolite.clinical.volumes import agreement

    a, b = np.asarray(measured, float), np.asarray(reference, float)
    ok = np.isfinite(a) & np.isfinite(b)
    flagged = np.zeros(a.shape, bool) if rejected is None else np.asarray(rejected, bool)
    mean, diff = (a + b) / 2, a - b
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.scatter(mean[ok & ~flagged], diff[ok & ~flagged], s=14, label="patients")
    if (ok & flagged).any():
        ax.scatter(mean[ok & flagged], diff[ok & flagged], s=24, marker="x", color="tab:red", label="QC rejected")
    figures = agreement(a, b)
    if figures["bias"] is not None:
        low, high = figures["loa"]
        ax.axhline(figures["bias"], color="black", linewidth=1, label=f"bias {figures['bias']:+.1f}")
        ax.axhline(low, color="gray", linestyle="--", linewidth=1, label=f"95 % LoA {low:.1f} to {high:.1f}")
        ax.axhline(high, color="gray", linestyle="--", linewidth=1)
    ax.set_title(f"{label.split(' ')[0]}: {names[0]} vs {names[1]}, n = {figures['n']} (all patients)", fontsize=9)
    ax.set(xlabel=f"mean of {names[0]} and {names[1]}, {label}", ylabel=f"{names[0]} − {names[1]}, {label}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_png, 100)


def save_area_curve(areas, eds: list[int], ess: list[int], out_png: Path, unit: str = "mm²") -> None:
    """LV area over the loop with each beat's end-diastolic and end-systolic frames marked."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(range(len(areas)), areas, marker=".")
    for k, (ed, es) in enumerate(zip(eds, ess)):
        ax.axvline(ed, color="tab:red", linestyle="--", label="ED" if k == 0 else None)
        ax.axvline(es, color="tab:blue", linestyle="--", label="ES" if k == 0 else None)
    ax.set(xlabel="frame", ylabel=f"LV area ({unit})")
    if eds:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_png, 100)
