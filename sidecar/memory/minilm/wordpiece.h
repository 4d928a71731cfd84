// BERT's WordPiece tokenizer, read from a Hugging Face tokenizer.json, as the Hugging Face
// `tokenizers` library runs it for all-MiniLM-L6-v2 (BertNormalizer with lowercase and accent
// stripping, BertPreTokenizer, WordPiece with "##" continuations, [CLS] ... [SEP]). Pure: no I/O
// after load(); unit-tested in tests/unit/memory/minilm_test.cc and proven id for id against the
// `tokenizers` package itself in the MiniLM equality test.
//
//   auto tok = WordPieceTokenizer::load(dir + "/tokenizer.json");
//   std::vector<int32_t> ids = (*tok)->encode("A man is eating food.", 256);  // 101 ... 102
//
// The steps, in the library's order:
//   normalize  drop NUL, U+FFFD and control characters (Unicode C*, except \t \n \r); white space
//              (Unicode White_Space) becomes ' '; CJK ideographs get a space on each side; NFD,
//              then nonspacing marks (Mn) dropped; each character lowercased (full mapping, no
//              context, as Rust's char::to_lowercase)
//   split      on white space, and each punctuation character (ASCII punctuation or Unicode P*)
//              is a word of its own
//   wordpiece  greedy longest match from the vocabulary, "##" on every piece after the first; a
//              word longer than 100 characters or with no match is [UNK]
//   truncate   to max_tokens including [CLS] and [SEP] (sentence-transformers' max_seq_length:
//              256 for this model; the file's own 128 is not used). No padding is made: the
//              encoder takes each sequence at its length, so padding cannot enter the mean.
// Unicode properties come from ICU (Debian's libicu), whose tables may be newer than the Rust
// crate's for characters added lately.
//
// Thread-safety: encode() is const and may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace agentry::memory::minilm {

class WordPieceTokenizer {
 public:
  static Result<std::unique_ptr<WordPieceTokenizer>> load(const std::string& tokenizer_json);
  // From the JSON text itself (tests).
  static Result<std::unique_ptr<WordPieceTokenizer>> parse(const std::string& json_text);

  // [CLS] pieces [SEP], at most max_tokens (>= 2) ids.
  std::vector<int32_t> encode(std::string_view text, size_t max_tokens) const;
  // The words after normalize and split (tests and diagnostics).
  std::vector<std::string> words(std::string_view text) const;
  size_t vocab_size() const { return vocab_.size(); }

 private:
  WordPieceTokenizer() = default;
  void wordpiece(const std::string& word, std::vector<int32_t>* out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  int32_t unk_ = 100, cls_ = 101, sep_ = 102;
  std::string prefix_ = "##";
  size_t max_word_chars_ = 100;
};

// The normalizer alone (tests): clean, CJK spacing, NFD without marks, lowercase.
std::string bert_normalize(std::string_view text);

}  // namespace agentry::memory::minilm
