#!/usr/bin/env bash
# Coverage-guided fuzzing of our readers of untrusted files, with libFuzzer and AddressSanitizer.
#
#   scripts/fuzz.sh [--runs N | --seconds S] [--merge] [TARGET...]     (default: every target, 1,000,000 runs)
#   scripts/fuzz.sh --seeds                                             rewrite the seed inputs
#
# Targets (entry points in Sources/FuzzTargets, binaries in Tests/Fuzz):
#   safetensors   SafeTensors.decode, and a round trip of whatever it accepts
#   checkpoint    Checkpoint.load and TrainingCheckpoint.load: metadata, config, tokenizer, optimizer file
#   tokenizer     Tokenizer.read(json:): a BPE tokenizer file or a checkpoint's tokenizer JSON
#
# Each target starts from Tests/Fuzz/Corpus/<target>/ (committed: seeds written by our code, plus what
# --merge kept) and works in .build/fuzz/<target>/. A crash is saved there as crash-*; make it a
# regression by copying it into Tests/Fuzz/Corpus/<target>/ (the test suite replays every file there).
# --merge adds the inputs that reach new coverage to the committed corpus. The last lines print the
# figures docs/nanogpt.md quotes: executions, coverage (edges), corpus size, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=1000000 seconds="" merge=0 seeds=0 targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --merge) merge=1; shift ;;
        --seeds) seeds=1; shift ;;
        safetensors|checkpoint|tokenizer) targets+=("$1"); shift ;;
        *) echo "error: unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(safetensors checkpoint tokenizer)

# -use-ld=lld: gold fails on these objects (an internal error in its DWARF reader).
build_flags=(-c release --package-path Tests/Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
export SWIFT_BACKTRACE=enable=no   # let libFuzzer and ASan report crashes, not Swift's backtracer
# ASan without allocation stack traces or quarantine: 2x the executions per second (measured here), and
# out-of-bounds accesses are still caught. For a full report, run the binary on the crash file directly.
fuzz_asan_options="malloc_context_size=0:quarantine_size_mb=0:detect_leaks=0"

# Build every binary first (into .build/fuzz/bin), so a long run fuzzes the code as it was at the start.
mkdir -p .build/fuzz/bin
for target in "${targets[@]}"; do
    echo "==> building fuzz-$target"
    rm -f "Tests/Fuzz/.build/release/fuzz-$target"
    swift build "${build_flags[@]}" --product "fuzz-$target" 2>&1 | grep -v -e '^\[' -e 'Cannot export' || true
    [ -x "Tests/Fuzz/.build/release/fuzz-$target" ] || { echo "error: the build did not produce fuzz-$target" >&2; exit 1; }
    cp "Tests/Fuzz/.build/release/fuzz-$target" .build/fuzz/bin/
done

for target in "${targets[@]}"; do
    binary=".build/fuzz/bin/fuzz-$target"
    committed="Tests/Fuzz/Corpus/$target" work=".build/fuzz/$target"
    mkdir -p "$committed" "$work/corpus"

    if [ $seeds -eq 1 ]; then
        "$binary" --write-seeds "$committed"
        echo "wrote the seeds of $target into $committed: $(ls "$committed" | grep -c '^seed-') files"
        continue
    fi

    limit=(-runs="$runs")
    [ -z "$seconds" ] || limit=(-max_total_time="$seconds")
    echo "==> fuzzing $target (${limit[*]})"
    log="$work/fuzz.log"
    status=0
    ASAN_OPTIONS="$fuzz_asan_options" "$binary" "${limit[@]}" -rss_limit_mb=4096 -timeout=10 -max_len=65536 -dict=Tests/Fuzz/json.dict \
        -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" "$committed" >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
    crashes=$(ls "$work" | grep -c -e '^crash-' -e '^timeout-' -e '^oom-' -e '^leak-' || true)
    echo "$target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') executions, "\
"coverage $(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?') edges, "\
"corpus $(ls "$work/corpus" | wc -l) inputs, $crashes crash files in $work (exit $status)"
    if [ $status -ne 0 ]; then tail -40 "$log" >&2; exit $status; fi

    if [ $merge -eq 1 ]; then
        "$binary" -merge=1 -max_len=65536 "$committed" "$work/corpus" >"$work/merge.log" 2>&1
        echo "merged: $committed now holds $(ls "$committed" | wc -l) inputs"
    fi
done
