#!/usr/bin/env bash
# Builds netc's libFuzzer targets into build-fuzz/ (clang-14, ASan + UBSan on
# netc's own code) and, for each target in turn:
#   1. replays its regression corpus fuzz/corpus/<target>/ (-runs=0): every
#      input that once crashed must now pass;
#   2. fuzzes it for SECONDS (default 60; with NETC_FUZZ_RUNS=N, N
#      executions from a fixed seed instead, capped by SECONDS) from the seeds (test/ and examples/
#      models, small tensor files from fuzz/make_seeds.py) plus the corpus
#      kept in build-fuzz/corpus/<target>/ from earlier runs.
# New crashes land in build-fuzz/artifacts/<target>/. Prints each target's
# executions; exits 1 if any target crashed, leaked memory past the RSS
# limit or timed out on an input. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# See docs/Fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(netc-fuzz-yaml netc-fuzz-npy netc-fuzz-safetensors)
build=build-fuzz

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" \
    -DNETC_ENABLE_FUZZERS=ON >/dev/null || exit 2
fi
ninja -C "$build" -j2 netc-fuzzers || exit 2

rm -rf "$build/seeds"
/usr/bin/python3 fuzz/make_seeds.py . "$build/seeds" || exit 2

# Leaks are not errors here (MLIR's and LLVM's singletons are never freed);
# UBSan aborts with a stack, so libFuzzer records the input.
# hard_rss_limit_mb: ASan's own RSS watchdog dies at once with the input
# saved; libFuzzer's -rss_limit_mb first prints a heap profile, which took
# over 10 minutes for a 2 GB heap of small YAML nodes (it stays as the
# backstop, and `timeout` below guards against that hang).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:hard_rss_limit_mb=2048}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}
# -detect_leaks=0 for libFuzzer too: otherwise, seeing more mallocs than
# frees (those singletons), it runs the input again under LeakSanitizer.
common=(-rss_limit_mb=2048 -timeout=10 -detect_leaks=0 -print_final_stats=1)
# The regression corpus holds inputs at netc's limits (200,000 expanded
# layers take about 10 s under ASan on this machine): a hang still fails at
# 60 s.
regress_timeout=(-timeout=60)

failed=0
summary=()
for target in "${targets[@]}"; do
  bin=$build/bin/$target
  dict=fuzz/dicts/${target#netc-fuzz-}.dict
  regress=fuzz/corpus/$target
  work=$build/corpus/$target
  artifacts=$build/artifacts/$target
  mkdir -p "$regress" "$work" "$artifacts"
  log=$build/fuzz-$target.log

  echo "== $target: regression corpus $regress"
  if ! timeout -k 10 600 "$bin" "${common[@]}" "${regress_timeout[@]}" -runs=0 \
      -artifact_prefix="$artifacts/regress-" "$regress" >"$log.regress" 2>&1; then
    tail -40 "$log.regress"
    echo "fuzz: $target FAILED on its regression corpus (log: $log.regress)"
    failed=1
  fi

  echo "== $target: fuzzing for ${seconds}s"
  start=$SECONDS
  # -close_fd_mask=1: the target's stdout is noise; libFuzzer and the
  # sanitizers still report on stderr.
  # The regression corpus is not a seed: it holds inputs that crash until
  # their bug is fixed, and was replayed above.
  # NETC_FUZZ_RUNS makes the run deterministic (CI): a fixed seed and a
  # fixed number of executions (100 times more for the fast file readers),
  # so the same binary and corpus always do the same work; SECONDS stays a
  # cap. Without it, the run explores for SECONDS from a random seed.
  # It also starts from an empty corpus, as on a clean clone: inputs kept
  # from earlier local runs would send it down another path than CI's.
  limits=(-max_total_time="$seconds")
  if [ -n "${NETC_FUZZ_RUNS:-}" ]; then
    runs=$NETC_FUZZ_RUNS
    [ "$target" = netc-fuzz-yaml ] || runs=$((runs * 100))
    limits+=(-runs="$runs" -seed="${NETC_FUZZ_SEED:-1}")
    work=$build/corpus-deterministic/$target
    rm -rf "$work"
    mkdir -p "$work"
  fi
  timeout -k 10 $((seconds + 300)) \
    "$bin" "${common[@]}" "${limits[@]}" -dict="$dict" \
    -close_fd_mask=1 -artifact_prefix="$artifacts/" \
    "$work" "$build/seeds/$target" >"$log" 2>&1
  status=$?
  elapsed=$((SECONDS - start))
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" |
          grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  summary+=("$target: ${execs:-?} executions in ${elapsed}s, ${cov:-cov: ?}, exit $status")
  if [ "$status" -ne 0 ]; then
    grep -E 'ERROR|runtime error|oracle failed|Test unit written|SUMMARY' "$log" | head -20
    echo "fuzz: $target FAILED (exit $status; log: $log)"
    failed=1
  fi
done

echo
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: crashes found; reproduce one with $build/bin/<target> <file>," \
       "then copy it into fuzz/corpus/<target>/"
fi
exit "$failed"
