#!/usr/bin/env bash
# lazuli's `bench` and the Linux guest's pagebench in one run, under the same QEMU
# TCG on this machine, and one table: figure, lazuli, Linux, ratio, target, met.
#   ci/bench.sh              full run (docs/BENCHMARKS.md's figures)
#   ci/bench.sh short        a few samples per lazuli figure, a quick guest run
#   ci/bench.sh docs         a full run, then docs/BENCHMARKS.md and its chart from it
# A run is ROUNDS rounds (default 3; 1 with `short`) of lazuli then Linux, so that a
# shift of the host's speed between two boots lands on both sides; each figure is
# the median over the rounds of its per-boot median.
# Environment: ROUNDS, LINUX_SCALE (the guest's SCALE, default 0.5; 0.1 with
# `short`), BENCH_OUT (a directory to keep the raw outputs in, lazuli.R.txt and
# linux.R.txt for round R; default a temp directory).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
docs=
if [ "$mode" = docs ]; then
    docs=1
    mode=
fi
scale=${LINUX_SCALE:-$([ "$mode" = short ] && echo 0.1 || echo 0.5)}
rounds=${ROUNDS:-$([ "$mode" = short ] && echo 1 || echo 3)}
case $rounds in
'' | *[!0-9]* | 0) echo "ROUNDS must be a positive whole number, not '$rounds'" >&2; exit 2 ;;
esac
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git rev-parse --short HEAD)"
    echo "dirty=$([ -n "$(git status --porcelain -uno)" ] && echo yes || echo no)"
    echo "rounds=$rounds"
    echo "scale=$scale"
} >"$out/run.txt"
rm -f "$out"/lazuli.*txt "$out"/linux.*txt
cargo build --release --quiet
for round in $(seq "$rounds"); do
    echo "==> round $round of $rounds: lazuli: bench $mode (release)" >&2
    cargo run --release --quiet -- --exec "bench $mode" --timeout 900 >"$out/lazuli.$round.txt"
    echo "==> round $round of $rounds: Linux guest: guest-bench.sh $scale" >&2
    sh ../shared/bench/linux-guest/guest-bench.sh "$scale" >"$out/linux.$round.txt"
done
echo "raw outputs: $out/lazuli.R.txt and $out/linux.R.txt, R = 1..$rounds"
echo

# Every figure, then the targets of issue 15 (figure, lazuli, Linux, ratio, target,
# met); `docs` also rewrites docs/BENCHMARKS.md's generated parts and its chart.
python3 ci/bench_report.py "$out" ${docs:+--docs}
