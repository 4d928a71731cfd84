#include "sidecar/exec/providers/http_provider.h"

#include <thread>

#include "common/backoff.h"
#include "common/json_io.h"
#include "common/log.h"
#include "sidecar/exec/providers/completion.h"
#include "sidecar/sidecar_metrics.h"

namespace agentry::sidecar {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::chrono::milliseconds parse_retry_after(const std::string& v) {
  if (v.empty()) return std::chrono::milliseconds(-1);
  char* end = nullptr;
  double s = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || s < 0) return std::chrono::milliseconds(-1);  // HTTP-date: ignored
  return std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

}  // namespace

HttpProvider::HttpProvider(const ProviderConfig& cfg, Endpoint ep, std::unique_ptr<Dialect> dialect)
    : cfg_(cfg),
      dialect_(std::move(dialect)),
      pool_(std::move(ep),
            PoolOptions{cfg.ca_bundle_file, cfg.tls_verify, cfg.connect_timeout_ms,
                        cfg.read_timeout_ms, static_cast<size_t>(cfg.max_idle_connections)}),
      breaker_(cfg.breaker_failures, std::chrono::seconds(cfg.breaker_open_seconds)),
      embed_breaker_(cfg.breaker_failures, std::chrono::seconds(cfg.breaker_open_seconds)) {}

httplib::Headers HttpProvider::headers() const {
  httplib::Headers h{{"Accept", "application/json, text/event-stream, application/x-ndjson"}};
  if (!cfg_.api_key.empty()) h.emplace("Authorization", "Bearer " + cfg_.api_key);
  return h;
}

std::string HttpProvider::readiness() const {
  auto s = breaker_.state();
  if (s == CircuitBreaker::State::kOpen)
    return "circuit open for " + pool_.endpoint().origin + " after " +
           std::to_string(breaker_.consecutive_failures()) + " consecutive failures";
  return {};
}

HttpProvider::Attempt HttpProvider::classify(const HttpResult& r, const std::string& what) {
  Attempt a;
  const std::string where = name() + " at " + pool_.endpoint().origin;
  if (r.cancelled) {
    a.status = Status(Code::kCancelled, what + " cancelled", 499);
    return a;
  }
  if (r.status == 0) {
    a.retryable = a.breaker_failure = true;
    if (r.error == httplib::Error::Read) {
      a.status = Status(Code::kDeadlineExceeded,
                        where + " did not answer within provider.readTimeoutMs (" +
                            std::to_string(cfg_.read_timeout_ms) + " ms) or dropped the connection",
                        504);
    } else {
      bool tls = r.error == httplib::Error::SSLConnection ||
                 r.error == httplib::Error::SSLServerVerification ||
                 r.error == httplib::Error::SSLLoadingCerts;
      a.status = Status(Code::kUnavailable,
                        "cannot reach " + where + ": " + r.error_text +
                            (tls ? " (check provider.caBundleFile / tlsVerify)"
                                 : " (check provider.endpoint and that the provider is running)"),
                        502);
    }
    return a;
  }
  if (r.status >= 200 && r.status < 300) return a;
  std::string detail = provider_error_text(r.body);
  if (r.status == 429) {
    a.retryable = true;
    a.retry_after = parse_retry_after(r.retry_after);
    a.status =
        Status(Code::kResourceExhausted, where + " is rate limiting (HTTP 429): " + detail, 429);
  } else if (r.status >= 500) {
    a.retryable = a.breaker_failure = true;
    a.retry_after = parse_retry_after(r.retry_after);
    a.status = Status(Code::kUnavailable,
                      where + " failed (HTTP " + std::to_string(r.status) + "): " + detail, 502);
  } else {
    std::string hint;
    if (r.status == 401 || r.status == 403) hint = " (check provider.apiKeyFile / apiKeyEnv)";
    if (r.status == 404)
      hint = " (check provider.model '" + cfg_.model + "' and provider.endpoint)";
    a.status = Status(
        Code::kInvalidArgument,
        where + " rejected the request (HTTP " + std::to_string(r.status) + "): " + detail + hint,
        502);
  }
  return a;
}

