// Text -> vector. The agent's provider embeds when it has an embedding endpoint (FunctionEmbedder
// wraps the provider's embed()); otherwise LocalEmbedder stands in.
//
// LocalEmbedder is a lexical stand-in, not a language model: it hashes lowercase word unigrams,
// word bigrams and character trigrams into `dim` buckets with a sign hash, then L2-normalises.
// Texts sharing words and word pieces score high; synonyms and paraphrases without shared words do
// not. It is deterministic across processes and versions (FNV-1a), so stored vectors stay valid.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::memory {

using Vector = std::vector<float>;

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) = 0;
  virtual int dimension() const = 0;
  virtual std::string name() const = 0;
  // True when embed() may wait on I/O (a network call): routes that embed then run on a worker
  // thread rather than on the server's I/O thread. CPU-only embedders return false.
  virtual bool may_block() const = 0;
};

class LocalEmbedder : public Embedder {
 public:
  static constexpr const char* kName = "local-hashed-ngrams";
  explicit LocalEmbedder(int dim = 384) : dim_(dim) {}
  Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) override;
  Vector embed_one(const std::string& text) const;
  int dimension() const override { return dim_; }
  std::string name() const override { return kName; }
  bool may_block() const override { return false; }

 private:
  int dim_;
};

// Adapts any embed function (the provider's) to the interface; checks the dimension it returns.
class FunctionEmbedder : public Embedder {
 public:
  using Fn = std::function<Result<std::vector<Vector>>(const std::vector<std::string>&)>;
  FunctionEmbedder(Fn fn, int dim, std::string name)
      : fn_(std::move(fn)), dim_(dim), name_(std::move(name)) {}
  Result<std::vector<Vector>> embed(const std::vector<std::string>& texts) override;
  int dimension() const override { return dim_; }
  std::string name() const override { return name_; }
  bool may_block() const override { return true; }  // the function may be an HTTP call

 private:
  Fn fn_;
  int dim_;
  std::string name_;
};

// In place; false for a zero vector (left as is).
bool l2_normalize(Vector& v);

}  // namespace agentry::memory
