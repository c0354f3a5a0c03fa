"""Evaluation as in the paper: ``metrics`` (Dice, Hausdorff), ``anatomy`` (outlier checks), ``postprocess``,
``scoring`` (per frame and summaries), ``stats`` (paired Wilcoxon) and ``report`` (the evaluate and compare
workflows and their output folder)."""
