#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, helm,
# metrics-server, KEDA (keda-operator, keda-adapter) and prometheus from their Go modules with the
# machine's Go toolchain and caches them under
#   ${AGENTRY_CACHE:-$HOME/.cache/agentry}/tools-<versions>/bin
# with kwok's CRDs and its resource-metrics objects (Metric, ClusterResourceUsage) from the same
# module in ../kwok/, and KEDA's CRDs in ../keda/crds/.
# Only the first run pays the build; later runs print the bin dir and return.
# Usage: hack/build-tools.sh [--print-bin-dir]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${AGENTRY_CACHE:-$HOME/.cache/agentry}
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_helm-${HELM_VERSION}"
bin="$cache/tools-$key/bin"
tools=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok helm metrics-server
  keda-operator keda-adapter prometheus)
kwok_assets="$cache/tools-$key/kwok"
keda_assets="$cache/tools-$key/keda"

die() { echo "build-tools: $*" >&2; exit 1; }
log() { [ "${1:-}" = "" ] || echo "build-tools: $*" >&2; }

# current NAME VERSION: the cached NAME was built at VERSION (a bump rebuilds it alone).
current() { [ -x "$bin/$1" ] && [ "$(cat "$bin/$1.version" 2>/dev/null)" = "$2" ]; }
have_all() {
  for t in "${tools[@]}"; do [ -x "$bin/$t" ] || return 1; done
  current metrics-server "$METRICS_SERVER_VERSION" && current keda-adapter "$KEDA_VERSION" &&
    current prometheus "$PROMETHEUS_VERSION" && [ -f "$kwok_assets/metrics-resource.yaml" ] &&
    [ -f "$keda_assets/crds/keda.sh_scaledobjects.yaml" ]
}

if have_all; then echo "$bin"; exit 0; fi

command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] ||
  die "no Go toolchain found: install Go >= 1.24 (https://go.dev/doc/install) and put it on PATH"
command -v go >/dev/null 2>&1 || export PATH=/usr/local/go/bin:$PATH

mkdir -p "$bin" "$cache/logs"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
export GOBIN="$work/gobin"
buildlog="$cache/logs/build-tools.log"
: >"$buildlog"

# run STEP CMD...: runs a step, keeps its output in the log, and fails with one line naming it.
run() {
  local step=$1; shift
  if ! "$@" >>"$buildlog" 2>&1; then
    tail -n 5 "$buildlog" >&2
    die "$step failed (full log: $buildlog); check network access to the Go module proxy (GOPROXY=$(go env GOPROXY)) and retry"
  fi
}

