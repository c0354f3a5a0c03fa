"""Clinical measurements: ``volumes`` (method of disks, EF, agreement), ``quality`` (anatomical QC of the masks),
``cine`` (reading a loop's frames), ``reference`` (the data's own EF). The measure workflows that use them are in
``echolite.workflows.measure``."""
