"""Ablation, the incremental component study of the paper's Tables V and VI, one concern a module: ``plan`` (the
plans, read and checked; ``plans/`` holds the built-in ones), ``rules`` (how a step ranks models), ``runs``
(training and scoring the variants), ``devices`` (one GPU or CPU share per worker process), ``tables`` (the CSV and
Markdown tables) and ``study`` (walking the steps: ``ablate``)."""
