#!/usr/bin/env bash
# A real local Kubernetes control plane on loopback: etcd, kube-apiserver (RBAC on, TLS with
# openssl-made certificates), kube-controller-manager, kube-scheduler, kwok with one fake Node, and
# metrics-server (the resource metrics API: HPAs and `kubectl top`) scraping kwok's emulated
# kubelet. A pod's CPU and memory usage is what its annotations say (kwok.x-k8s.io/usage-cpu,
# kwok.x-k8s.io/usage-memory; else 1m and 1Mi): tests and the demo drive load by setting them.
# KEDA (keda-operator, and keda-adapter serving the external metrics API) and a Prometheus that
# KEDA's prometheus scaler queries: kwok pods run nothing, so the sidecars run as local processes
# and register for scraping with a file in $AGENTRY_PROMETHEUS_TARGETS (one JSON file per sidecar:
# [{"targets": ["127.0.0.1:PORT"], "labels": {"namespace": NS, "agentry_dev_agent": AGENT}}], the
# labels the chart's ServiceMonitor gives the series in a real cluster).
#
#   hack/cluster.sh up      build (cached) and start; prints the env line to use it
#   hack/cluster.sh env     print `export KUBECONFIG=...` etc. for a running cluster
#   hack/cluster.sh status  which processes run, and the API server's /readyz
#   hack/cluster.sh down    stop what `up` started (by pid) and remove its state
#
# Environment:
#   AGENTRY_CLUSTER_DIR      state dir (default: <repo>/.agentry/cluster); several dirs, several clusters
#   AGENTRY_APISERVER_PORT   fixed API server port (default: a free one)
#   AGENTRY_APISERVER_ARGS   extra kube-apiserver flags (tests use it, e.g. --watch-cache=false)
#   AGENTRY_CLUSTER_COMPONENTS  "full" (default) or "apiserver" (etcd + kube-apiserver only)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
dir=${AGENTRY_CLUSTER_DIR:-$repo/.agentry/cluster}
components=${AGENTRY_CLUSTER_COMPONENTS:-full}

die() { echo "cluster: $*" >&2; exit 1; }
say() { echo "cluster: $*" >&2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A port nobody listens on and that this run has not handed out yet (components start later, so
# two picks could otherwise collide). Another process may still take it first: starts retry.
taken=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768+), where outgoing connections take ports
    case "$taken" in *" $p "*) continue ;; esac
    port_in_use "$p" || { taken="$taken$p "; echo "$p"; return; }
  done
  die "no free loopback port found"
}
bind_failed() { grep -q "address already in use" "$dir/logs/$1.log" 2>/dev/null; }

pid_alive() { [ -f "$dir/pids/$1" ] && kill -0 "$(cat "$dir/pids/$1")" 2>/dev/null; }

curl_api() {
  curl -sS --max-time 5 --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" \
    --key "$dir/pki/admin.key" "https://127.0.0.1:$(cat "$dir/apiserver.port")$1"
}

gen_certs() {
  local pki=$dir/pki
  mkdir -p "$pki"
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj "/CN=agentry-local-ca" >/dev/null 2>&1
  # name CN O [SANs]: a key and a certificate signed by the CA
  issue() {
    local name=$1 cn=$2 o=$3 san=${4:-}
    openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
      -subj "/CN=$cn${o:+/O=$o}" >/dev/null 2>&1
    local ext="extendedKeyUsage=clientAuth"
    if [ -n "$san" ]; then ext="extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san"; fi
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
      -days 3650 -extfile <(echo "$ext") >/dev/null 2>&1
    rm -f "$name.csr"
  }
  issue apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue admin admin system:masters
  issue controller-manager system:kube-controller-manager ""
  issue scheduler system:kube-scheduler ""
  issue kwok kwok system:masters "IP:127.0.0.1,DNS:localhost"  # also the emulated kubelet's
  issue metrics-server metrics-server system:masters "IP:127.0.0.1,DNS:localhost"
  # KEDA's operator and adapter talk gRPC over mutual TLS with one pair from one dir.
  issue keda keda-operator system:masters "IP:127.0.0.1,DNS:localhost"
  mkdir -p keda && cp ca.crt keda/ca.crt && cp keda.crt keda/tls.crt && cp keda.key keda/tls.key
  openssl genrsa -out sa.key 2048 >/dev/null 2>&1
  openssl rsa -in sa.key -pubout -out sa.pub >/dev/null 2>&1
  cd - >/dev/null
}

