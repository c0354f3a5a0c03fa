"""Evaluation as in the paper and as CAMUS reports it: ``names`` (structures, metrics, conventions), ``metrics`` (Dice,
Hausdorff, mean absolute distance), ``anatomy`` (outlier criteria sets), ``postprocess``, ``scoring`` (per frame and
summaries), ``stats`` (paired Wilcoxon, Holm's correction), ``shifts`` (scanner shifts of frames and masks) and
``report`` (the evaluate and compare workflows and their output folder)."""
