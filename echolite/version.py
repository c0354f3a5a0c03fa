"""The package version, in one place (setuptools reads it for the wheel)."""

__version__ = "0.1.0"
