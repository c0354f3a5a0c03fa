"""The train workflow: what a ``train`` call trains, decided once (``plan_training``), then trained
(``run_training``). A new run takes its preset, the quickstart values on the phantom, and the settings given; a
resumed run keeps what it saved, taking from the settings given only a new epoch budget and the data folder where
it has moved, and says which of the others it ignores. A fine-tuned run (``init``) takes the architecture of the
model it starts from, and that model's preset unless one is given."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from echolite.config import MODEL_FIELDS, ModelConfig, TrainConfig
from echolite.errors import EcholiteError
from echolite.presets import resolve_configs
from echolite.pretrained import resolve_model
from echolite.run import RunConfig, RunDir
from echolite.training.trainer import TrainResult, saved_run_config, train

RESUME_TAKES = ("epochs", "data")
"""The settings a resumed run takes when given: a new epoch budget, and its data folder where it has moved (the
data must still hold the run's patients). Anything else would change the run halfway: the saved value stays."""


@dataclass(frozen=True)
class TrainPlan:
    model: ModelConfig
    train: TrainConfig
    out: Path
    saved: RunConfig | None = None  # the resumed run's saved configs and split; None: a new run
    ignored: tuple[str, ...] = ()  # the options given that a resumed run ignores, as the user typed them

    @property
    def resume(self) -> bool:
        return self.saved is not None


def plan_training(
    preset: str, settings: Mapping[str, Any], given: Mapping[str, str], out: Path | None = None, resume: bool = False
) -> TrainPlan:
    """The configs a ``train`` call trains with. ``settings``: ``resolve_configs``'s overrides (None: not given;
    ``data`` defaults to the phantom, which brings the quickstart values); ``given``: the settings the user gave
    (``preset`` among them), each with the option that gave it (``{"learning_rate": "--lr"}``), to say which a
    resumed run ignores. ``out``: the run folder (default ``runs/PRESET-TIMESTAMP``); ``resume``: continue the run
    in ``out``, whose ``config.json`` is read here, once."""
    if resume and out is None:
        raise EcholiteError("--resume needs --out RUN_DIR (the run to continue)")
    data = settings.get("data") or TrainConfig().data
    start = _initial_run(settings.get("init"), given) if settings.get("init") and not resume else None
    if start is not None and "preset" not in given:
        preset = start.train.preset
    model, config = resolve_configs(preset, quickstart=data == "phantom", **{**settings, "data": data})
    if start is not None:
        model = start.model
    out = Path(out) if out is not None else Path("runs") / f"{preset}-{datetime.now():%Y%m%d-%H%M%S}"
    if not resume:
        return TrainPlan(model, config, out)
    saved = saved_run_config(RunDir(out))
    kept = replace(
        saved.train,
        epochs=config.epochs if "epochs" in given else saved.train.epochs,
        data=config.data if "data" in given else saved.train.data,
    )
    ignored = tuple(option for name, option in given.items() if name not in RESUME_TAKES)
    return TrainPlan(saved.model, kept, out, saved, ignored)


def _initial_run(init: str, given: Mapping[str, str]) -> RunConfig:
    """The saved configs of the run ``init`` (a shipped model's name or a run folder) names; its architecture is
    the fine-tuned run's, so no architecture setting may be given beside it."""
    architecture = [option for name, option in given.items() if name in MODEL_FIELDS]
    if architecture:
        raise EcholiteError(f"--init {init}: the architecture is the initial model's; leave out {architecture[0]}")
    path = resolve_model(init)
    run = RunDir.of(path)
    if run is None:
        raise EcholiteError(
            f"--init {init}: not a run folder or a shipped model (its config.json gives the architecture)"
        )
    return run.load_config()


def run_training(
    plan: TrainPlan,
    log: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Train (or resume) as ``plan`` says; ``log`` receives one line per epoch, ``progress(step, steps)`` each
    training batch."""
    return train(
        plan.train,
        plan.out,
        model_config=plan.model,
        resume=plan.resume,
        log=log,
        progress=progress,
        saved=plan.saved,
    )
