#include "sidecar/memory/minilm/wordpiece.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "common/file_io.h"
#include "common/json_io.h"

namespace agentry::memory::minilm {
namespace {

using CodePoints = std::vector<UChar32>;

CodePoints decode(std::string_view s) {
  CodePoints out;
  out.reserve(s.size());
  int32_t i = 0;
  const int32_t n = static_cast<int32_t>(s.size());
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  while (i < n) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    out.push_back(c < 0 ? 0xFFFD : c);  // invalid UTF-8: the replacement character (then dropped)
  }
  return out;
}

void append_utf8(UChar32 c, std::string* out) {
  char buf[4];
  int32_t len = 0;
  UBool err = false;
  U8_APPEND(reinterpret_cast<uint8_t*>(buf), len, 4, c, err);
  if (!err) out->append(buf, static_cast<size_t>(len));
}

bool is_other(UChar32 c) {  // Unicode general category C*: Cc, Cf, Cn, Co, Cs
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

bool is_control(UChar32 c) {
  return c != '\t' && c != '\n' && c != '\r' && is_other(c);
}

bool is_whitespace(UChar32 c) {
  return c == '\t' || c == '\n' || c == '\r' || u_isUWhiteSpace(c);
}

bool is_chinese(UChar32 c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_punctuation(UChar32 c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// NFD of the whole text (ICU works in UTF-16), then nonspacing marks dropped.
CodePoints nfd_without_marks(const CodePoints& in) {
  std::u16string src;
  src.reserve(in.size());
  for (UChar32 c : in) {
    if (U_IS_BMP(c)) {
      src.push_back(static_cast<char16_t>(c));
    } else {
      src.push_back(static_cast<char16_t>(U16_LEAD(c)));
      src.push_back(static_cast<char16_t>(U16_TRAIL(c)));
    }
  }
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* nfd = unorm2_getNFDInstance(&status);
  std::u16string dst(src.size() * 3 + 16, u'\0');
  int32_t len = 0;
  if (U_SUCCESS(status)) {
    len = unorm2_normalize(nfd, reinterpret_cast<const UChar*>(src.data()),
                           static_cast<int32_t>(src.size()), reinterpret_cast<UChar*>(dst.data()),
                           static_cast<int32_t>(dst.size()), &status);
  }
  if (U_FAILURE(status)) return in;  // cannot happen with the buffer above; keep the text
  CodePoints out;
  out.reserve(static_cast<size_t>(len));
  for (int32_t i = 0; i < len;) {
    UChar32 c;
    U16_NEXT(dst.data(), i, len, c);
    if (u_charType(c) != U_NON_SPACING_MARK) out.push_back(c);
  }
  return out;
}

// One character lowercased with the full mapping and no context (a final sigma stays σ).
void lower_into(UChar32 c, CodePoints* out) {
  if (c < 128) {
    out->push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  UChar src[2];
  int32_t n = 0;
  U16_APPEND_UNSAFE(src, n, c);
  UChar dst[8];
  UErrorCode status = U_ZERO_ERROR;
  const int32_t len = u_strToLower(dst, 8, src, n, "", &status);
  if (U_FAILURE(status)) {
    out->push_back(c);
    return;
  }
  for (int32_t i = 0; i < len;) {
    UChar32 l;
    U16_NEXT(dst, i, len, l);
    out->push_back(l);
  }
}

CodePoints normalize_points(std::string_view text) {
  CodePoints cleaned;
  for (UChar32 c : decode(text)) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(' ');
    } else if (is_chinese(c)) {
      cleaned.push_back(' ');
      cleaned.push_back(c);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(c);
    }
  }
  CodePoints lowered;
  lowered.reserve(cleaned.size());
  for (UChar32 c : nfd_without_marks(cleaned)) lower_into(c, &lowered);
  return lowered;
}

std::vector<std::string> split(const CodePoints& text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(std::move(cur));
    cur.clear();
  };
  for (UChar32 c : text) {
    if (u_isUWhiteSpace(c)) {
      flush();
    } else if (is_punctuation(c)) {
      flush();
      append_utf8(c, &cur);
      flush();
    } else {
      append_utf8(c, &cur);
    }
  }
  flush();
  return words;
}

}  // namespace

std::string bert_normalize(std::string_view text) {
  std::string out;
  for (UChar32 c : normalize_points(text)) append_utf8(c, &out);
  return out;
}

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::load(const std::string& path) {
  std::string text;
  if (!read_file(path, &text)) return invalid_argument(path + ": cannot read the tokenizer");
  auto t = parse(text);
  if (!t.ok()) return invalid_argument(path + ": " + t.status().message());
  return t;
}

Result<std::unique_ptr<WordPieceTokenizer>> WordPieceTokenizer::parse(const std::string& text) {
  auto j = json_io::parse(text);
  if (!j.ok()) return j.status();
  const nlohmann::json& model = j->value("model", nlohmann::json::object());
  if (!model.is_object() || model.value("type", "") != "WordPiece")
    return invalid_argument("model.type: want WordPiece");
  const nlohmann::json& vocab = model.value("vocab", nlohmann::json::object());
  if (!vocab.is_object() || vocab.empty()) return invalid_argument("model.vocab: empty");
  std::unique_ptr<WordPieceTokenizer> t(new WordPieceTokenizer());
  t->vocab_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_integer())
      return invalid_argument("model.vocab." + it.key() + ": not an id");
    t->vocab_[it.key()] = it->get<int32_t>();
  }
  t->prefix_ = model.value("continuing_subword_prefix", std::string("##"));
  t->max_word_chars_ = model.value("max_input_chars_per_word", size_t{100});
  auto id = [&](const std::string& tok, int32_t* out) {
    auto it = t->vocab_.find(tok);
    if (it == t->vocab_.end()) return false;
    *out = it->second;
    return true;
  };
  if (!id(model.value("unk_token", std::string("[UNK]")), &t->unk_) || !id("[CLS]", &t->cls_) ||
      !id("[SEP]", &t->sep_))
    return invalid_argument("model.vocab: no [UNK], [CLS] or [SEP]");
  return t;
}

void WordPieceTokenizer::wordpiece(const std::string& word, std::vector<int32_t>* out) const {
  // Character boundaries (byte offsets) of the word.
  std::vector<size_t> bounds;
  for (size_t i = 0; i < word.size(); ++i)
    if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) bounds.push_back(i);
  bounds.push_back(word.size());
  const size_t chars = bounds.size() - 1;
  if (chars > max_word_chars_) {
    out->push_back(unk_);
    return;
  }
  std::vector<int32_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < chars;) {
    size_t end = chars;
    int32_t found = -1;
    for (; end > start; --end) {
      candidate.assign(start > 0 ? prefix_ : "");
      candidate.append(word, bounds[start], bounds[end] - bounds[start]);
      auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {
      out->push_back(unk_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  out->insert(out->end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::words(std::string_view text) const {
  return split(normalize_points(text));
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text, size_t max_tokens) const {
  std::vector<int32_t> ids = {cls_};
  const size_t room = max_tokens < 2 ? 0 : max_tokens - 2;
  for (const auto& w : words(text)) {
    wordpiece(w, &ids);
    if (ids.size() - 1 >= room) break;
  }
  if (ids.size() - 1 > room) ids.resize(room + 1);
  ids.push_back(sep_);
  return ids;
}

}  // namespace agentry::memory::minilm
