#!/usr/bin/env bash
# Benchmark an exported echolite model on an Android phone with TFLite's official benchmark_model tool.
#   edge/scripts/android_benchmark.sh model_int8.tflite ./benchmark_model [threads=4] [runs=50] [out=android.json]
# benchmark_model: the prebuilt android_aarch64 binary from the TFLite performance-measurement docs (or built with
# bazel: tensorflow/lite/tools/benchmark:benchmark_model --config=android_arm64). Needs adb and one device attached.
set -euo pipefail
model=${1:?model.tflite}; tool=${2:?path to the benchmark_model binary}
threads=${3:-4}; runs=${4:-50}; out=${5:-android.json}
remote=/data/local/tmp
adb push "$model" "$remote/echolite_model.tflite" >/dev/null
adb push "$tool" "$remote/benchmark_model" >/dev/null
adb shell chmod 755 "$remote/benchmark_model"
log=$(mktemp)
adb shell "$remote/benchmark_model --graph=$remote/echolite_model.tflite --num_threads=$threads \
  --num_runs=$runs --warmup_runs=5 --use_xnnpack=true" 2>&1 | tr -d '\r' | tee "$log"
device=$(adb shell getprop ro.product.model | tr -d '\r')
abi=$(adb shell getprop ro.product.cpu.abi | tr -d '\r')
python3 -m echolite_edge.android "$log" --json "$out" --machine "$device ($abi), benchmark_model"
echo "wrote $out"
