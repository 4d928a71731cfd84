// GET /api/v1/watch?since=REV&kinds=agent,workflow,policy: Server-Sent Events of the changes the
// caller may list (event `change`: {revision, kind, type, object}; `object` is the list row of
// api/views.h), from revision REV (the `revision` of a list) on. A caller too far behind gets
// `resync` (list again, then watch from the new revision) and the stream ends. A comment line
// every watch_keepalive keeps proxies from closing an idle stream.
#include "common/json_io.h"
#include "console/api/console_api.h"
#include "console/app/console_metrics.h"
#include "sidecar/api/errors.h"

namespace agentry::console {
namespace {

using json = nlohmann::json;
using sidecar::api::send_status;
namespace res = kube::resources;

const kube::Resource* resource_of(const std::string& kind) {
  if (kind == "agent") return &res::kAgents;
  if (kind == "workflow") return &res::kWorkflows;
  if (kind == "policy") return &res::kAgentPolicies;
  return nullptr;
}

}  // namespace

void mount_watch_route(sidecar::Router& r, ConsoleApi& api) {
  r.Get("/api/v1/watch", [&api](const httplib::Request& req, httplib::Response& out) {
    auto who = caller(api, req);
    if (!who.ok()) return send_status(out, who.status());
    uint64_t since = api.catalog.feed().head();
    if (req.has_param("since")) {
      auto s = json_io::parse_int(req.get_param_value("since"), "since", 0, INT64_MAX);
      if (!s.ok()) return send_status(out, s.status());
      since = static_cast<uint64_t>(*s);
    }
    std::set<std::string> kinds = {"agent", "workflow", "policy"};
    if (req.has_param("kinds")) {
      kinds.clear();
      std::string k = req.get_param_value("kinds");
      for (size_t start = 0; start <= k.size();) {
        size_t comma = std::min(k.find(',', start), k.size());
        std::string one = k.substr(start, comma - start);
        if (!resource_of(one))
          return send_status(
              out, invalid_argument("kinds: " + one + " is not agent, workflow or policy"));
        kinds.insert(one);
        start = comma + 1;
      }
    }
    auto slot = stream_slot(api, *who, "watch");
    if (!slot.ok()) return send_status(out, slot.status(), 5);
    out.status = 200;
    out.set_header("Cache-Control", "no-cache");
    auto next = std::make_shared<uint64_t>(since);
    std::shared_ptr<void> held = *slot;  // given back when the provider is dropped
    auto sent_hello = std::make_shared<bool>(false);
    auto open = std::make_shared<OpenStream>("watch");  // down when the provider is dropped
    Identity me = *who;
    out.set_chunked_content_provider("text/event-stream", [&api, next, sent_hello, me, kinds, open,
                                                           held](size_t, httplib::DataSink& sink) {
      if (!*sent_hello) {
        *sent_hello = true;
        std::string f = "event: hello\ndata: " + json_io::dump({{"revision", *next}}) + "\n\n";
        if (!sink.write(f.data(), f.size())) return false;
      }
      auto batch = api.catalog.feed().since(*next, api.opts.watch_keepalive);
      if (batch.stopped && batch.changes.empty()) {
        sink.done();
        return true;
      }
      if (batch.lost) {
        std::string f = "event: resync\ndata: {}\n\n";
        sink.write(f.data(), f.size());
        sink.done();
        return true;
      }
      if (batch.changes.empty()) {
        static const std::string kKeepAlive = ": keep-alive\n\n";
        return sink.write(kKeepAlive.data(), kKeepAlive.size());
      }
      for (const auto& c : batch.changes) {
        *next = c.revision;
        if (!kinds.count(c.kind)) continue;
        auto may = api.access.allowed(me, "list", *resource_of(c.kind), c.ns);
        if (!may.ok() || !*may) continue;
        std::string f = "event: change\ndata: " +
                        json_io::dump({{"revision", c.revision},
                                       {"kind", c.kind},
                                       {"type", c.type},
                                       {"object", c.object}}) +
                        "\n\n";
        if (!sink.write(f.data(), f.size())) return false;
      }
      return true;
    });
  });
}

}  // namespace agentry::console
