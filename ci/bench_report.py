#!/usr/bin/env python3
"""Issue 15's table from one ci/bench.sh run, and with --docs the pages made from it.

    ci/bench_report.py OUT            print every figure and the targets table
                                      (ci/bench.sh does)
    ci/bench_report.py OUT --docs     also rewrite docs/BENCHMARKS.md's generated
                                      parts and docs/bench-chart.svg

OUT holds, for each round R = 1, 2, ... of the run, lazuli.R.txt (lazuli's `bench`
output) and linux.R.txt (the Linux guest's pagebench output, booted right after);
a directory of an older run with one lazuli.txt and one linux.txt is one round.
Each figure is the median over the rounds of its per-boot median (the lower
middle one for an even count, so it is always a value a boot measured); ratios
are of those medians, and the per-round ratios show their spread. Only the parts
of BENCHMARKS.md between `<!-- generated:NAME -->` and `<!-- /generated -->` are
replaced; the prose around them is kept.
"""
import math
import os
import re
import statistics
import subprocess
import sys

# lazuli figure, the Linux guest's RESULT name, target ratio (issue 15).
TARGETS = [
    ("timer_overhead", "timer_overhead", 1.0),
    ("first_touch", "first_touch_write_N16384", 0.15),
    ("first_touch_unpooled", "first_touch_write_N16384", 0.30),
    ("retouch_16384", "bulk_retouch_perpage_N16384", 1.0),
    ("cow_fault", "cow_fault_child_write_N16384", 0.25),
    ("file_read_fault", "file_read_fault_1page_N4096", 0.5),
    ("file_private_write_fault", "file_private_write_fault_N4096", 0.5),
    ("munmap_16384", "munmap_touched_N16384", 0.15),
    ("fork_present_16384_cow", "fork_parent_64MiB", 0.15),
]
# swap_in is held against lazuli's own floor: disk_read_4k + first_touch_unpooled.
SWAP_FLOOR = ("disk_read_4k", "first_touch_unpooled")
SWAP_NAME = "+".join(SWAP_FLOOR) + " (lazuli)"
SWAP_TARGET = 1.5

# The part of a target figure no kernel change lowers, from `bench`'s split passes
# (the kernel timing its own handler during the same ring-3 loop): what the CPU
# spends outside the handler, plus the 4 KiB zeroing or copy where the fault must.
FLOORS = [
    ("first_touch", ("first_touch_outside",)),
    ("first_touch_unpooled", ("first_touch_unpooled_outside", "first_touch_unpooled_zero")),
    ("cow_fault", ("cow_fault_outside", "cow_fault_copy")),
]

# Further Linux figures measured the same way, for the full table.
COUNTERPARTS = dict((mine, linux) for mine, linux, _ in TARGETS)
COUNTERPARTS.update({
    "retouch": "bulk_retouch_perpage_N256",
    "zero_page": "memset4k_hot_glibc",
    "mmap_call_4k": "mmap_call_N1",
    "munmap_1": "munmap_touched_N1",
    "munmap_256": "munmap_touched_N256",
    "fork_present_1_cow": "fork_parent_small",
})

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_lazuli(path):
    """(figures {name: (median, p99, n)}, calibration line) of one `bench` output."""
    mine, calibration = {}, ""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("bench calibration:"):
                calibration = line[len("bench calibration: "):]
                m = re.search(r"median=(\d+) p99=(\d+)", line)
                if m:
                    mine["timer_overhead"] = (int(m[1]), int(m[2]), 1024)
            m = re.match(r"bench ([a-z0-9_]+): median=(\d+) p99=(\d+) n=(\d+)$", line)
            if m:
                mine[m[1]] = (int(m[2]), int(m[3]), int(m[4]))
    return mine, calibration


