#include "sidecar/memory/minilm/bert.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "sidecar/memory/minilm/fast_math.h"

namespace agentry::memory::minilm {

Result<std::unique_ptr<BertEncoder>> BertEncoder::load(const SafeTensors& st, BertShape s) {
  std::unique_ptr<BertEncoder> e(new BertEncoder(s));
  Status err = ok_status();
  auto get = [&](const std::string& name, std::vector<int64_t> shape) -> const float* {
    if (!err.is_ok()) return nullptr;
    auto r = st.f32(name, shape);
    if (!r.ok()) {
      err = r.status();
      return nullptr;
    }
    return *r;
  };
  const int64_t h = s.hidden, f = s.intermediate;
  auto dense = [&](const std::string& p, int in, int out) {
    return Dense{get(p + ".weight", {out, in}), get(p + ".bias", {out}), in, out};
  };
  auto norm = [&](const std::string& p) {
    return Norm{get(p + ".weight", {h}), get(p + ".bias", {h})};
  };
  e->word_ = get("embeddings.word_embeddings.weight", {s.vocab, h});
  e->position_ = get("embeddings.position_embeddings.weight", {s.max_positions, h});
  e->token_type_ = get("embeddings.token_type_embeddings.weight", {2, h});
  e->embed_norm_ = norm("embeddings.LayerNorm");
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    Layer L;
    L.q = dense(p + "attention.self.query", s.hidden, s.hidden);
    L.k = dense(p + "attention.self.key", s.hidden, s.hidden);
    L.v = dense(p + "attention.self.value", s.hidden, s.hidden);
    L.attn_out = dense(p + "attention.output.dense", s.hidden, s.hidden);
    L.attn_norm = norm(p + "attention.output.LayerNorm");
    L.ffn_in = dense(p + "intermediate.dense", s.hidden, static_cast<int>(f));
    L.ffn_out = dense(p + "output.dense", static_cast<int>(f), s.hidden);
    L.out_norm = norm(p + "output.LayerNorm");
    e->layers_.push_back(L);
  }
  if (!err.is_ok()) return err;
  return e;
}

void BertEncoder::dense(const Dense& d, const float* x, int tokens, float* y) const {
  for (int t = 0; t < tokens; ++t) std::copy(d.b, d.b + d.out, y + static_cast<size_t>(t) * d.out);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, d.out, d.in, 1.0f, x, d.in, d.w,
              d.in, 1.0f, y, d.out);
}

void BertEncoder::layer_norm(const Norm& n, float* x, int tokens) const {
  const int h = shape_.hidden;
  for (int t = 0; t < tokens; ++t) {
    float* row = x + static_cast<size_t>(t) * h;
    double mean = 0, var = 0;
    for (int i = 0; i < h; ++i) mean += row[i];
    mean /= h;
    for (int i = 0; i < h; ++i) var += (row[i] - mean) * (row[i] - mean);
    var /= h;
    const double inv = 1.0 / std::sqrt(var + shape_.layer_norm_eps);
    for (int i = 0; i < h; ++i)
      row[i] = static_cast<float>((row[i] - mean) * inv) * n.gamma[i] + n.beta[i];
  }
}

