#!/usr/bin/env bash
# Set up and benchmark echolite-edge on a Raspberry Pi running 64-bit Raspberry Pi OS (aarch64, Python 3.9+).
#   scp -r edge model_int8.tflite model_int8.json sample.png pi@raspberrypi:~/
#   ssh pi@raspberrypi 'bash edge/scripts/raspberry_pi_setup.sh model_int8.tflite sample.png'
# Installs only the edge requirements (numpy, ai-edge-litert, Pillow) in a venv: no TensorFlow, Keras or scipy.
set -euo pipefail
model=${1:?model_int8.tflite}; sample=${2:-}
[[ "$(uname -m)" == "aarch64" ]] || echo "warning: $(uname -m); ai-edge-litert wheels need a 64-bit OS (aarch64)" >&2
python3 -m venv ~/echolite-edge-venv
~/echolite-edge-venv/bin/pip install --quiet "$(dirname "$0")/.."
~/echolite-edge-venv/bin/echolite-edge bench "$model" --threads 4 --runs 50 --json pi_bench.json
if [[ -n "$sample" ]]; then
  ~/echolite-edge-venv/bin/echolite-edge run "$model" "$sample" --out pi_masks --threads 4
fi
