#include "tests/integration/sidecar/harness.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/test_tools.h"

namespace agentry::testing {

using nlohmann::json;

FakeLlm::FakeLlm(std::vector<std::string> extra_args) : port_(free_port()) {
  Process::Options o;
  o.argv = {AGENTRY_FAKE_LLM_BIN, "--port", std::to_string(port_), "--threads", "256"};
  o.argv.insert(o.argv.end(), extra_args.begin(), extra_args.end());
  o.log_path = dir_.file("fake-llm.log");
  proc_ = Process(o);
  std::string err;
  if (!proc_.start(&err)) throw std::runtime_error("fake llm: " + err);
  if (!wait_for_port(port_, std::chrono::seconds(10)))
    throw std::runtime_error("fake llm did not listen: " + proc_.log_tail());
}

void FakeLlm::faults(const json& f) {
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/admin/faults", f.dump(), "application/json");
  if (!r || r->status != 200) throw std::runtime_error("fake llm: setting faults failed");
}

json FakeLlm::stats() {
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Get("/admin/stats");
  return r ? json::parse(r->body) : json();
}

json FakeLlm::last() {
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Get("/admin/last");
  return r ? json::parse(r->body) : json();
}

Sidecar::Sidecar(const SidecarOptions& o) : port_(o.port ? o.port : free_port()) {
  if (!ensure_model_env()) throw std::runtime_error("sidecar: hack/models.sh failed");
  write_file(dir_.file("token"), std::string(kToken) + "\n");
  // Test defaults, unless the test sets the key itself (YAML keeps the first of duplicate keys).
  auto dflt = [](const std::string& section, const std::string& key, const std::string& value) {
    return section.find(key + ":") == std::string::npos ? "  " + key + ": " + value + "\n" : "";
  };
  std::string yaml =
      "server:\n  listen: 127.0.0.1:" + std::to_string(port_) +
      "\n  tokenFile: " + dir_.file("token") + "\n" + dflt(o.server_yaml, "threads", "32") +
      dflt(o.server_yaml, "shutdownGraceSeconds", "1") + o.server_yaml + "limits:\n" +
      dflt(o.limits_yaml, "executionTimeoutSeconds", "30") + o.limits_yaml +
      "provider:\n  type: " + o.provider_type + "\n  endpoint: " + o.provider_endpoint +
      "\n  model: fake\n" + dflt(o.provider_yaml, "connectTimeoutMs", "500") +
      dflt(o.provider_yaml, "readTimeoutMs", "10000") +
      dflt(o.provider_yaml, "backoffInitialMs", "20") +
      dflt(o.provider_yaml, "backoffMaxMs", "200") + o.provider_yaml + "agent:\n  name: " + o.name +
      "\n" + o.agent_yaml + o.extra_yaml;
  write_file(dir_.file("config.yaml"), yaml);
  log_ = dir_.file("sidecar.log");
  Process::Options po;
  po.argv = {AGENTRY_SIDECAR_BIN, "--config", dir_.file("config.yaml")};
  po.log_path = log_;
  po.env = o.env;
  proc_ = Process(po);
  std::string err;
  if (!proc_.start(&err)) throw std::runtime_error("sidecar: " + err);
  if (!wait_for_port(port_, std::chrono::seconds(10)))
    throw std::runtime_error("sidecar did not listen:\n" + proc_.log_tail() + "\nconfig:\n" + yaml);
}

httplib::Client Sidecar::client(int read_timeout_s) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(read_timeout_s, 0);
  c.set_connection_timeout(2, 0);
  return c;
}

httplib::Result Sidecar::post_execution(const json& body, const std::string& query,
                                        httplib::Headers extra) const {
  auto c = client(60);
  auto h = auth();
  for (auto& kv : extra) h.insert(kv);
  return c.Post(("/v1/executions" + query).c_str(), h, body.dump(), "application/json");
}

httplib::Result Sidecar::get(const std::string& path) const {
  auto c = client(60);
  return c.Get(path.c_str(), auth());
}

std::vector<std::pair<std::string, json>> sse_events(const std::string& body) {
  std::vector<std::pair<std::string, json>> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string frame = body.substr(pos, end - pos);
    pos = end + 2;
    std::string event, data;
    size_t nl = frame.find('\n');
    if (frame.rfind("event: ", 0) == 0) event = frame.substr(7, nl - 7);
    size_t d = frame.find("data: ");
    if (d != std::string::npos) data = frame.substr(d + 6);
    out.emplace_back(event, json::parse(data, nullptr, false));
  }
  return out;
}

bool is_terminal_state(const std::string& s) {
  return s == "succeeded" || s == "failed" || s == "cancelled" || s == "timed_out";
}

json Sidecar::wait_terminal(const std::string& id, std::chrono::milliseconds timeout) const {
  json last;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = get("/v1/executions/" + id + "?wait=1s");
    if (r && r->status == 200) {
      last = json::parse(r->body);
      if (is_terminal_state(last.value("state", ""))) return last;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return last;
}

}  // namespace agentry::testing
