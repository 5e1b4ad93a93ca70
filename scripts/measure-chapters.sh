#!/usr/bin/env bash
# Reproduces the README's results tables and every chapter's page: weaves every chapter from a full run
# at its defaults, one after the other (so they do not compete for the cores), keeps each run's Plots/
# folder, then runs the comparison. Pass the corpus to use:
#   scripts/measure-chapters.sh path/to/tinyshakespeare.txt
# Without an argument the chapters use the default corpus (fetched once). About 20 minutes on a 2-core
# AMD EPYC VM.
set -euo pipefail
cd "$(dirname "$0")/.."
data=()
[ $# -ge 1 ] && data=(--data "$1")
swift build -c release
.build/release/weave "${data[@]}" --keep-plots Plots
for summary in Plots/0*/summary.json; do
    grep -E '"(chapter|finalValLoss|wallSeconds)"' "$summary" | tr -d '\n '; echo
done
.build/release/compare
