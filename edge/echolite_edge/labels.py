"""The CAMUS label convention, shared by the device runner and the library: index = label value in every mask."""

LABELS = ("background", "LV", "MYO", "LA")
BACKGROUND, LV, MYO, LA = range(4)
STRUCTURES = LABELS[1:]
COLORS = {LV: (255, 60, 60), MYO: (60, 230, 60), LA: (70, 130, 255)}
"""RGB colour per structure in every overlay, the device's and the library's."""
