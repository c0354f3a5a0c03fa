"""The ``echolite`` command line (installed as the ``echolite.cli`` package)."""
