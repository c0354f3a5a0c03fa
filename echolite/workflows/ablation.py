"""Ablation, the incremental component study (the paper's Tables V and VI): a plan of steps, each a set of variants
applied on top of the current model; the best variant of a step is kept when it beats the current model by the plan's
rule.

Every training run lives in ``OUT/runs/<name>-<hash>``, keyed by what is trained (not by step), so a variant that
equals an earlier model, or differs only in post-processing, reuses it; finished runs and scores are skipped when
the study is rerun, and an interrupted training resumes from its checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from echolite.config import MODEL_FIELDS, ModelConfig, TrainConfig
from echolite.data.io import load_yaml, read_text
from echolite.data.run_split import frames_for_split
from echolite.errors import EcholiteError
from echolite.evaluation.names import METRICS, PAPER_STRUCTURES, STRUCTURES
from echolite.evaluation.postprocess import PostprocessConfig
from echolite.evaluation.scoring import per_frame, read_frame_csv, score_frames, summarize, write_frame_csv
from echolite.evaluation.stats import paired_p
from echolite.inference import KerasSegmenter
from echolite.presets import get_preset, resolve_configs
from echolite.run import RunDir
from echolite_edge.files import atomic_path

PLAN_TRAIN_SETTINGS = {
    "epochs",
    "batch_size",
    "learning_rate",
    "loss",
    "augment",
    "scheduler",
    "ds_weight",
    "size_weight",
    "phantom_frames",
    "patience",
    "seed",
    "jit_compile",
}
"""What a plan may change in training (the data and the split are the study's, not a variant's)."""
SPECIAL_FIELDS = {"preset", "size", "postprocess"}
DEFAULT_PRESET = "unet1"  # Table I's U-Net 1: the paper's starting point


@dataclasses.dataclass(frozen=True)
class Variant:
    """A fully resolved candidate: what to train, and whether to post-process its predictions. Its run folder is
    named by a hash of what is trained, so equal trainings share one run whatever their label."""

    label: str
    model: ModelConfig
    train: TrainConfig
    postprocess: bool

    @property
    def run_name(self) -> str:
        key = json.dumps([dataclasses.asdict(self.model), dataclasses.asdict(self.train)], sort_keys=True)
        return f"{self.train.preset}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


@dataclasses.dataclass(frozen=True)
class Rule:
    """How a step ranks models: ``mean_<metric>[_<structure>]``, the mean over the scored frames of one metric of
    ``names.METRICS`` (``hd`` = ``hd_px``) on one structure, or without a structure over the paper's LV, MYO and
    LA. Dice: higher is better; distances: lower. Frames where the value is undefined are left out."""

    name: str
    metric: str
    structures: tuple[str, ...]

    @property
    def higher_is_better(self) -> bool:
        return self.metric == "dice"

    def values(self, scores: list) -> np.ndarray:
        """(frames, structures) values of the rule's metric."""

        return per_frame(scores, self.metric, self.structures)

    def mean(self, scores: list) -> float | None:
        values = self.values(scores)
        return float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else None

    def per_frame(self, scores: list) -> np.ndarray:
        """Each frame's mean over the rule's structures (NaN where none is defined), for the paired test."""
        values = self.values(scores)
        counts = np.isfinite(values).sum(axis=1)
        return np.where(counts > 0, np.nansum(values, axis=1) / np.maximum(counts, 1), np.nan)


RULE_METRICS = {"hd": "hd_px", **{m: m for m in METRICS}}
"""Metric names a rule may use (``hd``: the rule name older plans use)."""


def parse_rule(text: str, where: str = "rule") -> Rule:
    """``mean_dice``, ``mean_hd``, ``mean_mad_mm_epi``, ...: see ``Rule``."""
    rest = str(text)[len("mean_") :] if str(text).startswith("mean_") else None
    for given in sorted(RULE_METRICS, key=len, reverse=True) if rest is not None else ():
        structure = rest[len(given) + 1 :].upper() if rest.startswith(f"{given}_") else None
        if rest == given or structure in STRUCTURES:
            return Rule(text, RULE_METRICS[given], (structure,) if structure else PAPER_STRUCTURES)
    raise EcholiteError(
        f"{where}: unknown rule {text!r}; a rule is mean_<metric> or mean_<metric>_<structure> with "
        f"metric one of {', '.join(METRICS)} (hd = hd_px) and structure one of "
        f"{', '.join(s.lower() for s in STRUCTURES)} (e.g. mean_dice, mean_mad_mm_epi)"
    )


