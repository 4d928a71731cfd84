#include "sidecar/memory/minilm/minilm_embedder.h"

#include <cblas.h>

#include "common/file_io.h"
#include "common/json_io.h"

namespace agentry::memory::minilm {
namespace {

constexpr size_t kMaxBatch = 64;
// Tokens stacked in one pass: beyond this the activations (tokens x 1536 floats for the
// feed-forward alone) leave the caches and a pass costs more per token, not less (memory_bench:
// 16 long texts a pass ran at 0.68 of the floor, 1 a pass at 0.77).
constexpr size_t kMaxPassTokens = 1024;

Result<nlohmann::json> read_json(const std::string& path) {
  std::string text;
  if (!read_file(path, &text)) return invalid_argument(path + ": cannot read");
  auto j = json_io::parse(text);
  if (!j.ok() || !j->is_object()) return invalid_argument(path + ": not a JSON object");
  return j;
}

}  // namespace

Result<std::unique_ptr<MiniLmEmbedder>> MiniLmEmbedder::load(const std::string& dir) {
  // One thread per product: the sidecar runs embeddings on its workers, in parallel already.
  openblas_set_num_threads(1);
  std::unique_ptr<MiniLmEmbedder> e(new MiniLmEmbedder());
  auto cfg = read_json(dir + "/config.json");
  if (!cfg.ok()) return cfg.status();
  BertShape s;
  if (cfg->value("model_type", "") != "bert" || cfg->value("hidden_act", "") != "gelu" ||
      cfg->value("position_embedding_type", "absolute") != "absolute")
    return invalid_argument(dir +
                            "/config.json: not a BERT model with GELU and absolute positions");
  s.layers = cfg->value("num_hidden_layers", 0);
  s.hidden = cfg->value("hidden_size", 0);
  s.heads = cfg->value("num_attention_heads", 0);
  s.intermediate = cfg->value("intermediate_size", 0);
  s.vocab = cfg->value("vocab_size", 0);
  s.max_positions = cfg->value("max_position_embeddings", 0);
  s.layer_norm_eps = cfg->value("layer_norm_eps", 1e-12f);
  if (s.layers < 1 || s.hidden < 1 || s.heads < 1 || s.hidden % s.heads != 0 ||
      s.intermediate < 1 || s.vocab < 1 || s.max_positions < 2)
    return invalid_argument(dir + "/config.json: incomplete BERT dimensions");
  if (auto st = read_json(dir + "/sentence_bert_config.json"); st.ok())
    e->max_tokens_ = st->value("max_seq_length", size_t{256});
  e->max_tokens_ = std::min(e->max_tokens_, static_cast<size_t>(s.max_positions));
  auto tok = WordPieceTokenizer::load(dir + "/tokenizer.json");
  if (!tok.ok()) return tok.status();
  e->tokenizer_ = std::move(*tok);
  if (e->tokenizer_->vocab_size() != static_cast<size_t>(s.vocab))
    return invalid_argument(dir +
                            "/tokenizer.json: " + std::to_string(e->tokenizer_->vocab_size()) +
                            " tokens, config.json says " + std::to_string(s.vocab));
  auto w = SafeTensors::open(dir + "/model.safetensors");
  if (!w.ok()) return w.status();
  e->weights_ = std::move(*w);
  auto enc = BertEncoder::load(*e->weights_, s);
  if (!enc.ok()) return enc.status();
  e->encoder_ = std::move(*enc);
  return e;
}

Result<std::vector<Vector>> MiniLmEmbedder::embed(const std::vector<std::string>& texts) {
  std::vector<Vector> out;
  out.reserve(texts.size());
  std::vector<std::vector<int32_t>> pass;
  size_t tokens = 0;
  auto run = [&]() -> Status {
    auto v = encoder_->encode(pass);
    if (!v.ok()) return v.status();
    for (auto& x : *v) out.push_back(std::move(x));
    pass.clear();
    tokens = 0;
    return ok_status();
  };
  for (const auto& text : texts) {
    auto ids = tokenizer_->encode(text, max_tokens_);
    if (!pass.empty() && (pass.size() == kMaxBatch || tokens + ids.size() > kMaxPassTokens))
      if (Status s = run(); !s) return s;
    tokens += ids.size();
    pass.push_back(std::move(ids));
  }
  if (!pass.empty())
    if (Status s = run(); !s) return s;
  return out;
}

}  // namespace agentry::memory::minilm
