// Where the API server is and how to authenticate: kubeconfig files and in-cluster config.
//
// load_config() follows controller-runtime's order: --kubeconfig, $KUBECONFIG (first existing
// file of the list; no merging), in-cluster (KUBERNETES_SERVICE_HOST set), ~/.kube/config.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::kube {

struct Config {
  std::string server;  // https://host:port (http:// works too, e.g. kubectl proxy)
  std::string ca_pem;  // PEM bundle; empty: the system roots
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;       // static bearer token
  std::string token_file;  // bearer token re-read at least every minute (projected SA tokens)
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;  // name the server's certificate must carry; empty: the host
  std::string default_namespace = "default";
  // Client-side rate limit (client-go's 5/10 is far too low for an operator with many kinds).
  double qps = 50;
  int burst = 100;
  std::chrono::seconds timeout{30};  // per request (not watches)
  // Idle connections kept for reuse. Each costs ~100 KB (httplib's SSLClient owns an SSL_CTX);
  // fewer than the requests in flight means a TLS handshake per extra request on both sides.
  size_t max_idle_connections = 4;
  std::string user_agent = "agentry-operator";
  // Every request is made as this user (Impersonate-User and Impersonate-Group headers): the
  // API server authorizes it as that user, after checking the client may impersonate. Empty: as
  // the client's own identity.
  std::string impersonate_user;
  std::vector<std::string> impersonate_groups;
};

// Parses a kubeconfig file; context "" means current-context. Relative file paths in it are
// resolved against the file's directory.
Result<Config> load_kubeconfig(const std::string& path, const std::string& context = "");
// The same from YAML text (dir resolves relative paths).
Result<Config> parse_kubeconfig(const std::string& yaml, const std::string& dir,
                                const std::string& context = "");
// In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service-account token, ca.crt and namespace.
Result<Config> in_cluster_config(
    const std::string& sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount");
Result<Config> load_config(const std::string& kubeconfig_flag = "");

}  // namespace agentry::kube
