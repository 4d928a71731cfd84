// Issue 21: a store records the embedder that wrote its vectors, and a sidecar configured with
// another one refuses to open it with an error naming memory.embedder, leaving every file as it
// was.
#include "sidecar/memory/embedder_mark.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "sidecar/memory/memory_service.h"
#include "tests/support/tempdir.h"

namespace agentry::memory {
namespace {

using testing::TempDir;

// Stands in for another model: the lexical vectors under another name (what matters is the name).
std::shared_ptr<Embedder> named(const std::string& name, int dim = 384) {
  auto lexical = std::make_shared<LocalEmbedder>(dim);
  return std::make_shared<FunctionEmbedder>(
      [lexical](const std::vector<std::string>& t) { return lexical->embed(t); }, dim, name);
}

// Every file of the folder with its bytes.
std::map<std::string, std::string> files_of(const std::string& dir) {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = d ? ::readdir(d) : nullptr) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    std::ifstream f(dir + "/" + n, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out[n] = ss.str();
  }
  if (d) ::closedir(d);
  return out;
}

MemoryOptions embedded(const std::string& dir) {
  MemoryOptions o;
  o.persistence = MemoryOptions::Persistence::kEmbedded;
  o.log.dir = dir;
  return o;
}

NewEntry fact(const std::string& t) {
  NewEntry e;
  e.text = t;
  return e;
}

TEST(EmbedderMark, TheDecisionNamesTheFieldBothEmbeddersAndWhere) {
  const EmbedderMark minilm{"all-MiniLM-L6-v2/384", false},
      lexical{"local-hashed-ngrams/384", true};
  EXPECT_TRUE(check_embedder_mark("all-MiniLM-L6-v2/384", true, minilm, "x").is_ok());
  EXPECT_TRUE(check_embedder_mark("", false, minilm, "x").is_ok());  // an empty store: adopted
  EXPECT_TRUE(check_embedder_mark("", true, lexical, "x").is_ok());  // old data: was lexical
  EXPECT_TRUE(check_embedder_mark("anything", true, EmbedderMark{}, "x").is_ok());  // no check
  Status s = check_embedder_mark("local-hashed-ngrams/384", true, minilm, "memory.dir /d");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), Code::kConflict);
  for (const char* part :
       {"memory.embedder", "memory.dir /d", "local-hashed-ngrams/384", "all-MiniLM-L6-v2/384"})
    EXPECT_NE(s.message().find(part), std::string::npos) << part << " in " << s.message();
  Status old = check_embedder_mark("", true, minilm, "memory.dir /d");
  ASSERT_FALSE(old.is_ok());
  EXPECT_NE(old.message().find("before stores recorded their embedder"), std::string::npos);
}

TEST(EmbedderMark, AnEmbeddedLogWrittenByOneEmbedderRefusesAnotherAndStaysUntouched) {
  TempDir dir("mark");
  {
    auto m = MemoryService::open(embedded(dir.path()), named("model-a"));
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE((*m)->add({fact("fact " + std::to_string(i))}).ok());
  }
  const auto before = files_of(dir.path());
  ASSERT_EQ(before.count("embedder"), 1u);
  EXPECT_EQ(before.at("embedder"), "model-a/384\n");

  auto other = MemoryService::open(embedded(dir.path()), named("model-b"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), Code::kConflict);
  EXPECT_NE(other.status().message().find("'model-a/384'"), std::string::npos)
      << other.status().message();
  EXPECT_NE(other.status().message().find("'model-b/384'"), std::string::npos);
  EXPECT_NE(other.status().message().find(dir.path()), std::string::npos);
  // The same name at another dimension is another embedder too.
  EXPECT_FALSE(MemoryService::open(embedded(dir.path()), named("model-a", 128)).ok());
  EXPECT_EQ(files_of(dir.path()), before);

  auto again = MemoryService::open(embedded(dir.path()), named("model-a"));
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->store().count("default"), 20u);
}

TEST(EmbedderMark, DataFromBeforeMarksIsTakenAsLexicalAndRefusedByMiniLm) {
  TempDir dir("mark-legacy");
  {
    auto m = MemoryService::open(embedded(dir.path()), std::make_shared<LocalEmbedder>(384));
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE((*m)->add({fact("written by the old default")}).ok());
  }
  ASSERT_EQ(::unlink((dir.path() + "/embedder").c_str()), 0);  // as today's code left it
  const auto before = files_of(dir.path());

  auto minilm = MemoryService::open(embedded(dir.path()), named("all-MiniLM-L6-v2"));
  ASSERT_FALSE(minilm.ok());
  EXPECT_NE(minilm.status().message().find("memory.embedder: lexical keeps it"), std::string::npos)
      << minilm.status().message();
  EXPECT_EQ(files_of(dir.path()), before);

  auto lexical = MemoryService::open(embedded(dir.path()), std::make_shared<LocalEmbedder>(384));
  ASSERT_TRUE(lexical.ok()) << lexical.status().to_string();
  EXPECT_EQ((*lexical)->store().count("default"), 1u);
  EXPECT_EQ(files_of(dir.path()).at("embedder"), "local-hashed-ngrams/384\n");
}

TEST(EmbedderMark, AnEmptyFolderIsAdoptedByWhicheverEmbedderOpensItFirst) {
  TempDir dir("mark-empty");
  {
    auto m = MemoryService::open(embedded(dir.path()), named("all-MiniLM-L6-v2"));
    ASSERT_TRUE(m.ok()) << m.status().to_string();
  }
  EXPECT_EQ(files_of(dir.path()).at("embedder"), "all-MiniLM-L6-v2/384\n");
  EXPECT_FALSE(
      MemoryService::open(embedded(dir.path()), std::make_shared<LocalEmbedder>(384)).ok());
}

}  // namespace
}  // namespace agentry::memory
