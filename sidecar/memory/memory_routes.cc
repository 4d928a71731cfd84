#include "sidecar/memory/memory_routes.h"

#include <cfloat>
#include <charconv>
#include <cmath>
#include <ctime>

#include "common/http_util.h"
#include "common/json_io.h"
#include "sidecar/api/errors.h"

namespace agentry::memory {
namespace {

using nlohmann::json;
using sidecar::api::send_status;

void bad(httplib::Response& res, const std::string& msg) {
  http::send_error(res, 400, msg.rfind("body", 0) == 0 ? "invalid_json" : "invalid_argument", msg);
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

bool unhex(const std::string& s, std::string* out) {
  if (s.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, v, 16);
    if (ec != std::errc() || p != s.data() + i + 2) return false;
    out->push_back(static_cast<char>(v));
  }
  return true;
}

// A string->string map from JSON; false (with *why) for anything else.
bool string_map(const json& j, std::map<std::string, std::string>* out, std::string* why,
                const char* what) {
  if (!j.is_object()) {
    *why = std::string(what) + " must be an object of strings";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) {
      *why = std::string(what) + "." + it.key() + " must be a string";
      return false;
    }
    (*out)[it.key()] = it.value().get<std::string>();
  }
  return true;
}

bool vector_of(const json& j, Vector* out, std::string* why, const char* what) {
  if (!j.is_array() || j.empty()) {
    *why = std::string(what) + " must be a non-empty array of numbers";
    return false;
  }
  out->reserve(j.size());
  for (const auto& x : j) {
    // A double past float's range would be undefined behaviour to convert.
    if (!x.is_number() || !std::isfinite(x.get<double>()) || std::fabs(x.get<double>()) > FLT_MAX) {
      *why = std::string(what) + " must be a non-empty array of finite numbers";
      return false;
    }
    out->push_back(x.get<float>());
  }
  return true;
}

bool parse_entry(const json& j, NewEntry* e, std::string* why) {
  if (!j.is_object()) {
    *why = "an entry must be a JSON object";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    const json& v = it.value();
    auto str = [&](std::string* dst) {
      if (!v.is_string()) {
        *why = k + " must be a string";
        return false;
      }
      *dst = v.get<std::string>();
      return true;
    };
    if (k == "text") {
      if (!str(&e->text)) return false;
    } else if (k == "session") {
      if (!str(&e->session)) return false;
    } else if (k == "id") {
      if (!str(&e->id)) return false;
    } else if (k == "agent") {
      if (!str(&e->agent)) return false;
    } else if (k == "kind") {
      auto kind = v.is_string() ? parse_kind(v.get<std::string>()) : std::nullopt;
      if (!kind) {
        *why = "kind must be \"fact\" or \"exchange\"";
        return false;
      }
      e->kind = *kind;
    } else if (k == "metadata") {
      if (!string_map(v, &e->metadata, why, "metadata")) return false;
    } else if (k == "embedding") {
      Vector vec;
      if (!vector_of(v, &vec, why, "embedding")) return false;
      e->embedding = std::move(vec);
    } else if (k == "ttl") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {  // the range: MemoryService
        *why = "ttl must be a whole number of seconds >= 0";
        return false;
      }
      e->ttl_s = v.get<int64_t>();
    } else {
      *why = "unknown field " + k;
      return false;
    }
  }
  if (!j.contains("text")) {
    *why = "text is required";
    return false;
  }
  return true;
}

// Runs a route's body, answering 400 for JSON it could not read.
template <typename F>
void guarded(httplib::Response& res, F&& fn) {
  try {
    fn();
  } catch (const json::exception& e) {
    bad(res, std::string("bad JSON: ") + e.what());
  }
}

}  // namespace

json entry_json(const Entry& e) {
  json j = {{"id", e.id},
            {"kind", kind_name(e.kind)},
            {"agent", e.agent},
            {"session", e.session},
            {"text", e.text},
            {"metadata", e.metadata},
            {"createdAt", rfc3339_ms(e.created_ms)}};
  if (e.expires_ms) j["expiresAt"] = rfc3339_ms(e.expires_ms);
  if (!e.embedding.empty()) j["embedding"] = e.embedding;
  return j;
}

