"""The paper's studies: ``ablation`` (Tables V and VI, from the plans in ``plans/``) and ``cross_dataset``
(Table VIII)."""
