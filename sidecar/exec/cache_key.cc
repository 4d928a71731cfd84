#include "sidecar/exec/cache_key.h"

#include <openssl/evp.h>

#include "common/json_io.h"

namespace agentry::sidecar {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  return out;
}

std::string response_cache_key(const std::string& model, const ChatRequest& req) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : req.messages) {
    nlohmann::json j = {{"r", m.role}, {"c", m.content}};
    if (!m.tool_call_id.empty()) j["t"] = m.tool_call_id;
    msgs.push_back(std::move(j));
  }
  nlohmann::json canon = {
      {"model", model}, {"messages", msgs}, {"options", req.options}, {"tools", req.tools}};
  return "resp:" + sha256_hex(json_io::dump(canon));
}

bool cacheable(const nlohmann::json& options) {
  if (!options.is_object() || !options.contains("temperature")) return false;
  const auto& t = options["temperature"];
  return t.is_number() && t.get<double>() == 0.0;
}

}  // namespace agentry::sidecar
