"""Loop-level quality control of a cine loop's segmentation, in numpy only: the checks a reader makes before trusting
an ejection fraction from a loop, beyond the per-frame anatomical criteria (``anatomy.py``). Every threshold, of the
checks here and of the beat finding in ``loop.py``, is in the one table ``THRESHOLDS`` with its rationale; they were
fixed from physiology and echo practice before any loop was measured with them (docs/loops.md).

A loop gets an EF only when every check that can run passes; the failures are said in words a clinician reads
("no EF: the LV is not bullet-shaped ..."). A check that cannot run (no pixel size for the volume range, no
per-frame criteria with ``--qc off``, no network probabilities, one beat for the agreement between beats) is listed
as not run and does not withhold the EF.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from echolite_edge.labels import LV
from echolite_edge.words import counted


@dataclass(frozen=True)
class Threshold:
    name: str
    value: float | tuple[float, float]
    unit: str
    used_by: str  # the check (or the beat-finding step) it gates
    rationale: str


THRESHOLDS: dict[str, Threshold] = {
    t.name: t
    for t in (
        Threshold(
            "median_window",
            5,
            "frames",
            "beats",
            "The LV area curve is median-filtered over 5 frames before beats are found: up to 2 consecutive failing "
            "frames vanish from it, while a beat of at least 8 frames keeps its extremes.",
        ),
        Threshold(
            "outlier_area_change",
            0.20,
            "fraction of the smoothed area",
            "beats",
            "A frame whose LV area is more than 20 % off the median-filtered curve disagrees with its neighbours and "
            "is never ED or ES. Between neighbouring frames a real LV changes by under 10 % of its area even at 8 "
            "frames per beat (a normal heart loses about 35-45 % of its 4-chamber area in systole, spread over 3 or "
            "more frames).",
        ),
        Threshold(
            "outlier_neighbour_dice",
            0.70,
            "Dice",
            "beats",
            "A frame whose LV overlaps neither neighbour's LV with Dice 0.70 or more is never ED or ES: even end-"
            "diastole against end-systole of a normal heart overlap about 0.8 (areas 1 : 0.6, nested).",
        ),
        Threshold(
            "beat_prominence",
            0.5,
            "fraction of the area range (5th-95th percentile)",
            "beats",
            "An end-diastole (end-systole) is a maximum (minimum) of the smoothed area that stands out by half the "
            "loop's area range from the curve on both sides, as EchoNet-Dynamic finds beats (Ouyang et al., Nature "
            "2020: peaks of prominence 0.5 of the trimmed area range).",
        ),
        Threshold(
            "edge_diastole_level",
            0.9,
            "fraction of the area swing",
            "beats",
            "The loop's first (last) frame counts as end-diastole only at 90 % or more of the area swing (ECG-"
            "triggered loops start and end at end-diastole); a loop cut in mid-systole starts lower and its first, "
            "partial beat is not used.",
        ),
        Threshold(
            "heart_rate",
            (30.0, 200.0),
            "beats/min",
            "rhythm",
            "Heart rates outside 30-200 /min are not met in an echo lab; a 'beat' outside them is noise in the area "
            "curve (ASE/EACVI practice; DESIGN.md).",
        ),
        Threshold(
            "unknown_frame_rate",
            (20.0, 100.0),
            "frames/s",
            "rhythm",
            "Without a frame rate, the beat lengths must fit 30-200 /min at some rate between 20 and 100 frames/s "
            "(clinical 2D echo is acquired at about 25-90 frames/s): beats of 6 to 200 frames.",
        ),
        Threshold(
            "frames_per_beat",
            8,
            "frames",
            "rhythm",
            "At least 8 frames per beat: with fewer, systole spans 2-3 frames, the median filter flattens the extremes "
            "and the sampled ED and ES miss the real ones.",
        ),
        Threshold(
            "area_scatter",
            0.20,
            "median distance of a frame's area from the mean of its two neighbours / area range (5th-95th pct)",
            "rhythm",
            "A heartbeat makes the LV area rise and fall smoothly: each frame's area lies close to the mean of its two "
            "neighbours (under 10 % of the area range for a clean curve even at 8 frames per beat, a few per cent at "
            "15 or more) when the model follows the heart. At over 20 % the area jumps rather than beats (e.g. a "
            "crescent redrawn differently in every frame; independent noise gives about 27 %).",
        ),
        Threshold(
            "consecutive_dice",
            0.85,
            "median Dice",
            "temporal consistency",
            "Neighbouring frames show nearly the same LV: at 8 or more frames per beat each step changes the area by "
            "about 10 % or less (Dice 0.9-0.98). A median Dice of consecutive LV masks below 0.85 means the outline "
            "jumps between frames.",
        ),
        Threshold(
            "outlier_frames",
            0.20,
            "fraction of frames",
            "temporal consistency",
            "When more than 1 frame in 5 disagrees with its neighbours (as defined above), the segmentation of this "
            "loop is unstable even where the curve looks regular.",
        ),
        Threshold(
            "solidity",
            0.80,
            "LV area / convex hull area",
            "LV shape",
            "The LV cavity of an apical view is a bullet from the mitral plane to the apex: nearly convex (a "
            "half-ellipse has solidity 1; trabeculae and a basal septal bulge take little). A crescent along the "
            "septum and apex, as a failing model draws a dilated heart, has a solidity far below 0.8.",
        ),
        Threshold(
            "axis_inside",
            0.80,
            "fraction of the long axis",
            "LV shape",
            "The long axis, from the mitral plane's midpoint to the apex, runs inside the cavity of a bullet-shaped "
            "LV; in a crescent it crosses the hollow. At least 80 % of it must lie in the LV (this also checks the "
            "axis's orientation against the cavity).",
        ),
        Threshold(
            "sphericity",
            1.0,
            "widest disk diameter / long-axis length",
            "LV shape",
            "The widest LV diameter over the long-axis length (sphericity index) is about 0.5-0.6 in normal hearts "
            "and reaches about 0.8-0.9 in severely dilated, spherical ones; an 'LV' wider than long is not a "
            "ventricle seen from the apex.",
        ),
        Threshold(
            "ejection_fraction",
            (5.0, 85.0),
            "%",
            "EF range",
            "An EF below 5 % or above 85 % is not physiological in a clinical loop (DESIGN.md); such a value comes "
            "from a wrong ED or ES outline.",
        ),
        Threshold(
            "end_diastolic_volume",
            (20.0, 500.0),
            "mL",
            "volume range",
            "Adult single-plane EDV: about 50-150 mL normally (ASE/EACVI 2015), up to 300-450 mL in the most dilated "
            "hearts; below 20 mL or above 500 mL the pixel size is wrong or the patient lies outside the adult "
            "population the model learned from. Needs the pixel size.",
        ),
        Threshold(
            "beat_ef_spread",
            15.0,
            "EF points (largest - smallest beat)",
            "agreement between beats",
            "Beat-to-beat EF varies by a few points in sinus rhythm and by about 5-10 in atrial fibrillation "
            "(guidelines average 3 and 5 beats); beats over 15 points apart mean some beat was outlined wrongly.",
        ),
        Threshold(
            "frames_passing_anatomy",
            0.75,
            "fraction of frames",
            "frames passing",
            "Three quarters of the frames must pass the published per-frame anatomical criteria (Painchaud et al. "
            "2020): a few failing frames (valve motion, dropout) are tolerated because they are never ED or ES, but "
            "more mean the model is failing on this loop.",
        ),
        Threshold(
            "lv_softmax_margin",
            0.50,
            "mean (top - second class probability) over the LV",
            "network confidence",
            "A frame is confident when, averaged over its LV pixels, the LV's probability beats the next class by "
            "at least 0.5 (e.g. 0.7 against 0.2): below that the network hesitates over much of the cavity.",
        ),
        Threshold(
            "confident_frames",
            0.75,
            "fraction of frames",
            "network confidence",
            "Three quarters of the frames must be confident (as for the anatomical criteria).",
        ),
    )
}
"""The one table of every threshold of the loop analysis and the loop QC: name → value, unit, user, rationale."""


def limit(name: str):
    """The value of threshold ``name`` (a number or a (low, high) range)."""
    return THRESHOLDS[name].value


@dataclass
class CheckResult:
    name: str  # the check, as docs/loops.md names it
    passed: bool | None  # None: not run (``reason`` says why)
    reason: str = ""  # why it failed or was not run, in a clinician's words
    value: str = ""  # what the loop showed, in words and numbers ('' when not run)
    threshold: str = ""  # what passes, from ``THRESHOLDS``

    def as_dict(self, ef_given: bool = True) -> dict:
        """``ef_given`` False: a passing check's value that states volumes or EFs is withheld with the EF (a
        failing one states them as the reason it fails)."""
        value = self.value
        if not ef_given and self.passed and self.name in STATES_MEASUREMENTS:
            value = "not shown: the loop gives no EF"
        return {
            "check": self.name,
            "passed": self.passed,
            "reason": self.reason,
            "value": value,
            "threshold": self.threshold,
        }


STATES_MEASUREMENTS = ("EF range", "volume range", "agreement between beats")
"""The checks whose value states the beats' volumes or EFs."""
CHECKS = (
    "rhythm",
    "temporal consistency",
    "LV shape",
    "EF range",
    "volume range",
    "agreement between beats",
    "frames passing",
    "network confidence",
)


