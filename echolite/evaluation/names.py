"""The evaluation's vocabulary: scored structures, metrics, the missed-structure conventions. Nothing heavy is
imported here, so the command line can offer these as choices without loading numpy or scipy."""

from echolite_edge.labels import LA, LV, MYO

STRUCTURES = {"LV": (LV,), "MYO": (MYO,), "LA": (LA,), "EPI": (LV, MYO)}
"""Scored structure → its labels. LV endocardium (the cavity), the myocardial ring and the left atrium come
first, in label order (the paper's Table IV; overlays and boxplots use these three); then the LV epicardium
(cavity ∪ myocardium), which CAMUS and vital score with the LV endocardium and the LA."""
PAPER_STRUCTURES = ("LV", "MYO", "LA")
CAMUS_STRUCTURES = ("LV", "EPI", "LA")
METRICS = ("dice", "hd_px", "hd_mm", "mad_px", "mad_mm")
"""Per structure: Dice; Hausdorff and MAD in pixels of the scored grid and in mm (each frame's spacing)."""
MISSED_DISTANCES = ("nan", "diagonal")
"""Hausdorff and MAD of a structure present in only one of prediction and truth: ``nan`` (undefined, left out of
means, as vital and the CAMUS evaluation do) or ``diagonal`` (the image diagonal, a worst-case penalty that keeps
the miss in the mean)."""
ALPHA = 0.05
"""Significance level of ``compare``'s verdicts, on Holm-corrected p-values."""
SHIFT_NAMES = ("wide-80", "wide-60", "low-res", "gain", "speckle", "combined")
"""The scanner shifts of ``evaluation.shifts``, named here so the command line offers them without numpy."""
GRID = 256
"""The paper's grid: masks with no model of their own (another tool's, the experts') are scored and measured on it."""