@dataclasses.dataclass
class Plan:
    name: str
    description: str
    rule: str
    score_split: str
    baseline: dict
    steps: list[dict]


def builtin_plans() -> list[str]:
    return sorted(p.name[:-5] for p in _plans_folder().iterdir() if p.name.endswith(".yaml"))


def _plans_folder():
    return resources.files("echolite.workflows") / "plans"  # package data (pyproject), not a package of its own


def load_plan(source: str) -> Plan:
    """A built-in plan name (``paper``, ``tiny``) or a YAML file."""

    path = Path(source)
    if path.exists():
        where = str(path)
        try:
            text = read_text(path, "the plan")
        except OSError as exc:
            raise EcholiteError(f"{where}: cannot read the plan ({exc.strerror or exc})") from None
    elif source in builtin_plans():
        text, where = (_plans_folder() / f"{source}.yaml").read_text(), f"plan {source!r}"
    else:
        raise EcholiteError(f"{source}: no such plan file or built-in plan (built-in: {', '.join(builtin_plans())})")
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise EcholiteError(f"{where}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list) or not isinstance(raw.get("baseline"), dict):
        raise EcholiteError(f"{where}: a plan needs a 'baseline' mapping and a 'steps' list")
    unknown = {key for key in raw if key not in PLAN_KEYS and not str(key).startswith("x-")}  # x-: YAML anchors
    if unknown:
        raise EcholiteError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; a plan has "
            f"{', '.join(sorted(PLAN_KEYS))} (and x-NAME keys for shared YAML anchors)"
        )
    name = path.stem if raw.get("name") is None else str(raw["name"])
    plan = Plan(
        name or path.stem,
        raw.get("description", ""),
        raw.get("rule", "mean_dice"),
        raw.get("score_split", "val"),
        raw["baseline"],
        raw["steps"],
    )
    if plan.score_split not in SCORE_SPLITS:
        raise EcholiteError(f"{where}: score_split {plan.score_split!r}: choose one of {', '.join(SCORE_SPLITS)}")
    parse_rule(str(plan.rule), where)
    _check_variants(plan, where)  # now: a bad setting would otherwise surface after hours of training
    return plan


SCORE_SPLITS = ("val", "test", "train", "all")
PLAN_KEYS = {"name", "description", "rule", "score_split", "baseline", "steps"}
REACHABLE_CAP = 64
"""How many of the settings a study can reach (each step keeping one variant or none) ``load_plan`` tries a
variant on; beyond it a variant that fits none of them is left for the run to judge."""


def _check_variants(plan: Plan, where: str) -> None:
    """Every setting known and typed; the baseline valid; each variant valid on at least one of the settings the
    study can have reached by its step (a step may build on a change an earlier step kept)."""
    _check_types(plan.baseline, f"{where}: baseline")
    _resolved(plan.baseline, {}, f"{where}: baseline")
    reached, complete = {_key(plan.baseline): dict(plan.baseline)}, True
    for step in plan.steps:
        grown = {}
        for label, change in _variants_of(step, where).items():
            here = f"{where}: step {step['name']!r}, variant {label!r}"
            _check_types(change, here)
            fits, first_error = [], None
            for state in reached.values():
                try:
                    _resolved(state, change, here)
                    fits.append({**state, **change})
                except EcholiteError as exc:
                    first_error = first_error or exc
            if not fits and complete:
                raise first_error
            grown.update({_key(state): state for state in fits})
        reached.update(grown)
        if len(reached) > REACHABLE_CAP:
            reached, complete = dict(list(reached.items())[:REACHABLE_CAP]), False


def _key(settings: dict) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def _check_types(settings: dict, where: str) -> None:
    """Known settings of the right types (None: not set, as ``resolve_configs`` takes it)."""
    unknown = set(settings) - PLAN_TRAIN_SETTINGS - MODEL_FIELDS - SPECIAL_FIELDS
    if unknown:
        raise EcholiteError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    types = {f.name: f.type for f in dataclasses.fields(TrainConfig) + dataclasses.fields(ModelConfig)}
    for name, value in settings.items():
        expected = types.get(name, "")
        wrong = value is not None and (
            expected == "int"
            and (not isinstance(value, int) or isinstance(value, bool))
            or expected == "float"
            and (not isinstance(value, (int, float)) or isinstance(value, bool))
            or expected == "bool"
            and value not in (True, False)  # 0 and 1 too
            or expected.startswith("tuple")
            and not isinstance(value, (list, tuple))
            or name in ("preset", "size")
            and not isinstance(value, str)
        )
        if wrong:
            kind = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(expected, "a list")
            kind = "a name" if name in ("preset", "size") else kind
            raise EcholiteError(f"{where}: {name} {value!r} is not {kind}")


