#!/usr/bin/env bash
# The main job: installs what is missing, builds in release mode, and runs chapter 05, the full NanoGPT, on the
# default corpus (Tiny Shakespeare, fetched once into .cache/). Extra arguments go to the chapter,
# e.g. ./run.sh --quick   or   ./run.sh --data my.txt
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install-dependencies.sh

chapter=ch05   # the full NanoGPT, trained, then streaming text
echo "==> building (release)"
swift build -c release --product "$chapter"
echo "==> running $chapter $*"
".build/release/$chapter" "$@"
