#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora under corpus/<target>/ (committed; rerun after a format
change). Seeds are valid inputs of each reader, so the fuzzer starts from real structure."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "fuzz-token-0123456789abcdef"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def http(method, path, body=None, ctype="application/json", extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{extra}"
    if body is None:
        return head + "\r\n"
    return head + f"Content-Type: {ctype}\r\nContent-Length: {len(body.encode())}\r\n\r\n{body}"


def sidecar_request():
    t = "sidecar_request"
    write(t, "exec_post", http("POST", "/v1/executions?wait=200ms", '{"input": "hi", "sessionId": "s"}'))
    write(t, "exec_stream", http("POST", "/v1/executions", '{"input": "hi", "stream": true, "parameters": {"temperature": 0}}'))
    write(t, "exec_idem", http("POST", "/v1/executions", '{"input": "x"}', extra="Idempotency-Key: k1\r\n"))
    write(t, "exec_list", http("GET", "/v1/executions?limit=5&continue=1f"))
    write(t, "exec_get", http("GET", "/v1/executions/abc?wait=100ms"))
    write(t, "exec_cancel", http("DELETE", "/v1/executions/abc"))
    write(t, "cache_put", http("PUT", "/v1/cache/k1?ttl=30", '{"value": "v", "ttl": 10}'))
    write(t, "cache_put_raw", http("PUT", "/v1/cache/k2", "raw bytes", "application/octet-stream"))
    write(t, "cache_get", http("GET", "/v1/cache/k1"))
    write(t, "cache_del", http("DELETE", "/v1/cache/k1"))
    write(t, "cache_stats", http("GET", "/v1/cache"))
    write(t, "mem_add", http("POST", "/v1/memory", '{"text": "the sky is blue", "session": "s", "metadata": {"a": "b"}, "ttl": 60}'))
    write(t, "mem_batch", http("POST", "/v1/memory", '{"entries": [{"text": "a"}, {"text": "b", "id": "x1"}]}'))
    write(t, "mem_search", http("POST", "/v1/memory/search", '{"query": "sky", "k": 3, "minScore": 0.1, "filter": {"a": "b"}, "session": "s"}'))
    write(t, "mem_search_vec", http("POST", "/v1/memory/search", '{"vector": [0.1, 0.2], "k": 1}'))
    write(t, "mem_list", http("GET", "/v1/memory?limit=2&session=s&continue=7831"))
    write(t, "mem_get", http("GET", "/v1/memory/x1?embedding=true"))
    write(t, "mem_del", http("DELETE", "/v1/memory/x1"))
    write(t, "health", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz?verbose HTTP/1.1\r\n\r\n")
    write(t, "metrics", "GET /metrics HTTP/1.0\r\n\r\n")
    write(t, "continue", http("POST", "/v1/memory", '{"text": "c"}', extra="Expect: 100-continue\r\n"))
    write(t, "chunked", f"POST /v1/executions HTTP/1.1\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n10\r\n{{\"input\": \"hi\"}}\r\n0\r\n\r\n")
    write(t, "bad_utf8", http("GET", "/v1/cache/%ff%fe"))
    write(t, "no_token", "GET /v1/executions HTTP/1.1\r\n\r\n")
    mcp = lambda m, p: json.dumps({"jsonrpc": "2.0", "id": 1, "method": m, "params": p})
    write(t, "mcp_init", http("POST", "/mcp", mcp("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "f", "version": "1"}})))
    write(t, "mcp_call", http("POST", "/mcp", mcp("tools/call", {"name": "fuzz", "arguments": {"input": "hi", "sessionId": "s"}}), extra="Agentry-Call-Chain: a,b\r\n"))
    write(t, "mcp_call_progress", http("POST", "/mcp", mcp("tools/call", {"name": "fuzz", "arguments": {"input": "hi"}, "_meta": {"progressToken": 7}}), extra="Accept: application/json, text/event-stream\r\n"))
    v03 = {"message": {"kind": "message", "messageId": "m1", "contextId": "c", "role": "user", "parts": [{"kind": "text", "text": "hi"}, {"kind": "data", "data": {"a": 1}}]}, "configuration": {"blocking": False, "historyLength": 1}}
    v1 = {"message": {"messageId": "m2", "role": "ROLE_USER", "parts": [{"text": "hi"}]}, "configuration": {"returnImmediately": True}}
    write(t, "a2a_card", "GET /.well-known/agent-card.json HTTP/1.1\r\nHost: x\r\n\r\n")
    write(t, "a2a_send_v03", http("POST", "/a2a", mcp("message/send", v03)))
    write(t, "a2a_stream_v03", http("POST", "/a2a", mcp("message/stream", v03)))
    write(t, "a2a_send_v1", http("POST", "/a2a", mcp("SendMessage", v1)))
    write(t, "a2a_stream_v1", http("POST", "/a2a", mcp("SendStreamingMessage", v1)))
    write(t, "a2a_get", http("POST", "/a2a", mcp("tasks/get", {"id": "ex-1", "historyLength": 0})))
    write(t, "a2a_cancel", http("POST", "/a2a", mcp("CancelTask", {"id": "ex-1"})))
    write(t, "a2a_subscribe", http("POST", "/a2a", mcp("tasks/resubscribe", {"id": "ex-1"})))


def sidecar_config():
    t = "sidecar_config"
    write(t, "minimal", "server:\n  tokenFile: /t\nprovider:\n  model: m\n")
    write(t, "full", """server:
  listen: 127.0.0.1:8080
  tokenFile: /t
  threads: 16
limits: {maxConcurrency: 10, queueSize: 5}
provider: {type: openai, endpoint: "https://x", model: m, retries: 2}
agent:
  name: a
  options: {temperature: 0}
  tools:
  - {name: t, url: "http://t", method: GET, timeoutMs: 100, parameters: {type: object}}
  chunking: {enabled: true, chunkChars: 200}
memoryPressure: {profile: development}
cache: {redisUrl: "redis://:p@h:6379/0", readyWhenDegraded: false}
memory: {backend: redis, redisUrl: "redis://m:6379", maxEntries: 10, embedder: local, ttlSeconds: 5}
""")
    write(t, "json", json.dumps({"server": {"tokenFile": "/t"}, "agent": {"maxToolTurns": 2}}))


def kube_watch():
    t = "kube_watch"
    agent = {
        "apiVersion": "agentry.dev/v1alpha1", "kind": "Agent",
        "metadata": {"name": "researcher", "namespace": "team-a", "uid": "u1", "resourceVersion": "12",
                     "generation": 2, "labels": {"a": "b"}, "finalizers": ["agentry.dev/x"],
                     "ownerReferences": [{"uid": "o1", "controller": True, "kind": "X", "name": "x"}]},
        "spec": {"model": {"provider": "ollama", "name": "llama3.2"},
                 "tools": [{"name": "t", "url": "http://t", "timeoutSeconds": 5}],
                 "execution": {"maxToolTurns": 3, "chunkInputBytes": 200},
                 "memory": {"backend": "redis", "redis": {"url": "redis://r:6379"}},
                 "container": {"image": "i", "env": [{"name": "A", "value": "b"}],
                               "ports": [{"containerPort": 9000, "name": "web"}]},
                 "autoscaling": {"minReplicas": 1, "maxReplicas": 3}, "capacity": {"targetRPS": 100}},
        "status": {"phase": "Ready"}}
    write(t, "added", json.dumps({"type": "ADDED", "object": agent}))
    write(t, "modified", json.dumps({"type": "MODIFIED", "object": {"kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}, "status": {"readyReplicas": 1}}}))
    write(t, "bookmark", json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "99"}}}))
    write(t, "error", json.dumps({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}}))


def record(agent, rid, session, text, meta, created, expires, rev, emb):
    def s(x):
        b = x.encode()
        return struct.pack("<I", len(b)) + b
    out = struct.pack("<BB", 1, 1) + s(agent) + s(rid) + s(session) + s(text)
    out += struct.pack("<I", len(meta)) + b"".join(s(k) + s(v) for k, v in meta.items())
    out += struct.pack("<qqQ", created, expires, rev) + struct.pack("<I", len(emb))
    out += b"".join(struct.pack("<f", f) for f in emb)
    return out


def delete_record(agent, rid):
    def s(x):
        b = x.encode()
        return struct.pack("<I", len(b)) + b
    return struct.pack("<BB", 1, 2) + s(agent) + s(rid)


def fnv64(b):
    h = 1469598103934665603
    for c in b:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def frame(payload):
    return struct.pack("<IQ", len(payload), fnv64(payload)) + payload


def resp(x):
    if isinstance(x, list):
        return b"*%d\r\n" % len(x) + b"".join(resp(e) for e in x)
    if x is None:
        return b"$-1\r\n"
    if isinstance(x, int):
        return b":%d\r\n" % x
    return b"$%d\r\n" % len(x) + x + b"\r\n"


def memory_records():
    t = "memory_records"
    put = record("a", "01J", "s", "the sky is blue", {"k": "v"}, 1700000000000, 0, 7, [0.1, -0.5, 0.25, 1.0])
    dele = delete_record("a", "01J")
    write(t, "record_put", b"\x00" + put)
    write(t, "record_delete", b"\x00" + dele)
    xread = resp([[b"agentry:a:mem:feed", [[b"1700000000000-0", [b"op", put]], [b"1700000000001-3", [b"op", dele]]]]])
    write(t, "resp_xread", b"\x01" + xread)
    write(t, "resp_range", b"\x01" + resp([[b"5-1", [b"op", put]]]) + resp(None) + resp(3) + b"-LOADING busy\r\n")
    write(t, "log", b"\x02" + frame(put) + frame(dele) + frame(put)[:9])


if __name__ == "__main__":
    sidecar_request()
    sidecar_config()
    kube_watch()
    memory_records()