def parse_linux(path):
    """(medians {RESULT name: ticks}, info) of one guest-bench.sh output."""
    linux, info = {}, []
    with open(path) as f:
        for line in f:
            m = re.match(r"RESULT (\S+) .*med_cyc=(\d+)", line)
            if m:
                linux[m[1]] = int(m[2])
            elif line.startswith("INFO cpuid"):
                m = re.search(r'brand="([^"]*)"', line)
                info.append("CPU model %s" % (m[1] if m else "?"))
            elif line.startswith("INFO scale"):
                info.append(line.split()[1])
    return linux, info


def round_files(out):
    """[(lazuli output, Linux output)] per round, in order."""
    rounds, r = [], 1
    while os.path.exists(os.path.join(out, "lazuli.%d.txt" % r)):
        rounds.append((os.path.join(out, "lazuli.%d.txt" % r),
                       os.path.join(out, "linux.%d.txt" % r)))
        r += 1
    if not rounds and os.path.exists(os.path.join(out, "lazuli.txt")):
        rounds.append((os.path.join(out, "lazuli.txt"), os.path.join(out, "linux.txt")))
    if not rounds:
        sys.exit("%s holds no lazuli.1.txt (nor lazuli.txt)" % out)
    return rounds


def median(values):
    return statistics.median_low(values) if values else None


def parse(out):
    """The run's rounds [(lazuli figures, Linux medians)], and over the rounds: the
    lazuli figures {name: (median, p99, n)} (medians of the rounds' medians and
    p99s, n per round), the first calibration line, the Linux medians, Linux info."""
    rounds, calibration, info = [], "", []
    for lazuli_path, linux_path in round_files(out):
        mine, cal = parse_lazuli(lazuli_path)
        linux, info = parse_linux(linux_path)
        calibration = calibration or cal
        rounds.append((mine, linux))
    names = list(dict.fromkeys(n for mine, _ in rounds for n in mine))
    mine = {}
    for name in names:
        seen = [r[name] for r, _ in rounds if name in r]
        mine[name] = (median([s[0] for s in seen]), median([s[1] for s in seen]), seen[0][2])
    others = set(n for _, linux in rounds for n in linux)
    linux = dict((n, median([l[n] for _, l in rounds if n in l])) for n in others)
    return rounds, mine, calibration, linux, info


def value(mine, name):
    return mine.get(name, (None,))[0]


def ratio_of(a, b):
    return a / b if a is not None and b else None


def spread_text(ratios, sep=" "):
    return sep.join("-" if r is None else "%.3f" % r for r in ratios)


def target_values(mine, linux, name, other):
    """(lazuli, what it is held against) for one target in one set of figures."""
    if name == "swap_in":
        floor = [value(mine, n) for n in SWAP_FLOOR]
        return value(mine, name), None if None in floor else sum(floor)
    return value(mine, name), linux.get(other)


def target_rows(rounds, mine, linux):
    """(figure, lazuli, Linux name, Linux, ratio, target, ratio per round) per target."""
    rows = []
    for name, other, target in TARGETS + [("swap_in", SWAP_NAME, SWAP_TARGET)]:
        a, b = target_values(mine, linux, name, other)
        spread = [ratio_of(*target_values(m, l, name, other)) for m, l in rounds]
        rows.append((name, a, other, b, ratio_of(a, b), target, spread))
    return rows


def floor_value(mine, parts):
    values = [value(mine, p) for p in parts]
    return None if None in values else sum(values)


def floor_rows(rounds, mine, linux):
    """(figure, handler, floor parts, floor, Linux, floor ratio, target, floor ratio
    per round) per FLOORS; the floor is the median of the rounds' floors."""
    targets = dict((name, (other, target)) for name, other, target in TARGETS)
    rows = []
    for name, parts in FLOORS:
        other, target = targets[name]
        per_round = [(floor_value(m, parts), l.get(other)) for m, l in rounds]
        floor = median([f for f, _ in per_round if f is not None])
        b = linux.get(other)
        spread = [ratio_of(f, lb) for f, lb in per_round]
        rows.append((name, value(mine, name + "_handler"), " + ".join(parts), floor, b,
                     ratio_of(floor, b), target, spread))
    return rows


