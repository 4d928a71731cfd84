// RFC 3339 formatting (common/time_format.h) and whole-file reads (common/file_io.h).
#include "common/time_format.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/file_io.h"

namespace agentry {
namespace {

TEST(TimeFormat, SecondsMillisAndMicros) {
  const int64_t ms = 1'800'000'000'123;  // 2027-01-15T08:00:00.123Z
  EXPECT_EQ(format_rfc3339_ms(ms), "2027-01-15T08:00:00Z");
  EXPECT_EQ(format_rfc3339_ms(ms, TimePrecision::kMillis), "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(format_rfc3339(std::chrono::system_clock::time_point(
                               std::chrono::microseconds(1'800'000'000'123'456)),
                           TimePrecision::kMicros),
            "2027-01-15T08:00:00.123456Z");
  EXPECT_EQ(format_rfc3339_ms(-1, TimePrecision::kMillis), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(now_rfc3339().size(), 20u);
}

TEST(FileIo, ReadsWholeFilesAndSaysWhenItCannot) {
  const std::string path = ::testing::TempDir() + "/agentry-file-io-test";
  std::ofstream(path, std::ios::binary) << std::string("a\0b", 3);
  std::string out = "untouched";
  ASSERT_TRUE(read_file(path, &out));
  EXPECT_EQ(out, std::string("a\0b", 3));
  std::string missing = "untouched";
  EXPECT_FALSE(read_file(path + "-missing", &missing));
  EXPECT_EQ(missing, "untouched");
}

}  // namespace
}  // namespace agentry
