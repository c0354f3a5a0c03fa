"""Beat-by-beat analysis of a cine loop, in numpy only, shared by the device runner (``echolite-edge run --cine``)
and the library (``echolite measure --sequence``), as echocardiographers measure: several beats, each with its own
end-diastole and end-systole, their EFs averaged.

1. The LV area per frame is median-filtered over a few frames, so one or two failing frames do not move the curve.
2. End-diastoles (ED) are maxima and end-systoles (ES) minima of the smoothed curve that stand out by half its range
   (EchoNet-Dynamic's beat finding), at least half the shortest plausible beat apart (200 /min at the frame rate;
   without one, at the lowest plausible frame rate), so a rhythm too fast shows as beats too short. A beat is an ED
   followed by an ES after which the LV refills; the loop's first and last frames are an ED only at the diastolic
   level (an ECG-triggered loop starts and ends there), and a cycle that ends on the last frame has no length.
3. Per beat, the measured frames are the largest (ED) and smallest (ES) LV within half the median window of those
   extremes, among frames that agree with their neighbours (area near the smoothed curve, LV overlapping a
   neighbour's) and pass the per-frame anatomical criteria where they were checked: a frame that disagrees with its
   neighbours is never ED or ES.
4. EDV, ESV (single-plane disks, ES cut at the ED mitral plane) and EF per beat; their mean and spread.
5. ``loop_qc.check_loop`` decides whether the loop's EF is given.

Thresholds: ``loop_qc.THRESHOLDS`` (docs/loops.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from echolite_edge.clinical import (
    LongAxis,
    MeasurementError,
    ejection_fraction,
    pair_axes,
    volume_single_plane,
)
from echolite_edge.labels import LV
from echolite_edge.loop_qc import CheckResult, check_loop, limit
from echolite_edge.words import counted


@dataclass
class Beat:
    ed: int  # frame index of end-diastole
    es: int  # frame index of end-systole
    cycle_frames: int | None  # frames from this ED to the next (None: the loop ends before it)
    edv: float = float("nan")  # mL, or pixel units without a pixel size
    esv: float = float("nan")
    ef: float = float("nan")
    ed_axis: LongAxis | None = field(default=None, repr=False)
    es_axis: LongAxis | None = field(default=None, repr=False)


@dataclass
class LoopAnalysis:
    masks: list[np.ndarray] = field(repr=False)  # the loop's (H, W) label maps
    fps: float | None
    spacing: tuple[float, float] | None  # (row, column) mm, None: unknown
    aspect: tuple[float, float]  # (row, column) shape of a pixel when the spacing is unknown (any unit)
    areas: np.ndarray  # LV area per frame (mm², or pixels without a spacing)
    smoothed: np.ndarray  # the median-filtered areas
    consecutive_dice: np.ndarray  # (T-1,) Dice of the LV of each frame with the next
    outliers: np.ndarray  # (T,) frames that disagree with their neighbours
    eligible: np.ndarray  # (T,) frames that may be ED or ES
    beats: list[Beat]
    anatomy_passed: np.ndarray | None = None  # (T,) per-frame anatomical verdicts, None: not checked
    confidence: np.ndarray | None = None  # (T,) per-frame LV softmax margin, None: not given
    no_beat_reason: str = ""
    dropped: list[str] = field(default_factory=list)  # beats found but not measured, and why

    @property
    def pixel(self) -> tuple[float, float]:
        """The pixel's (row, column) size: mm, or, without a spacing, its shape (volumes in pixel units)."""
        return self.spacing or self.aspect

    @property
    def swing(self) -> float:
        """The robust range of the smoothed area (5th to 95th percentile)."""
        return float(np.percentile(self.smoothed, 95) - np.percentile(self.smoothed, 5))

    @property
    def area_scatter(self) -> float:
        """Median distance of each frame's area from the mean of its two neighbours, over the areas' 5th-95th
        percentile range: near 0 for a curve that beats smoothly, about 0.27 for independent noise (inf for areas
        that never change). A filter's own bias at the curve's extremes does not enter it."""
        a = self.areas
        spread = float(np.percentile(a, 95) - np.percentile(a, 5))
        if len(a) < 3:
            return 0.0
        return float(np.median(np.abs(a[1:-1] - (a[:-2] + a[2:]) / 2)) / spread) if spread > 0 else float("inf")

    @property
    def measured_beats(self) -> list[Beat]:
        return [b for b in self.beats if np.isfinite(b.ef)]

    def beat_length_range(self) -> tuple[float, float]:
        """Plausible frames from one ED to the next: 30-200 /min at the frame rate, or at any of the stated rates."""
        slow, fast = limit("heart_rate")
        low_fps, high_fps = (self.fps, self.fps) if self.fps else limit("unknown_frame_rate")
        return 60 * low_fps / fast, 60 * high_fps / slow


