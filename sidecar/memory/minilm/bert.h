// A BERT encoder's forward pass (the architecture of all-MiniLM-L6-v2: 6 layers, hidden 384,
// 12 heads, feed-forward 1536, GELU, LayerNorm eps 1e-12), with sentence-transformers' mean
// pooling over the tokens and L2 normalisation: token ids in, one unit vector per sequence out.
// The matrix products run on Debian's OpenBLAS (cblas_sgemm); the rest is plain loops.
//
//   auto st = SafeTensors::open(dir + "/model.safetensors");
//   auto enc = BertEncoder::load(**st, BertShape{});         // checks every tensor's shape
//   std::vector<std::vector<float>> v = (*enc)->encode({ids_a, ids_b});
//
// Batching without padding: the token-wise layers (projections, feed-forward, norms) run on the
// tokens of every sequence stacked into one matrix, so one call makes one large product per
// weight; attention runs per sequence and head on its own rows. No pad token exists, so none can
// enter the mean. Each sequence's vector is exactly what it would be alone.
//
// Thread-safety: encode() is const and may run on several threads at once (scratch is per call).
// The weights point into the SafeTensors, which must outlive the encoder.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "sidecar/memory/minilm/safetensors.h"

namespace agentry::memory::minilm {

struct BertShape {
  int layers = 6;
  int hidden = 384;
  int heads = 12;
  int intermediate = 1536;
  int vocab = 30522;
  int max_positions = 512;
  float layer_norm_eps = 1e-12f;
};

class BertEncoder {
 public:
  static Result<std::unique_ptr<BertEncoder>> load(const SafeTensors& st, BertShape shape);
  // One L2-normalised mean-pooled vector per sequence. Ids outside the vocabulary and sequences
  // longer than max_positions are an error (the tokenizer never makes them).
  Result<std::vector<std::vector<float>>> encode(
      const std::vector<std::vector<int32_t>>& sequences) const;
  int dimension() const { return shape_.hidden; }

 private:
  struct Dense {
    const float* w = nullptr;  // [out, in], row-major (PyTorch's Linear)
    const float* b = nullptr;  // [out]
    int in = 0, out = 0;
  };
  struct Norm {
    const float* gamma = nullptr;
    const float* beta = nullptr;
  };
  struct Layer {
    Dense q, k, v, attn_out, ffn_in, ffn_out;
    Norm attn_norm, out_norm;
  };
  explicit BertEncoder(BertShape s) : shape_(s) {}
  // y[T, out] = x[T, in] W^T + b
  void dense(const Dense& d, const float* x, int tokens, float* y) const;
  void layer_norm(const Norm& n, float* x, int tokens) const;

  BertShape shape_;
  const float* word_ = nullptr;
  const float* position_ = nullptr;
  const float* token_type_ = nullptr;
  Norm embed_norm_;
  std::vector<Layer> layers_;
};

}  // namespace agentry::memory::minilm
