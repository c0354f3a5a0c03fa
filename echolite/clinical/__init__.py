"""Clinical measurements: ``volumes`` (method of disks, EF, agreement), ``quality`` (anatomical QC of the masks),
``cine`` (ED/ES from a loop), ``reference`` (the data's own EF) and ``measure`` (the workflows)."""