def _resolved(base: dict, change: dict, where: str) -> None:
    try:
        resolve(base, change, "check", TrainConfig())
    except EcholiteError as exc:
        raise EcholiteError(f"{where}: {exc}") from None


def resolve(base: dict, change: dict, label: str, defaults: TrainConfig) -> Variant:
    """Settings → configs (``echolite.presets.resolve_configs``) on the study's data and split. ``preset`` sets
    everything its preset defines; ``size`` swaps only the channel widths for those of another preset."""
    settings = {**base, **change}
    overrides = {k: v for k, v in settings.items() if k in PLAN_TRAIN_SETTINGS | MODEL_FIELDS}
    if "size" in settings:
        sized = get_preset(settings["size"]).model
        overrides = {
            "encoder_channels": sized.encoder_channels,
            "decoder_channels": sized.decoder_channels,
            **overrides,
        }
    model, train = resolve_configs(
        settings.get("preset", DEFAULT_PRESET), data=defaults.data, split_file=defaults.split_file, **overrides
    )
    return Variant(label, model, train, bool(settings.get("postprocess", False)))


@dataclasses.dataclass
class Outcome:
    variant: Variant
    scores: list  # FrameScore per frame of the scored split
    summary: dict


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
        variants = _variants_of(step, plan.name)
        candidates = [resolve(current_settings, change, label, defaults) for label, change in variants.items()]
        outcomes = run_variants(candidates)
        best = max(outcomes, key=lambda o: _score(o, rule))
        improved = _score(best, rule) > _score(current, rule)
        for outcome in outcomes:
            chosen = outcome is best and improved
            conclusion = (f"use {outcome.variant.label}" if chosen else "discard") if outcome is best else "-"
            rows.append(_row(step["name"], outcome, current, conclusion, rule, kept=chosen))
        log(
            f"{step['name']}: best {best.variant.label} ({rule.name} {_decimals(rule.mean(best.scores), 3)}) vs "
            f"current ({_decimals(rule.mean(current.scores), 3)}): {'kept' if improved else 'discarded'}"
        )
        if improved:
            current_settings.update(variants[best.variant.label])
            current = best
    return rows


def _variants_of(step: dict, where: str) -> dict:
    if (
        not isinstance(step, dict)
        or "name" not in step
        or not isinstance(step.get("variants"), dict)
        or not step["variants"]
    ):
        raise EcholiteError(f"{where}: every step needs a 'name' and a non-empty 'variants' mapping")
    extra = set(step) - {"name", "variants"}
    if extra:
        raise EcholiteError(
            f"{where}: step {step['name']!r}: unknown key(s) {', '.join(sorted(map(str, extra)))}; "
            "a step has name and variants"
        )
    if any(v is not None and not isinstance(v, dict) for v in step["variants"].values()):
        raise EcholiteError(
            f"{where}: step {step['name']!r}: each variant is a mapping of settings, e.g. a: {{epochs: 5}}"
        )
    return {str(k): dict(v or {}) for k, v in step["variants"].items()}


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


# --- running variants: train (or reuse) and score --------------------------------------------------------------


def train_and_score(variant: Variant, out: Path, score_split: str, log: Callable[[str], None] | None = None) -> Outcome:
    """Train the variant's run unless finished (resuming an interrupted one), then score it (cached per
    post-processing choice in the run folder)."""

    run_dir = _run_dir(out, variant)
    scores_csv = run_dir / f"frames_{score_split}_{'post' if variant.postprocess else 'raw'}.csv"
    if not scores_csv.exists():
        _train_if_needed(variant, run_dir, log)
        _score_run(run_dir, variant, score_split, scores_csv)
    scores = read_frame_csv(scores_csv)
    return Outcome(variant, scores, summarize(scores))


def _run_dir(out: Path, variant: Variant) -> Path:
    return Path(out) / "runs" / variant.run_name


def _train_if_needed(variant: Variant, run_dir: Path, log: Callable[[str], None] | None = None) -> None:
    from echolite.training.trainer import train  # TensorFlow on use: a plan is checked whole before it loads

    run = RunDir(run_dir)
    if run.is_finished():
        return
    train(variant.train, run_dir, model_config=variant.model, resume=run.has_checkpoint(), log=log)


