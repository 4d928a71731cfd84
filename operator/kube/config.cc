#include "operator/kube/config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/file_io.h"

namespace agentry::kube {
namespace {

std::string resolve(const std::string& dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || dir.empty()) return p;
  return dir + "/" + p;
}

// Finds the entry named `name` in a kubeconfig list (clusters, users, contexts) and returns its
// inner map (cluster:, user:, context:).
YAML::Node find_named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& e : list) {
    if (e["name"] && e["name"].as<std::string>() == name) return e[inner];
  }
  return YAML::Node();
}

std::string str(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap() || !n[key] || n[key].IsNull()) return "";
  return n[key].as<std::string>();
}

// Value from "<field>-data" (base64) or "<field>" (a file path).
Status data_or_file(const YAML::Node& n, const std::string& field, const std::string& dir,
                    std::string* out) {
  std::string data = str(n, (field + "-data").c_str());
  if (!data.empty()) {
    auto d = base64_decode(data);
    if (!d.ok()) return invalid_argument(field + "-data: " + d.status().message());
    *out = std::move(*d);
    return ok_status();
  }
  std::string file = str(n, field.c_str());
  if (file.empty()) return ok_status();
  if (!read_file(resolve(dir, file), out)) {
    return invalid_argument(field + ": cannot read " + resolve(dir, file));
  }
  return ok_status();
}

}  // namespace

Result<Config> parse_kubeconfig(const std::string& text, const std::string& dir,
                                const std::string& context) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root || !root.IsMap()) return invalid_argument("kubeconfig: not a YAML map");
    std::string ctx_name = context.empty() ? str(root, "current-context") : context;
    if (ctx_name.empty()) return invalid_argument("kubeconfig: no current-context");
    YAML::Node ctx = find_named(root["contexts"], ctx_name, "context");
    if (!ctx) return invalid_argument("kubeconfig: context " + ctx_name + " not found");
    std::string cluster_name = str(ctx, "cluster");
    std::string user_name = str(ctx, "user");
    YAML::Node cluster = find_named(root["clusters"], cluster_name, "cluster");
    if (!cluster) return invalid_argument("kubeconfig: cluster " + cluster_name + " not found");
    Config cfg;
    cfg.server = str(cluster, "server");
    if (cfg.server.empty()) return invalid_argument("kubeconfig: cluster has no server");
    while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
    cfg.insecure_skip_tls_verify = str(cluster, "insecure-skip-tls-verify") == "true";
    cfg.tls_server_name = str(cluster, "tls-server-name");
    if (Status s = data_or_file(cluster, "certificate-authority", dir, &cfg.ca_pem); !s) return s;
    if (std::string ns = str(ctx, "namespace"); !ns.empty()) cfg.default_namespace = ns;
    YAML::Node user = find_named(root["users"], user_name, "user");
    if (user) {
      if (Status s = data_or_file(user, "client-certificate", dir, &cfg.client_cert_pem); !s) {
        return s;
      }
      if (Status s = data_or_file(user, "client-key", dir, &cfg.client_key_pem); !s) return s;
      cfg.token = str(user, "token");
      if (std::string tf = str(user, "tokenFile"); !tf.empty()) cfg.token_file = resolve(dir, tf);
      if (user["exec"] || user["auth-provider"]) {
        return invalid_argument("kubeconfig: exec and auth-provider credentials are not supported");
      }
    }
    return cfg;
  } catch (const std::exception& e) {
    return invalid_argument(std::string("kubeconfig: ") + e.what());
  }
}

Result<Config> load_kubeconfig(const std::string& path, const std::string& context) {
  std::string text;
  if (!read_file(path, &text)) return not_found("kubeconfig " + path + " cannot be read");
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  auto cfg = parse_kubeconfig(text, dir, context);
  if (!cfg.ok()) return Status(cfg.status().code(), path + ": " + cfg.status().message());
  return cfg;
}

Result<Config> in_cluster_config(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    return not_found("not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset");
  }
  Config cfg;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  cfg.server = "https://" + h + ":" + port;
  cfg.token_file = sa_dir + "/token";
  if (std::string probe; !read_file(cfg.token_file, &probe)) {
    return not_found("in-cluster: cannot read " + cfg.token_file);
  }
  if (!read_file(sa_dir + "/ca.crt", &cfg.ca_pem)) {
    return not_found("in-cluster: cannot read " + sa_dir + "/ca.crt");
  }
  std::string ns;
  if (read_file(sa_dir + "/namespace", &ns)) {
    while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ')) ns.pop_back();
    if (!ns.empty()) cfg.default_namespace = ns;
  }
  return cfg;
}

Result<Config> load_config(const std::string& flag) {
  if (!flag.empty()) return load_kubeconfig(flag);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string list = env;
    size_t start = 0;
    while (start <= list.size()) {
      size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      std::string p = list.substr(start, end - start);
      std::string probe;
      if (!p.empty() && read_file(p, &probe)) return load_kubeconfig(p);
      start = end + 1;
    }
  }
  if (std::getenv("KUBERNETES_SERVICE_HOST")) return in_cluster_config();
  if (const char* home = std::getenv("HOME"); home && *home) {
    std::string p = std::string(home) + "/.kube/config";
    std::string probe;
    if (read_file(p, &probe)) return load_kubeconfig(p);
  }
  return not_found(
      "no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not in a cluster");
}

}  // namespace agentry::kube
