// memory_bench's rows for the MiniLM embedder (issue 21), each beside its target and a floor
// measured in the same run:
//   embeddings per second per core, short (<= 16 tokens) and long (128 tokens) texts, against the
//     same matrix products alone (cblas_sgemm at the shapes the forward pass uses);
//   the model's resident memory;
//   p95 of a remember and of a search, embedding included, through the HTTP routes at 1, 8 and 64
//     concurrent requests, with batching and without (what batching bought);
//   retrieval quality on tests/data/retrieval_*.jsonl: recall@5 and MRR, MiniLM vs lexical.
#pragma once

#include <string>

namespace agentry::bench {

// All rows. False when the model cannot be loaded.
bool minilm_rows(const std::string& model_dir);
// Only the quality rows; false when MiniLM does not beat the lexical embedder clearly (recall@5
// and MRR each at least 0.2 higher): the check hack/test.sh runs.
bool retrieval_quality_rows(const std::string& model_dir);

}  // namespace agentry::bench
