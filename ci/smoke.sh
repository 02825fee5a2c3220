#!/usr/bin/env bash
# Smoke test of the runner: `cargo run -- --exec hello` must print
# "hello from lazuli" and exit 0, under BIOS and under UEFI.
set -euo pipefail

cd "$(dirname "$0")/.."

for firmware in bios uefi; do
    flags=(--exec hello)
    [ "$firmware" = uefi ] && flags+=(--uefi)
    echo "==> $firmware: cargo run -- ${flags[*]}"
    if ! output=$(cargo run --quiet -- "${flags[@]}"); then
        echo "$output"
        echo "FAIL ($firmware): cargo run exited non-zero" >&2
        exit 1
    fi
    echo "$output"
    if ! grep -qx 'hello from lazuli' <<<"$output"; then
        echo "FAIL ($firmware): no line 'hello from lazuli'" >&2
        exit 1
    fi
    echo "ok ($firmware)"
done