Result<std::vector<std::vector<float>>> BertEncoder::encode(
    const std::vector<std::vector<int32_t>>& seqs) const {
  const int h = shape_.hidden, heads = shape_.heads, dh = h / heads;
  std::vector<int> start;  // each sequence's first row in the stacked matrices
  int tokens = 0;
  for (const auto& s : seqs) {
    if (s.empty() || s.size() > static_cast<size_t>(shape_.max_positions))
      return invalid_argument("a sequence of " + std::to_string(s.size()) + " tokens (want 1.." +
                              std::to_string(shape_.max_positions) + ")");
    for (int32_t id : s)
      if (id < 0 || id >= shape_.vocab)
        return invalid_argument("token id " + std::to_string(id) + " outside the vocabulary");
    start.push_back(tokens);
    tokens += static_cast<int>(s.size());
  }
  const size_t th = static_cast<size_t>(tokens) * h;
  std::vector<float> x(th), q(th), k(th), v(th), ctx(th), tmp(th);
  std::vector<float> ffn(static_cast<size_t>(tokens) * shape_.intermediate);
  // Embeddings: word + position + token type 0, then LayerNorm.
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (size_t i = 0; i < seqs[s].size(); ++i) {
      float* row = x.data() + (static_cast<size_t>(start[s]) + i) * h;
      const float* w = word_ + static_cast<size_t>(seqs[s][i]) * h;
      const float* p = position_ + i * h;
      for (int j = 0; j < h; ++j) row[j] = w[j] + p[j] + token_type_[j];
    }
  }
  layer_norm(embed_norm_, x.data(), tokens);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  std::vector<float> scores;
  for (const Layer& L : layers_) {
    dense(L.q, x.data(), tokens, q.data());
    dense(L.k, x.data(), tokens, k.data());
    dense(L.v, x.data(), tokens, v.data());
    // Attention, per sequence and head: softmax(Q K^T / sqrt(dh)) V, on strided head columns.
    for (size_t s = 0; s < seqs.size(); ++s) {
      const int n = static_cast<int>(seqs[s].size());
      const size_t base = static_cast<size_t>(start[s]) * h;
      scores.resize(static_cast<size_t>(n) * n);
      for (int hd = 0; hd < heads; ++hd) {
        const size_t col = base + static_cast<size_t>(hd) * dh;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, dh, scale, q.data() + col, h,
                    k.data() + col, h, 0.0f, scores.data(), n);
        for (int r = 0; r < n; ++r) {
          float* row = scores.data() + static_cast<size_t>(r) * n;
          const float mx = *std::max_element(row, row + n);
          for (int c = 0; c < n; ++c) row[c] -= mx;
          exp_inplace(row, n);
          float sum = 0;
          for (int c = 0; c < n; ++c) sum += row[c];
          const float inv = 1.0f / sum;
          for (int c = 0; c < n; ++c) row[c] *= inv;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, n, 1.0f, scores.data(), n,
                    v.data() + col, h, 0.0f, ctx.data() + col, h);
      }
    }
    dense(L.attn_out, ctx.data(), tokens, tmp.data());
    for (size_t i = 0; i < th; ++i) x[i] += tmp[i];
    layer_norm(L.attn_norm, x.data(), tokens);
    dense(L.ffn_in, x.data(), tokens, ffn.data());
    gelu_inplace(ffn.data(), static_cast<int>(ffn.size()));
    dense(L.ffn_out, ffn.data(), tokens, tmp.data());
    for (size_t i = 0; i < th; ++i) x[i] += tmp[i];
    layer_norm(L.out_norm, x.data(), tokens);
  }
  // Mean over each sequence's tokens (all real: nothing is padded), then L2.
  std::vector<std::vector<float>> out;
  out.reserve(seqs.size());
  for (size_t s = 0; s < seqs.size(); ++s) {
    const int n = static_cast<int>(seqs[s].size());
    std::vector<double> acc(static_cast<size_t>(h), 0.0);
    for (int i = 0; i < n; ++i) {
      const float* row = x.data() + (static_cast<size_t>(start[s]) + i) * h;
      for (int j = 0; j < h; ++j) acc[static_cast<size_t>(j)] += row[j];
    }
    double norm = 0;
    for (double& a : acc) {
      a /= n;
      norm += a * a;
    }
    norm = std::sqrt(norm);
    std::vector<float> vec(static_cast<size_t>(h));
    for (int j = 0; j < h; ++j)
      vec[static_cast<size_t>(j)] =
          static_cast<float>(norm > 0 ? acc[static_cast<size_t>(j)] / norm : 0.0);
    out.push_back(std::move(vec));
  }
  return out;
}

}  // namespace agentry::memory::minilm