def print_figures(rounds, mine):
    print("%-28s %12s %12s %6s  %s" % ("figure", "median", "p99", "n", "median per round"))
    for name, (med, p99, n) in mine.items():
        each = " ".join("-" if name not in m else str(m[name][0]) for m, _ in rounds)
        print("%-28s %12s %12s %6s  %s" % (name, med, p99, n, each))
    print()


def print_floors(rows):
    print()
    print("What no kernel change lowers (split passes; a floor above its target "
          "bounds the figure):")
    head = ("figure", "handler", "floor = ", "floor", "Linux", "ratio", "target", "per round")
    print("%-20s %8s %-54s %8s %8s %7s %7s  %s" % head)
    for name, handler, parts, floor, b, ratio, target, spread in rows:
        print("%-20s %8s %-54s %8s %8s %7s %7s  %s" % (
            name, "-" if handler is None else handler, parts,
            "-" if floor is None else floor, "-" if b is None else b,
            "-" if ratio is None else "%.3f" % ratio, "<=%g" % target, spread_text(spread)))


def floors_block(rows):
    lines = ["| figure | its handler | floor (the parts no kernel change lowers) | floor "
             "| Linux | floor / Linux | per round | target |",
             "|---|---:|---|---:|---:|---:|---|---:|"]
    for name, handler, parts, floor, b, ratio, target, spread in rows:
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s | ≤ %g |" % (
            name, grouped(handler), " + ".join("`%s`" % p for p in parts.split(" + ")),
            grouped(floor), grouped(b), "—" if ratio is None else "%.3f" % ratio,
            spread_text(spread, ", "), target))
    return "\n".join(lines)


def met(ratio, target):
    return "missing" if ratio is None else ("yes" if ratio <= target else "NO")


def print_table(rows):
    head = ("figure", "lazuli", "Linux figure", "Linux", "ratio", "target", "met", "per round")
    print("%-26s %12s %-42s %12s %7s %7s  %-4s %s" % head)
    for name, a, other, b, ratio, target, spread in rows:
        print("%-26s %12s %-42s %12s %7s %7s  %-4s %s" % (
            name, "-" if a is None else a, other, "-" if b is None else b,
            "-" if ratio is None else "%.3f" % ratio, "<=%g" % target, met(ratio, target),
            spread_text(spread)))


def grouped(n):
    return "—" if n is None else "{:,}".format(n)


def run_block(out, rounds, calibration, info):
    """The machine and the run (as ci/bench.sh recorded it in run.txt), a short list."""
    def sh(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    qemu = sh("qemu-system-x86_64", "--version").splitlines()
    run = {}
    try:
        with open(os.path.join(out, "run.txt")) as f:
            run = dict(l.strip().split("=", 1) for l in f if "=" in l)
    except OSError:
        pass
    when = run.get("date", "unknown date")
    commit = run.get("commit", "unknown commit")
    dirty = " (with uncommitted changes)" if run.get("dirty") == "yes" else ""
    scale = run.get("scale", "0.5")
    return "\n".join([
        "- run: %s, lazuli %s%s, `ci/bench.sh docs`: %d round%s of lazuli's full `bench`"
        % (when, commit, dirty, rounds, "" if rounds == 1 else "s"),
        "  (release), each followed by `../shared/bench/linux-guest/guest-bench.sh %s`;"
        % scale,
        "  every figure is the median of its %d per-boot medians" % rounds,
        "- host: %s, %d cores; %s, TCG" % (cpu or "unknown CPU", os.cpu_count() or 0,
                                           qemu[0] if qemu else "QEMU"),
        "- lazuli calibration: %s" % calibration,
        "- Linux guest: %s" % "; ".join(info),
    ])


def targets_block(rows):
    lines = ["| figure | lazuli | Linux figure | Linux | ratio | per round | target | met |",
             "|---|---:|---|---:|---:|---|---:|---|"]
    for name, a, other, b, ratio, target, spread in rows:
        lines.append("| `%s` | %s | `%s` | %s | %s | %s | ≤ %g | %s |" % (
            name, grouped(a), other, grouped(b), "—" if ratio is None else "%.3f" % ratio,
            spread_text(spread, ", "), target, met(ratio, target)))
    return "\n".join(lines)


def figures_block(mine, linux):
    lines = ["| figure | median | p99 | n | Linux counterpart | Linux median | ratio |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for name, (median, p99, n) in mine.items():
        other = COUNTERPARTS.get(name)
        b = linux.get(other) if other else None
        ratio = "%.2f" % (median / b) if b else "—"
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
            name, grouped(median), grouped(p99), n, "`%s`" % other if other else "—",
            grouped(b), ratio))
    return "\n".join(lines)


