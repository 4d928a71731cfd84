// Server-certificate verification shared by every outgoing TLS connection of a process.
//
// httplib 0.11 verifies by itself, but it loads the system's default roots into every client's
// store, even when a CA bundle or store was given (so a kubeconfig's CA was not the only trust
// anchor), and parses those ~140 roots again for each connection (~1 MB each). Instead the trust
// anchors are parsed once here and OpenSSL checks chain and name during the handshake; callers
// turn httplib's own verification off and call apply() on each connection's SSL_CTX.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::tls {

class Trust {
 public:
  // The system's roots (OpenSSL's default paths, honouring SSL_CERT_FILE and SSL_CERT_DIR).
  static Result<std::shared_ptr<Trust>> system_roots();
  // Only the certificates of a PEM bundle (a kubeconfig's certificate-authority-data).
  static Result<std::shared_ptr<Trust>> from_pem(const std::string& pem);
  // Only the certificates of a PEM file (a provider's custom CA bundle).
  static Result<std::shared_ptr<Trust>> from_file(const std::string& path);
  ~Trust();
  Trust(const Trust&) = delete;
  Trust& operator=(const Trust&) = delete;

  // Makes ctx verify the peer's chain against these anchors and its name against `name`: an IP
  // literal must match an IP SAN, a host name a DNS SAN (as Go's crypto/tls does).
  void apply(SSL_CTX* ctx, const std::string& name) const;

 private:
  explicit Trust(X509_STORE* store) : store_(store) {}
  X509_STORE* store_;
};

// All certificates of a PEM bundle; the caller owns them (X509_free each).
std::vector<X509*> parse_certs(const std::string& pem);

// Clears the calling thread's record of the last verification failure; call before a request.
void clear_last_failure();
// httplib's error text, with why verification failed when that is what ended the handshake
// (the handshake runs on the thread that sends, so the reason is kept per thread).
std::string describe(httplib::Error err);

}  // namespace agentry::tls
