"""Running an ablation's variants: each distinct run trained once (a finished one reused, an interrupted one
resumed), in this process or in worker processes, then scored on the plan's split, the scores cached beside it."""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from echolite.data.run_split import frames_for_split
from echolite.evaluation.postprocess import PostprocessConfig
from echolite.evaluation.scoring import read_frame_csv, score_frames, summarize, write_frame_csv
from echolite.inference import KerasSegmenter
from echolite.run import RunDir
from echolite.workflows.ablation.devices import claim_device, device_slots
from echolite.workflows.ablation.plan import Variant
from echolite_edge.files import atomic_path


@dataclasses.dataclass
class Outcome:
    variant: Variant
    scores: list  # FrameScore per frame of the scored split
    summary: dict


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
    with ProcessPoolExecutor(workers, mp_context=context, initializer=claim_device, initargs=(slots,)) as pool:
        jobs = [pool.submit(_train_if_needed, v, _run_dir(out, v)) for v in variants]
        for job in jobs:
            job.result()