def chart(rows):
    """An SVG of lazuli beside Linux per target figure, log scale."""
    rows = [r[:6] for r in rows if r[1] and r[3]]
    left, width, row_h, top = 190, 560, 38, 40
    lo, hi = 1, 2
    while 10 ** hi < max(max(r[1], r[3]) for r in rows):
        hi += 1
    x = lambda v: left + width * (math.log10(v) - lo) / (hi - lo)
    height = top + row_h * len(rows) + 40
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="12">' % (left + width + 130, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="14">Median TSC ticks, lazuli (blue) and the '
           'Linux guest (grey; for swap_in, lazuli\'s own floor), medians of one run, log scale; '
           'ratio (target)</text>']
    for e in range(lo, hi + 1):
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>'
                   % (x(10 ** e), top - 6, x(10 ** e), height - 30))
        out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">1e%d</text>'
                   % (x(10 ** e), height - 14, e))
    for i, (name, a, _, b, ratio, target) in enumerate(rows):
        y = top + i * row_h
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (left - 8, y + 16, name))
        out.append('<rect x="%d" y="%d" width="%.1f" height="13" fill="#2f6db5"/>'
                   % (left, y, max(x(a) - left, 1)))
        out.append('<rect x="%d" y="%d" width="%.1f" height="13" fill="#9a9a9a"/>'
                   % (left, y + 15, max(x(b) - left, 1)))
        colour = "#1a7f37" if ratio <= target else "#b42318"
        out.append('<text x="%d" y="%d" fill="%s">%.3f× (≤ %g)</text>'
                   % (left + width + 6, y + 18, colour, ratio, target))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def replace_block(text, name, body):
    start, end = "<!-- generated:%s -->" % name, "<!-- /generated -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit("docs/BENCHMARKS.md has no %s ... %s block" % (start, end))
    return pattern.sub(lambda _: "%s\n%s\n%s" % (start, body, end), text)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rounds, mine, calibration, linux, info = parse(out)
    print("lazuli calibration (round 1): %s; %d round(s)" % (calibration, len(rounds)))
    print()
    print_figures(rounds, mine)
    rows = target_rows(rounds, mine, linux)
    print_table(rows)
    floors = floor_rows(rounds, mine, linux)
    print_floors(floors)
    if "--docs" not in sys.argv[2:]:
        return
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    with open(path) as f:
        text = f.read()
    text = replace_block(text, "run", run_block(out, len(rounds), calibration, info))
    text = replace_block(text, "targets", targets_block(rows))
    text = replace_block(text, "figures", figures_block(mine, linux))
    text = replace_block(text, "floors", floors_block(floors))
    with open(path, "w") as f:
        f.write(text)
    with open(os.path.join(ROOT, "docs", "bench-chart.svg"), "w") as f:
        f.write(chart(rows))
    print("wrote docs/BENCHMARKS.md and docs/bench-chart.svg")


if __name__ == "__main__":
    main()