def check_rhythm(analysis) -> CheckResult:
    """A plausible heartbeat in the LV area curve: at least one beat, beats of plausible length, and a curve that
    rises and falls rather than jumps."""
    name, scatter = "rhythm", analysis.area_scatter
    value, threshold = _rhythm_value(analysis), _rhythm_threshold(analysis)

    def result(passed: bool, reason: str = "") -> CheckResult:
        return CheckResult(name, passed, reason, value, threshold)

    if analysis.swing <= 0:
        return result(False, "the LV area does not change over the loop (no heartbeat)")
    if scatter > limit("area_scatter"):
        return result(
            False,
            f"no heartbeat rhythm in the LV area: it jumps from frame to frame (scatter {100 * scatter:.0f} % of "
            f"its range, at most {100 * limit('area_scatter'):.0f} %)",
        )
    if not analysis.beats:
        return result(False, analysis.no_beat_reason or "less than one heartbeat in the loop")
    short = [b for b in analysis.beats if b.cycle_frames is not None and b.cycle_frames < limit("frames_per_beat")]
    if short:
        return result(
            False,
            f"too few frames per beat ({short[0].cycle_frames}, at least {limit('frames_per_beat')}): the frame "
            "rate is too low for this heart rate to catch end-diastole and end-systole",
        )
    low, high = analysis.beat_length_range()
    outside = [
        b.cycle_frames for b in analysis.beats if b.cycle_frames is not None and not low <= b.cycle_frames <= high
    ]
    if outside:
        if analysis.fps:
            rates = ", ".join(dict.fromkeys(f"{60 * analysis.fps / n:.0f}" for n in outside))
            lo, hi = limit("heart_rate")
            return result(False, f"heart rate {rates} /min outside {lo:.0f}-{hi:.0f} /min")
        return result(
            False,
            f"beats of {', '.join(dict.fromkeys(map(str, outside)))} frames fit no heart rate of 30-200 /min at "
            "20-100 frames/s",
        )
    return result(True)


