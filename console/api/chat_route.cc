// POST /api/v1/agents/{ns}/{name}/chat {"input", "sessionId"?}: the agent's streamed answer as
// the sidecar sends it (SSE: execution, delta, tool_call, done), proxied. The caller must be
// allowed to get the Agent and to read its token Secret (as kubectl would need to call the
// sidecar); the token is read as the caller and never leaves the console.
#include "common/json_io.h"
#include "common/log.h"
#include "console/api/console_api.h"
#include "console/api/sidecar_target.h"
#include "console/app/console_metrics.h"
#include "sidecar/api/errors.h"
#include "sidecar/exec/providers/client_pool.h"

namespace agentry::console {
namespace {

using json = nlohmann::json;
using sidecar::api::send_status;

std::string sse(const std::string& event, const json& data) {
  return "event: " + event + "\ndata: " + json_io::dump(data) + "\n\n";
}

}  // namespace

void mount_chat_route(sidecar::Router& r, ConsoleApi& api) {
  r.Post(
      "/api/v1/agents/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)/chat",
      [&api](const httplib::Request& req, httplib::Response& out) {
        const std::string ns = req.matches[1], name = req.matches[3];
        auto who = caller(api, req);
        if (!who.ok()) return send_status(out, who.status());
        auto body = json_io::parse(req.body);
        if (!body.ok()) return send_status(out, body.status());
        if (!body->is_object() || !body->contains("input") || !(*body)["input"].is_string() ||
            (*body)["input"].get<std::string>().empty())
          return send_status(out, invalid_argument("input: required (a non-empty string)"));
        json upstream = {{"input", (*body)["input"]}, {"stream", true}};
        if (body->contains("sessionId")) {
          if (!(*body)["sessionId"].is_string())
            return send_status(out, invalid_argument("sessionId: want a string"));
          upstream["sessionId"] = (*body)["sessionId"];
        }
        auto target = sidecar_target(api, *who, ns, name, "chat with");
        if (!target.ok()) return send_status(out, target.status());
        const std::string token = target->token;
        auto slot = stream_slot(api, *who, "chat");
        if (!slot.ok()) return send_status(out, slot.status(), 5);
        std::shared_ptr<void> held = *slot;
        const int read_ms = static_cast<int>(api.opts.chat_timeout.count() * 1000);
        sidecar::PoolOptions po;
        po.read_timeout_ms = read_ms;
        po.max_idle = 0;
        auto pool = std::make_shared<sidecar::ClientPool>(target->endpoint, po);
        const std::string payload = json_io::dump(upstream);
        const std::string who_user = who->user;
        out.status = 200;
        out.set_header("Cache-Control", "no-cache");
        out.set_chunked_content_provider("text/event-stream", [pool, payload, token, who_user, held,
                                                               ns, name](size_t,
                                                                         httplib::DataSink& sink) {
          OpenStream open("chat");
          auto& chats = console_metrics().chats;
          bool client_left = false;
          auto r =
              pool->request("POST", "/v1/executions", payload,
                            {{"Authorization", "Bearer " + token}, {"Accept", "text/event-stream"}},
                            nullptr, [&](const char* d, size_t n) {
                              if (sink.write(d, n)) return true;
                              client_left = true;
                              return false;
                            });
          if (client_left) {
            chats.Add({{"result", "left"}}).Increment();
            return false;
          }
          chats.Add({{"result", r.status >= 200 && r.status < 300 ? "ok" : "failed"}}).Increment();
          if (r.status < 200 || r.status >= 300) {
            std::string message = "the agent's sidecar did not answer";
            if (r.status != 0) {
              auto j = json_io::parse(r.body);
              message = "the agent's sidecar answered " + std::to_string(r.status);
              if (j.ok() && j->is_object() && j->contains("error") && (*j)["error"].is_object() &&
                  (*j)["error"].contains("message") && (*j)["error"]["message"].is_string())
                message += ": " + (*j)["error"]["message"].get<std::string>();
            } else if (!r.error_text.empty()) {
              message += ": " + r.error_text;
            }
            log::warn("chat failed",
                      {{"agent", ns + "/" + name}, {"user", who_user}, {"error", message}});
            std::string f = sse("error", {{"code", "unavailable"}, {"message", message}});
            sink.write(f.data(), f.size());
          }
          sink.done();
          return true;
        });
      });
}

}  // namespace agentry::console
