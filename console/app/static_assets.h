// The web UI's files, served from the binary (ui/, embedded at build time by
// cmake/EmbedFiles.cmake): each asset at /assets/<VERSION>/<name>, VERSION the first 12 hex of
// the SHA-256 of every asset (so modules import each other by relative URL), cached for a year
// (immutable: any changed file moves them all to a new URL), gzip-compressed once at start for
// clients that accept it; index.html at / and at every path of the UI's own (/agents/...,
// /workflows/...), never cached, with `{{asset:NAME}}` in it replaced by that asset's URL.
//
// Built once, then read-only: thread-safe.
#pragma once

#include <map>
#include <span>
#include <string>

#include "common/embedded_file.h"
#include "sidecar/api/router.h"

namespace agentry::console {

class StaticAssets {
 public:
  explicit StaticAssets(std::span<const EmbeddedFile> files);

  // GET / and the UI's paths (index.html), GET /assets/... (the rest).
  void mount(sidecar::Router& router) const;
  // The hashed URL of an asset ("" if there is none of that name).
  std::string url_of(const std::string& name) const;

 private:
  struct Asset {
    std::string type;
    std::string plain;
    std::string gzip;  // empty when compressing would not pay
  };
  static void send(const Asset& a, const httplib::Request& req, httplib::Response& res,
                   const char* cache_control);

  std::map<std::string, std::string> urls_;  // name -> /assets/HASH/name
  std::map<std::string, Asset> by_url_;
  Asset index_;
};

}  // namespace agentry::console
