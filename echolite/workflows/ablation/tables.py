"""An ablation's tables: ``ablation.csv`` (every variant) and ``ablation.md`` (the paper's Table VI summary, then
every variant as in Table V)."""

from __future__ import annotations

import csv
from pathlib import Path

from echolite.workflows.ablation.plan import Plan

TABLE_CSV, TABLE_MD = "ablation.csv", "ablation.md"


COLUMNS = [
    "step",
    "variant",
    "dice_LV",
    "dice_MYO",
    "dice_LA",
    "hd_LV",
    "hd_MYO",
    "hd_LA",
    "missed",
    "outliers",
    "rule_value",
    "p_dice",
    "p_hd",
    "p_rule",
    "conclusion",
    "run",
]


def write_tables(rows: list[dict], out: Path, plan: Plan) -> tuple[Path, Path]:
    """``ablation.csv`` (every variant) and ``ablation.md``: the Table VI summary, then every variant (Table V)."""

    out.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out / TABLE_CSV, out / TABLE_MD
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    summary = [r for r in rows if r["conclusion"] != "-" or r["step"] == "Baseline"]
    text = [
        f"# Ablation `{plan.name}`: {plan.description}".rstrip(": "),
        "",
        (
            f"Scored on the {plan.score_split} split; rule: {plan.rule} (column {plan.rule}). Dice and Hausdorff "
            "(pixels on the model grid) are means over frames; the Hausdorff distance of a missed structure (in "
            "only one of prediction and truth) is undefined and left out of the means, and Missed counts those "
            "structures (LV, MYO, LA). p: two-sided Wilcoxon signed-rank test of per-frame mean Dice / Hausdorff / "
            "rule value against the model the step tries to improve."
        ),
        "",
        "## Summary (Table VI)",
        "",
        *_markdown(summary, "Addition", plan.rule),
        "",
        "## Every variant (Table V)",
        "",
        *_markdown(rows, "Step", plan.rule),
    ]
    md_path.write_text("\n".join(text) + "\n")
    return csv_path, md_path


def _markdown(rows: list[dict], first: str, rule: str) -> list[str]:
    header = [
        first,
        "Variant",
        "Dice LV",
        "Dice MYO",
        "Dice LA",
        "Haus. LV",
        "Haus. MYO",
        "Haus. LA",
        "Missed",
        "Outliers",
        rule,
        "p Dice",
        "p Haus.",
        f"p {rule}",
        "Conclusion",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            r["step"],
            r["variant"],
            *(decimals(r[k], 3) for k in COLUMNS[2:5]),
            *(decimals(r[k], 2) for k in COLUMNS[5:8]),
            str(r["missed"]),
            str(r["outliers"]),
            decimals(r["rule_value"], 3),
            _p_value(r["p_dice"]),
            _p_value(r["p_hd"]),
            _p_value(r["p_rule"]),
            r["conclusion"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def decimals(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p_value(value) -> str:
    return "–" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")
