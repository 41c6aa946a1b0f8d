#!/usr/bin/env bash
# Builds netc with AddressSanitizer and UndefinedBehaviorSanitizer on netc's
# own code (NETC_SANITIZE=address;undefined, cmake/Sanitizers.cmake) into
# build-asan/ and runs the whole lit suite there. LLVM, MLIR, Halide (and the
# code Halide JIT-compiles) and yaml-cpp are prebuilt, so uninstrumented.
# Ends with the lit summary; exits nonzero if a test fails, which includes
# any sanitizer report: both sanitizers abort (abort_on_error), so even a
# `not netc ...` test sees a crash, not an ordinary failure exit.
# Usage: scripts/test-sanitizers.sh [lit args...]   See docs/Fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-asan

if [ ! -f "$build/build.ninja" ]; then
  # -O1 -g: usable stacks at a moderate cost. Assertions stay on (no
  # NDEBUG): the checks netc states as asserts are checked too.
  cmake -G Ninja -S . -B "$build" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" \
    "-DNETC_SANITIZE=address;undefined" >/dev/null || exit 2
fi
# Everything check-netc needs (netc, netc-opt, the unit tests and the AOT
# example), without running check-netc's own lit.
ninja -C "$build" -j2 || exit 2

# detect_leaks=0: MLIR's and LLVM's global registries, cl::opt storage and
# ManagedStatics are never freed by design, so LeakSanitizer would report
# them in every process. abort_on_error=1: a report ends the process with
# SIGABRT, which lit's `not` treats as a failure (a plain exit code 1 would
# pass `not netc check bad.yaml`). lit passes ASAN_OPTIONS and UBSAN_OPTIONS
# to the tests.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
/usr/bin/python3 /usr/lib/llvm-14/build/utils/lit/lit.py -sv "$@" "$build/test"
