"""The run folder: the one place that knows its file names, reads and writes its configuration and split.

```
RUN/
  config.json        resolved model and training configs and the patient split (enough to rerun exactly)
  model.keras        best epoch by validation Dice
  history.csv        per-epoch losses and metrics
  curves.png         training curves
  summary.json       parameters, best epoch, validation Dice per structure
  checkpoint/        last.keras (weights + optimizer) and state.json, for --resume;
                     epochs/epoch_NNN.weights.h5 with --average-last (echolite.training.averaging)
  model_averaged.keras   mean of the last epochs' weights, with --average-last
  model_<mode>[_qat].tflite + .json    exports (echolite.export.formats)
```
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from echolite.config import ModelConfig, TrainConfig, model_config_from_dict
from echolite.errors import EcholiteError, check_writable
from echolite_edge.files import REPORT_MARKERS, write_json


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig
    train: TrainConfig
    split: dict[str, list[str]]


@dataclass(frozen=True)
class RunDir:
    path: Path

    CONFIG = "config.json"
    MODEL = "model.keras"
    HISTORY = "history.csv"
    CURVES = "curves.png"
    SUMMARY = "summary.json"
    CHECKPOINT = "checkpoint"
    AVERAGED = "model_averaged.keras"
    EXPORTS = "model_*.tflite"  # with metadata beside each: model_<mode>.json

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(getattr(self.path, "path", self.path)))  # a RunDir or a path

    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def model(self) -> Path:
        return self.path / self.MODEL

    @property
    def history(self) -> Path:
        return self.path / self.HISTORY

    @property
    def curves(self) -> Path:
        return self.path / self.CURVES

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def last_model(self) -> Path:
        return self.path / self.CHECKPOINT / "last.keras"

    @property
    def state(self) -> Path:
        return self.path / self.CHECKPOINT / "state.json"

    @property
    def averaged_model(self) -> Path:
        return self.path / self.AVERAGED

    @property
    def epoch_weights_dir(self) -> Path:
        return self.path / self.CHECKPOINT / "epochs"

    def epoch_weights(self, epoch: int) -> Path:
        return self.epoch_weights_dir / f"epoch_{epoch:03d}.weights.h5"

    def is_run(self) -> bool:
        return self.config.exists()

    def is_finished(self) -> bool:
        return self.summary.exists()

    def has_checkpoint(self) -> bool:
        return self.state.exists() and self.last_model.exists()

    @staticmethod
    def export_name(mode: str, qat: bool = False, averaged: bool = False) -> str:
        """``model_[averaged_]<mode>[_qat].tflite``: an export of the best (or averaged) model in one format; ``mode``
        is one of ``echolite.export.formats.MODES``, checked by whoever chose it."""
        return f"model_{'averaged_' if averaged else ''}{mode}{'_qat' if qat else ''}.tflite"

    def export_path(self, mode: str, qat: bool = False, averaged: bool = False) -> Path:
        return self.path / self.export_name(mode, qat, averaged)

    def exports(self) -> list[Path]:
        return sorted(self.path.glob(self.EXPORTS))

    def save_config(self, model: ModelConfig, train: TrainConfig, split: dict[str, list[str]]) -> None:
        payload = {"model": dataclasses.asdict(model), "train": dataclasses.asdict(train), "split": split}
        write_json(self.config, payload)

    def load_config(self) -> RunConfig:
        try:
            payload: dict[str, Any] = json.loads(self.config.read_text())
            if not isinstance(payload, dict) or not all(isinstance(payload.get(k), dict) for k in ("model", "train")):
                raise ValueError("expected 'model' and 'train' mappings")
            return RunConfig(
                model_config_from_dict(payload["model"]),
                TrainConfig(**payload["train"]),
                _split_from_config(payload.get("split")),
            )
        except FileNotFoundError:
            raise EcholiteError(f"{self.path}: not a run folder (no {self.CONFIG})") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EcholiteError(f"{self.config}: not a readable echolite run config ({exc})") from None
        except EcholiteError as exc:  # a setting out of range or unknown
            raise EcholiteError(f"{self.config}: {exc}") from None

    def training_data(self, given: str | None = None, option: str = "--data") -> str:
        """``given``, else the data folder the run was trained on; an error naming ``option`` (how the command
        takes another folder) when the saved one is gone."""
        if given:
            return given
        data = self.load_config().train.data
        if data != "phantom" and not Path(data).exists():
            raise EcholiteError(
                f"{self.path}: its training data {data} is not there (moved?); give the folder with {option}"
            )
        return data

    def write_summary(self, payload: dict) -> None:
        write_json(self.summary, payload)

    @classmethod
    def of(cls, model: Path) -> RunDir | None:
        """The run a model belongs to: the folder itself, or the folder holding the file; None when there is none."""
        for candidate in (Path(model), Path(model).parent):
            if (candidate / cls.CONFIG).exists():
                return cls(candidate)
        return None

    @classmethod
    def require(cls, path: Path) -> RunDir:
        run = cls(path)
        if not run.is_run():
            raise EcholiteError(f"{path}: not a run folder (no {cls.CONFIG})")
        return run


def _split_from_config(split) -> dict[str, list[str]]:
    """A run's saved split: train, val and test lists of patient ids, training not empty."""
    if (
        not isinstance(split, dict)
        or not set(split) <= {"train", "val", "test"}
        or any(not isinstance(ids, list) or not all(isinstance(p, str) for p in ids) for ids in split.values())
    ):
        raise ValueError("'split' must map train, val and test to lists of patient ids")
    if not split.get("train"):
        raise ValueError("its split lists no training patients")
    return {key: list(split.get(key, [])) for key in ("train", "val", "test")}


def check_report_folder(out: Path, what: str, marker: str) -> None:
    """Before any work: ``out`` can hold ``what`` (a report marked by its file ``marker``) and is neither a run
    folder nor another kind of report, whose files this one would replace or mix with."""

    run = RunDir(out)
    if run.is_run() and (run.model.exists() or run.last_model.parent.is_dir()):
        raise EcholiteError(f"{out}: a run folder; write {what} to a folder of their own (--out)")
    other = next((m for m in REPORT_MARKERS if m != marker and (Path(out) / m).is_file()), None)
    if other:
        raise EcholiteError(f"{out}: holds another report ({other}); write {what} to a folder of their own (--out)")
    check_writable(out, what)
