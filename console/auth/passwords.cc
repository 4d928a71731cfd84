#include "console/auth/passwords.h"

#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>

namespace agentry::console {
namespace {

constexpr size_t kMaxPassword = 4096;

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

bool is_accepted_hash(std::string_view h) {
  if (h.size() < 20 || h.size() > CRYPT_OUTPUT_SIZE) return false;
  return starts_with(h, "$y$") || starts_with(h, "$gy$") || starts_with(h, "$7$") ||
         starts_with(h, "$2b$") || starts_with(h, "$2y$");
}

Result<std::string> hash_password(std::string_view password, std::string_view prefix) {
  if (prefix != "$y$" && prefix != "$7$" && prefix != "$2b$")
    return invalid_argument("password scheme " + std::string(prefix) + ": want $y$, $7$ or $2b$");
  if (password.size() > kMaxPassword || password.find('\0') != std::string_view::npos)
    return invalid_argument("a password is at most 4096 bytes and has no NUL byte");
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // count 0: the library's default cost for the scheme; rbytes null: it reads the OS's random.
  if (!crypt_gensalt_rn(std::string(prefix).c_str(), 0, nullptr, 0, salt, sizeof salt))
    return internal_error("crypt_gensalt failed for " + std::string(prefix));
  auto data = std::make_unique<crypt_data>();
  const std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), salt, data.get(), sizeof *data);
  if (!out || out[0] == '*') return internal_error("crypt failed for " + std::string(prefix));
  return std::string(out);
}

bool password_matches(std::string_view password, const std::string& hash) {
  if (!is_accepted_hash(hash) || password.size() > kMaxPassword ||
      password.find('\0') != std::string_view::npos)
    return false;
  auto data = std::make_unique<crypt_data>();
  const std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (!out || out[0] == '*') return false;
  const std::string_view got(out);
  return got.size() == hash.size() && CRYPTO_memcmp(got.data(), hash.data(), got.size()) == 0;
}

}  // namespace agentry::console
