import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Subprocesses too import the device runner from the working tree, not the copy pip installed from edge/.
_EDGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "edge")
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_EDGE, os.environ.get("PYTHONPATH")) if p)

import pytest

from echolite.config import ModelConfig


@pytest.fixture
def tiny_config() -> ModelConfig:
    """A 64-pixel, few-channel lw-unet-like model: every code path, a fraction of a second per step."""
    return ModelConfig(
        encoder_channels=(8, 8, 16),
        decoder_channels=(8, 8),
        input_size=64,
        norm="batch",
        activation="mish",
        deep_supervision=True,
    )


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Tests never read or fill the user's frame cache."""
    monkeypatch.setenv("ECHOLITE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
