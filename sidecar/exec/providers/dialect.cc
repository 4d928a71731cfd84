#include "sidecar/exec/providers/dialect.h"

namespace agentry::sidecar {
namespace {

// Runs f; a json exception (a value of an unexpected type in the provider's answer) becomes the
// dialect's error, as does anything else thrown.
template <typename R, typename F>
R guarded(const Dialect& d, F&& f) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    return R(internal_error(d.name() + ": malformed answer: " + e.what()));
  } catch (const std::exception& e) {
    return R(internal_error(d.name() + ": " + e.what()));
  }
}

}  // namespace

Result<ChatResponse> Dialect::parse_chat(const nlohmann::json& body) const {
  return guarded<Result<ChatResponse>>(*this, [&] { return do_parse_chat(body); });
}

Result<bool> Dialect::stream_line(std::string_view line, ChatResponse* acc, nlohmann::json* state,
                                  const DeltaFn& on_delta) const {
  return guarded<Result<bool>>(*this, [&] { return do_stream_line(line, acc, state, on_delta); });
}

Status Dialect::finish(const ChatRequest& req, ChatResponse* r) const {
  return guarded<Status>(*this, [&] { return do_finish(req, r); });
}

Result<std::vector<std::vector<float>>> Dialect::parse_embed(const nlohmann::json& body) const {
  return guarded<Result<std::vector<std::vector<float>>>>(*this,
                                                          [&] { return do_parse_embed(body); });
}

}  // namespace agentry::sidecar
