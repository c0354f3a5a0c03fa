"""An ablation plan: a baseline of settings and steps, each a set of variants (changes of settings), read from YAML
(the built-in plans are in ``plans/``) and checked whole before anything trains, since a bad setting would otherwise
surface after hours of training; ``resolve`` turns settings into the configs a variant trains with."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from importlib import resources
from pathlib import Path

import yaml

from echolite.config import MODEL_FIELDS, ModelConfig, TrainConfig
from echolite.data.io import load_yaml, read_text
from echolite.errors import EcholiteError
from echolite.presets import get_preset, resolve_configs
from echolite.workflows.ablation.rules import parse_rule

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
    """The built-in plans: package data (pyproject), not a package of their own."""
    return resources.files("echolite.workflows.ablation") / "plans"


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
        for label, change in variants_of(step, where).items():
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


def variants_of(step: dict, where: str) -> dict:
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
