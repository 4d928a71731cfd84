#include "sidecar/exec/pipeline.h"

#include <future>

#include "common/log.h"
#include "sidecar/exec/cache_key.h"

namespace agentry::sidecar {

struct Pipeline::Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<ChatResponse> response;  // empty: the leader failed; followers call themselves
};

namespace {

const char* error_code_for(const Status& s) {
  switch (s.code()) {
    case Code::kResourceExhausted:
      return "provider_rate_limited";
    case Code::kUnavailable:
      return "provider_unavailable";
    case Code::kDeadlineExceeded:
      return "provider_timeout";
    case Code::kInvalidArgument:
      return "provider_rejected";
    case Code::kCancelled:
      return "cancelled";
    default:
      return "provider_error";
  }
}

}  // namespace

std::vector<std::string> split_chunks(const std::string& text, size_t max_chars) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.size() - pos <= max_chars) {
      out.push_back(text.substr(pos));
      break;
    }
    size_t end = pos + max_chars;
    size_t cut = std::string::npos;
    for (const char* sep : {"\n\n", "\n", " "}) {
      size_t at = text.rfind(sep, end - 1);
      if (at != std::string::npos && at > pos + max_chars / 2) {
        cut = at + std::string(sep).size();
        break;
      }
    }
    if (cut == std::string::npos || cut > end) cut = end;
    out.push_back(text.substr(pos, cut - pos));
    pos = cut;
  }
  return out;
}

Pipeline::Pipeline(const AgentConfig& agent, std::shared_ptr<Provider> provider)
    : agent_(agent),
      provider_(std::move(provider)),
      tools_(agent.tools, agent.tool_timeout_ms, agent.mcp_servers) {}

ExecutionResult Pipeline::run(Execution& ex) {
  const auto& req = ex.request();
  ExecutionResult res;
  nlohmann::json options = agent_.options.is_object() ? agent_.options : nlohmann::json::object();
  if (req.parameters.is_object())
    for (const auto& [k, v] : req.parameters.items()) options[k] = v;

  // Config and tools are already in memory, so the recall is the only thing to wait for: it runs
  // on this thread (a thread per execution just to await it at once cost more than the search).
  std::vector<Message> prefix;
  if (!agent_.system_prompt.empty()) prefix.push_back({"system", agent_.system_prompt, {}, "", ""});
  auto mem = memory_hook();
  if (mem && agent_.memory_recall_k > 0) {
    try {
      auto hits = mem->recall(agent_.name, req.session_id, req.input, agent_.memory_recall_k);
      if (!hits.empty()) {
        std::string ctx = "Relevant memory:";
        for (const auto& h : hits) ctx += "\n- " + h.text;
        prefix.push_back({"system", ctx, {}, "", ""});
      }
    } catch (const std::exception& e) {
      log::warn("memory recall failed", {{"execution", ex.id()}, {"error", e.what()}});
    }
  }

  Result<ChatResponse> r = Status(Code::kInternal, "not run");
  if (agent_.chunking.enabled && req.input.size() > agent_.chunking.chunk_chars) {
    r = chunked(ex, prefix, options, &res);
  } else {
    auto messages = prefix;
    messages.push_back({"user", req.input, {}, "", ""});
    r = answer(ex, std::move(messages), options, &res);
  }

  CancelToken& ct = ex.cancel_token();
  if (ct.cancelled()) {
    std::string why = ct.reason();
    res.state = why == "timeout" ? ExecState::kTimedOut : ExecState::kCancelled;
    res.error_code = why == "timeout" ? "timeout" : why == "shutdown" ? "shutdown" : "cancelled";
    res.error_message = why == "timeout"    ? "execution exceeded limits.executionTimeoutSeconds"
                        : why == "shutdown" ? "cancelled: the sidecar is shutting down"
                                            : "cancelled by request";
    return res;
  }
  if (!r.ok()) {
    res.state = ExecState::kFailed;
    res.error_code = error_code_for(r.status());
    res.error_message = r.status().message();
    return res;
  }
  res.state = ExecState::kSucceeded;
  res.output = std::move(r->content);
  res.finish_reason = std::move(r->finish_reason);
  return res;
}

Result<ChatResponse> Pipeline::answer(Execution& ex, std::vector<Message> messages,
                                      const nlohmann::json& options, ExecutionResult* acc) {
  const bool stream = ex.request().stream;
  auto cache = std::atomic_load(&cache_);
  if (!cache || !agent_.cache_responses || !tools_.empty() || !cacheable(options))
    return tool_loop(ex, std::move(messages), options, stream, acc);

  ChatRequest probe{messages, nlohmann::json::array(), options};
  const std::string key = response_cache_key(provider_->model(), probe);
  auto serve_cached = [&](const std::string& text) {
    acc->cached = true;
    if (stream) ex.push_frame(sse_frame("delta", {{"content", text}}));
    ChatResponse c;
    c.content = text;
    c.finish_reason = "stop";  // only whole answers are cached (below)
    return c;
  };
  if (auto hit = cache->get(key)) return serve_cached(*hit);

  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(flights_mu_);
    auto& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    std::unique_lock<std::mutex> lock(flight->mu);
    while (!flight->done && !ex.cancel_token().cancelled())
      flight->cv.wait_for(lock, std::chrono::milliseconds(50));
    if (flight->done && flight->response) return serve_cached(flight->response->content);
    if (ex.cancel_token().cancelled()) return Status(Code::kCancelled, "cancelled", 499);
    lock.unlock();
    return tool_loop(ex, std::move(messages), options, stream, acc);
  }
  auto r = tool_loop(ex, std::move(messages), options, stream, acc);
  // An answer cut at max_tokens ("length") is not kept: a hit would pass it off as whole.
  if (r.ok() && (r->finish_reason.empty() || r->finish_reason == "stop"))
    cache->put(key, r->content, std::chrono::seconds(agent_.response_cache_ttl_seconds));
  {
    std::lock_guard<std::mutex> lock(flights_mu_);
    flights_.erase(key);
  }
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->done = true;
    if (r.ok()) flight->response = *r;
  }
  flight->cv.notify_all();
  return r;
}

