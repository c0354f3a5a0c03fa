"""Reference values that ship with the data: the EF of CAMUS' ``Info_*.cfg`` files."""

from __future__ import annotations


def reference_ef(info: dict) -> dict[str, float]:
    """CAMUS Info_*.cfg EF per patient (the same value is in both views' files); patients without one are left out."""
    reference = {}
    for patient, views in info.items():
        for values in views.values():
            try:
                reference[patient] = float(values["EF"])
            except (KeyError, ValueError):
                continue
    return reference
