"""Deployment: ``formats`` (the table of export modes), ``exporter`` (the run → TFLite workflow), ``tflite``
(conversion, parity gate, metadata), ``ops`` (what the runtime executes), ``qat`` (quantization-aware training in
a tf_keras child process, ``qat_worker``) and ``bench`` (latency of every form of a model)."""
