#!/usr/bin/env bash
# Installs the third-party implementations the tests talk to (never part of a product build) and
# caches them under ${AGENTRY_CACHE:-$HOME/.cache/agentry}/test-tools-<versions>/:
#   npm: @modelcontextprotocol/server-everything, the MCP reference test server, and
#        @modelcontextprotocol/sdk, the official TypeScript SDK (its client drives our /mcp).
#   PyPI: mcp, the official Python SDK, in venv/ (a small test server is written with it), and
#         a2a-sdk, the official A2A Python SDK (its client drives our /a2a); tokenizers (Hugging
#         Face's), numpy and safetensors for the reference our MiniLM embedder is held to.
# Only the first run downloads; later runs print the dir and return. Idempotent.
# Usage: hack/test-tools.sh      (prints the dir; node_modules/ is inside)
set -euo pipefail

MCP_SERVER_EVERYTHING_VERSION=2026.8.31
MCP_SDK_VERSION=1.32.2
PYTHON_MCP_VERSION=2.3.0
A2A_SDK_VERSION=1.3.0
TOKENIZERS_VERSION=0.23.3
NUMPY_VERSION=2.4.6
SAFETENSORS_VERSION=0.8.0

cache=${AGENTRY_CACHE:-$HOME/.cache/agentry}
dir="$cache/test-tools-mcp-everything-${MCP_SERVER_EVERYTHING_VERSION}_sdk-${MCP_SDK_VERSION}_pymcp-${PYTHON_MCP_VERSION}_a2a-${A2A_SDK_VERSION}_tok-$TOKENIZERS_VERSION"
die() { echo "test-tools: $*" >&2; exit 1; }

entry="$dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
sdk="$dir/node_modules/@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js"
pymcp="$dir/venv/.mcp-${PYTHON_MCP_VERSION}_a2a-${A2A_SDK_VERSION}_tok-$TOKENIZERS_VERSION"
if [ -f "$entry" ] && [ -f "$sdk" ] && [ -f "$pymcp" ]; then echo "$dir"; exit 0; fi

command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js >= 18 with npm"
command -v python3 >/dev/null 2>&1 || die "python3 not found (hack/install-deps.sh installs it)"
mkdir -p "$cache/logs"
tmp=$(mktemp -d "$cache/test-tools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log="$cache/logs/test-tools.log"
echo "test-tools: installing @modelcontextprotocol/server-everything@$MCP_SERVER_EVERYTHING_VERSION and @modelcontextprotocol/sdk@$MCP_SDK_VERSION (npm)" >&2
if ! (cd "$tmp" && npm install --no-audit --no-fund --loglevel=error \
  "@modelcontextprotocol/server-everything@$MCP_SERVER_EVERYTHING_VERSION" \
  "@modelcontextprotocol/sdk@$MCP_SDK_VERSION") >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  die "npm install failed (full log: $log); check access to the npm registry and retry"
fi
echo "test-tools: installing mcp==$PYTHON_MCP_VERSION a2a-sdk==$A2A_SDK_VERSION tokenizers==$TOKENIZERS_VERSION numpy==$NUMPY_VERSION safetensors==$SAFETENSORS_VERSION (PyPI) in a venv" >&2
if ! { python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install -q --disable-pip-version-check \
  "mcp==$PYTHON_MCP_VERSION" "a2a-sdk==$A2A_SDK_VERSION" "tokenizers==$TOKENIZERS_VERSION" \
  "numpy==$NUMPY_VERSION" "safetensors==$SAFETENSORS_VERSION"; } >>"$log" 2>&1; then
  tail -n 5 "$log" >&2
  die "pip install failed (full log: $log); check access to PyPI and retry"
fi
touch "$tmp/venv/.mcp-${PYTHON_MCP_VERSION}_a2a-${A2A_SDK_VERSION}_tok-$TOKENIZERS_VERSION"
rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp" "$dir"
trap - EXIT
[ -f "$entry" ] && [ -f "$sdk" ] && [ -f "$pymcp" ] || die "the install has no $entry or $sdk"
echo "$dir"
