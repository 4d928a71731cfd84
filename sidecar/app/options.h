// What each storage part of the sidecar is given, read from the validated Config. Pure, except
// make_embedder(), which may probe the provider once. Each default a part gets here is the
// documented default of a config field (docs/sidecar.md); nothing is chosen silently.
#pragma once

#include <memory>

#include "common/result.h"
#include "sidecar/cache/cache_service.h"
#include "sidecar/config.h"
#include "sidecar/exec/providers/provider.h"
#include "sidecar/memory/embedder.h"
#include "sidecar/memory/memory_service.h"

namespace agentry::sidecar {

// The local embedder's dimension when memory.embeddingDim is 0.
constexpr int kLocalEmbeddingDim = 384;

// The cache: L1 bounds and TTL from cache.*, Redis L2 when cache.redisUrl is set.
cache::CacheOptions cache_options(const Config& cfg);

// Agent memory: bounds from memory.*, persistence from memory.backend / memory.memoryDir, the
// Redis connection from memory.redisUrl (else cache.redisUrl) and its password.
memory::MemoryOptions memory_options(const Config& cfg);

// The embedder memory.embedder names. `provider` uses the provider's embeddings at
// memory.embeddingDim, or at the dimension a one-text probe returns when that is 0; a probe that
// fails is an error naming memory.embedder (the sidecar does not start with an embedder the user
// did not ask for).
Result<std::shared_ptr<memory::Embedder>> make_embedder(const Config& cfg,
                                                        std::shared_ptr<Provider> provider);

}  // namespace agentry::sidecar
