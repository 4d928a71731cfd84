#include "sidecar/app/options.h"

#include <cstdlib>
#include <string>

#include "common/cpu_quota.h"
#include "sidecar/memory/batching_embedder.h"
#include "sidecar/memory/minilm/minilm_embedder.h"

namespace agentry::sidecar {
namespace {

// validate() has checked the URL already. A password from a Secret wins over one in the URL.
redis::RedisOptions redis_options(const std::string& url, const std::string& name,
                                  const std::string& password) {
  redis::RedisOptions ro;
  ro.name = name;
  parse_redis_url(url, &ro.host, &ro.port, &ro.password);
  if (!password.empty()) ro.password = password;
  return ro;
}

}  // namespace

cache::CacheOptions cache_options(const Config& cfg) {
  cache::CacheOptions co;
  co.l1.name = cfg.agent.name;
  co.l1.max_entries = static_cast<size_t>(cfg.cache.l1_max_entries);
  co.l1.max_bytes = static_cast<size_t>(cfg.cache.l1_max_bytes);
  co.default_ttl = cache::Ms(int64_t{cfg.cache.default_ttl_seconds} * 1000);
  co.key_prefix = "agentry:" + cfg.agent.name + ":cache:";
  if (!cfg.cache.redis_url.empty())
    co.redis = redis_options(cfg.cache.redis_url, cfg.agent.name, cfg.cache.redis_password);
  return co;
}

memory::MemoryOptions memory_options(const Config& cfg) {
  memory::MemoryOptions mo;
  mo.default_agent = cfg.agent.name;
  mo.limits.max_entries_per_agent = static_cast<size_t>(cfg.memory.memory_max_entries);
  mo.limits.default_ttl_s = cfg.memory.ttl_seconds;
  mo.limits.on_full = cfg.memory.on_full == "evictOldest" ? memory::Limits::OnFull::kEvictOldest
                                                          : memory::Limits::OnFull::kRefuse;
  mo.limits.max_exchanges_per_agent = static_cast<size_t>(cfg.memory.exchanges_max_entries);
  mo.limits.exchange_ttl_s = cfg.memory.exchanges_ttl_seconds;
  if (cfg.memory.memory_backend == "redis") {  // validate(): it has a URL
    mo.persistence = memory::MemoryOptions::Persistence::kRedis;
    const bool own = !cfg.memory.redis_url.empty();
    mo.redis = redis_options(memory_redis_url(cfg), cfg.agent.name,
                             own ? cfg.memory.redis_password : cfg.cache.redis_password);
    mo.redis_backend.prefix = "agentry:" + cfg.agent.name + ":mem:";
  } else if (!cfg.memory.memory_dir.empty()) {
    mo.persistence = memory::MemoryOptions::Persistence::kEmbedded;
    mo.log.dir = cfg.memory.memory_dir;
  }  // else in process only (documented: memory.memoryDir ""); the sidecar logs it at start
  return mo;
}

Result<std::shared_ptr<memory::Embedder>> make_embedder(const Config& cfg,
                                                        std::shared_ptr<Provider> provider) {
  int dim = cfg.memory.embedding_dim;
  if (cfg.memory.embedder == "minilm") {
    std::string dir = cfg.memory.model_dir;
    if (dir.empty()) {
      const char* env = std::getenv("AGENTRY_MODEL_DIR");
      dir = env && *env ? env : "/usr/share/agentry/models/all-MiniLM-L6-v2";
    }
    auto m = memory::minilm::MiniLmEmbedder::load(dir);
    if (!m.ok())
      return invalid_argument("memory.modelDir: " + m.status().message() +
                              " (hack/models.sh fetches the model; or memory.embedder: lexical)");
    // One pass per usable core (the pod's CPU limit, not the node's CPUs) at once; texts that
    // arrive meanwhile share the next pass.
    const int cores = usable_cores();
    return std::shared_ptr<memory::Embedder>(std::make_shared<memory::BatchingEmbedder>(
        std::shared_ptr<memory::Embedder>(std::move(*m)),
        memory::BatchingOptions{.passes = cores, .max_texts = 64}));
  }
  if (cfg.memory.embedder != "provider")
    return std::shared_ptr<memory::Embedder>(
        std::make_shared<memory::LocalEmbedder>(dim > 0 ? dim : kLocalEmbeddingDim));
  if (dim <= 0) {
    auto probe = provider->embed({"dimension probe"});
    if (!probe.ok() || probe->empty() || probe->front().empty())
      return unavailable(
          "memory.embedder: provider: the provider returned no embedding for a probe (" +
          (probe.ok() ? std::string("empty answer") : probe.status().message()) +
          "); set memory.embeddingDim to start without probing, or memory.embedder: lexical");
    dim = static_cast<int>(probe->front().size());
  }
  // Requests that arrive while kProviderEmbedCalls calls are out share the next one (one round
  // trip for many texts); the provider's embeddings breaker and retries are under it.
  constexpr int kProviderEmbedCalls = 4;
  auto fn = std::make_shared<memory::FunctionEmbedder>(
      [provider](const std::vector<std::string>& texts) { return provider->embed(texts); }, dim,
      "provider:" + provider->name() + ":" +
          (cfg.provider.embedding_model.empty() ? cfg.provider.model
                                                : cfg.provider.embedding_model));
  return std::shared_ptr<memory::Embedder>(std::make_shared<memory::BatchingEmbedder>(
      std::move(fn), memory::BatchingOptions{.passes = kProviderEmbedCalls, .max_texts = 256}));
}

}  // namespace agentry::sidecar
