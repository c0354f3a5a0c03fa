#!/usr/bin/env bash
# Prove the edge runner on 64-bit ARM without a board: build an arm64 Debian root file system under qemu user-mode
# emulation, install only the edge requirements from PyPI inside it, and segment a frame with `echolite-edge run`.
#   sudo edge/scripts/arm64_emulation_check.sh MODEL.tflite IMAGE.png [ROOT]
# Needs root, network access to a Debian mirror and PyPI, ≈35 min and ≈500 MB for the first build (ROOT is reused).
# Emulated inference takes seconds per frame: this checks that it runs and what it imports, it times nothing.
set -euo pipefail
model=$(realpath "${1:?usage: arm64_emulation_check.sh MODEL.tflite IMAGE [ROOT]}")
image=$(realpath "${2:?usage: arm64_emulation_check.sh MODEL.tflite IMAGE [ROOT]}")
root=${3:-/tmp/echolite-arm64-root}
edge_dir=$(realpath "$(dirname "$0")/..")
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { echo "[arm64 $(date +%H:%M:%S)] $*"; }

command -v debootstrap >/dev/null && command -v qemu-aarch64-static >/dev/null || {
  log "installing qemu-user-static, debootstrap, binfmt-support"
  apt-get install -y -qq qemu-user-static debootstrap binfmt-support >/dev/null
}
[[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true

if [[ ! -x "$root/usr/bin/python3" ]]; then
  log "debootstrap arm64 bookworm into $root (the slow part)"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$root" "$mirror" >/dev/null
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$root/proc" "$root/work"
# /proc only: with the host's /sys mounted, XNNPACK's cpuinfo reads the x86 host's topology, picks kernels the
# emulated CPU cannot run, and segfaults under qemu. Without /sys it prints one harmless cpuinfo warning.
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT

rm -rf "$root/work/edge" && cp -r "$edge_dir" "$root/work/edge" && rm -rf "$root/work/edge/build"
cp "$model" "$root/work/model.tflite"
[[ -f "${model%.tflite}.json" ]] && cp "${model%.tflite}.json" "$root/work/model.json"
cp "$image" "$root/work/frame.${image##*.}"

in_root() { chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 "$@"; }
log "machine: $(in_root uname -m), $(in_root python3 --version)"
[[ -x "$root/opt/edge-venv/bin/python" ]] || in_root python3 -m venv /opt/edge-venv
# The build backend is pure Python: fetch it on the host (emulated TLS downloads of it were reset repeatedly here).
rm -rf "$root/work/wheels" && pip download --quiet --no-deps --only-binary=:all: "setuptools>=68" -d "$root/work/wheels"
log "pip install /work/edge (numpy, ai-edge-litert, Pillow from PyPI)"
in_root /opt/edge-venv/bin/pip install --quiet --retries 10 --find-links /work/wheels /work/edge
log "installed: $(in_root /opt/edge-venv/bin/pip list --format=freeze | tr '\n' ' ')"
log "echolite-edge run"
in_root /opt/edge-venv/bin/echolite-edge run /work/model.tflite "/work/frame.${image##*.}" --out /work/out --threads 2
in_root /opt/edge-venv/bin/python - <<'EOF'
import platform, sys
import glob
import numpy as np
from echolite_edge.runner import EdgeSegmenter, read_image
seg = EdgeSegmenter("/work/model.tflite", threads=2)
mask = seg.segment(read_image(glob.glob("/work/frame.*")[0])).mask
np.save("/work/out/arm64_mask.npy", mask)
counts = {int(k): int(v) for k, v in zip(*np.unique(mask, return_counts=True))}
heavy = sorted(m for m in ("tensorflow", "keras", "scipy", "tf_keras") if m in sys.modules)
print(f"[arm64] {platform.machine()} Python {platform.python_version()}; mask labels/pixels {counts}; "
      f"heavy modules imported: {heavy or 'none'}")
sys.exit(1 if heavy else 0)
EOF
ls -l "$root/work/out"
cp -r "$root/work/out" "${ARM64_OUT:-/tmp/echolite-arm64-out}"
log "done: masks copied to ${ARM64_OUT:-/tmp/echolite-arm64-out}"
if python3 -c "import echolite_edge" 2>/dev/null; then  # the same frame on this (x86) host, for comparison
  python3 - "$model" "$image" "$root/work/out/arm64_mask.npy" <<'EOF2'
import sys
import numpy as np
from echolite_edge.runner import EdgeSegmenter, read_image
host = EdgeSegmenter(sys.argv[1], threads=2).segment(read_image(sys.argv[2])).mask
arm = np.load(sys.argv[3])
print(f"[arm64] mask on aarch64 vs this host: {'identical' if np.array_equal(host, arm) else 'DIFFERENT'} "
      f"({int((host != arm).sum())} of {host.size} pixels differ)")
EOF2
fi
