#!/usr/bin/env bash
# Runs the whole test suite (lit + FileCheck, the PyTorch differential test
# and the torchvision example checks) on an existing build/, and ends with
# one "N passed, M failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
ninja -C build -j2 check-netc 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -oE '^ *Passed *: *[0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
failed=$(grep -oE '^ *Failed *: *[0-9]+' "$log" | grep -oE '[0-9]+' | tail -1)
rm -f "$log"
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$status"
