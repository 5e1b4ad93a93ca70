#!/usr/bin/env bash
# The tests: installs what is missing, builds, and runs the whole Swift Testing suite. About 3
# minutes on 2 cores from a clean checkout; needs neither the network nor any corpus.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install-dependencies.sh

echo "==> building and running the tests"
swift test
