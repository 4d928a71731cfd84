#include "common/health.h"

#include <gtest/gtest.h>

namespace agentry {
namespace {

TEST(HealthChecks, AllPassingIsPlainOk) {
  HealthChecks h;
  h.add("informers", [] { return std::string(); });
  auto r = h.run(false);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, "ok");
}

TEST(HealthChecks, VerboseListsEveryCheck) {
  HealthChecks h;
  h.add("a", [] { return std::string(); });
  h.add("b", [] { return std::string(); });
  auto r = h.run(true);
  EXPECT_TRUE(r.ok);
  EXPECT_NE(r.body.find("[+]a ok"), std::string::npos);
  EXPECT_NE(r.body.find("[+]b ok"), std::string::npos);
}

TEST(HealthChecks, FailingCheckNamesItsReason) {
  HealthChecks h;
  h.add("lease", [] { return std::string(); });
  h.add("redis", [] { return std::string("connection refused"); });
  auto r = h.run(false);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.body.find("[-]redis failed: connection refused"), std::string::npos);
  EXPECT_NE(r.body.find("[+]lease ok"), std::string::npos);
}

}  // namespace
}  // namespace agentry
