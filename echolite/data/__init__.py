"""Data: the phantom, readers for real layouts, splits, augmentation and the tf.data pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from echolite.data.frames import FrameSet


@dataclass
class LoadedData:
    frames: FrameSet
    layout: str
    split: dict[str, list[str]] | None = None
    """The split the data ships with (CAMUS ``database_split``), if any."""
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


def load_data(
    source: str,
    size: int = 256,
    phantom_frames: int = 200,
    seed: int = 0,
    skip_bad: bool = False,
    use_cache: bool = True,
    progress=None,
) -> LoadedData:
    """``source`` is ``"phantom"`` or a folder in a supported layout (detected from its contents)."""
    # on use, all four: importing a submodule of echolite.data (the command line does) stays free of scipy and PIL
    from echolite.data.cache import cache_key, load_cached, save_cached  # on use: see above
    from echolite.data.cases import load_cases  # on use: see above
    from echolite.data.layouts import detect_layout  # on use: see above
    from echolite.data.phantom import make_phantom  # on use: see above

    if source == "phantom":
        return LoadedData(make_phantom(phantom_frames, seed=seed, size=size), "phantom")

    layout = detect_layout(Path(source))
    key = cache_key(layout.name, layout.cases, size, skip_bad) if use_cache else None
    cached = load_cached(key) if key else None
    if cached is None:
        report = load_cases(layout.cases, size, skip_bad, progress)
        cached = (report.frames, report.skipped)
        if key:
            save_cached(key, *cached)
    return LoadedData(cached[0], layout.name, layout.split, cached[1], layout.problems, layout.info)


__all__ = ["FrameSet", "LoadedData", "load_data"]
