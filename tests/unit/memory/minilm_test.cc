// The MiniLM pieces that need no model file: the tokenizer on a small vocabulary, the safetensors
// reader on files written here, the encoder refusing what the tokenizer never makes. (The whole
// model against its reference: minilm_equality_integration_test.)
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sidecar/memory/minilm/bert.h"
#include "sidecar/memory/minilm/fast_math.h"
#include "sidecar/memory/minilm/safetensors.h"
#include "sidecar/memory/minilm/wordpiece.h"
#include "tests/support/tempdir.h"

namespace agentry::memory::minilm {
namespace {

using nlohmann::json;

std::unique_ptr<WordPieceTokenizer> small_tokenizer() {
  json vocab = {{"[PAD]", 0},   {"[UNK]", 100},  {"[CLS]", 101}, {"[SEP]", 102}, {"un", 200},
                {"##aff", 201}, {"##able", 202}, {"cafe", 203},  {"!", 204},     {"中", 205},
                {"文", 206},    {"hello", 207},  {",", 208},     {"σ", 209}};
  json t = {{"model",
             {{"type", "WordPiece"},
              {"unk_token", "[UNK]"},
              {"continuing_subword_prefix", "##"},
              {"max_input_chars_per_word", 100},
              {"vocab", vocab}}}};
  auto r = WordPieceTokenizer::parse(t.dump());
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(*r) : nullptr;
}

// The encoder's exp and erf against libm's, over every range the softmax and GELU can see.
TEST(MiniLmFastMath, ExpAndErfAgreeWithLibm) {
  double worst_exp = 0, worst_erf = 0;
  for (float x = -87.0f; x <= 10.0f; x += 0.00173f) {
    const double want = std::exp(static_cast<double>(x));
    worst_exp = std::max(worst_exp, std::abs(exp_approx(x) - want) / want);
  }
  EXPECT_LT(worst_exp, 3e-7);
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_GE(exp_approx(-1000.0f), 0.0f);
  EXPECT_LT(exp_approx(-1000.0f), 1e-37f);
  for (float x = -8.0f; x <= 8.0f; x += 0.00037f)
    worst_erf = std::max(worst_erf, std::abs(erf_approx(x) - std::erf(static_cast<double>(x))));
  EXPECT_LT(worst_erf, 1e-6);  // the formula 1.5e-7, float arithmetic the rest
  float a[4] = {-3.0f, -0.5f, 0.0f, 2.0f};
  gelu_inplace(a, 4);
  for (int i = 0; i < 4; ++i) {
    const double x = std::array<double, 4>{-3.0, -0.5, 0.0, 2.0}[i];
    EXPECT_NEAR(a[i], 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))), 2e-6) << x;
  }
}

TEST(MiniLmTokenizer, NormalizesLikeBert) {
  EXPECT_EQ(bert_normalize("Café  CRÈME"), "cafe  creme");  // accents gone, lowercase
  EXPECT_EQ(bert_normalize("a\tb\nc\x07"
                           "d"),
            "a b cd");                                // white space to ' ', BEL dropped
  EXPECT_EQ(bert_normalize("中文"), " 中  文 ");      // CJK set apart
  EXPECT_EQ(bert_normalize("e\xcc\x81"), "e");        // a combining accent dropped
  EXPECT_EQ(bert_normalize("\xce\xa3"), "\xcf\x83");  // Σ -> σ, no final-sigma context
  EXPECT_EQ(bert_normalize("zero\xe2\x80\x8bwidth"), "zerowidth");  // U+200B is Cf: dropped
  EXPECT_EQ(bert_normalize("\xff\xfe bad utf8"), " bad utf8");      // invalid bytes dropped
}

TEST(MiniLmTokenizer, SplitsPunctuationAndMatchesPieces) {
  auto t = small_tokenizer();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->words("Hello, unaffable café!"),
            (std::vector<std::string>{"hello", ",", "unaffable", "cafe", "!"}));
  EXPECT_EQ(t->encode("Hello, unaffable café!", 256),
            (std::vector<int32_t>{101, 207, 208, 200, 201, 202, 203, 204, 102}));
  EXPECT_EQ(t->encode("中文 zebra", 256), (std::vector<int32_t>{101, 205, 206, 100, 102}))
      << "a word with no match is one [UNK]";
  EXPECT_EQ(t->encode("Σ", 256), (std::vector<int32_t>{101, 209, 102}));
  EXPECT_EQ(t->encode("", 256), (std::vector<int32_t>{101, 102}));
  EXPECT_EQ(t->encode(std::string(101, 'a'), 256), (std::vector<int32_t>{101, 100, 102}))
      << "a word past 100 characters is [UNK]";
  // Truncation keeps [CLS] and [SEP] inside the limit.
  EXPECT_EQ(t->encode("hello hello hello hello", 4), (std::vector<int32_t>{101, 207, 207, 102}));
  EXPECT_EQ(t->encode("unaffable", 3), (std::vector<int32_t>{101, 200, 102}));
}

TEST(MiniLmTokenizer, RefusesAFileThatIsNotWordPiece) {
  EXPECT_FALSE(WordPieceTokenizer::parse("{nope").ok());
  EXPECT_FALSE(WordPieceTokenizer::parse(R"({"model":{"type":"BPE","vocab":{"a":1}}})").ok());
  auto r = WordPieceTokenizer::parse(R"({"model":{"type":"WordPiece","vocab":{"a":1}}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("[UNK]"), std::string::npos);
}

// A safetensors file: header length, JSON header, data.
std::string write_safetensors(testing::TempDir& dir, const json& header, size_t data_bytes) {
  std::string h = header.dump();
  while ((8 + h.size()) % 8) h += ' ';
  const uint64_t n = h.size();
  std::string file(reinterpret_cast<const char*>(&n), 8);
  file += h;
  file += std::string(data_bytes, '\0');
  const std::string path = dir.file("t.safetensors");
  std::ofstream(path, std::ios::binary) << file;
  return path;
}

TEST(MiniLmSafeTensors, ChecksNameDtypeShapeAndBounds) {
  testing::TempDir dir("safetensors");
  const std::string path = write_safetensors(
      dir,
      {{"w", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}},
       {"i", {{"dtype", "I64"}, {"shape", {1}}, {"data_offsets", {24, 32}}}},
       {"far", {{"dtype", "F32"}, {"shape", {100}}, {"data_offsets", {32, 432}}}}},
      32);
  auto st = SafeTensors::open(path);
  ASSERT_TRUE(st.ok()) << st.status().to_string();
  EXPECT_TRUE((*st)->f32("w", {2, 3}).ok());
  EXPECT_NE((*st)->f32("w", {3, 2}).status().message().find("has shape [2,3], want [3,2]"),
            std::string::npos);
  EXPECT_NE((*st)->f32("i", {1}).status().message().find("is I64, want F32"), std::string::npos);
  EXPECT_NE((*st)->f32("far", {100}).status().message().find("out of the file's bounds"),
            std::string::npos);
  EXPECT_NE((*st)->f32("none", {1}).status().message().find("no tensor none"), std::string::npos);
  // A header length past the file.
  const std::string bad = dir.file("bad.safetensors");
  const uint64_t huge = 1u << 30;
  std::ofstream(bad, std::ios::binary)
      << std::string(reinterpret_cast<const char*>(&huge), 8) << "{}";
  EXPECT_FALSE(SafeTensors::open(bad).ok());
  EXPECT_FALSE(SafeTensors::open(dir.file("missing")).ok());
}

}  // namespace
}  // namespace agentry::memory::minilm