def _rhythm_value(analysis) -> str:
    scatter = analysis.area_scatter
    parts = [f"area scatter {100 * scatter:.0f} %" if np.isfinite(scatter) else "the LV area never changes"]
    lengths = [b.cycle_frames for b in analysis.beats if b.cycle_frames is not None]
    if lengths and analysis.fps:
        parts.append("heart rate " + ", ".join(f"{60 * analysis.fps / n:.0f}" for n in lengths) + " /min")
    elif lengths:
        parts.append("beats of " + ", ".join(map(str, lengths)) + " frames")
    parts.append(f"{counted(len(analysis.beats), 'beat')} found")
    return "; ".join(parts)


def _rhythm_threshold(analysis) -> str:
    slow, fast = limit("heart_rate")
    rate = f"{slow:.0f}-{fast:.0f} /min"
    if not analysis.fps:
        low, high = analysis.beat_length_range()
        rate += f" (frame rate unknown: beats of {low:.0f}-{high:.0f} frames)"
    return (
        f"scatter at most {100 * limit('area_scatter'):.0f} %; at least one beat of at least "
        f"{limit('frames_per_beat')} frames; {rate}"
    )


def check_temporal_consistency(analysis) -> CheckResult:
    name = "temporal consistency"
    dice = float(np.median(analysis.consecutive_dice)) if len(analysis.consecutive_dice) else 0.0
    count, frames = int(analysis.outliers.sum()), len(analysis.outliers)
    value = f"median Dice {dice:.2f}; {count} of {frames} frames disagree with their neighbours"
    threshold = (
        f"median Dice at least {limit('consecutive_dice'):.2f}; at most {100 * limit('outlier_frames'):.0f} % "
        "of the frames disagree"
    )
    if dice < limit("consecutive_dice"):
        return CheckResult(
            name,
            False,
            f"the LV outline jumps between neighbouring frames (they overlap by {100 * dice:.0f} % in the median "
            f"(Dice), at least {100 * limit('consecutive_dice'):.0f} %)",
            value,
            threshold,
        )
    if count / frames > limit("outlier_frames"):
        return CheckResult(
            name,
            False,
            f"the LV outline disagrees with its neighbouring frames in {count} of {frames} frames (its area or "
            f"position far from theirs; at most {100 * limit('outlier_frames'):.0f} % of the frames may)",
            value,
            threshold,
        )
    return CheckResult(name, True, "", value, threshold)


