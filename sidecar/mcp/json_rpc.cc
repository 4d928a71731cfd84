#include "sidecar/mcp/json_rpc.h"

#include "common/json_io.h"

namespace agentry::sidecar::mcp {

using nlohmann::json;

json make_request(int64_t id, const std::string& method, const json& params) {
  json m = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) m["params"] = params;
  return m;
}

json make_notification(const std::string& method, const json& params) {
  json m = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) m["params"] = params;
  return m;
}

json make_result(const json& id, const json& result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
}

json make_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}

Incoming classify(const json& msg) {
  Incoming in;
  auto invalid = [&](std::string why) {
    in.kind = Incoming::Kind::kInvalid;
    in.why = std::move(why);
    return in;
  };
  if (!msg.is_object()) return invalid("a JSON-RPC message must be an object");
  auto v = msg.find("jsonrpc");
  if (v == msg.end() || *v != "2.0") return invalid("missing \"jsonrpc\": \"2.0\"");
  auto id = msg.find("id");
  const bool has_id = id != msg.end() && (id->is_string() || id->is_number_integer());
  if (id != msg.end() && !id->is_null() && !has_id)
    return invalid("\"id\" must be a string or an integer");
  if (has_id) in.id = *id;
  auto method = msg.find("method");
  if (method != msg.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty())
      return invalid("\"method\" must be a non-empty string");
    in.method = method->get<std::string>();
    auto p = msg.find("params");
    if (p != msg.end()) {
      if (!p->is_object() && !p->is_array()) return invalid("\"params\" must be an object");
      in.params = *p;
    }
    in.kind = has_id ? Incoming::Kind::kRequest : Incoming::Kind::kNotification;
    return in;
  }
  if (!has_id) return invalid("a response needs an \"id\"");
  auto err = msg.find("error");
  if (err != msg.end()) {
    if (!err->is_object()) return invalid("\"error\" must be an object");
    auto code = err->find("code");
    auto text = err->find("message");
    in.kind = Incoming::Kind::kError;
    in.error_code = code != err->end() && code->is_number_integer() ? code->get<int>() : 0;
    in.error_message = text != err->end() && text->is_string() ? text->get<std::string>() : "";
    return in;
  }
  auto result = msg.find("result");
  if (result == msg.end()) return invalid("a response needs \"result\" or \"error\"");
  in.kind = Incoming::Kind::kResponse;
  in.result = *result;
  return in;
}

std::vector<Incoming> parse_body(const std::string& body) {
  auto parsed = json_io::parse(body);
  if (!parsed.ok()) {
    Incoming bad;
    bad.why = "the answer is not JSON: " + parsed.status().message();
    return {bad};
  }
  const json& j = *parsed;
  std::vector<Incoming> out;
  if (j.is_array()) {
    for (const auto& m : j) out.push_back(classify(m));
    if (out.empty()) out.push_back(classify(json()));
    return out;
  }
  return {classify(j)};
}

std::vector<SseEvent> parse_sse(const std::string& stream, size_t max_events) {
  std::vector<SseEvent> out;
  SseEvent cur;
  bool have_data = false, any_field = false;
  auto dispatch = [&] {
    if (have_data && out.size() < max_events) out.push_back(cur);
    cur = SseEvent{};
    have_data = any_field = false;
  };
  size_t pos = 0;
  const size_t n = stream.size();
  while (pos < n && out.size() < max_events) {
    size_t end = pos;
    while (end < n && stream[end] != '\n' && stream[end] != '\r') ++end;
    const std::string_view line(stream.data() + pos, end - pos);
    // CRLF is one line end.
    pos = end < n && stream[end] == '\r' && end + 1 < n && stream[end + 1] == '\n' ? end + 2
                                                                                   : end + 1;
    if (line.empty()) {
      dispatch();
      continue;
    }
    if (line[0] == ':') continue;  // a comment (keep-alive)
    const size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    any_field = true;
    if (field == "data") {
      if (have_data) cur.data += '\n';
      cur.data += value;
      have_data = true;
    } else if (field == "event") {
      cur.event = value.empty() ? "message" : std::string(value);
    } else if (field == "id") {
      cur.id = value;
    }
  }
  if (any_field) dispatch();
  return out;
}

std::vector<SseEvent> take_sse_events(std::string* buf) {
  size_t end = buf->rfind("\n\n");
  size_t len = 2;
  if (const size_t crlf = buf->rfind("\r\n\r\n");
      crlf != std::string::npos && (end == std::string::npos || crlf + 4 > end + 2)) {
    end = crlf;
    len = 4;
  }
  if (end == std::string::npos) return {};
  auto events = parse_sse(buf->substr(0, end + len));
  buf->erase(0, end + len);
  return events;
}

}  // namespace agentry::sidecar::mcp