namespace {

// The entries of a POST /v1/memory (one entry, or {"entries": [...]}); false when res already holds
// the 400.
bool parse_add(const httplib::Request& req, httplib::Response& res, std::vector<NewEntry>* entries,
               bool* batch) {
  bool ok = false;
  guarded(res, [&] {
    auto parsed = json_io::parse(req.body);
    if (!parsed.ok()) return bad(res, "body: " + parsed.status().message());
    json& j = *parsed;
    *batch = j.is_object() && j.contains("entries");
    std::string why;
    if (*batch) {
      if (!j["entries"].is_array()) return bad(res, "entries must be an array");
      for (const auto& x : j["entries"]) {
        NewEntry e;
        if (!parse_entry(x, &e, &why)) return bad(res, why);
        entries->push_back(std::move(e));
      }
    } else {
      NewEntry e;
      if (!parse_entry(j, &e, &why)) return bad(res, why);
      entries->push_back(std::move(e));
    }
    ok = true;
  });
  return ok;
}

void answer_add(httplib::Response& res, const Result<std::vector<Entry>>& r, bool batch) {
  guarded(res, [&] {
    if (!r.ok()) return send_status(res, r.status());
    res.status = 201;
    if (batch) {
      json arr = json::array();
      for (const auto& e : r.value()) arr.push_back(entry_json(e));
      res.set_content(json_io::dump(json{{"entries", std::move(arr)}}), "application/json");
    } else {
      res.set_content(json_io::dump(entry_json(r->front())), "application/json");
    }
  });
}

}  // namespace

namespace {

// POST /v1/memory/search
void search_route(MemoryService& memory, const httplib::Request& req, httplib::Response& res) {
  guarded(res, [&] {
    auto parsed = json_io::parse(req.body);
    if (!parsed.ok()) return bad(res, "body: " + parsed.status().message());
    const json& j = *parsed;
    if (!j.is_object()) return bad(res, "body must be a JSON object");
    SearchRequest sr;
    std::string why;
    for (auto it = j.begin(); it != j.end(); ++it) {
      const auto& k = it.key();
      const json& v = it.value();
      if (k == "query") {
        if (!v.is_string()) return bad(res, "query must be a string");
        sr.query = v.get<std::string>();
      } else if (k == "vector") {
        Vector vec;
        if (!vector_of(v, &vec, &why, "vector")) return bad(res, why);
        sr.vector = std::move(vec);
      } else if (k == "k") {
        if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 100000)
          return bad(res, "k must be a whole number >= 1");
        sr.k = v.get<size_t>();
      } else if (k == "minScore") {
        if (!v.is_number() || !(v.get<double>() >= -1 && v.get<double>() <= 1))
          return bad(res, "minScore must be a number in [-1, 1]");
        sr.min_score = v.get<float>();
      } else if (k == "session") {
        if (!v.is_string()) return bad(res, "session must be a string");
        sr.filter.session = v.get<std::string>();
      } else if (k == "kind") {
        sr.filter.kind = v.is_string() ? parse_kind(v.get<std::string>()) : std::nullopt;
        if (!sr.filter.kind) return bad(res, "kind must be \"fact\" or \"exchange\"");
      } else if (k == "filter") {
        if (!string_map(v, &sr.filter.metadata, &why, "filter")) return bad(res, why);
      } else if (k == "agent") {
        if (!v.is_string()) return bad(res, "agent must be a string");
        sr.agent = v.get<std::string>();
      } else {
        return bad(res, "unknown field " + k);
      }
    }
    auto r = memory.search(std::move(sr));
    if (!r.ok()) return send_status(res, r.status());
    json hits = json::array();
    for (const auto& h : r->hits) {
      json e = entry_json(h.entry);
      e["score"] = h.score;
      hits.push_back(std::move(e));
    }
    json out = {{"results", std::move(hits)}, {"exact", r->exact}, {"tookMs", r->took_ms}};
    res.set_content(json_io::dump(out), "application/json");
  });
}

