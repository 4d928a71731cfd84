#!/usr/bin/env bash
# Installs what the console's browser tests drive Debian's Chromium with (never part of a product
# build): playwright-core from npm, pinned, which brings no browser of its own (we launch
# /usr/bin/chromium; hack/install-deps.sh installs it). Cached under
# ${AGENTRY_CACHE:-$HOME/.cache/agentry}/browser-tools-playwright-core-<version>/; only the first
# run downloads. Prints the dir (node_modules/ is inside). Idempotent.
set -euo pipefail

PLAYWRIGHT_CORE_VERSION=1.65.1

cache=${AGENTRY_CACHE:-$HOME/.cache/agentry}
dir="$cache/browser-tools-playwright-core-$PLAYWRIGHT_CORE_VERSION"
die() { echo "browser-tools: $*" >&2; exit 1; }

entry="$dir/node_modules/playwright-core/package.json"
if [ -f "$entry" ]; then echo "$dir"; exit 0; fi
command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js >= 18 with npm"
mkdir -p "$cache/logs"
tmp=$(mktemp -d "$cache/browser-tools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log="$cache/logs/browser-tools.log"
echo "browser-tools: installing playwright-core@$PLAYWRIGHT_CORE_VERSION (npm)" >&2
if ! (cd "$tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
  --loglevel=error "playwright-core@$PLAYWRIGHT_CORE_VERSION") >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  die "npm install failed (full log: $log); check access to the npm registry and retry"
fi
rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp" "$dir"
trap - EXIT
[ -f "$entry" ] || die "the install has no $entry"
echo "$dir"
