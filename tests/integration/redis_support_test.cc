// The Redis harness itself: a real redis-server on a free port, restartable with its data.
#include <gtest/gtest.h>

#include "tests/support/redis_server.h"

namespace agentry::testing {
namespace {

TEST(RedisSupport, StartsAnswersAndKeepsAofDataAcrossKill) {
  RedisServer redis(RedisServer::Options{.appendonly = true});
  std::string err;
  ASSERT_TRUE(redis.start(&err)) << err;
  EXPECT_EQ(redis.cli("SET agentry:k v1"), "OK");
  redis.kill();
  EXPECT_FALSE(redis.running());
  ASSERT_TRUE(redis.start(&err)) << err;
  EXPECT_EQ(redis.cli("GET agentry:k"), "v1");
}

TEST(RedisSupport, TwoServersGetDifferentPorts) {
  RedisServer a, b;
  std::string err;
  ASSERT_TRUE(a.start(&err)) << err;
  ASSERT_TRUE(b.start(&err)) << err;
  EXPECT_NE(a.port(), b.port());
  a.cli("SET x 1");
  EXPECT_EQ(b.cli("EXISTS x"), "0");
}

}  // namespace
}  // namespace agentry::testing
