// Issue 21: a base model through /v1/completions: the prompt written from the provider's template,
// tool calls as schema-constrained JSON, answers trimmed the same streamed or whole.
#include "sidecar/exec/providers/completion.h"

#include <gtest/gtest.h>

namespace agentry::sidecar {
namespace {

using nlohmann::json;

json weather_tool() {
  return {{"type", "function"},
          {"function",
           {{"name", "get_weather"},
            {"description", "The weather in a city."},
            {"parameters",
             {{"type", "object"},
              {"properties", {{"city", {{"type", "string"}}}}},
              {"required", {"city"}}}}}}};
}

ChatRequest conversation() {
  ChatRequest r;
  r.messages = {{"system", "Be brief.", {}, "", ""}, {"user", "What is {content}?", {}, "", ""}};
  return r;
}

TEST(Completion, ThePromptIsTheTemplateFilledTurnByTurn) {
  CompletionTemplate t;
  EXPECT_EQ(completion::render_prompt(t, conversation()),
            "Be brief.\n\nQuestion: What is {content}?\nAnswer:");
  // A template with an instruction-tuned model's turn markers.
  t.system = "<start_of_turn>user\n{content}\n";
  t.user = "{content}<end_of_turn>\n";
  t.generation = "<start_of_turn>model\n";
  EXPECT_EQ(
      completion::render_prompt(t, conversation()),
      "<start_of_turn>user\nBe brief.\nWhat is {content}?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(Completion, ToolsAreListedAndCallsAndResultsWrittenBack) {
  CompletionTemplate t;
  ChatRequest r = conversation();
  r.tools = json::array({weather_tool()});
  ToolCall call{"call_0", "get_weather", {{"city", "Paris"}}};
  r.messages.push_back({"assistant", "", {call}, "", ""});
  r.messages.push_back({"tool", "sunny, 21 C", {}, "call_0", "get_weather"});
  const std::string p = completion::render_prompt(t, r);
  EXPECT_EQ(p.rfind("Tools you can call:\n- get_weather: The weather in a city. Arguments: {", 0),
            0u)
      << p;
  EXPECT_NE(p.find("Answer: {\"arguments\":{\"city\":\"Paris\"},\"tool\":\"get_weather\"}\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("Result of get_weather: sunny, 21 C\nAnswer:"), std::string::npos) << p;
}

TEST(Completion, TheSchemaOffersEachToolAndAnAnswerAndToolChoiceNarrowsIt) {
  json tools = json::array({weather_tool(), weather_tool()});
  tools[1]["function"]["name"] = "get_time";
  json s = completion::tool_schema(tools, false);
  ASSERT_EQ(s["oneOf"].size(), 3u);
  EXPECT_EQ(s["oneOf"][0]["properties"]["tool"]["const"], "get_weather");
  EXPECT_EQ(s["oneOf"][0]["properties"]["arguments"]["required"][0], "city");
  EXPECT_EQ(s["oneOf"][2]["required"][0], "answer");
  EXPECT_EQ(completion::tool_schema(tools, true)["oneOf"].size(), 2u);

  ChatRequest r = conversation();
  r.tools = tools;
  EXPECT_EQ(completion::offered_tools(r).size(), 2u);
  EXPECT_FALSE(completion::call_required(r));
  r.options["tool_choice"] = "none";
  EXPECT_TRUE(completion::offered_tools(r).empty());
  r.options["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_time"}}}};
  ASSERT_EQ(completion::offered_tools(r).size(), 1u);
  EXPECT_TRUE(completion::call_required(r));
  // One tool, required: the schema is that tool's branch alone.
  EXPECT_EQ(
      completion::tool_schema(completion::offered_tools(r), true)["properties"]["tool"]["const"],
      "get_time");
}

TEST(Completion, AConstrainedAnswerDecodesToACallOrTextAndAnythingElseIsAnError) {
  const json tools = json::array({weather_tool()});
  ChatResponse r;
  ASSERT_TRUE(
      completion::decode_answer(R"({"tool":"get_weather","arguments":{"city":"Paris"}})", tools, &r)
          .is_ok());
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments["city"], "Paris");
  EXPECT_EQ(r.finish_reason, "tool_calls");
  ChatResponse a;
  ASSERT_TRUE(completion::decode_answer(R"({"answer":"It is sunny."})", tools, &a).is_ok());
  EXPECT_EQ(a.content, "It is sunny.");
  EXPECT_TRUE(a.tool_calls.empty());
  ChatResponse bad;
  EXPECT_FALSE(completion::decode_answer("sunny", tools, &bad).is_ok());
  EXPECT_FALSE(
      completion::decode_answer(R"({"tool":"rm_rf","arguments":{}})", tools, &bad).is_ok());
  EXPECT_FALSE(completion::decode_answer(R"({"weather":1})", tools, &bad).is_ok());
}

TEST(Completion, TheBodyCarriesThePromptStopsSchemaAndDefaults) {
  CompletionTemplate t;
  t.enabled = true;
  auto d = make_completion_dialect("", t);
  EXPECT_EQ(d->chat_path(), "/v1/completions");
  // An endpoint ending in /v1: the path is relative to it (as for chat).
  EXPECT_EQ(make_completion_dialect("/v1", t)->chat_path(), "/completions");
  ChatRequest r = conversation();
  r.options = {{"temperature", 0}};
  json b = d->chat_body("gemma", r, true);
  EXPECT_EQ(b["prompt"], "Be brief.\n\nQuestion: What is {content}?\nAnswer:");
  EXPECT_EQ(b["stop"][0], "\nQuestion:");
  EXPECT_EQ(b["max_tokens"], 512);
  EXPECT_EQ(b["temperature"], 0);
  EXPECT_TRUE(b["stream"].get<bool>());
  EXPECT_FALSE(b.contains("json_schema"));
  EXPECT_TRUE(d->can_stream(r));
  r.tools = json::array({weather_tool()});
  r.options["tool_choice"] = "required";
  r.options["max_tokens"] = 64;
  b = d->chat_body("gemma", r, false);
  EXPECT_FALSE(d->can_stream(r));
  EXPECT_EQ(b["json_schema"]["properties"]["tool"]["const"], "get_weather");
  EXPECT_EQ(b["response_format"]["json_schema"]["schema"], b["json_schema"]);
  EXPECT_FALSE(b.contains("stop"));
  EXPECT_FALSE(b.contains("tool_choice"));
  EXPECT_EQ(b["max_tokens"], 64);
}

TEST(Completion, LeadingSpaceIsDroppedAliveAndWholeSoPiecesAddUpToTheText) {
  auto d = make_completion_dialect("", CompletionTemplate{});
  auto whole = d->parse_chat(json::parse(
      R"({"choices":[{"text":"  Kubernetes is a system.","finish_reason":"stop"}],
          "usage":{"prompt_tokens":7,"completion_tokens":5}})"));
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->content, "Kubernetes is a system.");
  EXPECT_EQ(whole->finish_reason, "stop");
  EXPECT_EQ(whole->prompt_tokens, 7);
  ChatResponse acc;
  json state;
  std::string pieces;
  auto on = [&](std::string_view p) { pieces += p; };
  for (
      const char* line :
      {R"(data: {"choices":[{"text":" ","finish_reason":null}]})",
       R"(data: {"choices":[{"text":" Kubernetes","finish_reason":null}]})",
       R"(data: {"choices":[{"text":" is a system.","finish_reason":"length"}],"usage":{"prompt_tokens":7,"completion_tokens":5}})"})
    ASSERT_FALSE(*d->stream_line(line, &acc, &state, on));
  EXPECT_TRUE(*d->stream_line("data: [DONE]", &acc, &state, on));
  EXPECT_EQ(acc.content, "Kubernetes is a system.");
  EXPECT_EQ(pieces, acc.content);
  EXPECT_EQ(acc.finish_reason, "length");
  EXPECT_EQ(acc.completion_tokens, 5);
  EXPECT_FALSE(d->stream_line("data: {not json", &acc, &state, on).ok());
}

}  // namespace
}  // namespace agentry::sidecar
