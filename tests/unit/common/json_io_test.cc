// common/json_io.h: the depth limit, output that never throws, UTF-8 checks, strict integers and
// durations that never wrap.
#include "common/json_io.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agentry::json_io {
namespace {

using std::chrono::milliseconds;

TEST(JsonIo, DeepNestingIsRefusedBeforeParsingAndShallowPasses) {
  // The observed crash: 50,000 levels in 100 KB.
  std::string deep(50000, '[');
  deep += std::string(50000, ']');
  auto r = parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("deeper than 64"), std::string::npos);
  // Objects count as levels too, mixed with arrays.
  std::string mixed;
  for (int i = 0; i < 65; ++i) mixed += i % 2 ? "[" : "{\"a\":";
  EXPECT_FALSE(parse(mixed).ok());
  // Exactly at the limit: fine. Brackets inside strings (escaped quotes too) do not count.
  std::string at_limit = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parse(at_limit).ok());
  std::string in_string =
      "{\"s\": \"" + std::string(1000, '[') + "\\\"" + std::string(10, '{') + "\"}";
  auto s = parse(in_string);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ((*s)["s"].get<std::string>().size(), 1011u);
  EXPECT_TRUE(check_depth("[[[", 3).is_ok());
  EXPECT_FALSE(check_depth("[[[[", 3).is_ok());
}

TEST(JsonIo, ParseRefusesWhatIsNotJsonOrNotUtf8) {
  for (std::string bad : {"", "{", "[1,]", "nul", "{\"a\" 1}", "\"\xff\xfe\"", "1 2"}) {
    auto r = parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_TRUE(parse("{\"a\": [1, 2.5, \"\xc3\xa9\", null, true]}").ok());
}

TEST(JsonIo, DumpReplacesInvalidUtf8InsteadOfThrowing) {
  nlohmann::json j = {{"path", std::string("/v1/x/\xff\xfe") + "ok"}, {"n", 1}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what crashed the sidecar
  std::string out = dump(j);
  EXPECT_NE(out.find("\xef\xbf\xbd"), std::string::npos) << out;  // U+FFFD
  EXPECT_TRUE(valid_utf8(out));
  auto back = parse(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)["n"], 1);
  // Valid UTF-8 (accents, CJK, emoji) is written as is.
  nlohmann::json u = "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80";
  EXPECT_EQ(dump(u), "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"");
}

TEST(JsonIo, Utf8Validation) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"));
  for (std::string bad : {"\xff", "\xfe\xff", "\x80", "\xc3",              // stray, truncated
                          "\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf",  // overlong '/'
                          "\xed\xa0\x80",                                  // a UTF-16 surrogate
                          "\xf4\x90\x80\x80",                              // past U+10FFFF
                          "ok\xe4\xb8", "\xc3\x28"}) {
    EXPECT_FALSE(valid_utf8(bad)) << testing::PrintToString(bad);
  }
}

TEST(JsonIo, IntegersAreParsedWholeAndInRange) {
  EXPECT_EQ(*parse_int("5", "limit", 1, 1000), 5);
  EXPECT_EQ(*parse_int("1000", "limit", 1, 1000), 1000);
  for (std::string bad : {"5abc", "", " 5", "5 ", "+5", "0x10", "1e3", "0", "1001", "-1",
                          "99999999999999999999999", "5.0"}) {
    auto r = parse_int(bad, "limit", 1, 1000);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("limit: want an integer 1..1000", 0), 0u)
        << r.status().message();
  }
  auto r = parse_int("\xff\xfe", "limit", 1, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(valid_utf8(r.status().message()));
}

TEST(JsonIo, DurationsAreBoundedAndNeverWrap) {
  const milliseconds day(86400000);
  EXPECT_EQ(*parse_duration("500ms", "wait", day), milliseconds(500));
  EXPECT_EQ(*parse_duration("30s", "wait", day), milliseconds(30000));
  EXPECT_EQ(*parse_duration("2m", "wait", day), milliseconds(120000));
  EXPECT_EQ(*parse_duration("1h", "wait", day), milliseconds(3600000));
  EXPECT_EQ(*parse_duration("1.5", "wait", day), milliseconds(1500));
  EXPECT_EQ(*parse_duration("0", "wait", day), milliseconds(0));
  // The observed wrap: a huge wait became negative. Now it is refused, whatever its size.
  const std::vector<std::string> bads = {"99999999999999999999h",
                                         "1e400",
                                         "25h",
                                         "86400001ms",
                                         "-1s",
                                         "1d",
                                         "s",
                                         "",
                                         "1.2.3s",
                                         "nan",
                                         "inf",
                                         std::string(40, '9')};
  for (const std::string& bad : bads) {
    auto r = parse_duration(bad, "wait", day);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("wait: ", 0), 0u);
  }
}

}  // namespace
}  // namespace agentry::json_io
