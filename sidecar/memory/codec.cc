#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "sidecar/memory/types.h"

namespace agentry::memory {
namespace {

template <typename T>
void put_raw(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& out, const std::string& s) {
  put_raw<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view d;
  bool ok = true;
  template <typename T>
  T raw() {
    T v{};
    if (d.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, d.data(), sizeof v);
    d.remove_prefix(sizeof v);
    return v;
  }
  std::string str() {
    auto n = raw<uint32_t>();
    if (!ok || d.size() < n) {
      ok = false;
      return {};
    }
    std::string s(d.substr(0, n));
    d.remove_prefix(n);
    return s;
  }
};

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* kind_name(Kind k) {
  return k == Kind::kExchange ? "exchange" : "fact";
}

std::optional<Kind> parse_kind(std::string_view s) {
  if (s == "fact") return Kind::kFact;
  if (s == "exchange") return Kind::kExchange;
  return std::nullopt;
}

std::string rfc3339_ms(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string encode(const Op& op) {
  const Entry& e = op.entry;
  std::string out;
  out.reserve(64 + e.text.size() + e.embedding.size() * 4);
  put_raw<uint8_t>(out, 2);  // format version
  put_raw<uint8_t>(out, static_cast<uint8_t>(op.type));
  put_str(out, e.agent);
  put_str(out, e.id);
  if (op.type == Op::Type::kDelete) return out;
  put_str(out, e.session);
  put_str(out, e.text);
  put_raw<uint32_t>(out, static_cast<uint32_t>(e.metadata.size()));
  for (const auto& [k, v] : e.metadata) {
    put_str(out, k);
    put_str(out, v);
  }
  put_raw<int64_t>(out, e.created_ms);
  put_raw<int64_t>(out, e.expires_ms);
  put_raw<uint64_t>(out, e.rev);
  put_raw<uint32_t>(out, static_cast<uint32_t>(e.embedding.size()));
  out.append(reinterpret_cast<const char*>(e.embedding.data()), e.embedding.size() * sizeof(float));
  put_raw<uint8_t>(out, static_cast<uint8_t>(e.kind));
  return out;
}

Result<Op> decode(std::string_view data) {
  Reader r{data};
  Op op;
  const auto version = r.raw<uint8_t>();
  if ((version != 1 && version != 2) || !r.ok)
    return internal_error("memory record: unknown format");
  auto t = r.raw<uint8_t>();
  if (t != 1 && t != 2) return internal_error("memory record: unknown op");
  op.type = static_cast<Op::Type>(t);
  Entry& e = op.entry;
  e.agent = r.str();
  e.id = r.str();
  if (op.type == Op::Type::kPut) {
    e.session = r.str();
    e.text = r.str();
    auto n = r.raw<uint32_t>();
    for (uint32_t i = 0; r.ok && i < n; ++i) {
      auto k = r.str();
      e.metadata[k] = r.str();
    }
    e.created_ms = r.raw<int64_t>();
    e.expires_ms = r.raw<int64_t>();
    e.rev = r.raw<uint64_t>();
    auto dim = r.raw<uint32_t>();
    if (r.ok && r.d.size() >= dim * sizeof(float)) {
      e.embedding.resize(dim);
      // An empty vector's data() may be null, and memcpy from or to null is undefined even for
      // zero bytes (found by memory_records_fuzz).
      if (dim > 0) std::memcpy(e.embedding.data(), r.d.data(), dim * sizeof(float));
      r.d.remove_prefix(dim * sizeof(float));
    } else {
      r.ok = false;
    }
    if (version == 1) {
      auto k = e.metadata.find("kind");
      e.kind = k != e.metadata.end() && k->second == "exchange" ? Kind::kExchange : Kind::kFact;
    } else {
      auto k = r.raw<uint8_t>();
      if (k > 1) return internal_error("memory record: unknown kind");
      e.kind = static_cast<Kind>(k);
    }
  }
  if (!r.ok) return internal_error("memory record: truncated");
  return op;
}

}  // namespace agentry::memory
