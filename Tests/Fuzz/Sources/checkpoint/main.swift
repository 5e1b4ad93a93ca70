// fuzz-checkpoint: FuzzTargets under libFuzzer (see scripts/fuzz.sh and ../FuzzerMain).
import FuzzerMain

runFuzzer("checkpoint")
