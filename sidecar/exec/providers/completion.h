// A base model behind an OpenAI-compatible /v1/completions (llama.cpp's llama-server, vLLM): the
// conversation is written as one prompt from the provider's template (provider.completion,
// CompletionTemplate in sidecar/config.h), and tool calls come back as JSON the server is made to
// produce by a JSON schema, since a base model has no chat template and no tool-call format.
//
// The prompt, for messages [system S, user U] and tools T offered:
//
//   tools  with {tools} = one line per tool: "- NAME: DESCRIPTION Arguments: SCHEMA"
//   system with {content} = S
//   user   with {content} = U
//   generation                                  <- the model continues from here
//
// Assistant turns that called tools are written as their call's JSON; tool results with the tool's
// name. When tools are offered the answer must match tool_schema(): {"tool": NAME, "arguments":
// {...}} for a call, or {"answer": TEXT}; the request carries the schema as `json_schema`
// (llama.cpp) and as `response_format` (vLLM, OpenAI-style). tool_choice in the options narrows it:
// "none" offers no tools, "required" drops the answer branch, {"type": "function", "function":
// {"name": N}} keeps only N.
//
// Such answers are asked for whole (can_stream() is false) and handed to a streaming caller in one
// piece: their text is JSON, not words for the user. Leading white space of an answer (the model
// continues "Answer:" with a space) is dropped, streamed or not, so the pieces of a stream add up
// to the final text. max_tokens is 512 unless the options set it: a base model may not stop.
//
// The functions below are pure (the dialect is their composition), and tested on their own.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "sidecar/config.h"
#include "sidecar/exec/providers/dialect.h"

namespace agentry::sidecar::completion {

// The tools req offers after tool_choice (options["tool_choice"]): all, some, or none.
nlohmann::json offered_tools(const ChatRequest& req);
// Whether the answer must be a tool call (tool_choice "required" or a named function).
bool call_required(const ChatRequest& req);
std::string render_prompt(const CompletionTemplate& t, const ChatRequest& req);
// The JSON schema of a constrained answer to these (offered) tools; `required`: no answer branch.
nlohmann::json tool_schema(const nlohmann::json& tools, bool required);
// A constrained answer's text into r: a tool call (r->tool_calls, finish_reason "tool_calls") or
// the answer (r->content). kInvalidArgument when the text is not such JSON or names no offered
// tool.
Status decode_answer(const std::string& text, const nlohmann::json& tools, ChatResponse* r);

}  // namespace agentry::sidecar::completion

namespace agentry::sidecar {

std::unique_ptr<Dialect> make_completion_dialect(const std::string& base_path,
                                                 CompletionTemplate t);

}  // namespace agentry::sidecar
