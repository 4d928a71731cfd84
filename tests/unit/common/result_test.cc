#include "common/result.h"

#include <gtest/gtest.h>

#include "common/http_util.h"

namespace agentry {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("must be positive");
  return v;
}

TEST(Result, HoldsValueOrStatus) {
  auto ok = parse_positive(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  EXPECT_TRUE(ok.status().is_ok());

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().http_status(), 400);
  EXPECT_EQ(bad.status().to_string(), "InvalidArgument (400): must be positive");
}

TEST(HttpUtil, ParsesHostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(http::parse_host_port(":8080", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(http::parse_host_port("127.0.0.1:9", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9);
  EXPECT_FALSE(http::parse_host_port("8080", &host, &port));
  EXPECT_FALSE(http::parse_host_port(":99999", &host, &port));
  EXPECT_FALSE(http::parse_host_port(":80x", &host, &port));
}

}  // namespace
}  // namespace agentry

#include <vector>

#include "common/base64.h"

namespace agentry {
namespace {

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(base64_encode("token"), "dG9rZW4=");
  EXPECT_EQ(*base64_decode("dG9r\nZW4="), "token");
  EXPECT_FALSE(base64_decode("abc").ok());
  EXPECT_FALSE(base64_decode("a$b=").ok());
}

}  // namespace
}  // namespace agentry
