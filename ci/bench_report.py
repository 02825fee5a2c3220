#!/usr/bin/env python3
"""Issue 15's table from one ci/bench.sh run, and with --docs the pages made from it.

    ci/bench_report.py OUT            print the targets table (ci/bench.sh does)
    ci/bench_report.py OUT --docs     also rewrite docs/BENCHMARKS.md's generated
                                      parts and docs/bench-chart.svg

OUT holds lazuli.txt (lazuli's `bench` output) and linux.txt (the Linux guest's
pagebench output) of the same run. Only the parts of BENCHMARKS.md between
`<!-- generated:NAME -->` and `<!-- /generated -->` are replaced; the prose
around them is kept.
"""
import math
import os
import re
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


def parse(out):
    """(lazuli figures {name: (median, p99, n)}, calibration line, Linux medians, Linux info)."""
    mine, calibration = {}, ""
    with open(os.path.join(out, "lazuli.txt")) as f:
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
    linux, info = {}, []
    with open(os.path.join(out, "linux.txt")) as f:
        for line in f:
            m = re.match(r"RESULT (\S+) .*med_cyc=(\d+)", line)
            if m:
                linux[m[1]] = int(m[2])
            elif line.startswith("INFO cpuid"):
                m = re.search(r'brand="([^"]*)"', line)
                info.append("CPU model %s" % (m[1] if m else "?"))
            elif line.startswith("INFO scale"):
                info.append(line.split()[1])
    return mine, calibration, linux, info


def target_rows(mine, linux):
    """(figure, lazuli, Linux name, Linux, ratio, target, met) per target."""
    rows = []
    for name, other, target in TARGETS:
        a, b = mine.get(name, (None,))[0], linux.get(other)
        ratio = a / b if a is not None and b else None
        rows.append((name, a, other, b, ratio, target))
    a = mine.get("swap_in", (None,))[0]
    floor = [mine.get(n, (None,))[0] for n in SWAP_FLOOR]
    b = None if None in floor else sum(floor)
    ratio = a / b if a is not None and b else None
    rows.append(("swap_in", a, "+".join(SWAP_FLOOR) + " (lazuli)", b, ratio, SWAP_TARGET))
    return rows


def floor_rows(mine, linux):
    """(figure, handler, floor parts, floor, Linux, floor ratio, target) per FLOORS."""
    targets = dict((name, (other, target)) for name, other, target in TARGETS)
    rows = []
    for name, parts in FLOORS:
        other, target = targets[name]
        values = [mine.get(p, (None,))[0] for p in parts]
        floor = None if None in values else sum(values)
        b = linux.get(other)
        ratio = floor / b if floor is not None and b else None
        handler = mine.get(name + "_handler", (None,))[0]
        rows.append((name, handler, " + ".join(parts), floor, b, ratio, target))
    return rows


def print_floors(rows):
    print()
    print("What no kernel change lowers (split passes; a floor above its target "
          "bounds the figure):")
    head = ("figure", "handler", "floor = ", "floor", "Linux", "ratio", "target")
    print("%-14s %8s %-40s %8s %8s %7s %7s" % head)
    for name, handler, parts, floor, b, ratio, target in rows:
        print("%-14s %8s %-40s %8s %8s %7s %7s" % (
            name, "-" if handler is None else handler, parts,
            "-" if floor is None else floor, "-" if b is None else b,
            "-" if ratio is None else "%.3f" % ratio, "<=%g" % target))


def floors_block(rows):
    lines = ["| figure | its handler | floor (the parts no kernel change lowers) | floor "
             "| Linux | floor / Linux | target |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for name, handler, parts, floor, b, ratio, target in rows:
        lines.append("| `%s` | %s | %s | %s | %s | %s | ≤ %g |" % (
            name, grouped(handler), " + ".join("`%s`" % p for p in parts.split(" + ")),
            grouped(floor), grouped(b), "—" if ratio is None else "%.3f" % ratio, target))
    return "\n".join(lines)


def met(ratio, target):
    return "missing" if ratio is None else ("yes" if ratio <= target else "NO")


def print_table(rows):
    head = ("figure", "lazuli", "Linux figure", "Linux", "ratio", "target", "met")
    print("%-26s %12s %-40s %12s %7s %7s  %s" % head)
    for name, a, other, b, ratio, target in rows:
        print("%-26s %12s %-40s %12s %7s %7s  %s" % (
            name, "-" if a is None else a, other, "-" if b is None else b,
            "-" if ratio is None else "%.3f" % ratio, "<=%g" % target, met(ratio, target)))


def grouped(n):
    return "—" if n is None else "{:,}".format(n)


def run_block(out, calibration, info):
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
    return "\n".join([
        "- run: %s, lazuli %s%s, `ci/bench.sh docs` (lazuli's full `bench`, release, then"
        % (when, commit, dirty),
        "  `../shared/bench/linux-guest/guest-bench.sh 0.5`), one after the other",
        "- host: %s, %d cores; %s, TCG" % (cpu or "unknown CPU", os.cpu_count() or 0,
                                           qemu[0] if qemu else "QEMU"),
        "- lazuli calibration: %s" % calibration,
        "- Linux guest: %s" % "; ".join(info),
    ])


def targets_block(rows):
    lines = ["| figure | lazuli | Linux figure | Linux | ratio | target | met |",
             "|---|---:|---|---:|---:|---:|---|"]
    for name, a, other, b, ratio, target in rows:
        lines.append("| `%s` | %s | `%s` | %s | %s | ≤ %g | %s |" % (
            name, grouped(a), other, grouped(b),
            "—" if ratio is None else "%.3f" % ratio, target, met(ratio, target)))
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
    rows = [r for r in rows if r[1] and r[3]]
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
           'Linux guest (grey; for swap_in, lazuli\'s own floor), one run, log scale; '
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
    mine, calibration, linux, info = parse(out)
    rows = target_rows(mine, linux)
    print_table(rows)
    floors = floor_rows(mine, linux)
    print_floors(floors)
    if "--docs" not in sys.argv[2:]:
        return
    path = os.path.join(ROOT, "docs", "BENCHMARKS.md")
    with open(path) as f:
        text = f.read()
    text = replace_block(text, "run", run_block(out, calibration, info))
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
