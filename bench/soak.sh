#!/usr/bin/env bash
# The hour-long soak (issue 14): builds agentry-soak and runs it; its table goes to stdout and
# the timeline (faults, violations) to stderr. Exits non-zero on any violation.
#   bench/soak.sh [MINUTES] [FAULT_EVERY_SECONDS]     (default 60 min, a fault every 180 s)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../hack/lib.sh"
cd "$repo"
hack/install-deps.sh >/dev/null
export PATH=$(hack/build-tools.sh):$PATH
BUILD_TARGETS="agentry-soak" cmake_build "$build_root/release" "${release_options[@]}" >/dev/null
exec "$build_root/release/bench/agentry-soak" --minutes "${1:-60}" --fault-every "${2:-180}"
