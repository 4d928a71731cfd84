// Whole-file reads (tokens, kubeconfigs, certificates, configs). Thread-safe.
#pragma once

#include <string>

namespace agentry {

// The file's bytes into *out; false (and *out untouched) when it cannot be opened or read.
bool read_file(const std::string& path, std::string* out);

}  // namespace agentry
