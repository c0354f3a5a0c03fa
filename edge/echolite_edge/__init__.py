"""echolite-edge: run an exported echolite ``.tflite`` with numpy and a TFLite interpreter only.

Nothing here imports TensorFlow, Keras or scipy, so it installs and runs on a Raspberry Pi (64-bit OS) with
``pip install ./edge`` (numpy, ai-edge-litert, Pillow).
"""

__version__ = "0.1.0"
