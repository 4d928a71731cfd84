#!/usr/bin/env bash
# Installs what the build, the tests and the demo need from Debian's packages (and the Go
# toolchain check for the control-plane build). Idempotent, quiet, and fast when all is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates openssl procps iproute2
  libssl-dev nlohmann-json3-dev libcpp-httplib-dev libboost1.81-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhiredis-dev libyaml-cpp-dev libhnswlib-dev zlib1g-dev libicu-dev libopenblas-dev
  redis-server redis-tools wrk clang-format clang-tidy
  clang libclang-rt-14-dev
  libcrypt-dev chromium
)

# Node.js and npm run the MCP test servers and the official SDK's client (hack/test-tools.sh);
# machines that bring their own Node keep it, others get Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# A Python venv holds the official Python MCP SDK for a test server (hack/test-tools.sh).
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || packages+=(python3-venv)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get update -qq >/dev/null 2>&1 ||
     ! $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/agentry-apt.log 2>&1; then
    tail -n 5 /tmp/agentry-apt.log >&2 || true
    echo "install-deps: apt-get failed (log: /tmp/agentry-apt.log); check the Debian mirror and retry" >&2
    exit 1
  fi
fi

# redis-server from Debian starts a system service on :6379; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server >/dev/null 2>&1 || true
fi

command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  echo "install-deps: no Go toolchain (needed to build the control plane): install Go >= 1.24 and put it on PATH" >&2
  exit 1
}
exit 0
