"""The ablation study, the incremental component study of the paper's Tables V and VI: a plan's steps walked in
order, each a set of variants applied on top of the current model; the best variant of a step is kept when it
beats the current model by the plan's rule.

Every training run lives in ``OUT/runs/<name>-<hash>``, keyed by what is trained (not by step), so a variant that
equals an earlier model, or differs only in post-processing, reuses it; finished runs and scores are skipped when
the study is rerun, and an interrupted training resumes from its checkpoint."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from echolite.config import TrainConfig
from echolite.errors import EcholiteError
from echolite.evaluation.names import PAPER_STRUCTURES
from echolite.evaluation.stats import paired_p
from echolite.workflows.ablation.plan import Plan, Variant, resolve, variants_of
from echolite.workflows.ablation.rules import Rule, parse_rule
from echolite.workflows.ablation.runs import Outcome, make_runner
from echolite.workflows.ablation.tables import decimals, write_tables


def run_plan(
    plan: Plan,
    out: Path,
    defaults: TrainConfig,
    run_variants: Callable[[list[Variant]], list[Outcome]],
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Walk the steps; return one row per variant with the step's decision. ``run_variants`` trains and scores."""
    current_settings = dict(plan.baseline)
    current = run_variants([resolve(current_settings, {}, "baseline", defaults)])[0]
    rule = parse_rule(plan.rule)
    rows = [_row("Baseline", current, None, "-", rule, kept=True)]
    for step in plan.steps:
        variants = variants_of(step, plan.name)
        candidates = [resolve(current_settings, change, label, defaults) for label, change in variants.items()]
        outcomes = run_variants(candidates)
        best = max(outcomes, key=lambda o: _score(o, rule))
        improved = _score(best, rule) > _score(current, rule)
        for outcome in outcomes:
            chosen = outcome is best and improved
            conclusion = (f"use {outcome.variant.label}" if chosen else "discard") if outcome is best else "-"
            rows.append(_row(step["name"], outcome, current, conclusion, rule, kept=chosen))
        log(
            f"{step['name']}: best {best.variant.label} ({rule.name} {decimals(rule.mean(best.scores), 3)}) vs "
            f"current ({decimals(rule.mean(current.scores), 3)}): {'kept' if improved else 'discarded'}"
        )
        if improved:
            current_settings.update(variants[best.variant.label])
            current = best
    return rows


def _score(outcome: Outcome, rule: Rule) -> float:
    """The rule's value, signed so that larger is better; an undefined value ranks last."""
    value = rule.mean(outcome.scores)
    if value is None:
        return -np.inf
    return value if rule.higher_is_better else -value


def _row(step: str, outcome: Outcome, against: Outcome | None, conclusion: str, rule: Rule, kept: bool) -> dict:
    summary = outcome.summary
    row = {
        "step": step,
        "variant": outcome.variant.label,
        "run": outcome.variant.run_name,
        "postprocess": outcome.variant.postprocess,
    }
    for metric, key in (("dice", "dice"), ("hd_px", "hd")):
        for name in PAPER_STRUCTURES:
            row[f"{key}_{name}"] = summary[metric][name]
    row["missed"] = sum(summary["missed"][name] for name in PAPER_STRUCTURES)
    row["outliers"] = summary["outliers"]
    value = rule.mean(outcome.scores)
    row["rule_value"] = None if value is None else round(value, 4)
    row["p_dice"] = row["p_hd"] = row["p_rule"] = None
    if against is not None:
        for key, paired_rule in (("p_dice", _PAPER_DICE), ("p_hd", _PAPER_HD), ("p_rule", rule)):
            row[key] = paired_p(paired_rule.per_frame(against.scores), paired_rule.per_frame(outcome.scores))
    row["conclusion"], row["kept"] = conclusion, kept
    return row


_PAPER_DICE, _PAPER_HD = parse_rule("mean_dice"), parse_rule("mean_hd")


@dataclasses.dataclass
class AblationResult:
    rows: list[dict]
    csv_path: Path
    md_path: Path


def ablate(
    plan: Plan,
    out: Path,
    data: str = "phantom",
    split_file: str | None = None,
    workers: int = 1,
    log: Callable[[str], None] = print,
) -> AblationResult:
    """Run (or resume) ``plan`` in ``out`` and write its tables."""
    if workers < 1:
        raise EcholiteError(f"workers must be at least 1, got {workers}")
    defaults = TrainConfig(data=data, split_file=split_file)
    rows = run_plan(plan, Path(out), defaults, make_runner(Path(out), plan.score_split, workers, log), log)
    return AblationResult(rows, *write_tables(rows, Path(out), plan))
