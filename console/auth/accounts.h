// Console accounts, read from a Kubernetes Secret (Argo CD keeps its local accounts the same way).
// Each data key is an account name; its value is either a crypt(5) hash alone or a JSON object:
//
//   alice: $y$j9T$...                                   # user "alice", no groups
//   bob:   {"passwordHash": "$y$j9T$...", "user": "bob@example.com", "groups": ["team-a"]}
//
// The user and groups are who the console impersonates for the account's requests; Kubernetes
// RBAC bound to them decides what the account may see and change. Names under "system:" are
// refused (impersonating system identities would be an escalation, not a login), and so are
// hashes of a scheme passwords.h does not accept. Make a hash with `agentry-console hash-password`
// or `mkpasswd -m yescrypt`.
//
// Pure: parse_accounts() reads what the caller fetched.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "console/auth/identity.h"

namespace agentry::console {

struct Account {
  std::string password_hash;
  Identity identity;
};

struct ParsedAccounts {
  std::map<std::string, Account> accounts;
  std::vector<std::string> errors;  // one per refused key, naming it (logged; never shown to users)
};

// Accounts from a Secret object as the API returns it (data values base64).
ParsedAccounts parse_accounts(const nlohmann::json& secret);

}  // namespace agentry::console