// GET /v1/memory: a page of entries, and the stats.
void list_route(MemoryService& memory, const httplib::Request& req, httplib::Response& res) {
  guarded(res, [&] {
    size_t limit = 100;
    if (req.has_param("limit")) {
      auto v = json_io::parse_int(req.get_param_value("limit"), "limit", 1, 1000);
      if (!v.ok()) return bad(res, v.status().message());
      limit = static_cast<size_t>(*v);
    }
    std::string after;
    if (req.has_param("continue") && !unhex(req.get_param_value("continue"), &after))
      return bad(res, "continue token is not one this server issued");
    Filter filter;
    if (req.has_param("session")) filter.session = req.get_param_value("session");
    if (req.has_param("kind")) {
      filter.kind = parse_kind(req.get_param_value("kind"));
      if (!filter.kind) return bad(res, "kind must be fact or exchange");
    }
    auto r = memory.list(req.get_param_value("agent"), filter, limit, after);
    if (!r.ok()) return send_status(res, r.status());
    json items = json::array();
    for (const auto& e : r->items) items.push_back(entry_json(e));
    json out = {{"items", std::move(items)}};
    if (!r->last_id.empty()) out["continue"] = hex(r->last_id);
    // Counts per kind, bounds, fill and evictions (the operator reads these for the
    // Agent's status).
    out["stats"] = memory.stats();
    res.set_content(json_io::dump(out), "application/json");
  });
}

// GET /v1/memory/{id}
void get_route(MemoryService& memory, const httplib::Request& req, httplib::Response& res) {
  guarded(res, [&] {
    bool with = req.get_param_value("embedding") == "true";
    auto r = memory.get(req.get_param_value("agent"), req.matches[1], with);
    if (!r.ok()) return send_status(res, r.status());
    res.set_content(json_io::dump(entry_json(r.value())), "application/json");
  });
}

}  // namespace

void mount_memory_routes(sidecar::Router& server, MemoryService& memory) {
  // Reads are served from the in-process index and store. A text query needs an embedding, which
  // leaves the process when the embedder is the provider: then it runs on a worker.
  const bool local_embedder = !memory.embedder().may_block();
  sidecar::MayBlock search_blocks = local_embedder ? sidecar::non_blocking : sidecar::blocking;
  server.Post(
      "/v1/memory/search",
      [&memory](const httplib::Request& req, httplib::Response& res) {
        search_route(memory, req, res);
      },
      search_blocks);
  // Writes wait for the group commit. With the local embedder nothing else blocks, so the request
  // waits without holding a thread (the committer answers it); a provider embedder is an HTTP
  // call, so there the route runs on a worker.
  if (local_embedder) {
    server.PostAsync("/v1/memory", [&memory](const httplib::Request& req, httplib::Response& res,
                                             const sidecar::Reply& reply) {
      bool batch = false;
      std::vector<NewEntry> entries;
      if (!parse_add(req, res, &entries, &batch)) return reply.send();
      memory.add_async(std::move(entries), [&res, reply, batch](Result<std::vector<Entry>> r) {
        answer_add(res, r, batch);
        reply.send();
      });
    });
  } else {
    server.Post("/v1/memory", [&memory](const httplib::Request& req, httplib::Response& res) {
      bool batch = false;
      std::vector<NewEntry> entries;
      if (!parse_add(req, res, &entries, &batch)) return;
      answer_add(res, memory.add(std::move(entries)), batch);
    });
  }
  server.Get(
      "/v1/memory",
      [&memory](const httplib::Request& req, httplib::Response& res) {
        list_route(memory, req, res);
      },
      sidecar::non_blocking);
  server.Get(
      "/v1/memory/(.+)",
      [&memory](const httplib::Request& req, httplib::Response& res) {
        get_route(memory, req, res);
      },
      sidecar::non_blocking);
  server.Delete("/v1/memory/(.+)", [&memory](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      auto s = memory.remove(req.get_param_value("agent"), req.matches[1]);
      if (!s) return send_status(res, s);
      res.status = 204;
    });
  });
}

}  // namespace agentry::memory