def analyse_loop(
    masks: np.ndarray | list,
    fps: float | None = None,
    spacing: tuple[float, float] | None = None,
    cut: bool = True,
    anatomy_passed=None,
    confidence=None,
    aspect: tuple[float, float] = (1.0, 1.0),
) -> LoopAnalysis:
    """Beats, their ED/ES frames, volumes and EF of a loop's label maps (a (T, H, W) stack or a sequence of (H, W)
    maps). ``fps``: the loop's frame rate (None: unknown); ``spacing``: (row, column) pixel size in mm of the masks
    (None: volumes in pixel units; EF is a ratio and needs none); ``cut``: ES measured cut at the ED mitral plane;
    ``anatomy_passed``: per-frame verdicts of the anatomical criteria (None: not checked); ``confidence``: per-frame
    LV softmax margin (None: not given); ``aspect``: without a spacing, the (row, column) shape of a pixel, in units
    of the original frame's pixels (frames resized from H×W to a square grid have pixels of H/S by W/S): EF is
    measured on the true shape."""
    masks = [np.asarray(mask) for mask in masks]  # frames of a stack, or label maps given as lists
    shapes = sorted({mask.shape for mask in masks})
    if len(masks) < 2 or len(shapes) != 1 or len(shapes[0]) != 2:
        raise ValueError(
            f"a cine loop needs at least 2 frames of (H, W) masks of one size, got {len(masks)} of shape {shapes}"
        )
    if fps is not None and not 0 < fps < float("inf"):
        raise ValueError(f"the frame rate must be a positive number of frames/s, got {fps}")
    pixel = spacing or aspect
    lv_pixels, dice = lv_sizes_and_overlaps(masks)
    areas = lv_pixels * float(pixel[0] * pixel[1])
    smoothed = median_filter(areas, int(limit("median_window")))
    outliers = disagreeing_frames(areas, smoothed, dice)
    passed = None if anatomy_passed is None else np.asarray(anatomy_passed, bool)
    eligible = ~outliers & (areas > 0) & (passed if passed is not None else True)
    analysis = LoopAnalysis(
        masks,
        fps,
        spacing,
        aspect,
        areas,
        smoothed,
        dice,
        outliers,
        eligible,
        [],
        passed,
        None if confidence is None else np.asarray(confidence, float),
    )
    beats, analysis.no_beat_reason = find_beats(smoothed, analysis.beat_length_range()[0])
    for number, beat in enumerate(beats, 1):
        problem = _measure_beat(beat, analysis, cut)
        if problem:
            analysis.dropped.append(f"beat {number}: {problem}")
        else:
            analysis.beats.append(beat)
    if beats and not analysis.beats:
        analysis.no_beat_reason = "no beat could be measured (" + "; ".join(analysis.dropped) + ")"
    return analysis