def check_lv_shape(analysis) -> CheckResult:
    """Every ED and ES frame that gives a volume shows a bullet-shaped LV."""
    name = "LV shape"
    threshold = (
        f"solidity at least {limit('solidity'):.2f}; at least {100 * limit('axis_inside'):.0f} % of the long axis "
        f"in the cavity; sphericity at most {limit('sphericity'):.2f}"
    )
    if not analysis.beats:
        return CheckResult(name, None, "no end-diastolic or end-systolic frame to check", "", threshold)
    problems, measures = [], []
    for number, beat in enumerate(analysis.beats, 1):
        for phase, frame, axis in (("ED", beat.ed, beat.ed_axis), ("ES", beat.es, beat.es_axis)):
            measures.append(shape_measures(analysis.masks[frame], axis, analysis.pixel))
            problem = _shape_problem_of(*measures[-1])
            if problem:
                problems.append(f"{phase} of beat {number}, frame {frame}: {problem}")
    solid, inside, sphericity = np.asarray(measures).T
    value = (
        f"worst of {len(measures)} ED/ES frames: solidity {solid.min():.2f}, {100 * inside.min():.0f} % of the "
        f"axis inside, sphericity {sphericity.max():.2f}"
    )
    if problems:
        return CheckResult(
            name,
            False,
            f"the LV is not bullet-shaped in {len(problems)} of the {len(measures)} end-diastolic and end-systolic "
            f"frames measured (first: {problems[0]})",
            value,
            threshold,
        )
    return CheckResult(name, True, "", value, threshold)


def shape_measures(mask: np.ndarray, axis, pixel: tuple[float, float]) -> tuple[float, float, float]:
    """(solidity, share of the long axis inside the cavity, sphericity) of the LV of ``mask``."""
    lv = mask == LV
    sphericity = float(axis.diameters.max() / axis.length) if axis.length > 0 else float("inf")
    return solidity(lv, pixel), axis_inside(lv, axis, pixel), sphericity


def shape_problem(mask: np.ndarray, axis, pixel: tuple[float, float]) -> str:
    """Why the LV of ``mask`` (long axis ``axis``, pixel size ``pixel``) is no bullet from apex to mitral plane, or
    ''."""
    return _shape_problem_of(*shape_measures(mask, axis, pixel))


def _shape_problem_of(solid: float, inside: float, sphericity: float) -> str:
    """The reason the three shape measures (``shape_measures``) give, or ''."""
    if solid < limit("solidity"):
        return f"solidity {solid:.2f}, at least {limit('solidity'):.2f} (a crescent or a ragged outline, not a cavity)"
    if inside < limit("axis_inside"):
        return (
            f"only {100 * inside:.0f} % of the long axis lies in the cavity (at least "
            f"{100 * limit('axis_inside'):.0f} %)"
        )
    if sphericity > limit("sphericity"):
        return f"wider than long (sphericity {sphericity:.2f}, at most {limit('sphericity'):.2f})"
    return ""


def check_ef_range(analysis) -> CheckResult:
    if not analysis.measured_beats:
        return CheckResult("EF range", None, "no beat measured", "", _range_text("ejection_fraction", "", "%"))
    return _per_beat_range("EF range", [b.ef for b in analysis.measured_beats], "ejection_fraction", "EF", "%", "")


def check_volume_range(analysis) -> CheckResult:
    threshold = _range_text("end_diastolic_volume", "EDV ", "mL")
    if analysis.spacing is None:
        return CheckResult("volume range", None, "pixel size unknown: volumes in pixel units", "", threshold)
    if not analysis.measured_beats:
        return CheckResult("volume range", None, "no beat measured", "", threshold)
    edvs = [b.edv for b in analysis.measured_beats]
    return _per_beat_range("volume range", edvs, "end_diastolic_volume", "EDV", "mL", " (check the pixel size)")


