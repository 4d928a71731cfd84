# Shared by hack/test.sh and hack/demo.sh: paths and the CMake build.
# shellcheck shell=bash
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${AGENTRY_CACHE:-$HOME/.cache/agentry}
# One build tree per checkout path, kept under the cache so a rerun only rebuilds what changed.
build_root=${AGENTRY_BUILD_DIR:-$cache/build/$(printf '%s' "$repo" | sha1sum | cut -c1-12)}
export PATH=/usr/local/go/bin:$PATH

# The release tree is shared by hack/test.sh and hack/demo.sh, so both configure it alike.
release_options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTRY_BENCH=ON)

# cmake_configure DIR [cmake -D options...]: configure once (a later run reuses the tree).
cmake_configure() {
  local dir=$1; shift
  mkdir -p "$(dirname "$dir")"
  [ -f "$dir/build.ninja" ] && return 0
  cmake -S "$repo" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || {
    tail -n 20 "$dir.configure.log" >&2
    echo "cmake configure failed (log: $dir.configure.log); run hack/install-deps.sh" >&2; return 1; }
}

# cmake_build DIR [cmake -D options...]: configure and build with -j2; BUILD_TARGETS limits the
# build to those targets.
cmake_build() {
  cmake_configure "$@"
  # shellcheck disable=SC2086
  cmake --build "$1" -j2 ${BUILD_TARGETS:+--target $BUILD_TARGETS}
}

# pypi_download LOG DEST PIP-ARGS...: pip download (no dependencies) into DEST, with pip from a
# throwaway venv (Debian's python3 may have none of its own). On failure: the log's tail, and 1.
pypi_download() {
  local log=$1 dest=$2; shift 2
  mkdir -p "$dest"
  if ! { python3 -m venv "$dest/.venv" && "$dest/.venv/bin/pip" download --no-deps \
    --disable-pip-version-check -q -d "$dest" "$@"; } >>"$log" 2>&1; then
    tail -n 5 "$log" >&2
    echo "pip download $* failed (full log: $log); check access to PyPI and retry" >&2
    return 1
  fi
  rm -rf "$dest/.venv"
}
