#!/usr/bin/env bash
# Reproduces the README's results tables: runs every training chapter at its defaults, one after the
# other (so they do not compete for the cores), then the comparison. Pass the corpus to use:
#   scripts/measure-chapters.sh path/to/tinyshakespeare.txt
# Without an argument the chapters use the default corpus (fetched once).
set -euo pipefail
cd "$(dirname "$0")/.."
data=()
[ $# -ge 1 ] && data=(--data "$1")
swift build -c release
for chapter in ch01 ch02 ch03 ch04 ch05 ch06; do
    echo "==> $chapter"
    ".build/release/$chapter" "${data[@]}" > "/tmp/nanogpt-$chapter.log"
    grep -E "^step [0-9]+:" "/tmp/nanogpt-$chapter.log" | tail -1
done
.build/release/compare
