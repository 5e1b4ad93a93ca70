#!/usr/bin/env bash
# The tests: installs what is missing, builds, and runs the whole Swift Testing suite (Tests/README.md
# says what they check, and how long they take); needs neither the network nor any corpus.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install-dependencies.sh

echo "==> building and running the tests"
swift test
