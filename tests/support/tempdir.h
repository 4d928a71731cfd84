// A directory under $TMPDIR removed (recursively) when the object dies, unless keep() was called
// or AGENTRY_KEEP_TEST_DIRS is set (for post-mortems of failed tests).
#pragma once

#include <string>

namespace agentry::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "agentry");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Writes content to path (truncating); false on error.
bool write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

}  // namespace agentry::testing
