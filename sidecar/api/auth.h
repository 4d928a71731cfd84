// Bearer-token auth. The token comes from a file (the operator's Secret, mounted); it is re-read
// when the file changes (checked at most every few seconds) so a rotated Secret takes effect
// without a restart. Comparison is constant time: SHA-256 digests compared with CRYPTO_memcmp, so
// neither the content nor the length of the token leaks through timing.
#pragma once

#include <array>
#include <atomic>
#include <ctime>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentry::sidecar {

bool constant_time_equal(std::string_view a, std::string_view b);

class TokenAuth {
 public:
  static Result<std::unique_ptr<TokenAuth>> from_file(const std::string& path);
  // The value of an Authorization header: "Bearer <token>".
  bool check(std::string_view authorization) const;

 private:
  explicit TokenAuth(std::string path) : path_(std::move(path)) {}
  Status load();
  void maybe_reload() const;

  std::string path_;
  mutable std::shared_mutex mu_;
  std::array<unsigned char, 32> digest_{};
  mutable std::atomic<int64_t> next_check_ms_{0};
  mutable std::atomic<int64_t> mtime_ns_{0};
};

}  // namespace agentry::sidecar