def _score_run(run_dir: Path, variant: Variant, split: str, path: Path) -> None:
    run = RunDir(run_dir)
    frames = frames_for_split(run.load_config().train.data, split, run, variant.model.input_size).frames
    labels = KerasSegmenter(run_dir).predict_labels(frames.images)
    # the paper's post-processing: the largest components alone
    cca = PostprocessConfig(fill_enclosed=False, close_myocardium="off", detach_atrium=False)
    scores = score_frames(labels, frames, cca if variant.postprocess else None)
    with atomic_path(path) as tmp:
        write_frame_csv(scores, tmp)


def make_runner(out: Path, score_split: str, workers: int = 1, log: Callable[[str], None] = print):
    """A ``run_variants`` for ``run_plan``: in this process, or ``workers`` processes (one GPU each if any)."""

    def run_variants(variants: list[Variant]) -> list[Outcome]:
        unique = list({v.run_name: v for v in variants}.values())  # one training per distinct run
        todo = [v for v in unique if not RunDir(_run_dir(out, v)).is_finished()]
        for v in todo:
            log(f"training {v.label} -> {_run_dir(out, v)}")
        if workers > 1 and len(todo) > 1:
            _train_in_parallel(todo, out, workers)
        return [train_and_score(v, out, score_split, log) for v in variants]

    return run_variants


def _train_in_parallel(variants: list[Variant], out: Path, workers: int) -> None:
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    slots = context.Queue()
    for slot in device_slots(workers):
        slots.put(slot)
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_claim_device, initargs=(slots,)) as pool:
        jobs = [pool.submit(_train_if_needed, v, _run_dir(out, v)) for v in variants]
        for job in jobs:
            job.result()


def device_slots(workers: int) -> list[str]:
    """One device per worker process: GPU ids round robin (``"0"``, ``"1"``, ...), or without GPUs an equal share
    of this process's CPU cores (``"cpu:0,1"``, ``"cpu:2,3"``)."""

    gpus = _visible_gpus()
    if gpus:
        return [gpus[i % len(gpus)] for i in range(workers)]
    cores = sorted(os.sched_getaffinity(0))
    shares = [cores[i::workers] or [cores[i % len(cores)]] for i in range(workers)]
    return ["cpu:" + ",".join(map(str, share)) for share in shares]


def _claim_device(slots) -> None:
    device = slots.get()
    if device.startswith("cpu:"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.sched_setaffinity(0, {int(c) for c in device[4:].split(",")})  # TensorFlow sizes its pools to these
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = device


def _visible_gpus() -> list[str]:
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in listed.split(",") if d.strip()]
    import tensorflow as tf  # on use: CUDA_VISIBLE_DEVICES answers without starting TensorFlow

    return [str(i) for i in range(len(tf.config.list_physical_devices("GPU")))]


# --- tables ------------------------------------------------------------------------------------------------------

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
            *(_decimals(r[k], 3) for k in COLUMNS[2:5]),
            *(_decimals(r[k], 2) for k in COLUMNS[5:8]),
            str(r["missed"]),
            str(r["outliers"]),
            _decimals(r["rule_value"], 3),
            _p_value(r["p_dice"]),
            _p_value(r["p_hd"]),
            _p_value(r["p_rule"]),
            r["conclusion"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _decimals(value, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p_value(value) -> str:
    return "–" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")


# --- the whole workflow -----------------------------------------------------------------------------------------


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


def with_epochs(plan: Plan, epochs: int | None) -> Plan:
    """The plan with every variant trained for ``epochs`` (None: as the plan says)."""
    if epochs is None:
        return plan
    if epochs <= 0:
        raise EcholiteError(f"epochs must be a positive integer, got {epochs}")
    return dataclasses.replace(plan, baseline={**plan.baseline, "epochs": epochs})


def with_rule(plan: Plan, rule: str | None) -> Plan:
    """The plan ranking its variants by ``rule`` (None: the plan's own); see ``Rule``."""
    if rule is None:
        return plan
    parse_rule(rule, "--rule")
    return dataclasses.replace(plan, rule=rule)


def describe(plan: Plan, data: str = "phantom", split_file: str | None = None) -> dict:
    """Each step's variants as changes on the resolved baseline (the study decides what is carried forward)."""
    base = resolve(plan.baseline, {}, "baseline", TrainConfig(data=data, split_file=split_file))
    return {
        "name": plan.name,
        "rule": plan.rule,
        "score_split": plan.score_split,
        "baseline": {
            "model": dataclasses.asdict(base.model),
            "train": dataclasses.asdict(base.train),
            "postprocess": base.postprocess,
        },
        "steps": [{"name": s["name"], "variants": s["variants"]} for s in plan.steps],
    }
