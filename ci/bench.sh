#!/usr/bin/env bash
# lazuli's `bench` and the Linux guest's pagebench in one run, under the same QEMU
# TCG on this machine, and one table: figure, lazuli, Linux, ratio, target, met.
#   ci/bench.sh              full run (docs/BENCHMARKS.md's figures)
#   ci/bench.sh short        a few samples per lazuli figure, a quick guest run
# Environment: LINUX_SCALE (the guest's SCALE, default 0.5; 0.1 with `short`),
# BENCH_OUT (a directory to keep both raw outputs in; default a temp directory).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
scale=${LINUX_SCALE:-$([ "$mode" = short ] && echo 0.1 || echo 0.5)}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"

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

# The targets of issue 15: lazuli figure, Linux figure (RESULT name), target ratio.
targets='
timer_overhead        timer_overhead                   1.0
first_touch           first_touch_write_N16384         0.15
first_touch_unpooled  first_touch_write_N16384         0.30
retouch_16384         bulk_retouch_perpage_N16384      1.0
cow_fault             cow_fault_child_write_N16384     0.25
file_read_fault       file_read_fault_1page_N4096      0.5
file_private_write_fault file_private_write_fault_N4096 0.5
munmap_16384          munmap_touched_N16384            0.15
fork_present_16384_cow fork_parent_64MiB               0.15
'
awk -v targets="$targets" '
    FILENAME ~ /lazuli/ && /^bench calibration/ {
        match($0, /median=[0-9]+/); mine["timer_overhead"] = substr($0, RSTART + 7, RLENGTH - 7)
    }
    FILENAME ~ /lazuli/ && /^bench [a-z0-9_]+: median=/ {
        name = $2; sub(/:$/, "", name); v = $3; sub(/^median=/, "", v); mine[name] = v
    }
    FILENAME ~ /linux/ && /^RESULT / {
        for (i = 3; i <= NF; i++) if ($i ~ /^med_cyc=/) { v = $i; sub(/^med_cyc=/, "", v); linux[$2] = v }
    }
    END {
        printf "%-26s %12s %-32s %12s %7s %7s  %s\n", "figure", "lazuli", "Linux figure", "Linux", "ratio", "target", "met"
        n = split(targets, lines, "\n")
        for (i = 1; i <= n; i++) {
            if (split(lines[i], f, " ") < 3) continue
            a = mine[f[1]]; b = linux[f[2]]
            if (a == "" || b == "" || b == 0) { printf "%-26s %12s %-32s %12s %7s %7s  %s\n", f[1], a, f[2], b, "-", f[3], "missing"; continue }
            r = a / b
            printf "%-26s %12d %-32s %12d %7.2f %7s  %s\n", f[1], a, f[2], b, r, "<=" f[3], (r <= f[3] ? "yes" : "NO")
        }
        # swap_in against lazuli'"'"'s own floor: disk_read_4k + first_touch_unpooled.
        s = mine["swap_in"]; d = mine["disk_read_4k"]; u = mine["first_touch_unpooled"]
        if (s != "" && d != "" && u != "") {
            r = s / (d + u)
            printf "%-26s %12d %-32s %12d %7.2f %7s  %s\n", "swap_in", s, "(disk_read_4k+first_touch_unpooled)", d + u, r, "<=1.5", (r <= 1.5 ? "yes" : "NO")
        }
    }
' "$out/lazuli.txt" "$out/linux.txt"
