// fuzz-tokenizer: FuzzTargets under libFuzzer (see scripts/fuzz.sh and ../FuzzerMain).
import FuzzerMain

runFuzzer("tokenizer")