def _range_text(threshold: str, prefix: str, unit: str) -> str:
    low, high = limit(threshold)
    return f"{prefix}{low:.0f}-{high:.0f} {unit} per beat"


def _per_beat_range(name: str, values: list[float], threshold: str, what: str, unit: str, hint: str) -> CheckResult:
    """Passes when every beat's value lies in the threshold's (low, high) range; else names the values outside."""
    low, high = limit(threshold)
    shown = _range_text(threshold, f"{what} " if what != "EF" else "", unit)
    value = f"{what} " + ", ".join(f"{v:.0f}" for v in values) + f" {unit}"
    outside = [v for v in values if not low <= v <= high]
    if not outside:
        return CheckResult(name, True, "", value, shown)
    kind = "the physiological " if what == "EF" else ""
    reason = f"{what} {', '.join(f'{v:.0f}' for v in outside)} {unit} outside {kind}{low:.0f}-{high:.0f} {unit}{hint}"
    return CheckResult(name, False, reason, value, shown)


def check_beat_agreement(analysis) -> CheckResult:
    name = "agreement between beats"
    threshold = f"EFs at most {limit('beat_ef_spread'):.0f} points apart"
    efs = [b.ef for b in analysis.measured_beats]
    if len(efs) < 2:
        return CheckResult(name, None, "one beat only", "", threshold)
    spread = max(efs) - min(efs)
    value = f"EF {min(efs):.0f} to {max(efs):.0f} % ({spread:.0f} points apart)"
    if spread > limit("beat_ef_spread"):
        return CheckResult(
            name,
            False,
            f"the beats disagree: EF {min(efs):.0f} to {max(efs):.0f} % (at most "
            f"{limit('beat_ef_spread'):.0f} points apart)",
            value,
            threshold,
        )
    return CheckResult(name, True, "", value, threshold)


def check_frames_passing(analysis) -> CheckResult:
    name = "frames passing"
    threshold = f"at least {100 * limit('frames_passing_anatomy'):.0f} % of the frames pass"
    if analysis.anatomy_passed is None:
        return CheckResult(name, None, "per-frame anatomical criteria not checked (--qc off)", "", threshold)
    frames = len(analysis.anatomy_passed)
    passing = int(np.sum(analysis.anatomy_passed))
    value = f"{passing} of {frames} frames pass ({100 * passing / frames:.0f} %)"
    if passing / frames < limit("frames_passing_anatomy"):
        return CheckResult(
            name,
            False,
            f"the outlines of the heart fail the anatomical criteria (holes, fragments, implausible shapes) in "
            f"{frames - passing} of {frames} frames (at most {100 * (1 - limit('frames_passing_anatomy')):.0f} % "
            "of the frames may fail)",
            value,
            threshold,
        )
    return CheckResult(name, True, "", value, threshold)


def check_confidence(analysis) -> CheckResult:
    name = "network confidence"
    threshold = (
        f"at least {100 * limit('confident_frames'):.0f} % of the frames with an LV softmax margin of at least "
        f"{limit('lv_softmax_margin'):.2f}"
    )
    if analysis.confidence is None:
        return CheckResult(name, None, "the network's probabilities were not given", "", threshold)
    frames = len(analysis.confidence)
    confident = int(np.sum(analysis.confidence >= limit("lv_softmax_margin")))
    value = f"{confident} of {frames} frames confident (median margin {np.median(analysis.confidence):.2f})"
    if confident / frames < limit("confident_frames"):
        return CheckResult(
            name,
            False,
            f"the network is unsure of the LV in {frames - confident} of {frames} frames (at most "
            f"{100 * (1 - limit('confident_frames')):.0f} % of the frames may be)",
            value,
            threshold,
        )
    return CheckResult(name, True, "", value, threshold)


def check_loop(analysis) -> list[CheckResult]:
    """Every loop check on a ``loop.LoopAnalysis``, in the order of ``CHECKS``."""
    return [
        check(analysis)
        for check in (
            check_rhythm,
            check_temporal_consistency,
            check_lv_shape,
            check_ef_range,
            check_volume_range,
            check_beat_agreement,
            check_frames_passing,
            check_confidence,
        )
    ]


