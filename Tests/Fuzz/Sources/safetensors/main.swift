// fuzz-safetensors: FuzzTargets under libFuzzer (see scripts/fuzz.sh and ../FuzzerMain).
import FuzzerMain

runFuzzer("safetensors")
