#!/usr/bin/env bash
# For a machine with a real GPU and its vendor's OpenCL driver (NVIDIA, AMD or Intel; the driver provides
# libOpenCL's platform, this script installs the rest): builds, runs every test that uses the OpenCL
# device, then times configs S and M on the device and on the CPU and prints one table.
#
#   scripts/gpu-check.sh               (about 15 minutes, most of it config M on the CPU)
#
# The OpenCL backend takes the first GPU of any platform, so the GPU is used even with PoCL installed beside
# it; the script stops if the device it got is not a GPU. No real GPU has run it yet: docs/gpu.md says what
# was measured where.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-dependencies.sh
command -v clinfo >/dev/null && clinfo -l || true

echo "==> building"
swift build -c release

echo "==> the device tests (kernels against the CPU, gradient checks, PyTorch parity, whole models, --device)"
swift test --filter "OpenCLBackendTests|GradientCheckTests|ParityTests|DeviceAgreementTests|DeviceCommandTests"

echo "==> timing S and M, on the device and on the CPU"
out=$(mktemp -d)
.build/release/bench --device opencl --configs S,M --model-only --repeats 5 | tee "$out/device.txt"
if ! grep -q "^device: " "$out/device.txt" || grep -q "Portable Computing Language" "$out/device.txt"; then
    echo "error: the OpenCL device is not a GPU (see the device: line above); install the GPU vendor's OpenCL driver" >&2
    exit 1
fi
.build/release/bench --device cpu --configs S,M --model-only --repeats 5 > "$out/cpu.txt"

python3 - "$out/cpu.txt" "$out/device.txt" <<'EOF'
import re, sys
def rows(path):
    text = open(path).read()
    device = next((line[len("device: "):] for line in text.splitlines() if line.startswith("device: ")), "CPU")
    training, generation, section = {}, {}, None
    for line in text.splitlines():
        if line.startswith("NanoGPT training step"): section = "training"
        elif line.startswith("Generation at batch 1"): section = "generation"
        elif line.startswith(("Training against", "PyTorch")): section = None
        fields = line.split()
        if section and fields and fields[0] in ("S", "M") and len(fields) > 3:
            (training if section == "training" else generation)[fields[0]] = fields
    return device, training, generation
cpuName, cpuTraining, cpuGeneration = rows(sys.argv[1])
gpuName, gpuTraining, gpuGeneration = rows(sys.argv[2])
print(f"\nGPU check: {gpuName} against this machine's CPU (OpenBLAS), same run")
print("config   train ms/step: CPU   device   device speed-up   |   cache tokens/s: CPU   device")
for config in ("S", "M"):
    c, g = float(cpuTraining[config][1]), float(gpuTraining[config][1])
    print(f"{config:6} {c:21.1f} {g:8.1f} {c / g:16.2f}x   | {cpuGeneration[config][2]:>21} {gpuGeneration[config][2]:>8}")
EOF
