// A Provider over HTTP: one Dialect (Ollama or OpenAI), a keep-alive client pool, retries with
// exponential backoff and full jitter on 429/5xx/connection errors (honouring Retry-After, bounded
// by provider.maxRetryAfterSeconds), and circuit breakers for the endpoint: one for chat, one for
// embeddings (an embeddings outage opens only the memory's: the agent still answers).
#pragma once

#include <memory>

#include "sidecar/config.h"
#include "sidecar/exec/providers/breaker.h"
#include "sidecar/exec/providers/client_pool.h"
#include "sidecar/exec/providers/dialect.h"
#include "sidecar/exec/providers/provider.h"

namespace agentry::sidecar {

class HttpProvider : public Provider {
 public:
  HttpProvider(const ProviderConfig& cfg, Endpoint ep, std::unique_ptr<Dialect> dialect);

  Result<ChatResponse> chat(const ChatRequest& req, const CallOptions& opts) override;
  Result<std::vector<std::vector<float>>> embed(const std::vector<std::string>& inputs) override;
  std::string name() const override { return dialect_->name(); }
  std::string model() const override { return cfg_.model; }
  std::string readiness() const override;

  CircuitBreaker& breaker() { return breaker_; }
  CircuitBreaker& embed_breaker() { return embed_breaker_; }
  ClientPool& pool() { return pool_; }

 private:
  struct Attempt {
    Status status;  // ok, or why this attempt failed
    bool retryable = false;
    bool breaker_failure = false;
    std::chrono::milliseconds retry_after{-1};
  };
  // Runs `once` with retries and `breaker`; `once` returns the attempt's outcome.
  Status with_retries(const std::string& what, CircuitBreaker& breaker, CancelToken* cancel,
                      bool* emitted, const std::function<Attempt()>& once);
  Attempt classify(const HttpResult& r, const std::string& what);
  httplib::Headers headers() const;

  ProviderConfig cfg_;
  std::unique_ptr<Dialect> dialect_;
  ClientPool pool_;
  CircuitBreaker breaker_;        // chat
  CircuitBreaker embed_breaker_;  // embed
};

// The provider named by the config (already validated).
Result<std::shared_ptr<HttpProvider>> make_provider(const ProviderConfig& cfg);

}  // namespace agentry::sidecar
