#include "operator/kube/errors.h"

#include <cctype>

#include "common/json_io.h"
#include "operator/kube/client.h"  // kMaxObjectDepth

namespace agentry::kube {
namespace {

const char* default_reason(int http) {
  switch (http) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Expired";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Unknown";
  }
}

Code code_for(int http, std::string_view reason) {
  switch (http) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 409:
      return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kConflict;
    case 410:
      return Code::kGone;
    case 422:
      return Code::kInvalidArgument;
    case 429:
      return Code::kResourceExhausted;
    case 504:
      return Code::kDeadlineExceeded;
    default:
      break;
  }
  if (http >= 500) return Code::kUnavailable;
  if (http >= 400) return Code::kInvalidArgument;
  return Code::kInternal;
}

}  // namespace

Status status_from_api_status(const nlohmann::json& st) {
  int http = 500;
  std::string reason, message;
  if (st.is_object()) {
    if (auto it = st.find("code"); it != st.end() && it->is_number_integer()) http = it->get<int>();
    if (auto it = st.find("reason"); it != st.end() && it->is_string())
      reason = it->get<std::string>();
    if (auto it = st.find("message"); it != st.end() && it->is_string())
      message = it->get<std::string>();
  }
  if (reason.empty()) reason = default_reason(http);
  return Status(code_for(http, reason), reason + ": " + message, http);
}

Status status_from_http(int http, std::string_view body) {
  // Depth-limited and type-checked: an error body is whatever the server (or a proxy) sent, and a
  // "kind" that is not a string threw from json::value() (found by kube_watch_fuzz).
  auto parsed = json_io::parse(body, kMaxObjectDepth);
  nlohmann::json st = parsed.ok() ? std::move(*parsed) : nlohmann::json();
  auto kind = st.is_object() ? st.find("kind") : st.end();
  if (st.is_object() && kind != st.end() && kind->is_string() && *kind == "Status") {
    if (!st.contains("code")) st["code"] = http;
    st["code"] = http;  // the HTTP code rules; the body's may be 0 for some errors
    return status_from_api_status(st);
  }
  std::string msg(body.substr(0, 512));
  while (!msg.empty() && std::isspace(static_cast<unsigned char>(msg.back()))) msg.pop_back();
  std::string reason = default_reason(http);
  return Status(code_for(http, reason), reason + ": " + msg, http);
}

Status transport_error(std::string_view what) {
  return Status(Code::kUnavailable, "Transport: " + std::string(what), 0);
}

std::string api_reason(const Status& s) {
  const std::string& m = s.message();
  auto colon = m.find(": ");
  if (colon == std::string::npos || colon == 0) return "";
  for (size_t i = 0; i < colon; ++i) {
    if (!std::isalpha(static_cast<unsigned char>(m[i]))) return "";
  }
  return m.substr(0, colon);
}

bool is_transient(const Status& s) {
  switch (s.code()) {
    case Code::kUnavailable:
    case Code::kResourceExhausted:
    case Code::kDeadlineExceeded:
      return true;
    default:
      return false;
  }
}

}  // namespace agentry::kube
