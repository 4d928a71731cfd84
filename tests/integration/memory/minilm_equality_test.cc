// The sidecar's MiniLM embedder (sidecar/memory/minilm/) against a reference no one here wrote
// the parts of: token ids from Hugging Face's `tokenizers` reading the model's tokenizer.json,
// vectors from a numpy forward pass over the same safetensors (minilm_reference.py, in
// hack/test-tools.sh's venv). Every sentence of tests/data/minilm_sentences.jsonl (ASCII,
// accents, Greek, Cyrillic, CJK, emoji, controls, one character, past 256 tokens) must give the
// same ids and a cosine of at least 0.9999.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sidecar/memory/minilm/minilm_embedder.h"
#include "tests/support/control_plane.h"
#include "tests/support/test_tools.h"

namespace agentry::testing {
namespace {

using nlohmann::json;

double cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    dot += a[i] * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += b[i] * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(MiniLmEquality, IdsAndVectorsEqualTheReferenceForEverySentence) {
  const std::string model = minilm_model_dir();
  ASSERT_FALSE(model.empty()) << "hack/models.sh failed";
  const std::string tools = test_tools_dir();
  ASSERT_FALSE(tools.empty()) << "hack/test-tools.sh failed";
  const std::string sentences_file = repo_dir() + "/tests/data/minilm_sentences.jsonl";
  int rc = -1;
  const std::string ref = run_capture(tools + "/venv/bin/python '" + repo_dir() +
                                          "/tests/integration/memory/minilm_reference.py' '" +
                                          model + "' '" + sentences_file + "'",
                                      &rc);
  ASSERT_EQ(rc, 0) << ref.substr(0, 2000);

  std::vector<std::string> sentences;
  std::ifstream in(sentences_file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) sentences.push_back(json::parse(line).get<std::string>());
  ASSERT_GE(sentences.size(), 200u);
  std::vector<json> expected;
  size_t pos = 0;
  while (pos < ref.size()) {
    size_t end = ref.find('\n', pos);
    if (end == std::string::npos) end = ref.size();
    if (end > pos) expected.push_back(json::parse(ref.substr(pos, end - pos)));
    pos = end + 1;
  }
  ASSERT_EQ(expected.size(), sentences.size());

  auto e = memory::minilm::MiniLmEmbedder::load(model);
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  auto vectors = (*e)->embed(sentences);  // one batch of all: batching must not change a vector
  ASSERT_TRUE(vectors.ok()) << vectors.status().to_string();
  double worst = 1;
  size_t truncated = 0, id_mismatches = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const auto ids = (*e)->tokenizer().encode(sentences[i], (*e)->max_tokens());
    const auto want = expected[i]["ids"].get<std::vector<int32_t>>();
    if (ids != want) {
      ++id_mismatches;
      ADD_FAILURE() << "ids differ for " << json(sentences[i]).dump() << "\n ours " << json(ids)
                    << "\n want " << json(want);
    }
    truncated += want.size() == 256;
    const double c = cosine((*vectors)[i], expected[i]["vector"].get<std::vector<double>>());
    EXPECT_GE(c, 0.9999) << json(sentences[i]).dump();
    worst = std::min(worst, c);
  }
  EXPECT_EQ(id_mismatches, 0u);
  EXPECT_GE(truncated, 3u) << "the set has texts past 256 tokens";
  // The published sentence-transformers figure for the first two sentences.
  const auto& v = *vectors;
  double published = 0;
  for (size_t j = 0; j < v[0].size(); ++j) published += v[0][j] * v[1][j];
  EXPECT_NEAR(published, 0.7553, 0.0005);
  std::printf("MiniLM equality: %zu sentences, worst cosine %.7f, %zu truncated at 256\n",
              sentences.size(), worst, truncated);
}

}  // namespace
}  // namespace agentry::testing
