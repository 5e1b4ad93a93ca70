#!/usr/bin/env bash
# The runs behind the exercise solutions in Chapters/*/Exercises.md, one after the other, each with its
# last evaluation line. Pass the corpus:  scripts/run-exercises.sh path/to/tinyshakespeare.txt
# (the longest, chapter 06's and chapter 05's at 10,000 steps, take about 9 minutes each on 2 cores). Outputs go to a temporary folder; nothing in Plots/ is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
data=(--data "${1:?pass the corpus, e.g. tinyshakespeare.txt}")
out=$(mktemp -d)
swift build -c release >/dev/null
run() {   # run NAME CHAPTER FLAGS...
    local name=$1 chapter=$2; shift 2
    echo "==> $chapter $*"
    ".build/release/$chapter" "${data[@]}" --out "$out/$name" "$@" > "$out/$name.log"
    grep -E "^(parameters|step [0-9]+:|val loss after|loss after|\| byte pairs|  with)" "$out/$name.log" | tail -6
}
run ch01-300-steps ch01 --steps 300
run ch01-constant-rate ch01 --min-learning-rate 1e-2
run ch02-block-8 ch02 --block-size 8
run ch02-width-16 ch02 --embedding-size 16
run ch03-lecture ch03 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --steps 5000
run ch03-lecture-constant ch03 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --min-learning-rate 1e-3 --steps 5000
run ch03-lecture-pytorch-init ch03 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --steps 5000 --pytorch-initialization
run ch03-lecture-recipe ch03 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --min-learning-rate 1e-3 --steps 5000 --pytorch-initialization
run ch03-lecture-ours ch03 --batch-size 32 --block-size 8 --embedding-size 32 --steps 5000
run ch02-lecture ch02 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --steps 5000
run ch02-lecture-constant ch02 --batch-size 32 --block-size 8 --embedding-size 32 --learning-rate 1e-3 --min-learning-rate 1e-3 --steps 5000
run ch03-eight-heads ch03 --heads 8
run ch03-sixteen-heads ch03 --heads 16
run ch04-one-layer ch04 --layers 1
run ch04-two-layers ch04 --layers 2
run ch04-lower-rate ch04 --learning-rate 3e-4
run ch04-pytorch-initialization ch04 --pytorch-initialization
run ch05-1000-steps ch05 --steps 1000 --checkpoint "$out/checkpoint"
run ch05-context-128 ch05 --block-size 128 --batch-size 6 --checkpoint "$out/checkpoint-context"
run ch05-10000-steps ch05 --steps 10000 --checkpoint "$out/checkpoint-steps"
run ch05-context-128-twice-the-text ch05 --block-size 128 --checkpoint "$out/checkpoint-both"
run ch05-seed-1338 ch05 --seed 1338 --checkpoint "$out/checkpoint-seed"
run ch05-context-128-twice-the-text-seed-1338 ch05 --block-size 128 --seed 1338 --checkpoint "$out/checkpoint-both-seed"
run ch05-10000-steps-seed-1338 ch05 --steps 10000 --seed 1338 --checkpoint "$out/checkpoint-steps-seed"
run ch05-context-128-seed-1338 ch05 --block-size 128 --batch-size 6 --seed 1338 --checkpoint "$out/checkpoint-context-seed"
run ch06-gpt2 ch06 --pre-split gpt2 --checkpoint "$out/checkpoint-06"
echo "(logs in $out)"