write_kubeconfig() { # file user
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: agentry-local
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $dir/pki/ca.crt
users:
- name: $2
  user:
    client-certificate: $dir/pki/$2.crt
    client-key: $dir/pki/$2.key
contexts:
- name: agentry-local
  context: {cluster: agentry-local, user: $2}
current-context: agentry-local
KC
}

start() { # name args...
  local name=$1; shift
  "$@" >"$dir/logs/$name.log" 2>&1 &
  echo $! >"$dir/pids/$name"
}

# wait_for WHAT SECONDS PROC CMD...: polls CMD until it succeeds; fails fast if PROC died.
wait_for() {
  local what=$1 secs=$2 proc=$3; shift 3
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$proc"; then
      tail -n 15 "$dir/logs/$proc.log" >&2
      die "$proc exited while waiting for $what (log: $dir/logs/$proc.log)"
    fi
    [ $SECONDS -lt $deadline ] || die "timed out after ${secs}s waiting for $what (logs: $dir/logs)"
    sleep 0.2
  done
}

up() {
  if [ -f "$dir/apiserver.port" ] && pid_alive kube-apiserver; then
    say "already running in $dir"
    env_lines
    return
  fi
  [ ! -d "$dir" ] || down >/dev/null 2>&1 || true
  bin=$("$here/build-tools.sh") || exit 1
  mkdir -p "$dir/logs" "$dir/pids" "$dir/etcd"
  echo "$bin" >"$dir/bin"

  if [ -n "${AGENTRY_APISERVER_PORT:-}" ]; then api_port=$AGENTRY_APISERVER_PORT; else free_port >/dev/null; api_port=${taken% }; api_port=${api_port##* }; fi
  if port_in_use "$api_port"; then
    die "port $api_port is already in use: set AGENTRY_APISERVER_PORT to a free port (or unset it) and retry"
  fi
  local etcd_port etcd_peer kcm_port sched_port kwok_port ms_port prom_port
  local keda_metrics_port keda_probe_port keda_grpc_port keda_api_port keda_adapter_metrics_port
  pick() { free_port >/dev/null; local last=${taken% }; printf -v "$1" '%s' "${last##* }"; }
  pick etcd_port; pick etcd_peer; pick kcm_port; pick sched_port; pick kwok_port; pick ms_port
  pick prom_port; pick keda_metrics_port; pick keda_probe_port; pick keda_grpc_port
  pick keda_api_port; pick keda_adapter_metrics_port
  echo "$api_port" >"$dir/apiserver.port"
  echo "$prom_port" >"$dir/prometheus.port"
  echo "$etcd_port" >"$dir/etcd.port"

  gen_certs
  write_kubeconfig "$dir/kubeconfig" admin
  write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$dir/scheduler.kubeconfig" scheduler
  write_kubeconfig "$dir/kwok.kubeconfig" kwok
  write_kubeconfig "$dir/metrics-server.kubeconfig" metrics-server
  write_kubeconfig "$dir/keda.kubeconfig" keda

  start etcd "$bin/etcd" --data-dir "$dir/etcd" --name agentry \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "agentry=http://127.0.0.1:$etcd_peer" --quota-backend-bytes 2147483648 \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd on :$etcd_port" 30 etcd curl -sf "http://127.0.0.1:$etcd_port/health"

  # shellcheck disable=SC2086
  start kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$dir/pki/apiserver.crt" --tls-private-key-file "$dir/pki/apiserver.key" \
    --client-ca-file "$dir/pki/ca.crt" \
    --service-account-key-file "$dir/pki/sa.pub" --service-account-signing-key-file "$dir/pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --authorization-mode RBAC --service-cluster-ip-range 10.96.0.0/12 --allow-privileged=true \
    --proxy-client-cert-file "$dir/pki/admin.crt" --proxy-client-key-file "$dir/pki/admin.key" \
    --requestheader-client-ca-file "$dir/pki/ca.crt" --requestheader-allowed-names admin \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --profiling=false --v 1 ${AGENTRY_APISERVER_ARGS:-}
  wait_for "kube-apiserver /readyz on :$api_port" 120 kube-apiserver \
    bash -c "[ \"\$(curl -s --max-time 5 --cacert '$dir/pki/ca.crt' --cert '$dir/pki/admin.crt' --key '$dir/pki/admin.key' https://127.0.0.1:$api_port/readyz)\" = ok ]"

  if [ "$components" = full ]; then
    start kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig "$dir/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$dir/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$dir/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
      --service-account-private-key-file "$dir/pki/sa.key" --root-ca-file "$dir/pki/ca.crt" \
      --use-service-account-credentials=true --controllers '*' --v 1 \
      --kube-api-qps 300 --kube-api-burst 600
    # kube-controller-manager's client default of 20 qps made 1,000 Deployments take 4 minutes to
    # get their ReplicaSets and Pods.
    start kube-scheduler "$bin/kube-scheduler" \
      --kubeconfig "$dir/scheduler.kubeconfig" \
      --authentication-kubeconfig "$dir/scheduler.kubeconfig" \
      --authorization-kubeconfig "$dir/scheduler.kubeconfig" \
      --bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false --v 1 \
      --kube-api-qps 300 --kube-api-burst 600
    # kwok's resource-usage CRDs first: kwok watches them from the start.
    "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f "$bin/../kwok/crds/" >/dev/null
    "$bin/kubectl" --kubeconfig "$dir/kubeconfig" wait --for=condition=Established --timeout=60s \
      crd/metrics.kwok.x-k8s.io crd/clusterresourceusages.kwok.x-k8s.io \
      crd/resourceusages.kwok.x-k8s.io >/dev/null
    # The node's address and kubelet port are kwok's own HTTPS server, where it serves the
    # emulated /metrics/resource that metrics-server scrapes.
    start kwok "$bin/kwok" --kubeconfig "$dir/kwok.kubeconfig" \
      --manage-all-nodes=false \
      --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
      --disregard-status-with-annotation-selector kwok.x-k8s.io/status=custom \
      --cidr 10.244.0.0/16 --node-ip 127.0.0.1 --node-port "$kwok_port" \
      --node-lease-duration-seconds 40 \
      --enable-crds=Metric,ClusterResourceUsage,ResourceUsage \
      --tls-cert-file "$dir/pki/kwok.crt" --tls-private-key-file "$dir/pki/kwok.key" \
      --server-address "127.0.0.1:$kwok_port"
    # The node heartbeats through a Lease renewed every 10 s (a kubelet's cadence), which the node
    # lifecycle controller reads against its default 50 s grace period. Without the flag kwok 0.7
    # held no lease and patched the node's status only every 20-45 s, and the node flapped
    # NotReady (taking every pod's readiness with it) whenever a patch came late.
    create_node
    wait_for "the kwok node to be Ready" 60 kwok \
      "$bin/kubectl" --kubeconfig "$dir/kubeconfig" wait --for=condition=Ready node/kwok-node-0 --timeout=2s
    wait_for "the default ServiceAccount" 60 kube-controller-manager \
      "$bin/kubectl" --kubeconfig "$dir/kubeconfig" get serviceaccount default -n default
    start_metrics_server
    start_prometheus
    start_keda
  fi
  say "up: API server https://127.0.0.1:$api_port (state and logs in $dir)"
  env_lines
}

# Usage from the pod's annotations, and the kubelet resource metrics kwok serves from it.
start_metrics_server() {
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f "$bin/../kwok/metrics-resource.yaml" >/dev/null
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f - >/dev/null <<'USAGE'
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: usage-from-annotation
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "kwok.x-k8s.io/usage-cpu" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-cpu"])
          : Quantity("1m")
      memory:
        expression: |
          "kwok.x-k8s.io/usage-memory" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-memory"])
          : Quantity("1Mi")
USAGE
  # 10 s is metrics-server's shortest resolution (a scrape must end within it); the HPA's sync
  # period (15 s) is the default.
  start metrics-server "$bin/metrics-server" \
    --kubeconfig "$dir/metrics-server.kubeconfig" \
    --authentication-kubeconfig "$dir/metrics-server.kubeconfig" \
    --authorization-kubeconfig "$dir/metrics-server.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$ms_port" \
    --tls-cert-file "$dir/pki/metrics-server.crt" --tls-private-key-file "$dir/pki/metrics-server.key" \
    --kubelet-preferred-address-types InternalIP --kubelet-use-node-status-port \
    --kubelet-insecure-tls --metric-resolution 10s --kubelet-request-timeout 5s
  # The API server reaches it through an ExternalName Service (no kube-proxy here).
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f - >/dev/null <<APISERVICE
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec: {type: ExternalName, externalName: localhost}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: metrics-server, namespace: kube-system, port: $ms_port}
APISERVICE
  wait_for "the metrics API (metrics-server on :$ms_port)" 90 metrics-server \
    "$bin/kubectl" --kubeconfig "$dir/kubeconfig" wait --for=condition=Available --timeout=2s \
    apiservice/v1beta1.metrics.k8s.io
}