def median_filter(values: np.ndarray, window: int) -> np.ndarray:
    """Running median over ``window`` frames (odd), the window shrinking at the loop's ends."""
    half = window // 2
    padded = np.pad(np.asarray(values, float), half, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    return np.nanmedian(windows, axis=1)


def lv_sizes_and_overlaps(masks) -> tuple[np.ndarray, np.ndarray]:
    """The LV's pixels in each frame, and the Dice of each frame's LV with the next frame's (two empty LVs count
    as 1). Frame by frame: a loop's masks are never turned into another array of their size (on a device, fresh
    memory of that size costs more than the counting)."""
    sizes, overlaps, previous = [], [], None
    for mask in masks:
        lv = mask == LV
        sizes.append(np.count_nonzero(lv))
        if previous is not None:
            overlaps.append(np.count_nonzero(lv & previous))
        previous = lv
    sizes, overlaps = np.array(sizes), np.array(overlaps)
    total = sizes[1:] + sizes[:-1]
    return sizes, np.where(total > 0, 2 * overlaps / np.maximum(total, 1), 1.0)


def disagreeing_frames(areas: np.ndarray, smoothed: np.ndarray, dice: np.ndarray) -> np.ndarray:
    """Frames whose LV area is far from the smoothed curve, or whose LV overlaps neither neighbour's."""
    off_curve = np.abs(areas - smoothed) > limit("outlier_area_change") * np.maximum(smoothed, 1e-9)
    neighbour = np.maximum(np.append(dice, 0.0), np.insert(dice, 0, 0.0))  # best Dice with either neighbour
    return off_curve | (neighbour < limit("outlier_neighbour_dice"))


def find_beats(smoothed: np.ndarray, shortest_beat: float) -> tuple[list[Beat], str]:
    """(ED, ES) pairs of the smoothed area curve, and why there are none."""
    swing = float(np.percentile(smoothed, 95) - np.percentile(smoothed, 5))
    if swing <= 0:
        return [], "the LV area does not change over the loop (no heartbeat)"
    prominence = limit("beat_prominence") * swing
    distance = max(int(np.floor(shortest_beat / 2)), 1)  # half: a too fast rhythm shows as too short beats
    last = len(smoothed) - 1
    diastoles = [
        i for i in extrema(smoothed, prominence, distance) if 0 < i < last or _at_diastolic_level(smoothed, i)
    ]  # the loop's ends only at the diastolic level
    systoles = [i for i in extrema(-smoothed, prominence, distance) if 0 < i < last]
    beats = []
    for k, ed in enumerate(diastoles):
        following = diastoles[k + 1] if k + 1 < len(diastoles) else len(smoothed)
        between = [s for s in systoles if ed < s < following and _refills(smoothed, s, following, prominence)]
        if between:
            es = min(between, key=lambda s: smoothed[s])
            # a cycle ends at the next end-diastole; at the loop's last frame that may still be filling
            beats.append(Beat(ed, es, following - ed if following < last else None))
    if beats:
        return beats, ""
    if not diastoles:
        return [], "less than one heartbeat: no end-diastole found in the LV area curve"
    return [], "less than one heartbeat: no end-diastole followed by an end-systole and refilling"


def _at_diastolic_level(smoothed: np.ndarray, i: int) -> bool:
    low, high = smoothed.min(), smoothed.max()
    return smoothed[i] - low >= limit("edge_diastole_level") * (high - low)


def extrema(x: np.ndarray, min_prominence: float, distance: int) -> list[int]:
    """Sorted indices of the maxima of ``x`` (the loop's ends included, plateaus by their middle) whose prominence
    (``_prominence``) is at least ``min_prominence``, keeping the highest of any closer than ``distance``."""
    n = len(x)
    candidates, i = [], 0
    while i < n:
        j = i
        while j + 1 < n and x[j + 1] == x[i]:
            j += 1
        if (i == 0 or x[i - 1] < x[i]) and (j == n - 1 or x[j + 1] < x[i]) and not (i == 0 and j == n - 1):
            candidates.append(0 if i == 0 else n - 1 if j == n - 1 else (i + j) // 2)
        i = j + 1
    prominent = [c for c in candidates if _prominence(x, c) >= min_prominence]
    kept: list[int] = []
    for c in sorted(prominent, key=lambda c: -x[c]):
        if all(abs(c - k) >= distance for k in kept):
            kept.append(c)
    return sorted(kept)


def _prominence(x: np.ndarray, peak: int) -> float:
    """How far ``x`` falls from ``peak`` before rising above it: on each side, the lowest point before a higher one;
    of the sides ended by a higher point, the higher of those lows counts (``scipy.signal``'s definition); where
    both sides run to the loop's ends, the larger fall (a loop's ends cut a beat, they do not end it)."""
    ended, open_ended = [], []
    for step in (-1, 1):
        k, lowest = peak + step, None
        while 0 <= k < len(x) and x[k] <= x[peak]:
            lowest = x[k] if lowest is None else min(lowest, x[k])
            k += step
        if lowest is not None:
            (ended if 0 <= k < len(x) else open_ended).append(lowest)
    if ended:
        return float(x[peak] - max(ended))
    return float(x[peak] - min(open_ended)) if open_ended else 0.0


def _refills(smoothed: np.ndarray, es: int, until: int, prominence: float) -> bool:
    """After end-systole the LV refills by at least ``prominence`` before the next end-diastole (or the loop's
    end): an end-systole the loop ends on may still be systole."""
    return float(smoothed[es:until].max() - smoothed[es]) >= prominence


def _measure_beat(beat: Beat, analysis: LoopAnalysis, cut: bool) -> str:
    """Move the beat's ED and ES to the measured frames and fill its volumes and EF; why it cannot be, or ''."""
    half = int(limit("median_window")) // 2
    ed = _best_frame(analysis, beat.ed, half, largest=True)
    es = _best_frame(analysis, beat.es, half, largest=False)
    if ed is None or es is None:
        phase = "end-diastole" if ed is None else "end-systole"
        return f"no frame near its {phase} agrees with its neighbours and passes the anatomical criteria"
    if es <= ed:
        return "its end-systole does not follow its end-diastole"
    beat.ed, beat.es = ed, es
    try:
        beat.ed_axis, beat.es_axis = pair_axes(
            analysis.masks[ed], analysis.masks[es], analysis.pixel, analysis.pixel, cut
        )
    except MeasurementError as exc:
        return str(exc)
    beat.edv, beat.esv = volume_single_plane(beat.ed_axis), volume_single_plane(beat.es_axis)
    beat.ef = ejection_fraction(beat.edv, beat.esv)
    return ""


def _best_frame(analysis: LoopAnalysis, centre: int, half: int, largest: bool) -> int | None:
    lo, hi = max(centre - half, 0), min(centre + half + 1, len(analysis.areas))
    window = [t for t in range(lo, hi) if analysis.eligible[t]]
    if not window:
        return None
    if largest:  # ties go to the frame nearest the smoothed extreme
        return max(window, key=lambda t: (analysis.areas[t], -abs(t - centre)))
    return min(window, key=lambda t: (analysis.areas[t], abs(t - centre)))


@dataclass
class LoopReport:
    """A loop's analysis, its checks and the verdict: EF only when every check that ran passes."""

    analysis: LoopAnalysis
    checks: list[CheckResult]
    names: list[str] | None = None  # frame names (for the report), else indices

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.passed is False]

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def ef(self) -> float | None:
        beats = self.analysis.measured_beats
        return float(np.mean([b.ef for b in beats])) if self.passed and beats else None

    @property
    def ef_sd(self) -> float | None:
        beats = self.analysis.measured_beats
        return float(np.std([b.ef for b in beats], ddof=1)) if self.ef is not None and len(beats) > 1 else None

    @property
    def withheld(self) -> str:
        """Why there is no EF (in a clinician's words), or ''."""
        if self.ef is not None:
            return ""
        reasons = [c.reason for c in self.failed] or [self.analysis.no_beat_reason or "no beat measured"]
        return "; ".join(reasons)

    @property
    def heart_rate(self) -> float | None:
        """Beats per minute from the median ED-to-ED length (None without a frame rate or a full cycle)."""
        cycles = self.cycle_lengths
        return 60 * self.analysis.fps / float(np.median(cycles)) if self.analysis.fps and cycles else None

    @property
    def cycle_lengths(self) -> list[int]:
        return [b.cycle_frames for b in self.analysis.beats if b.cycle_frames is not None]

    def as_dict(self) -> dict:
        """The cine section of ``results.json`` (docs/cli.md, edge/README.md): no volume or EF from a loop that
        fails."""
        a, given = self.analysis, self.ef is not None
        unit = "mL" if a.spacing else "pixel units"
        return {
            "frames": len(a.areas),
            "fps": a.fps,
            "frame_rate": "given" if a.fps else _unknown_rate_text(),
            "heart_rate_bpm": self.heart_rate,
            "beat_lengths_frames": self.cycle_lengths,
            "method": "single-plane disks, ES cut at the ED mitral plane per beat",
            "unit": unit,
            "beats": [self._beat_dict(b, given) for b in a.beats],
            "beats_dropped": a.dropped,
            "one_beat": len(a.measured_beats) == 1,
            "ef_percent": self.ef,
            "ef_sd": self.ef_sd,
            "edv": _mean(b.edv for b in a.measured_beats) if given else None,
            "esv": _mean(b.esv for b in a.measured_beats) if given else None,
            "ef_withheld": self.withheld or None,
            "loop_qc": {
                "passed": self.passed,
                "checks": [c.as_dict(given) for c in self.checks],
                "lv_area": [float(v) for v in a.areas],
                "outlier_frames": [int(t) for t in np.nonzero(a.outliers)[0]],
                "median_consecutive_dice": float(np.median(a.consecutive_dice)),
                "area_scatter": a.area_scatter if np.isfinite(a.area_scatter) else None,
            },
        }

    def _beat_dict(self, beat: Beat, given: bool) -> dict:
        entry = {"ed_frame": beat.ed, "es_frame": beat.es, "cycle_frames": beat.cycle_frames}
        if self.names:
            entry.update(ed_name=self.names[beat.ed], es_name=self.names[beat.es])
        if given:
            entry.update(edv=beat.edv, esv=beat.esv, ef_percent=beat.ef)
        return entry

    def summary_line(self) -> str:
        """One console line: the beats, and EF (mean ± SD over beats) or why there is none."""
        a = self.analysis
        beats = ", ".join(f"{b.ed}->{b.es}" for b in a.beats) or "none"
        if a.fps:
            rate = f"heart rate {self.heart_rate:.0f} /min" if self.heart_rate else "heart rate not measured"
        else:
            lengths = self.cycle_lengths
            rate = (
                f"frame rate unknown, beats of {', '.join(map(str, lengths))} frames"
                if lengths
                else "frame rate unknown"
            )
        head = f"cine: {counted(len(a.measured_beats), 'beat')} (ED->ES frames {beats}), {rate}"
        if self.ef is None:
            return f"{head}; no EF: {self.withheld}"
        unit = "mL" if a.spacing else "pixel units (pass --spacing for mL)"
        volumes = (
            f"EDV {_mean(b.edv for b in a.measured_beats):.1f}, ESV {_mean(b.esv for b in a.measured_beats):.1f} {unit}"
        )
        if len(a.measured_beats) == 1:
            ef = f"EF {self.ef:.1f} % (one beat only; guidelines average about 3)"
        else:
            ef = f"EF {self.ef:.1f} ± {self.ef_sd:.1f} % (mean ± SD of {len(a.measured_beats)} beats)"
        return f"{head}; {volumes}; {ef}, single-plane disks"


def _unknown_rate_text() -> str:
    low, high = limit("unknown_frame_rate")
    return f"unknown (beats in frames; rhythm checked for {low:.0f}-{high:.0f} frames/s)"


def _mean(values) -> float:
    return float(np.mean(list(values)))


def measure_loop(
    masks: np.ndarray | list,
    fps: float | None = None,
    spacing: tuple[float, float] | None = None,
    cut: bool = True,
    anatomy_passed=None,
    confidence=None,
    names: list[str] | None = None,
    aspect: tuple[float, float] = (1.0, 1.0),
) -> LoopReport:
    """``analyse_loop`` and ``loop_qc.check_loop`` together: the one entry point of the device and the library."""
    analysis = analyse_loop(masks, fps, spacing, cut, anatomy_passed, confidence, aspect)
    return LoopReport(analysis, check_loop(analysis), names)
