#!/usr/bin/env bash
# Installs Debian's pandoc, which `weave --html` renders the book with (through sudo unless root). Safe to
# run again: it installs nothing when pandoc is there.
set -euo pipefail
command -v pandoc >/dev/null 2>&1 && { echo "==> pandoc: installed"; exit 0; }
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "==> installing: pandoc"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends pandoc >/dev/null
echo "==> installed"