Status HttpProvider::with_retries(const std::string& what, CircuitBreaker& breaker,
                                  CancelToken* cancel, bool* emitted,
                                  const std::function<Attempt()>& once) {
  Backoff backoff(BackoffPolicy{std::chrono::milliseconds(cfg_.backoff_initial_ms),
                                std::chrono::milliseconds(cfg_.backoff_max_ms), 2.0, 0.0, true});
  Status last;
  for (int attempt = 0; attempt <= cfg_.retries; ++attempt) {
    if (cancel && cancel->cancelled()) return Status(Code::kCancelled, what + " cancelled", 499);
    std::chrono::milliseconds retry_in{0};
    if (!breaker.allow(&retry_in)) {
      return Status(Code::kUnavailable,
                    "circuit open for " + name() +
                        (&breaker == &embed_breaker_ ? " embeddings" : "") + " at " +
                        pool_.endpoint().origin + " after " +
                        std::to_string(breaker.consecutive_failures()) +
                        " consecutive failures; next probe in " + std::to_string(retry_in.count()) +
                        " ms" + (last.is_ok() ? std::string() : "; last error: " + last.message()),
                    503);
    }
    Attempt a = once();
    if (a.status.is_ok()) {
      breaker.on_success();
      return a.status;
    }
    if (a.breaker_failure)
      breaker.on_failure();
    else if (a.status.code() != Code::kCancelled)
      breaker.on_success();
    last = a.status;
    if (!a.retryable || (emitted && *emitted) || attempt == cfg_.retries) break;
    auto delay = backoff.next();
    if (a.retry_after.count() >= 0)
      delay = std::max(
          delay,
          std::min(a.retry_after, std::chrono::milliseconds(cfg_.max_retry_after_seconds * 1000)));
    log::debug("provider retry", {{"what", what},
                                  {"attempt", attempt + 1},
                                  {"delay_ms", delay.count()},
                                  {"error", a.status.message()}});
    if (cancel) {
      if (!cancel->sleep_for(delay)) return Status(Code::kCancelled, what + " cancelled", 499);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
  if (last.code() == Code::kCancelled) return last;
  int attempts = cfg_.retries + 1;
  return Status(
      last.code(),
      last.message() + (last.code() == Code::kInvalidArgument || (emitted && *emitted)
                            ? std::string()
                            : " (gave up after " + std::to_string(attempts) + " attempts)"),
      last.http_status());
}

Result<ChatResponse> HttpProvider::chat(const ChatRequest& req, const CallOptions& opts) {
  const bool stream = static_cast<bool>(opts.on_delta) && dialect_->can_stream(req);
  const std::string body = json_io::dump(dialect_->chat_body(cfg_.model, req, stream));
  ChatResponse out;
  bool emitted = false;
  Status s = with_retries("chat", breaker_, opts.cancel, &emitted, [&]() -> Attempt {
    auto t0 = Clock::now();
    ChatResponse acc;
    json state;
    std::string pending;
    bool done = false;
    Status stream_err;
    DeltaFn delta = [&](std::string_view piece) {
      emitted = true;
      opts.on_delta(piece);
    };
    std::function<bool(const char*, size_t)> on_chunk;
    if (stream) {
      on_chunk = [&](const char* data, size_t n) {
        pending.append(data, n);
        size_t pos;
        while (!done && (pos = pending.find('\n')) != std::string::npos) {
          std::string line = pending.substr(0, pos);
          pending.erase(0, pos + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          auto r = dialect_->stream_line(line, &acc, &state, delta);
          if (!r.ok()) {
            stream_err = r.status();
            return false;
          }
          done = *r;
        }
        return true;
      };
    }
    HttpResult r =
        pool_.request("POST", dialect_->chat_path(), body, headers(), opts.cancel, on_chunk);
    metrics().count_provider(
        name(), r.status ? std::to_string(r.status) : (r.cancelled ? "cancelled" : "error"),
        since(t0));
    if (!stream_err.is_ok()) return Attempt{stream_err, false, false};
    Attempt a = classify(r, "chat");
    if (!a.status.is_ok()) return a;
    if (stream) {
      if (!done && !pending.empty()) {
        auto last = dialect_->stream_line(pending, &acc, &state, delta);
        if (last.ok()) done = *last;
      }
      if (!done)
        return Attempt{
            Status(Code::kUnavailable, name() + " stream ended before its end marker", 502), true,
            true};
      out = std::move(acc);
      return a;
    }
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded())
      return Attempt{Status(Code::kInternal, name() + " answered with invalid JSON", 502), false,
                     false};
    auto parsed = dialect_->parse_chat(j);
    if (!parsed.ok())
      return Attempt{Status(Code::kInternal, parsed.status().message(), 502), false, false};
    out = std::move(parsed.value());
    return a;
  });
  if (!s.is_ok()) return s;
  if (Status f = dialect_->finish(req, &out); !f) return Status(Code::kInternal, f.message(), 502);
  // Asked for whole (dialect_->can_stream said no): the caller still gets the answer as a piece.
  if (opts.on_delta && !stream && !out.content.empty()) opts.on_delta(out.content);
  return out;
}

Result<std::vector<std::vector<float>>> HttpProvider::embed(
    const std::vector<std::string>& inputs) {
  const std::string model = cfg_.embedding_model.empty() ? cfg_.model : cfg_.embedding_model;
  const std::string body = json_io::dump(dialect_->embed_body(model, inputs));
  std::vector<std::vector<float>> out;
  Status s = with_retries("embed", embed_breaker_, nullptr, nullptr, [&]() -> Attempt {
    auto t0 = Clock::now();
    HttpResult r = pool_.request("POST", dialect_->embed_path(), body, headers(), nullptr);
    metrics().count_provider(name(), r.status ? std::to_string(r.status) : "error", since(t0));
    Attempt a = classify(r, "embed");
    if (!a.status.is_ok()) return a;
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_discarded())
      return Attempt{Status(Code::kInternal, name() + " answered with invalid JSON", 502), false,
                     false};
    auto parsed = dialect_->parse_embed(j);
    if (!parsed.ok())
      return Attempt{Status(Code::kInternal, parsed.status().message(), 502), false, false};
    if (parsed->size() != inputs.size())
      return Attempt{
          Status(Code::kInternal, name() + " returned a different number of embeddings", 502),
          false, false};
    out = std::move(parsed.value());
    return a;
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<std::shared_ptr<HttpProvider>> make_provider(const ProviderConfig& cfg) {
  auto ep = parse_endpoint(cfg.endpoint);
  if (!ep.ok())
    return Status(Code::kInvalidArgument, "provider.endpoint: " + ep.status().message(), 400);
  std::unique_ptr<Dialect> d;
  if (cfg.type == "ollama")
    d = make_ollama_dialect();
  else if (cfg.type == "openai" && cfg.completion.enabled)
    d = make_completion_dialect(ep->base_path, cfg.completion);
  else if (cfg.type == "openai")
    d = make_openai_dialect(ep->base_path);
  else
    return invalid_argument("provider.type: want ollama or openai");
  return std::make_shared<HttpProvider>(cfg, std::move(ep.value()), std::move(d));
}

}  // namespace agentry::sidecar
