// Agents calling agents (sidecar/mcp/call_chain.h): the chain header, loops, the depth limit and
// the derived idempotency keys.
#include <gtest/gtest.h>

#include "sidecar/mcp/call_chain.h"

namespace agentry::sidecar::mcp {
namespace {

using nlohmann::json;

TEST(McpCallChain, ParsesAndFormatsTheHeader) {
  EXPECT_TRUE(parse_call_chain("")->empty());
  auto c = parse_call_chain("planner, researcher ,writer-2");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::vector<std::string>{"planner", "researcher", "writer-2"}));
  EXPECT_EQ(format_call_chain(*c), "planner,researcher,writer-2");
  EXPECT_EQ(parse_call_chain(format_call_chain(*c)).value(), *c);
}

TEST(McpCallChain, RefusesMalformedChains) {
  const std::string too_long(64, 'a');  // names are at most 63 characters
  for (const std::string bad : {",", "a,,b", "Planner", "a b", "a;b", "x,", too_long.c_str()})
    EXPECT_FALSE(parse_call_chain(bad).ok()) << bad;
  std::string long_chain;
  for (int i = 0; i < 65; ++i) long_chain += (i ? ",a" : "a") + std::to_string(i);
  auto r = parse_call_chain(long_chain);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 64"), std::string::npos);
}

TEST(McpCallChain, RefusesLoopsAndDepth) {
  EXPECT_EQ(refuse_call({}, "a", 4), std::nullopt);
  EXPECT_EQ(refuse_call({"a", "b", "c"}, "d", 4), std::nullopt);
  auto loop = refuse_call({"a", "b", "c"}, "b", 10);
  ASSERT_TRUE(loop);
  EXPECT_NE(loop->find("call loop: b -> c -> b"), std::string::npos) << *loop;
  auto deep = refuse_call({"a", "b", "c", "d"}, "e", 4);
  ASSERT_TRUE(deep);
  EXPECT_NE(deep->find("agent.maxCallDepth is 4"), std::string::npos) << *deep;
  EXPECT_EQ(refuse_call({"a"}, "b", 2), std::nullopt);
  EXPECT_TRUE(refuse_call({"a", "b"}, "c", 2));
}

TEST(McpCallChain, ChildKeysAreStableAndDistinct) {
  const json args = {{"input", "summarise"}, {"sessionId", "s"}};
  const json same_reordered = json::parse(R"({"sessionId":"s","input":"summarise"})");
  const std::string k = child_idempotency_key("parent-1", 0, 0, "w__w", args);
  EXPECT_EQ(k.size(), 8u + 32u);
  EXPECT_EQ(k, child_idempotency_key("parent-1", 0, 0, "w__w", same_reordered));
  EXPECT_NE(k, child_idempotency_key("parent-2", 0, 0, "w__w", args));
  EXPECT_NE(k, child_idempotency_key("parent-1", 1, 0, "w__w", args));
  EXPECT_NE(k, child_idempotency_key("parent-1", 0, 1, "w__w", args));
  EXPECT_NE(k, child_idempotency_key("parent-1", 0, 0, "x__x", args));
  EXPECT_NE(k, child_idempotency_key("parent-1", 0, 0, "w__w", {{"input", "other"}}));
}

}  // namespace
}  // namespace agentry::sidecar::mcp