def solidity(region: np.ndarray, pixel: tuple[float, float] = (1.0, 1.0)) -> float:
    """Area of ``region`` over the area of its convex hull (pixel squares, in mm with ``pixel``): 1 for a convex
    region, small for a crescent. 0 for an empty region."""
    rows = np.nonzero(region.any(axis=1))[0]
    if not len(rows):
        return 0.0
    sub = region[rows[0] : rows[-1] + 1]
    present = sub.any(axis=1)
    ys = np.nonzero(present)[0] + rows[0]
    left = np.argmax(sub[present], axis=1)
    right = sub.shape[1] - 1 - np.argmax(sub[present][:, ::-1], axis=1)
    corners = np.concatenate(
        [np.stack([ys + dy, xs + dx], axis=1) for xs, dx in ((left, -0.5), (right, 0.5)) for dy in (-0.5, 0.5)]
    ) * np.asarray(pixel)
    hull = convex_hull_area(corners)
    return float(region.sum() * pixel[0] * pixel[1] / hull) if hull > 0 else 0.0


def convex_hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of (N, 2) points (Andrew's monotone chain, then the shoelace formula)."""
    points = np.unique(points, axis=0)
    if len(points) < 3:
        return 0.0
    pts = [tuple(p) for p in points]  # sorted by y, then x

    def chain(sequence):
        hull = []
        for p in sequence:
            while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) <= 0:
                hull.pop()
            hull.append(p)
        return hull[:-1]

    hull = np.array(chain(pts) + chain(reversed(pts)))
    y, x = hull[:, 0], hull[:, 1]
    return float(abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))) / 2)


def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def axis_inside(lv: np.ndarray, axis, pixel: tuple[float, float], samples: int = 64) -> float:
    """Share of the long axis (mitral plane midpoint to apex, ``clinical.LongAxis`` in mm) that lies in ``lv``."""
    t = (np.arange(samples) + 0.5) / samples
    points = axis.base + t[:, None] * (axis.apex - axis.base)
    rows = np.clip(np.round(points[:, 0] / pixel[0]).astype(int), 0, lv.shape[0] - 1)
    cols = np.clip(np.round(points[:, 1] / pixel[1]).astype(int), 0, lv.shape[1] - 1)
    return float(lv[rows, cols].mean())


def lv_softmax_margin(scores: np.ndarray, labels: np.ndarray, logits: bool = True) -> float:
    """Mean, over the pixels labelled LV, of the probability of the most likely class minus that of the second:
    the network's own confidence in the frame's LV. ``scores``: (H, W, C) logits (``logits``) or probabilities on
    the grid of ``labels``. 0 for a frame without LV. Only the LV's pixels are converted, class by class (no sort,
    no full softmax), so it costs a fraction of a millisecond per frame."""
    return softmax_margin(scores_where(scores, labels == LV), logits)


def scores_where(scores: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The (N, C) class scores of the pixels where ``where`` (H, W) holds: ``scores[where]`` for (H, W, C) scores,
    several times faster (taken from the scores as rows of C, not by a 2D mask into a 3D array)."""
    scores = np.asarray(scores)
    if np.shape(where) != scores.shape[:-1]:
        raise ValueError(f"pixels chosen on a {np.shape(where)} grid, class scores on {scores.shape[:-1]}")
    return np.compress(np.ravel(where), scores.reshape(-1, scores.shape[-1]), axis=0)


def softmax_margin(chosen: np.ndarray, logits: bool = True) -> float:
    """``lv_softmax_margin`` of pixels already chosen: (N, C) logits (``logits``) or probabilities; 0 for none.
    Class by class over all pixels at once (a row per class), in few steps: a frame's LV is thousands of pixels of
    four classes, where each numpy step's own cost counts as much as its arithmetic."""
    if not len(chosen):
        return 0.0
    classes = np.ascontiguousarray(np.asarray(chosen, np.float32).T)  # (C, N)
    first, second = _top_two(classes)
    if not logits:
        return float(np.mean(first - second))
    # softmax: p(top) = 1 / total, p(second) = e^(second-top) / total. Added over the outer axis, the terms add
    # class after class, left to right, as a sum of the class columns does (float32 sums depend on the order)
    total = np.add.reduce(np.exp(classes - first), axis=0)
    return float(np.mean((1 - np.exp(second - first)) / total))


def _top_two(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel (column) the largest and the second largest value over the classes (rows); a tie for the top
    gives both equal."""
    first, second = classes[0], np.full_like(classes[0], -np.inf)
    for values in classes[1:]:
        second = np.maximum(second, np.minimum(first, values))
        first = np.maximum(first, values)
    return first, second
