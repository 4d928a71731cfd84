#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for a bounded time from its
# committed seed corpus (tests/fuzz/corpus/<target>, copied: the run's discoveries stay in the
# build tree). Prints one line per target with its executions and exits non-zero on any finding
# (the crashing input is kept under $build_root/fuzz/findings and named in the output).
#   hack/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 30 s, every target)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sidecar_request_fuzz sidecar_config_fuzz memory_records_fuzz kube_watch_fuzz
  mcp_messages_fuzz provider_answers_fuzz console_requests_fuzz)

dir="$build_root/fuzz"
if [ ! -f "$dir/build.ninja" ]; then
  mkdir -p "$dir"
  cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS=-O1 -DAGENTRY_FUZZ=ON -DAGENTRY_TESTS=OFF >"$dir.configure.log" 2>&1 || {
    tail -n 20 "$dir.configure.log" >&2; echo "fuzz: configure failed" >&2; exit 1; }
fi
cmake --build "$dir" -j2 --target "${targets[@]}" >"$dir.build.log" 2>&1 || {
  grep -m 20 -E "error|Error" "$dir.build.log" >&2; echo "fuzz: build failed (log: $dir.build.log)" >&2; exit 1; }

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$dir/findings"
failed=0
for t in "${targets[@]}"; do
  name=${t%_fuzz}
  work="$dir/corpus/$name"
  mkdir -p "$work"
  cp -n "tests/fuzz/corpus/$name/"* "$work/" 2>/dev/null || true
  log="$dir/$t.log"
  rc=0
  # -timeout: one input may take at most 10 s (a hang is a finding); -rss_limit_mb bounds memory.
  timeout $((seconds + 120)) "$dir/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$dir/findings/$name-" "$work" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $t ok: ${execs:-?} executions in ${seconds}s, ${cov:-cov ?}, corpus $(ls "$work" | wc -l)"
  else
    failed=1
    echo "fuzz: $t FAILED (rc $rc) after ${execs:-?} executions; log $log" >&2
    grep -m 1 -E "^artifact_prefix|Test unit written to" "$log" >&2 || true
    grep -m 30 -E "ERROR:|SUMMARY:|#[0-9]+ 0x" "$log" >&2 || tail -n 30 "$log" >&2
  fi
done
exit "$failed"
