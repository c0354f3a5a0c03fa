"""The jobs the command line calls, folder in and folder out: ``train`` (what a new or resumed run trains with),
``evaluation`` (evaluate, compare), ``shifts`` (the scanner-shift benchmark), ``measure`` (volumes and EF from frames or
a cine loop), ``export``, ``bench``, ``ablation`` (the paper's Tables V and VI, from the plans in ``plans/``),
``cross_dataset`` (Table VIII). Each reads its inputs, calls the domain code (data, models, training, evaluation,
clinical, export) and writes its outputs; the domain code never imports a workflow."""
