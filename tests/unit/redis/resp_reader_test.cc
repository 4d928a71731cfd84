// The RESP reader every Redis reply goes through (redis::parse_resp reads bytes exactly as a
// connection does): hostile counts are refused before anything is allocated.
#include <gtest/gtest.h>

#include "sidecar/redis/redis_pool.h"

namespace agentry::redis {
namespace {

// Found by memory_records_fuzz: "*2000000000" made hiredis calloc 16 GB for the element table.
TEST(RespReader, AHugeOrNegativeDeclaredArrayIsRefusedBeforeItIsAllocated) {
  for (const char* bytes : {"*2000000000\r\n", "*1048577\r\n", "*1\r\n*2000000000\r\n", "*-5\r\n",
                            "*2\r\n$1\r\na\r\n*2147483647\r\n"}) {
    auto r = parse_resp(bytes);
    EXPECT_FALSE(r.ok()) << bytes;
  }
  // What real replies look like still reads, nil arrays included.
  auto ok = parse_resp("*2\r\n$1\r\na\r\n*1\r\n:7\r\n*-1\r\n");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].elements.size(), 2u);
  EXPECT_EQ((*ok)[0].elements[1].elements[0].integer, 7);
  EXPECT_TRUE((*ok)[1].is_nil());
}

}  // namespace
}  // namespace agentry::redis
