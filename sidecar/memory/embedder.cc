#include "sidecar/memory/embedder.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <string_view>

namespace agentry::memory {
namespace {

uint64_t fnv1a(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void add_feature(Vector& v, std::string_view f, uint64_t kind, float weight) {
  uint64_t h = fnv1a(f, kind);
  size_t bucket = static_cast<size_t>(h % v.size());
  float sign = (h >> 63) ? -1.0f : 1.0f;
  v[bucket] += sign * weight;
}

}  // namespace

bool l2_normalize(Vector& v) {
  double n = 0;
  for (float x : v) n += static_cast<double>(x) * x;
  if (n <= 0) return false;
  float inv = static_cast<float>(1.0 / std::sqrt(n));
  for (float& x : v) x *= inv;
  return true;
}

Vector LocalEmbedder::embed_one(const std::string& text) const {
  Vector v(static_cast<size_t>(dim_), 0.0f);
  std::vector<std::string> words;
  std::string cur;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      cur.push_back(static_cast<char>(std::tolower(c)));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  for (size_t i = 0; i < words.size(); ++i) {
    add_feature(v, words[i], 1, 1.0f);
    if (i + 1 < words.size()) add_feature(v, words[i] + " " + words[i + 1], 2, 0.7f);
    std::string padded = "<" + words[i] + ">";
    for (size_t j = 0; j + 3 <= padded.size(); ++j)
      add_feature(v, std::string_view(padded).substr(j, 3), 3, 0.35f);
  }
  l2_normalize(v);
  return v;
}

Result<std::vector<Vector>> LocalEmbedder::embed(const std::vector<std::string>& texts) {
  std::vector<Vector> out;
  out.reserve(texts.size());
  for (const auto& t : texts) out.push_back(embed_one(t));
  return out;
}

Result<std::vector<Vector>> FunctionEmbedder::embed(const std::vector<std::string>& texts) {
  auto r = fn_(texts);
  if (!r.ok()) return r.status();
  if (r->size() != texts.size())
    return Status(Code::kInternal,
                  "embedder returned " + std::to_string(r->size()) + " vectors for " +
                      std::to_string(texts.size()) + " texts",
                  502);
  for (auto& v : r.value()) {
    if (static_cast<int>(v.size()) != dim_)
      return Status(Code::kInternal,
                    "embedder returned dimension " + std::to_string(v.size()) + ", want " +
                        std::to_string(dim_),
                    502);
    l2_normalize(v);
  }
  return r;
}

}  // namespace agentry::memory
