#!/usr/bin/env bash
# Installs the third-party implementations the tests talk to (never part of a product build) and
# caches them under ${AGENTRY_CACHE:-$HOME/.cache/agentry}/test-tools-<versions>/:
#   npm: @modelcontextprotocol/server-everything, the MCP reference test server, and
#        @modelcontextprotocol/sdk, the official TypeScript SDK (its client drives our /mcp).
# Only the first run downloads; later runs print the dir and return. Idempotent.
# Usage: hack/test-tools.sh      (prints the dir; node_modules/ is inside)
set -euo pipefail

MCP_SERVER_EVERYTHING_VERSION=2026.8.31
MCP_SDK_VERSION=1.32.2

cache=${AGENTRY_CACHE:-$HOME/.cache/agentry}
dir="$cache/test-tools-mcp-everything-${MCP_SERVER_EVERYTHING_VERSION}_sdk-$MCP_SDK_VERSION"
die() { echo "test-tools: $*" >&2; exit 1; }

entry="$dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
sdk="$dir/node_modules/@modelcontextprotocol/sdk/dist/esm/client/streamableHttp.js"
if [ -f "$entry" ] && [ -f "$sdk" ]; then echo "$dir"; exit 0; fi

command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js >= 18 with npm"
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
rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp" "$dir"
trap - EXIT
[ -f "$entry" ] && [ -f "$sdk" ] || die "the install has no $entry or $sdk"
echo "$dir"
