"""``FrameSet``: the in-memory form every reader produces and every consumer takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FrameSet:
    """N frames on the model grid. Images are float32 in [0, 1], masks uint8 labels (0 bg, 1 LV, 2 MYO, 3 LA).

    ``spacing_mm`` is the (row, column) pixel size in mm on this grid, so mm metrics stay possible;
    ``original_shapes`` is each frame's (rows, columns) before resizing, so predictions can be mapped back.
    """

    images: np.ndarray
    masks: np.ndarray
    frame_ids: list[str]
    patients: list[str]
    views: list[str]
    phases: list[str]
    spacing_mm: np.ndarray
    original_shapes: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_ids)

    def subset(self, indices) -> FrameSet:
        idx = np.asarray(indices, dtype=int)
        pick = lambda values: [values[i] for i in idx]
        return FrameSet(
            self.images[idx],
            self.masks[idx],
            pick(self.frame_ids),
            pick(self.patients),
            pick(self.views),
            pick(self.phases),
            self.spacing_mm[idx],
            self.original_shapes[idx],
        )

    def for_patients(self, patients) -> FrameSet:
        wanted = set(patients)
        return self.subset([i for i, p in enumerate(self.patients) if p in wanted])
