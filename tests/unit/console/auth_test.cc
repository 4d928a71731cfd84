// The console's authentication pieces in isolation: password hashes (libxcrypt), sessions,
// the login limiter, and accounts as their Secret holds them.
#include <crypt.h>
#include <gtest/gtest.h>

#include <thread>

#include "common/base64.h"
#include "console/auth/accounts.h"
#include "console/auth/login_limiter.h"
#include "console/auth/passwords.h"
#include "console/auth/sessions.h"

namespace agentry::console {
namespace {

using namespace std::chrono_literals;

TEST(ConsolePasswords, EachAcceptedSchemeHashesSaltedAndChecks) {
  for (const char* scheme : {"$y$", "$7$", "$2b$"}) {
    auto a = hash_password("correct horse", scheme);
    auto b = hash_password("correct horse", scheme);
    ASSERT_TRUE(a.ok()) << scheme << ": " << a.status().to_string();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->rfind(scheme, 0), 0u) << *a;
    EXPECT_NE(*a, *b) << "a fresh salt each time";
    EXPECT_TRUE(is_accepted_hash(*a));
    EXPECT_TRUE(password_matches("correct horse", *a)) << scheme;
    EXPECT_FALSE(password_matches("correct horsE", *a)) << scheme;
    EXPECT_FALSE(password_matches("", *a)) << scheme;
  }
}

TEST(ConsolePasswords, WeakOrForeignHashesAreNeverAccepted) {
  // sha512crypt and md5crypt of "pw" (made by libxcrypt): valid crypt(5) strings, refused here.
  auto sha = std::string(crypt("pw", "$6$saltsalt$"));
  auto md5 = std::string(crypt("pw", "$1$saltsalt$"));
  for (const std::string& h : {sha, md5, std::string("pw"), std::string(""),
                               std::string("$y$short"), std::string(600, 'x')}) {
    EXPECT_FALSE(is_accepted_hash(h)) << h;
    EXPECT_FALSE(password_matches("pw", h)) << h;
  }
  EXPECT_FALSE(hash_password("pw", "$6$").ok());
  EXPECT_FALSE(hash_password(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(hash_password(std::string(5000, 'a')).ok());
}

TEST(ConsoleSessions, TokensAreRandomLiveUntilExpiryAndRevocable) {
  auto now = std::chrono::system_clock::now();
  SessionStore s({.ttl = 60s, .max_sessions = 3, .now = [&] { return now; }});
  Identity alice{"alice", {"team-a"}, "alice"};
  auto t1 = s.create(alice);
  auto t2 = s.create(alice);
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_NE(t1->token, t2->token);
  EXPECT_EQ(t1->token.rfind("acs_", 0), 0u);
  EXPECT_GE(t1->token.size(), 4u + 43u) << "256 bits, base64url";
  ASSERT_TRUE(s.find(t1->token).has_value());
  EXPECT_EQ(s.find(t1->token)->groups, std::vector<std::string>{"team-a"});
  EXPECT_FALSE(s.find(t1->token + "x").has_value());
  EXPECT_FALSE(s.find("").has_value());
  EXPECT_TRUE(s.revoke(t1->token));
  EXPECT_FALSE(s.find(t1->token).has_value()) << "logged out";
  EXPECT_FALSE(s.revoke(t1->token));
  now += 61s;
  EXPECT_FALSE(s.find(t2->token).has_value()) << "expired";
  // The bound: the oldest go first.
  std::vector<std::string> toks;
  for (int i = 0; i < 5; ++i) toks.push_back(s.create(alice)->token);
  EXPECT_LE(s.size(), 3u);
  EXPECT_FALSE(s.find(toks[0]).has_value());
  EXPECT_TRUE(s.find(toks[4]).has_value());
}

TEST(ConsoleLoginLimiter, PerClientAndPerAccountWithRefill) {
  auto now = LoginLimiter::Clock::now();
  LoginLimiter l({.per_client = {3, 1s}, .per_account = {2, 10s}, .max_keys = 100, .now = [&] {
                    return now;
                  }});
  EXPECT_EQ(l.try_acquire("10.0.0.1", "alice"), 0);
  EXPECT_EQ(l.try_acquire("10.0.0.2", "alice"), 0);
  // alice's bucket is empty whichever client asks; the wait is until her next attempt.
  int wait = l.try_acquire("10.0.0.3", "alice");
  EXPECT_GE(wait, 9);
  EXPECT_LE(wait, 10);
  // Other accounts from the same client still pass until the client's own bucket is empty.
  EXPECT_EQ(l.try_acquire("10.0.0.1", "bob"), 0);
  EXPECT_EQ(l.try_acquire("10.0.0.1", "carol"), 0);
  EXPECT_GT(l.try_acquire("10.0.0.1", "dave"), 0) << "10.0.0.1 used its 3";
  now += 10s;
  EXPECT_EQ(l.try_acquire("10.0.0.3", "alice"), 0) << "refilled";
  // Unknown names are limited like known ones (nothing to tell them apart by).
  for (int i = 0; i < 2; ++i) EXPECT_EQ(l.try_acquire("10.9.9." + std::to_string(i), "nobody"), 0);
  EXPECT_GT(l.try_acquire("10.9.9.9", "nobody"), 0);
}

TEST(ConsoleLoginLimiter, SuccessesAreGivenBackSoOnlyWrongGuessesUseTheBudget) {
  auto now = LoginLimiter::Clock::now();
  LoginLimiter l(
      {.per_client = {3, 1h}, .per_account = {2, 1h}, .max_keys = 100, .now = [&] { return now; }});
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(l.try_acquire("10.0.0.1", "locust"), 0) << "login " << i;
    l.refund("10.0.0.1", "locust");
  }
  EXPECT_EQ(l.try_acquire("10.0.0.1", "locust"), 0);  // a wrong guess
  EXPECT_EQ(l.try_acquire("10.0.0.1", "locust"), 0);  // another
  EXPECT_GT(l.try_acquire("10.0.0.1", "locust"), 0) << "two wrong guesses used it up";
  l.refund("10.0.0.9", "nobody");  // refunding what was never taken changes nothing
  EXPECT_EQ(l.try_acquire("10.0.0.9", "nobody"), 0);
  EXPECT_EQ(l.try_acquire("10.0.0.8", "nobody"), 0);
  EXPECT_GT(l.try_acquire("10.0.0.7", "nobody"), 0);
}

TEST(ConsoleLoginLimiter, ManyKeysStayBounded) {
  LoginLimiter l({.per_client = {1, 1h}, .per_account = {1, 1h}, .max_keys = 50});
  for (int i = 0; i < 1000; ++i) l.try_acquire("c" + std::to_string(i), "a" + std::to_string(i));
  EXPECT_GT(l.try_acquire("c999", "fresh"), 0) << "the newest keys are kept";
}

nlohmann::json secret(const std::map<std::string, std::string>& data) {
  nlohmann::json d = nlohmann::json::object();
  for (const auto& [k, v] : data) d[k] = base64_encode(v);
  return {{"data", d}};
}

TEST(ConsoleAccounts, HashesAndObjectsParseAndBadOnesAreRefusedByName) {
  const std::string h = *hash_password("pw");
  auto p = parse_accounts(secret({
      {"alice", h + "\n"},
      {"bob",
       R"({"passwordHash": ")" + h + R"(", "user": "bob@example.com", "groups": ["team-b"]})"},
      {"weak", std::string(crypt("pw", "$6$saltsalt$"))},
      {"root", R"({"passwordHash": ")" + h + R"(", "user": "system:admin"})"},
      {"masters", R"({"passwordHash": ")" + h + R"(", "groups": ["system:masters"]})"},
      {"broken", "{not json"},
      {"nogroups", R"({"passwordHash": ")" + h + R"(", "groups": "team"})"},
  }));
  ASSERT_EQ(p.accounts.size(), 2u);
  EXPECT_EQ(p.accounts["alice"].identity.user, "alice");
  EXPECT_TRUE(p.accounts["alice"].identity.groups.empty());
  EXPECT_EQ(p.accounts["bob"].identity.user, "bob@example.com");
  EXPECT_EQ(p.accounts["bob"].identity.groups, std::vector<std::string>{"team-b"});
  EXPECT_EQ(p.accounts["bob"].identity.account, "bob");
  ASSERT_EQ(p.errors.size(), 5u);
  std::string all;
  for (const auto& e : p.errors) all += e + "\n";
  for (const char* name : {"weak", "root", "masters", "broken", "nogroups"})
    EXPECT_NE(all.find(std::string("account ") + name + ":"), std::string::npos) << all;
  EXPECT_EQ(all.find(h), std::string::npos) << "errors never carry a hash";
}

}  // namespace
}  // namespace agentry::console
