"""The dependencies live here, not in pyproject.toml, for one reason: the device runner is its own package in
./edge (the only wheel that installs ``echolite_edge``), and a dependency on a local folder needs an absolute
file URL, which only code can compute. Everything else about the package is in pyproject.toml."""

from pathlib import Path

from setuptools import setup

EDGE = (Path(__file__).resolve().parent / "edge").as_uri()

setup(
    install_requires=[
        "keras>=3.10",
        "tensorflow>=2.18",
        "tensorflow-model-optimization>=0.8",
        "tf-keras>=2.18",
        "albumentations>=2.0",
        "opencv-python-headless>=4.9",
        "numpy>=1.26",
        "scipy>=1.11",
        "scikit-image>=0.22",
        "click>=8.1",
        "pillow>=10",
        "matplotlib>=3.8",
        "pyyaml>=6",
        "SimpleITK>=2.3",
        "ai-edge-litert>=2.0",
        "pydicom>=3.0",  # DICOM still and cine loops (the device runner's "dicom" extra)
        "av>=12",  # video loops (the device runner's "video" extra)
        f"echolite-edge @ {EDGE}",
    ]
)
