"""The CAMUS label convention, shared by the device runner and the library: index = label value in every mask.

The structure colours are defined here, once, for every figure of both packages (the device's overlays, the
library's overlays, previews, training curves and comparison plots): this package cannot import the library, so
the library imports them from here."""

LABELS = ("background", "LV", "MYO", "LA")
BACKGROUND, LV, MYO, LA = range(4)
STRUCTURES = LABELS[1:]
COLORS = {LV: (255, 60, 60), MYO: (60, 230, 60), LA: (70, 130, 255)}
"""RGB colour per label in every overlay and plot, the device's and the library's: LV red, MYO green, LA blue."""
EPI_COLOR = (235, 170, 30)
"""The LV epicardium (cavity ∪ myocardium), a scored structure but no label of its own: LV's red and MYO's green
mixed, amber."""
STRUCTURE_COLORS = {**{LABELS[label]: rgb for label, rgb in COLORS.items()}, "EPI": EPI_COLOR}
"""Colour by structure name (LV, MYO, LA, EPI): what plots keyed by name use."""
STRUCTURE_NAMES = {LV: "left ventricle", MYO: "myocardium", LA: "left atrium"}
"""What a legend writes beside each label's short name."""
