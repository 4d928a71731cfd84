#include "sidecar/api/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

#include "common/file_io.h"
#include "common/log.h"

namespace agentry::sidecar {
namespace {

std::array<unsigned char, 32> digest(std::string_view s) {
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up on every digest, which cost
  // as much as the hash itself on every request.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, 32> d{};
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &len, kSha256 ? kSha256 : EVP_sha256(), nullptr);
  return d;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t file_mtime_ns(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

constexpr int64_t kReloadCheckMs = 5000;

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  auto da = digest(a), db = digest(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

Result<std::unique_ptr<TokenAuth>> TokenAuth::from_file(const std::string& path) {
  std::unique_ptr<TokenAuth> a(new TokenAuth(path));
  if (auto s = a->load(); !s.is_ok()) return s;
  return a;
}

Status TokenAuth::load() {
  std::string token;
  if (!read_file(path_, &token)) return invalid_argument("server.tokenFile: cannot read " + path_);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.size() < 16)
    return invalid_argument("server.tokenFile: token shorter than 16 characters");
  std::unique_lock<std::shared_mutex> lock(mu_);
  digest_ = digest(token);
  mtime_ns_ = file_mtime_ns(path_);
  return ok_status();
}

void TokenAuth::maybe_reload() const {
  int64_t now = now_ms();
  int64_t due = next_check_ms_.load(std::memory_order_relaxed);
  if (now < due || !next_check_ms_.compare_exchange_strong(due, now + kReloadCheckMs)) return;
  int64_t m = file_mtime_ns(path_);
  if (m <= 0 || m == mtime_ns_.load()) return;
  auto s = const_cast<TokenAuth*>(this)->load();
  if (s.is_ok())
    log::info("API token reloaded", {{"file", path_}});
  else
    log::error("API token reload failed; keeping the old token", {{"error", s.message()}});
}

bool TokenAuth::check(std::string_view authorization) const {
  maybe_reload();
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size() || authorization.substr(0, kPrefix.size()) != kPrefix)
    return false;
  auto given = digest(authorization.substr(kPrefix.size()));
  std::shared_lock<std::shared_mutex> lock(mu_);
  return CRYPTO_memcmp(given.data(), digest_.data(), given.size()) == 0;
}

}  // namespace agentry::sidecar
