#include "common/tls_trust.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>

#include "common/file_io.h"

namespace agentry::tls {
namespace {

thread_local std::string last_failure;

int record_failure(int preverify_ok, X509_STORE_CTX* ctx) {
  if (!preverify_ok) {
    last_failure = std::string("certificate verify failed: ") +
                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  }
  return preverify_ok;
}

}  // namespace

Result<std::shared_ptr<Trust>> Trust::system_roots() {
  X509_STORE* store = X509_STORE_new();
  if (!store || X509_STORE_set_default_paths(store) != 1) {
    if (store) X509_STORE_free(store);
    ERR_clear_error();
    return internal_error("cannot load the system's CA certificates");
  }
  return std::shared_ptr<Trust>(new Trust(store));
}

std::vector<X509*> parse_certs(const std::string& pem) {
  std::vector<X509*> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return out;
  while (X509* c = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.push_back(c);
  ERR_clear_error();  // the loop ends on a "no start line" error
  BIO_free(bio);
  return out;
}

Result<std::shared_ptr<Trust>> Trust::from_pem(const std::string& pem) {
  int added = 0;
  X509_STORE* store = X509_STORE_new();
  for (X509* cert : parse_certs(pem)) {
    if (store && X509_STORE_add_cert(store, cert) == 1) ++added;  // the store takes a reference
    X509_free(cert);
  }
  if (added == 0) {
    if (store) X509_STORE_free(store);
    return invalid_argument("no PEM certificate in the CA bundle");
  }
  return std::shared_ptr<Trust>(new Trust(store));
}

Result<std::shared_ptr<Trust>> Trust::from_file(const std::string& path) {
  std::string pem;
  if (!read_file(path, &pem)) return invalid_argument("cannot read CA bundle " + path);
  auto t = from_pem(pem);
  if (!t.ok()) return invalid_argument(t.status().message() + " " + path);
  return t;
}

Trust::~Trust() {
  X509_STORE_free(store_);
}

void Trust::apply(SSL_CTX* ctx, const std::string& name) const {
  SSL_CTX_set1_cert_store(ctx, store_);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_failure);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1) {
    ERR_clear_error();
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  }
}

void clear_last_failure() {
  last_failure.clear();
}

std::string describe(httplib::Error err) {
  std::string what = httplib::to_string(err);
  if (err == httplib::Error::SSLConnection && !last_failure.empty()) {
    what += " (" + last_failure + ")";
  }
  return what;
}

}  // namespace agentry::tls