# A wrapper module: k8s.io/kubernetes replaces its staging modules with ./staging paths, so it
# cannot be `go install`ed; we require it and replace every staging module by its published v0.Y.Z.
build_kubernetes() {
  local d="$work/kubernetes" minor=${KUBERNETES_VERSION#v1.}
  mkdir -p "$d"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $KUBERNETES_VERSION (first run: 10-20 min on 2 cores)"
  run "download k8s.io/kubernetes@$KUBERNETES_VERSION" \
    go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$gomod" ] || die "could not locate go.mod of k8s.io/kubernetes@$KUBERNETES_VERSION"
  {
    echo "module agentry.dev/hack/kubernetes"
    echo "go 1.24"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    grep -oE '^\s*k8s.io/[a-z0-9-]+ => ./staging/src/k8s.io/[a-z0-9-]+' "$gomod" |
      awk -v v="v0.$minor" '{print "replace " $1 " => " $1 " " v}'
  } >"$d/go.mod"
  # No `go mod tidy`: with no source here it would drop the requirement and build @latest.
  for t in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    (cd "$d" && run "go build $t" go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
      -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION" \
      -o "$bin/$t" "k8s.io/kubernetes/cmd/$t")
  done
}

# etcd's server module also carries replace directives, so it gets a wrapper module too.
build_etcd() {
  local d="$work/etcd"
  mkdir -p "$d"
  log "building etcd $ETCD_VERSION"
  printf 'module agentry.dev/hack/etcd\ngo 1.24\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$d/go.mod"
  (cd "$d" && run "go build etcd" go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
}

# KEDA's module pins k8s.io and a few others with replace directives, which apply only in the main
# module: a wrapper module copies them (as for etcd and kubernetes). Both binaries share most
# packages, so the second build takes seconds.
build_keda() {
  local d="$work/keda" gomod
  mkdir -p "$d"
  log "building keda-operator and keda-adapter $KEDA_VERSION (first run: about 10 min on 2 cores)"
  run "download github.com/kedacore/keda/v2@$KEDA_VERSION" \
    go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION"
  gomod=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  [ -f "$gomod" ] || die "could not locate go.mod of github.com/kedacore/keda/v2@$KEDA_VERSION"
  {
    echo "module agentry.dev/hack/keda"
    grep -m1 -E '^go [0-9.]+$' "$gomod"
    echo "require github.com/kedacore/keda/v2 $KEDA_VERSION"
    sed -n '/^replace (/,/^)/p' "$gomod"
  } >"$d/go.mod"
  for t in operator adapter; do
    (cd "$d" && run "go build keda-$t" go build -trimpath -ldflags "-s -w" -o "$bin/keda-$t" \
      "github.com/kedacore/keda/v2/cmd/$t")
  done
  local keda_dir
  keda_dir=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  mkdir -p "$keda_assets/crds"
  install -m 0644 "$keda_dir"/config/crd/bases/*.yaml "$keda_assets/crds/"
  echo "$KEDA_VERSION" >"$bin/keda-operator.version"
  echo "$KEDA_VERSION" >"$bin/keda-adapter.version"
}

build_install() { # name module-path version
  log "building $1 $3"
  run "go install $2@$3" go install -trimpath -ldflags "-s -w" "$2@$3"
  install -m 0755 "$GOBIN/$1" "$bin/$1"
}

[ -x "$bin/etcd" ] || build_etcd
[ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kube-scheduler" ] &&
  [ -x "$bin/kubectl" ] || build_kubernetes
[ -x "$bin/kwok" ] || build_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
[ -x "$bin/helm" ] || build_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
if ! current metrics-server "$METRICS_SERVER_VERSION"; then
  build_install metrics-server sigs.k8s.io/metrics-server/cmd/metrics-server "$METRICS_SERVER_VERSION"
  echo "$METRICS_SERVER_VERSION" >"$bin/metrics-server.version"
fi
if ! current prometheus "$PROMETHEUS_VERSION"; then
  build_install prometheus github.com/prometheus/prometheus/cmd/prometheus "$PROMETHEUS_VERSION"
  echo "$PROMETHEUS_VERSION" >"$bin/prometheus.version"
fi
current keda-operator "$KEDA_VERSION" && current keda-adapter "$KEDA_VERSION" &&
  [ -f "$keda_assets/crds/keda.sh_scaledobjects.yaml" ] || build_keda
# kwok's CRDs for resource-usage emulation, and its kubelet /metrics/resource emulation: files of
# the kwok module, so they always match the kwok binary.
if [ ! -f "$kwok_assets/metrics-resource.yaml" ]; then
  kwok_dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  [ -d "$kwok_dir/kustomize" ] || die "could not locate the sigs.k8s.io/kwok@$KWOK_VERSION module"
  mkdir -p "$kwok_assets/crds"
  for k in metrics clusterresourceusages resourceusages; do
    install -m 0644 "$kwok_dir/kustomize/crd/bases/kwok.x-k8s.io_$k.yaml" "$kwok_assets/crds/"
  done
  install -m 0644 "$kwok_dir/kustomize/metrics/resource/metrics-resource.yaml" "$kwok_assets/"
fi
have_all || die "some tools are missing in $bin after the build (log: $buildlog)"
log "tools ready in $bin"
echo "$bin"
