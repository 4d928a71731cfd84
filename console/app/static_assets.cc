#include "console/app/static_assets.h"

#include <zlib.h>

#include <cstdio>

#include "operator/controllers/agent_render.h"

namespace agentry::console {
namespace {

std::string content_type(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string e(s);
    return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// gzip (RFC 1952) at the best level; "" when it fails or does not make the body smaller.
std::string gzip(std::string_view in) {
  z_stream z{};
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    return "";
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t n = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END || n >= in.size()) return "";
  out.resize(n);
  return out;
}

bool is_text(const std::string& type) {
  return type.rfind("text/", 0) == 0 || type == "image/svg+xml" || type == "application/json";
}

}  // namespace

StaticAssets::StaticAssets(std::span<const EmbeddedFile> files) {
  // One version for the whole set: modules import each other by relative URL (./api.js), so they
  // must share a folder, and a change to any file moves them all.
  std::string index_html, all;
  for (const auto& f : files) {
    if (f.name == "index.html") continue;
    all.append(f.name).append(1, '\0').append(f.data).append(1, '\0');
  }
  const std::string version = controllers::sha256_hex(all).substr(0, 12);
  for (const auto& f : files) {
    std::string name(f.name);
    if (name == "index.html") {
      index_html = std::string(f.data);
      continue;
    }
    const std::string url = "/assets/" + version + "/" + name;
    Asset a{content_type(name), std::string(f.data), ""};
    if (is_text(a.type)) a.gzip = gzip(a.plain);
    urls_[name] = url;
    by_url_[url] = std::move(a);
  }
  // {{asset:NAME}} -> the asset's URL.
  std::string out;
  for (size_t i = 0; i < index_html.size();) {
    size_t open = index_html.find("{{asset:", i);
    if (open == std::string::npos) {
      out += index_html.substr(i);
      break;
    }
    size_t close = index_html.find("}}", open);
    if (close == std::string::npos) {
      out += index_html.substr(i);
      break;
    }
    out += index_html.substr(i, open - i);
    out += url_of(index_html.substr(open + 8, close - open - 8));
    i = close + 2;
  }
  index_ = Asset{"text/html; charset=utf-8", out, gzip(out)};
}

std::string StaticAssets::url_of(const std::string& name) const {
  auto it = urls_.find(name);
  return it == urls_.end() ? "" : it->second;
}

void StaticAssets::send(const Asset& a, const httplib::Request& req, httplib::Response& res,
                        const char* cache_control) {
  res.status = 200;
  res.set_header("Cache-Control", cache_control);
  res.set_header("Vary", "Accept-Encoding");
  if (!a.gzip.empty() &&
      req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(a.gzip, a.type.c_str());
  } else {
    res.set_content(a.plain, a.type.c_str());
  }
}

void StaticAssets::mount(sidecar::Router& router) const {
  router.Get(
      "/assets/[0-9a-f]{12}/[A-Za-z0-9._-]+",
      [this](const httplib::Request& req, httplib::Response& res) {
        auto it = by_url_.find(req.path);
        if (it == by_url_.end()) {
          res.status = 404;
          res.set_content("not found\n", "text/plain");
          return;
        }
        send(it->second, req, res, "public, max-age=31536000, immutable");
      },
      sidecar::non_blocking);
  auto index = [this](const httplib::Request& req, httplib::Response& res) {
    send(index_, req, res, "no-cache");
  };
  router.Get("/", index, sidecar::non_blocking);
  router.Get("/(login|agents|workflows|policies|create)(/[A-Za-z0-9._/-]*)?", index,
             sidecar::non_blocking);
}

}  // namespace agentry::console
