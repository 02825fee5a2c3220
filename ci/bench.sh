#!/usr/bin/env bash
# Runs lazuli's fault-path benchmark in a release build and prints its figures as a
# table next to the Linux-guest column (shared/notes/BASELINES.md, same QEMU TCG).
#   ci/bench.sh          full run (the figures in docs/BENCHMARKS.md)
#   ci/bench.sh short    a few samples per figure: proves the bench works
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
out=$(cargo run --release --quiet -- --exec "bench $mode" --timeout 600)
echo "$out" | grep '^bench calibration' || true

# Linux 6.1 guest under the same QEMU 7.2 TCG, medians in TSC ticks.
declare -A linux=(
    [first_touch]=12844 [retouch]="14-49" [mmap_call_4k]=19552 [mmap_call_1g]=19552
    [munmap_1]=127000 [munmap_256]=973000 [munmap_16384]=52800000
    [fork_present_1_cow]=1200000 [fork_present_16384_cow]=9220000 [cow_fault]=20046
    [zero_page]=2138
)

printf '%-26s %12s %12s %6s %12s %8s\n' figure median p99 n linux ratio
echo "$out" | sed -n 's/^bench \([a-z0-9_]*\): median=\([0-9]*\) p99=\([0-9]*\) n=\([0-9]*\)$/\1 \2 \3 \4/p' |
    while read -r name median p99 n; do
        ref=${linux[$name]:-}
        ratio=""
        if [[ $ref =~ ^[0-9]+$ ]]; then
            ratio=$(awk -v a="$median" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')
        fi
        printf '%-26s %12s %12s %6s %12s %8s\n' "$name" "$median" "$p99" "$n" "${ref:--}" "$ratio"
    done
