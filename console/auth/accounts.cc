#include "console/auth/accounts.h"

#include "common/base64.h"
#include "common/json_io.h"
#include "console/auth/passwords.h"

namespace agentry::console {
namespace {

bool is_system_name(const std::string& s) {
  return s.rfind("system:", 0) == 0;
}

}  // namespace

ParsedAccounts parse_accounts(const nlohmann::json& secret) {
  ParsedAccounts out;
  const auto data = secret.value("data", nlohmann::json::object());
  if (!data.is_object()) return out;
  for (const auto& item : data.items()) {
    const std::string& name = item.key();
    const auto& value = item.value();
    auto refuse = [&](const std::string& why) {
      out.errors.push_back("account " + name + ": " + why);
    };
    if (!value.is_string()) {
      refuse("the value is not a string");
      continue;
    }
    auto raw = base64_decode(value.get<std::string>());
    if (!raw.ok()) {
      refuse("the value is not base64");
      continue;
    }
    std::string text = *raw;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
      text.pop_back();
    Account a;
    a.identity.account = name;
    a.identity.user = name;
    if (!text.empty() && text.front() == '{') {
      auto j = json_io::parse(text);
      if (!j.ok() || !j->is_object()) {
        refuse("the value is not a JSON object");
        continue;
      }
      const auto& o = *j;
      if (!o.contains("passwordHash") || !o["passwordHash"].is_string()) {
        refuse("passwordHash: want a string");
        continue;
      }
      a.password_hash = o["passwordHash"].get<std::string>();
      if (o.contains("user")) {
        if (!o["user"].is_string() || o["user"].get<std::string>().empty()) {
          refuse("user: want a non-empty string");
          continue;
        }
        a.identity.user = o["user"].get<std::string>();
      }
      if (o.contains("groups")) {
        bool bad = !o["groups"].is_array();
        if (!bad) {
          for (const auto& g : o["groups"]) {
            if (!g.is_string() || g.get<std::string>().empty()) {
              bad = true;
              break;
            }
            a.identity.groups.push_back(g.get<std::string>());
          }
        }
        if (bad) {
          refuse("groups: want a list of non-empty strings");
          continue;
        }
      }
    } else {
      a.password_hash = text;
    }
    if (!is_accepted_hash(a.password_hash)) {
      refuse("the password hash is not yescrypt ($y$), scrypt ($7$) or bcrypt ($2b$)");
      continue;
    }
    bool system = is_system_name(a.identity.user);
    for (const auto& g : a.identity.groups) system = system || is_system_name(g);
    if (system) {
      refuse("users and groups under system: are not impersonated");
      continue;
    }
    out.accounts.emplace(name, std::move(a));
  }
  return out;
}

}  // namespace agentry::console