# Scrapes the sidecars listed in $dir/prometheus/targets every 5 s (the files are re-read as they
# change), keeping 1 h.
start_prometheus() {
  mkdir -p "$dir/prometheus/targets" "$dir/prometheus/data"
  cat >"$dir/prometheus/prometheus.yml" <<PROM
global: {scrape_interval: 5s, scrape_timeout: 4s, evaluation_interval: 5s}
scrape_configs:
- job_name: agentry-sidecars
  file_sd_configs:
  - files: ['$dir/prometheus/targets/*.json']
    refresh_interval: 5s
PROM
  start prometheus "$bin/prometheus" --config.file "$dir/prometheus/prometheus.yml" \
    --storage.tsdb.path "$dir/prometheus/data" --storage.tsdb.retention.time 1h \
    --web.listen-address "127.0.0.1:$prom_port"
  wait_for "Prometheus /-/ready on :$prom_port" 60 prometheus \
    curl -sf "http://127.0.0.1:$prom_port/-/ready"
}

# KEDA out of the cluster: its CRDs, the operator (ScaledObjects -> HPAs, scalers) and the adapter
# (external.metrics.k8s.io, asked by the HPA controller, answered from the operator over gRPC).
start_keda() {
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f "$bin/../keda/crds/" >/dev/null
  # (kubectl wait fails at once, not waits, while a new CRD has no status yet.)
  wait_for "KEDA's CRDs" 60 kube-apiserver "$bin/kubectl" --kubeconfig "$dir/kubeconfig" \
    wait --for=condition=Established --timeout=2s crd/scaledobjects.keda.sh
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" create namespace keda >/dev/null
  # Outside a pod KEDA reads its namespace and scope from the environment.
  export KEDA_CLUSTER_OBJECT_NAMESPACE=keda POD_NAMESPACE=keda WATCH_NAMESPACE=""
  KUBECONFIG="$dir/keda.kubeconfig" start keda-operator "$bin/keda-operator" \
    --metrics-bind-address "127.0.0.1:$keda_metrics_port" \
    --health-probe-bind-address "127.0.0.1:$keda_probe_port" \
    --metrics-service-bind-address "127.0.0.1:$keda_grpc_port" \
    --cert-dir "$dir/pki/keda" --enable-cert-rotation=false \
    --enable-webhook-patching=false --enable-apiservice-patching=false --zap-log-level=info
  wait_for "keda-operator /readyz on :$keda_probe_port" 60 keda-operator \
    curl -sf "http://127.0.0.1:$keda_probe_port/readyz"
  # --port is the adapter's own /metrics, bound on every interface (KEDA takes a port only).
  KUBECONFIG="$dir/keda.kubeconfig" start keda-adapter "$bin/keda-adapter" \
    --bind-address 127.0.0.1 --secure-port "$keda_api_port" --port "$keda_adapter_metrics_port" \
    --tls-cert-file "$dir/pki/keda/tls.crt" --tls-private-key-file "$dir/pki/keda/tls.key" \
    --cert-dir "$dir/pki/keda" --client-ca-file "$dir/pki/ca.crt" \
    --metrics-service-address "127.0.0.1:$keda_grpc_port" \
    --lister-kubeconfig "$dir/keda.kubeconfig" --authentication-kubeconfig "$dir/keda.kubeconfig" \
    --authorization-kubeconfig "$dir/keda.kubeconfig" --zap-log-level=info
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply --server-side -f - >/dev/null <<APISERVICE
apiVersion: v1
kind: Service
metadata: {name: keda-metrics-apiserver, namespace: keda}
spec: {type: ExternalName, externalName: localhost}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.external.metrics.k8s.io}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: keda-metrics-apiserver, namespace: keda, port: $keda_api_port}
APISERVICE
  wait_for "the external metrics API (keda-adapter on :$keda_api_port)" 90 keda-adapter \
    "$bin/kubectl" --kubeconfig "$dir/kubeconfig" wait --for=condition=Available --timeout=2s \
    apiservice/v1beta1.external.metrics.k8s.io
}

