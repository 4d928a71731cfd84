#!/usr/bin/env bash
# The long fuzz run: every libFuzzer target for SECONDS each (default 900: one hour in all),
# growing the run's corpus under the build tree. Report the lines it prints (executions,
# coverage, findings) in the issue note; a finding's input goes into tests/fuzz/corpus/<target>/
# and a regression test.
#   bench/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../hack/fuzz.sh" "${1:-900}"
