"""Figures (matplotlib, headless)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import blended_transform_factory

from echolite.errors import EcholiteError, check_writable
from echolite.evaluation.names import ALPHA
from echolite_edge.files import atomic_path, owner_of
from echolite_edge.labels import COLORS, LA, LABELS, LV, MYO, STRUCTURE_NAMES
from echolite_edge.labels import STRUCTURE_COLORS as STRUCTURE_RGB
from echolite_edge.words import counted

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
        with atomic_path(out) as partial:
            fig.savefig(partial, dpi=dpi, format=kind)
    finally:
        plt.close(fig)


def plot_training_curves(history_csv: Path, out_png: Path) -> None:
    """Loss (training, validation) and Dice per structure against epoch, each structure in its mask colour, with
    the best epoch (the highest mean Dice: the one the checkpoint keeps) marked on both panels."""
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    epochs = [int(r["epoch"]) for r in rows]  # counted from 1
    validated = any(k.startswith("val_") for k in rows[0])  # a split without validation patients: training Dice
    dice_keys = [k for k in rows[0] if k.startswith("val_" if validated else ("dice", "seg_dice")) and "dice" in k]
    fig, (ax_loss, ax_dice) = plt.subplots(1, 2, figsize=(10, 5))
    for key, label, color, style, marker in (
        ("loss", "training", "0.55", "-", "o"),
        ("val_loss", "validation", "black", "--", "s"),
    ):
        if key in rows[0]:
            ax_loss.plot(epochs, _column(rows, key), style, color=color, marker=marker, markersize=4, label=label)
    for key in sorted(dice_keys, key=_structure_order):
        name = key.rsplit("_", 1)[-1].upper()
        color, style, marker = (STRUCTURE_COLORS[name], "-", "o") if name in STRUCTURE_COLORS else ("black", "--", "D")
        ax_dice.plot(
            epochs, _column(rows, key), style, color=color, marker=marker, markersize=4, label=_dice_label(key)
        )
    best, best_dice = _best_epoch(rows, epochs, dice_keys)
    if best is not None:
        ax_loss.axvline(best, color="0.35", linestyle=":", linewidth=1.2, label=f"best epoch ({best})")
        ax_dice.axvline(best, color="0.35", linestyle=":", linewidth=1.2)
        ax_dice.plot(
            [best], [best_dice], "*", color="gold", markeredgecolor="black", markersize=14, zorder=5,
            label=f"best: epoch {best}, mean Dice {best_dice:.3f}",
        )  # fmt: skip
    which = "validation" if validated else "training"
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss (lower is better)")
    ax_dice.set(xlabel="epoch", ylabel="Dice", title=f"{which} Dice (higher is better)", ylim=(0, 1.02))
    for ax in (ax_loss, ax_dice):
        if len(epochs) <= 15:  # every epoch its tick; more: as many whole epochs as fit
            ax.set_xticks(epochs)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(min(epochs) - 0.4, max(epochs) + 0.4)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_png, 100)


def _column(rows: list[dict], key: str) -> list[float]:
    return [float(r[key]) for r in rows]


def _structure_order(key: str) -> int:
    """LV, MYO, LA, then the mean: the legend lists the structures in label order."""
    order = ("lv", "myo", "la", "mean")
    name = key.rsplit("_", 1)[-1]
    return order.index(name) if name in order else len(order)


def _best_epoch(rows: list[dict], epochs: list[int], dice_keys: list[str]) -> tuple[int | None, float]:
    """The epoch of the highest mean Dice (the first of equals, as the checkpoint keeps it) and that Dice."""
    means = [k for k in dice_keys if k.endswith("_mean")]
    if means:
        values = np.array(_column(rows, means[0]))
    elif dice_keys:
        values = np.mean([_column(rows, k) for k in dice_keys], axis=0)
    else:
        return None, float("nan")
    if not np.isfinite(values).any():
        return None, float("nan")
    i = int(np.nanargmax(values))
    return epochs[i], float(values[i])


def _dice_label(key: str) -> str:
    """``val_seg_dice_myo`` → "MYO (myocardium)"."""
    name = key.rsplit("_", 1)[-1].upper()
    return "mean of the three" if name == "MEAN" else STRUCTURE_LABELS.get(name, key)


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return tuple(c / 255 for c in color)


LABEL_COLORS = {label: _rgb(rgb) for label, rgb in COLORS.items()}
"""Overlay colours by label value (``echolite_edge.labels.COLORS``, the device runner's): LV red, MYO green, LA
blue."""
STRUCTURE_COLORS = {name: _rgb(rgb) for name, rgb in STRUCTURE_RGB.items()}
"""The same colours by structure name, and the LV epicardium's (EPI)."""
STRUCTURE_LABELS = {LABELS[label]: f"{LABELS[label]} ({name})" for label, name in STRUCTURE_NAMES.items()}
STRUCTURE_LABELS["EPI"] = "EPI (LV epicardium)"


def _legend(fig, outside: bool = False) -> None:
    """The structure colours, one row along the bottom of ``fig`` (``outside``: below the axes of a constrained
    layout, which makes room for it)."""
    handles = [Patch(color=LABEL_COLORS[label], label=STRUCTURE_LABELS[LABELS[label]]) for label in LABEL_COLORS]
    where = {"loc": "outside lower center"} if outside else {"loc": "lower center", "bbox_to_anchor": (0.5, 0.0)}
    fig.legend(handles=handles, ncol=3, fontsize=9, frameon=False, **where)


def _display_aspect(original_shape, grid_shape) -> float:
    """imshow's aspect that shows a frame resized to the square model grid in its acquired proportions."""
    rows, cols = (float(v) for v in original_shape)
    return (rows / cols) * (grid_shape[1] / grid_shape[0]) if rows > 0 and cols > 0 else 1.0


def _bare(ax) -> None:
    """No ticks and no frame, but room for a row label (``axis("off")`` would hide it)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def overlay(image, mask, alpha: float = 0.35):
    """RGB float image in [0, 1]: grayscale frame with coloured, translucent structures."""
    rgb = np.repeat(np.clip(image, 0, 1)[..., None], 3, axis=-1)
    for label, color in LABEL_COLORS.items():
        where = mask == label
        rgb[where] = (1 - alpha) * rgb[where] + alpha * np.asarray(color)
    return rgb


def save_preview_grid(frames, out_png: Path, columns: int = 8) -> None:
    """Each frame (titled with its id) above the same frame with its reference mask, a colour legend below."""
    n = len(frames)
    columns = min(columns, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        2 * rows, columns, figsize=(2.1 * columns + 0.5, 4.6 * rows + 0.8), squeeze=False, layout="constrained"
    )
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = 2 * (i // columns), i % columns
        aspect = _display_aspect(frames.original_shapes[i], frames.images[i].shape)
        axes[r, c].imshow(frames.images[i], cmap="gray", vmin=0, vmax=1, aspect=aspect)
        axes[r, c].set_title(frames.frame_ids[i], fontsize=9)
        axes[r + 1, c].imshow(overlay(frames.images[i], frames.masks[i], alpha=0.45), aspect=aspect)
        for ax in (axes[r, c], axes[r + 1, c]):
            ax.axis("on")
            _bare(ax)
    for r in range(rows):
        axes[2 * r, 0].set_ylabel("frame", fontsize=10)
        axes[2 * r + 1, 0].set_ylabel("reference mask", fontsize=10)
    fig.suptitle(f"{counted(n, 'frame')}, each above its reference mask", fontsize=12)
    _legend(fig, outside=True)
    save_figure(fig, out_png, 100)


def save_augmentation_grid(frames, augmented, name: str, out_png: Path, columns: int = 4) -> None:
    """Original and augmented frame side by side, each in its acquired proportions with its mask drawn over it:
    structures lightly filled, the myocardium and the atrium outlined (an LV outline would lie on the myocardium's
    inner one and hide under it; the LV's fill shows it)."""
    n = len(augmented)
    columns = min(columns, n)
    rows = -(-n // columns)
    aspects = [_display_aspect(frames.original_shapes[i], frames.images[i].shape) for i in range(n)]
    panel = 2.1
    fig, axes = plt.subplots(
        rows,
        2 * columns,
        figsize=(2 * panel * columns, (panel * max(aspects) + 0.45) * rows + 0.8),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.ravel():
        ax.axis("off")
    for i, (image, mask) in enumerate(augmented):
        r, c = i // columns, 2 * (i % columns)
        for ax, (img, msk), title in (
            (axes[r, c], (frames.images[i], frames.masks[i]), frames.frame_ids[i]),
            (axes[r, c + 1], (image, mask), f"{name} (augmented)"),
        ):
            ax.imshow(overlay(img, msk, alpha=0.22), aspect=aspects[i])
            _outlines(ax, msk)
            ax.set_title(title, fontsize=8)
    fig.suptitle(f"augmentation {name}: each frame (left) and an augmented version (right)", fontsize=11)
    _legend(fig, outside=True)
    save_figure(fig, out_png, 90)


def _outlines(ax, mask) -> None:
    """The myocardium's and the atrium's outlines in their colours."""
    for label in (MYO, LA):
        if (mask == label).any():
            ax.contour(mask == label, levels=[0.5], colors=[LABEL_COLORS[label]], linewidths=1.0)


def save_overlay(
    image,
    pred,
    truth,
    out_png: Path,
    title: str = "",
    dice=None,
    hausdorff=None,
    qc_failed=None,
    aspect: float = 1.0,
) -> None:
    """The frame three times: as acquired, the prediction, the expert ground truth (structures filled, one colour
    each, legend below), drawn in the frame's own proportions (``aspect``: rows per column as ``imshow`` takes it).
    The title names the frame; below it ``dice`` (LV, MYO, LA), ``hausdorff`` ((LV, MYO, LA), unit) and the
    quality-control verdict ``qc_failed`` (the failed criteria; empty: passes; None: not checked)."""
    panel = 3.0
    height = panel * min(max(aspect, 0.5), 2.0)
    fig, axes = plt.subplots(1, 3, figsize=(3 * panel + 0.4, height + 1.5))
    panels = ((image, None, "frame"), (image, pred, "prediction"), (image, truth, "ground truth (expert)"))
    for ax, (img, mask, name) in zip(axes, panels):
        if mask is None:
            ax.imshow(img, cmap="gray", vmin=0, vmax=1, aspect=aspect)
        else:
            ax.imshow(overlay(img, mask, alpha=0.45), aspect=aspect)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    lines = [title] + _score_lines(dice, hausdorff)
    fig.suptitle("\n".join(line for line in lines if line), fontsize=9.5)
    if qc_failed is not None:
        failed = list(qc_failed)
        verdict = "QC: passes the anatomical criteria" if not failed else "QC: FAILS " + ", ".join(failed)
        axes[1].text(
            0.5, -0.04, verdict, transform=axes[1].transAxes, ha="center", va="top", fontsize=8.5,
            color="white" if failed else "black", backgroundcolor="#c0392b" if failed else "#d5f5d5",
        )  # fmt: skip
    _legend(fig)
    fig.tight_layout(rect=(0, 0.55 / fig.get_figheight(), 1, 1))
    save_figure(fig, out_png, 90)


def _score_lines(dice, hausdorff) -> list[str]:
    """ "Dice LV 0.91  MYO 0.80  LA 0.88" and "Hausdorff (mm) LV 4.1  MYO 5.0  LA 3.2" ("–": undefined)."""
    show = lambda value, fmt: "–" if value is None or math.isnan(value) else format(value, fmt)
    lines = []
    if dice is not None:
        lines.append("Dice " + "  ".join(f"{s} {show(v, '.2f')}" for s, v in zip(("LV", "MYO", "LA"), dice)))
    if hausdorff is not None:
        values, unit = hausdorff
        lines.append(
            f"Hausdorff ({unit}) " + "  ".join(f"{s} {show(v, '.1f')}" for s, v in zip(("LV", "MYO", "LA"), values))
        )
    return ["   ".join(lines)] if lines else []


PANEL_TITLES = {
    "dice": "Dice (higher is better)",
    "hd_px": "Hausdorff distance, px of the scored grid",
    "hd_mm": "Hausdorff distance, mm",
    "mad_px": "mean absolute distance (MAD), px",
    "mad_mm": "mean absolute distance (MAD), mm",
}


def save_comparison_boxplots(scores_a, scores_b, names: tuple[str, str], out_png: Path, rows=None) -> None:
    """Fig. 3 of the paper, extended: one panel per tested metric with values (Dice, Hausdorff and MAD in pixels
    and in mm), per structure A's box (light) beside B's (hatched) in the structure's colour, black medians, and
    above each pair the test's Holm-corrected p (``rows`` as ``stats.paired_tests`` gives them, with ``p_holm``;
    None: Dice and Hausdorff in pixels of LV, MYO, LA, untested)."""
    if rows is None:
        rows = [{"metric": m, "structure": s} for m in ("dice", "hd_px") for s in ("LV", "MYO", "LA")]
    values = lambda scores, metric, name: np.array([s.value(metric, name) for s in scores], float)
    tested_in = lambda metric: [r for r in rows if r["metric"] == metric]
    has_values = lambda metric: any(
        np.isfinite(values(scores, metric, r["structure"])).any()
        for r in tested_in(metric)
        for scores in (scores_a, scores_b)
    )
    metrics = [m for m in PANEL_TITLES if has_values(m)]  # a column an older frames.csv lacks is all NaN
    columns = 1 if len(metrics) <= 1 else 2
    cells = len(metrics) + 1  # one more cell: the legend and how to read the p-values
    grid_rows = -(-cells // columns)
    heights = [1.0] * (grid_rows - 1) + [0.5 if columns == 1 else 1.0]  # alone in its row, the legend needs less
    fig, axes = plt.subplots(
        grid_rows,
        columns,
        figsize=(6.2 * columns, 3.2 * sum(heights) + 0.7),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    axes = axes.ravel()
    for ax, metric in zip(axes, metrics):
        tested = tested_in(metric)
        pairs = [values(scores, metric, r["structure"]) for r in tested for scores in (scores_a, scores_b)]
        _comparison_panel(ax, pairs, tested)
        ax.set_title(PANEL_TITLES[metric], fontsize=10, pad=16)
    for ax in axes[len(metrics) :]:
        ax.axis("off")
    legend_ax = axes[len(metrics)]
    handles = [
        Patch(facecolor=(0.5, 0.5, 0.5, 0.35), edgecolor="black", label=f"A: {names[0]}"),
        Patch(facecolor=(0.5, 0.5, 0.5, 0.9), edgecolor="black", hatch="///", label=f"B: {names[1]}"),
    ]
    legend_ax.legend(handles=handles, loc="upper left", fontsize=9, frameon=False, title="boxes (colour: structure)")
    tests = sum(1 for r in rows if r.get("p_holm") is not None)
    legend_ax.text(
        *((0.0, 0.62) if columns > 1 else (0.55, 0.95)),  # below the legend, or beside it in a one-column figure
        "black line: median; whiskers 1.5 IQR; dots: outliers\n"
        f"p: paired Wilcoxon signed-rank, two-sided,\nHolm-corrected over the {counted(tests, 'test')} run;\n"
        f"* significant at α = {ALPHA}",
        transform=legend_ax.transAxes, fontsize=8.5, va="top",
    )  # fmt: skip
    n = len(scores_a)
    fig.suptitle(f"A: {names[0]}  vs  B: {names[1]}: {counted(n, 'frame')}, paired Wilcoxon tests", fontsize=11)
    fig.tight_layout()
    save_figure(fig, out_png, 100)


def _comparison_panel(ax, data, tested: list[dict]) -> None:
    """Boxes in pairs (A light, B hatched), one pair per tested structure, its p above the pair."""
    data = [d[np.isfinite(d)] for d in data]
    positions = [3 * k + j for k in range(len(tested)) for j in (0, 1)]
    boxes = ax.boxplot(
        data, positions=positions, widths=0.8, patch_artist=True, showfliers=True,
        medianprops={"color": "black", "linewidth": 2}, flierprops={"markersize": 3},
    )  # fmt: skip
    for i, box in enumerate(boxes["boxes"]):
        color = STRUCTURE_COLORS.get(tested[i // 2]["structure"], (0.5, 0.5, 0.5))
        box.set_facecolor((*color, 0.35 if i % 2 == 0 else 0.9))
        box.set_edgecolor("black")
        if i % 2:
            box.set_hatch("///")
    ax.set_xticks([3 * k + 0.5 for k in range(len(tested))], [r["structure"] for r in tested])
    ax.set_xlim(-1, 3 * len(tested) - 1)
    above = blended_transform_factory(ax.transData, ax.transAxes)
    for k, row in enumerate(tested):
        ax.text(3 * k + 0.5, 1.01, _p_text(row), transform=above, ha="center", va="bottom", fontsize=8)
    ax.grid(alpha=0.3, axis="y")


def _p_text(row: dict) -> str:
    p = row.get("p_holm")
    if p is None:
        return "p –" if "p_holm" in row else ""
    return f"Holm p {p:.2g}{' *' if p < ALPHA else ''}"


def save_bland_altman(
    measured,
    reference,
    agreement: dict,
    out_png: Path,
    label: str = "EF (%)",
    names: tuple[str, str] = ("measured", "reference"),
    rejected=None,
) -> None:
    """Bland–Altman plot: difference (measured − reference) against their mean, with the bias and the 95 % limits
    of agreement of all pairs as ``agreement`` gives them (``clinical.volumes.agreement``: bias, loa, n).
    ``label``: the quantity and its unit; ``names``: what the two sides are; ``rejected``: a flag per pair, drawn as
    a red cross (failed quality control)."""
    a, b = np.asarray(measured, float), np.asarray(reference, float)
    ok = np.isfinite(a) & np.isfinite(b)
    flagged = np.zeros(a.shape, bool) if rejected is None else np.asarray(rejected, bool)
    mean, diff = (a + b) / 2, a - b
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    kept, dropped = ok & ~flagged, ok & flagged
    ax.scatter(mean[kept], diff[kept], s=14, label=_patients_label(int(kept.sum()), rejected is not None))
    if dropped.any():
        ax.scatter(
            mean[dropped], diff[dropped], s=24, marker="x", color="tab:red",
            label=f"{counted(int(dropped.sum()), 'patient')} failing QC (rejected)",
        )  # fmt: skip
    figures = agreement
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


def _patients_label(n: int, checked: bool) -> str:
    return f"{counted(n, 'patient')} passing QC" if checked else counted(n, "patient")


def save_area_curve(areas, eds: list[int], ess: list[int], out_png: Path, unit: str = "mm²") -> None:
    """LV area over the loop (in the LV's colour) with each beat's end-diastolic and end-systolic frames marked."""
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(range(len(areas)), areas, marker=".", color=LABEL_COLORS[LV], label="LV area")
    for k, (ed, es) in enumerate(zip(eds, ess)):
        ax.axvline(ed, color="black", linestyle="--", label="ED" if k == 0 else None)
        ax.axvline(es, color="0.45", linestyle=":", linewidth=1.5, label="ES" if k == 0 else None)
    ax.set(xlabel="frame", ylabel=f"LV area ({unit})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # frames are counted, not measured
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out_png, 100)