create_node() {
  "$bin/kubectl" --kubeconfig "$dir/kubeconfig" apply -f - >/dev/null <<'NODE'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
    # Where kwok serves this node's emulated kubelet /metrics/resource (metrics-server reads it).
    metrics.k8s.io/resource-metrics-path: /metrics/nodes/kwok-node-0/metrics/resource
  labels:
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "2000"}
  capacity: {cpu: "64", memory: 256Gi, pods: "2000"}
NODE
}

env_lines() {
  [ -f "$dir/apiserver.port" ] || die "no cluster in $dir: run hack/cluster.sh up"
  echo "export KUBECONFIG=$dir/kubeconfig"
  echo "export AGENTRY_CLUSTER_DIR=$dir"
  echo "export AGENTRY_APISERVER_URL=https://127.0.0.1:$(cat "$dir/apiserver.port")"
  echo "export AGENTRY_ETCD_URL=http://127.0.0.1:$(cat "$dir/etcd.port")"
  echo "export PATH=$(cat "$dir/bin"):\$PATH"
  if [ -f "$dir/prometheus.port" ] && [ -d "$dir/prometheus/targets" ]; then
    echo "export AGENTRY_PROMETHEUS_URL=http://127.0.0.1:$(cat "$dir/prometheus.port")"
    echo "export AGENTRY_PROMETHEUS_TARGETS=$dir/prometheus/targets"
  fi
}

status() {
  [ -d "$dir/pids" ] || { echo "no cluster in $dir"; return 1; }
  local rc=0
  for f in "$dir"/pids/*; do
    local n; n=$(basename "$f")
    if pid_alive "$n"; then echo "$n: running (pid $(cat "$f"))"; else echo "$n: not running"; rc=1; fi
  done
  echo "readyz: $(curl_api /readyz 2>&1 || true)"
  return $rc
}

down() {
  [ -d "$dir" ] || { say "nothing to stop in $dir"; return 0; }
  local order=(keda-adapter keda-operator prometheus metrics-server kwok kube-scheduler
    kube-controller-manager kube-apiserver etcd)
  for n in "${order[@]}"; do
    if pid_alive "$n"; then kill -TERM "$(cat "$dir/pids/$n")" 2>/dev/null || true; fi
  done
  for n in "${order[@]}"; do
    [ -f "$dir/pids/$n" ] || continue
    local pid; pid=$(cat "$dir/pids/$n")
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
  say "down: stopped and removed $dir"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) env_lines ;;
  status) status ;;
  *) echo "usage: hack/cluster.sh up|down|env|status" >&2; exit 2 ;;
esac
