#!/usr/bin/env bash
# lazuli's `bench` and the Linux guest's pagebench in one run, under the same QEMU
# TCG on this machine, and one table: figure, lazuli, Linux, ratio, target, met.
#   ci/bench.sh              full run (docs/BENCHMARKS.md's figures)
#   ci/bench.sh short        a few samples per lazuli figure, a quick guest run
#   ci/bench.sh docs         a full run, then docs/BENCHMARKS.md and its chart from it
# Environment: LINUX_SCALE (the guest's SCALE, default 0.5; 0.1 with `short`),
# BENCH_OUT (a directory to keep both raw outputs in; default a temp directory).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
docs=
if [ "$mode" = docs ]; then
    docs=1
    mode=
fi
scale=${LINUX_SCALE:-$([ "$mode" = short ] && echo 0.1 || echo 0.5)}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD)"
    echo "dirty=$([ -n "$(git status --porcelain -uno)" ] && echo yes || echo no)"
} >"$out/run.txt"
echo "==> lazuli: bench $mode (release)" >&2
cargo run --release --quiet -- --exec "bench $mode" --timeout 900 >"$out/lazuli.txt"
echo "==> Linux guest: guest-bench.sh $scale" >&2
sh ../shared/bench/linux-guest/guest-bench.sh "$scale" >"$out/linux.txt"

grep '^bench calibration' "$out/lazuli.txt" || true
echo "raw outputs: $out/lazuli.txt, $out/linux.txt"
echo

# Every figure lazuli printed, as it printed it.
printf '%-28s %12s %12s %6s\n' figure median p99 n
sed -n 's/^bench \([a-z0-9_]*\): median=\([0-9]*\) p99=\([0-9]*\) n=\([0-9]*\)$/\1 \2 \3 \4/p' \
    "$out/lazuli.txt" | while read -r name median p99 n; do
    printf '%-28s %12s %12s %6s\n' "$name" "$median" "$p99" "$n"
done
echo

# The targets of issue 15 (figure, lazuli, Linux, ratio, target, met); `docs` also
# rewrites docs/BENCHMARKS.md's generated parts and docs/bench-chart.svg.
python3 ci/bench_report.py "$out" ${docs:+--docs}