Result<ChatResponse> Pipeline::call_model(Execution& ex, const ChatRequest& req, bool stream,
                                          ExecutionResult* acc) {
  CallOptions opts;
  opts.cancel = &ex.cancel_token();
  if (stream)
    opts.on_delta = [&ex](std::string_view piece) {
      ex.push_frame(sse_frame("delta", {{"content", std::string(piece)}}));
    };
  auto r = provider_->chat(req, opts);
  ++acc->model_calls;
  if (r.ok()) {
    acc->prompt_tokens += r->prompt_tokens;
    acc->completion_tokens += r->completion_tokens;
  }
  return r;
}

Result<ChatResponse> Pipeline::tool_loop(Execution& ex, std::vector<Message> messages,
                                         const nlohmann::json& options, bool stream,
                                         ExecutionResult* acc) {
  for (int turn = 0;; ++turn) {
    // The last turn goes without tools, so the model has to answer.
    bool offer_tools = !tools_.empty() && turn < agent_.max_tool_turns;
    ChatRequest req{messages,
                    offer_tools ? tools_.declarations(&ex.cancel_token()) : nlohmann::json::array(),
                    options};
    auto r = call_model(ex, req, stream, acc);
    if (!r.ok() || r->tool_calls.empty() || !offer_tools) return r;
    Message assistant{"assistant", r->content, r->tool_calls, "", ""};
    messages.push_back(std::move(assistant));
    mcp::CallContext ctx{
        ex.request().call_chain,
        ex.request().idempotency_key.empty() ? ex.id() : ex.request().idempotency_key, turn, 0};
    ctx.chain.push_back(agent_.name);
    for (const auto& call : r->tool_calls) {
      if (ex.cancel_token().cancelled()) return Status(Code::kCancelled, "cancelled", 499);
      if (stream)
        ex.push_frame(sse_frame("tool_call", {{"name", call.name}, {"arguments", call.arguments}}));
      std::string result = tools_.call(call, ctx, &ex.cancel_token());
      ++ctx.index;
      ++acc->tool_calls;
      messages.push_back({"tool", result, {}, call.id, call.name});
    }
  }
}

Result<ChatResponse> Pipeline::chunked(Execution& ex, const std::vector<Message>& prefix,
                                       const nlohmann::json& options, ExecutionResult* acc) {
  const auto pieces = split_chunks(ex.request().input, agent_.chunking.chunk_chars);
  std::vector<Result<ChatResponse>> parts(pieces.size(), Status(Code::kInternal, "not run"));
  std::vector<ExecutionResult> part_acc(pieces.size());
  const size_t width = static_cast<size_t>(agent_.chunking.max_parallel);
  for (size_t start = 0; start < pieces.size(); start += width) {
    std::vector<std::future<void>> batch;
    for (size_t i = start; i < std::min(pieces.size(), start + width); ++i) {
      batch.push_back(std::async(std::launch::async, [&, i] {
        auto msgs = prefix;
        msgs.push_back({"user",
                        "Part " + std::to_string(i + 1) + " of " + std::to_string(pieces.size()) +
                            " of the input:\n" + pieces[i],
                        {},
                        "",
                        ""});
        parts[i] = call_model(ex, ChatRequest{msgs, nlohmann::json::array(), options}, false,
                              &part_acc[i]);
      }));
    }
    for (auto& f : batch) f.wait();
    if (ex.cancel_token().cancelled()) return Status(Code::kCancelled, "cancelled", 499);
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    acc->model_calls += part_acc[i].model_calls;
    acc->prompt_tokens += part_acc[i].prompt_tokens;
    acc->completion_tokens += part_acc[i].completion_tokens;
    if (!parts[i].ok()) return parts[i].status();
  }
  if (agent_.chunking.combine == "concat") {
    ChatResponse c;
    for (size_t i = 0; i < parts.size(); ++i) c.content += (i ? "\n\n" : "") + parts[i]->content;
    if (ex.request().stream) ex.push_frame(sse_frame("delta", {{"content", c.content}}));
    return c;
  }
  std::string combine = "Combine these partial answers, in order, into one answer:\n";
  for (size_t i = 0; i < parts.size(); ++i)
    combine += "\n[" + std::to_string(i + 1) + "] " + parts[i]->content;
  auto msgs = prefix;
  msgs.push_back({"user", combine, {}, "", ""});
  return call_model(ex, ChatRequest{msgs, nlohmann::json::array(), options}, ex.request().stream,
                    acc);
}

}  // namespace agentry::sidecar
