// A read-only view of a .safetensors file (Hugging Face's tensor format: an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// data), mapped into memory. Only what the encoder needs: F32 tensors by name, shape-checked.
// Why our own: the format is a page of JSON and an mmap; no C++ reader is packaged in Debian.
//
//   auto st = SafeTensors::open(dir + "/model.safetensors");
//   auto w = (*st)->f32("encoder.layer.0.attention.self.query.weight", {384, 384});
//
// The mapping lives as long as the SafeTensors; the pointers it hands out point into it.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentry::memory::minilm {

class SafeTensors {
 public:
  static Result<std::unique_ptr<SafeTensors>> open(const std::string& path);
  ~SafeTensors();
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;

  // The tensor's data; an error naming the tensor when it is missing, not F32, not that shape,
  // out of the file's bounds or misaligned.
  Result<const float*> f32(const std::string& name, const std::vector<int64_t>& shape) const;
  size_t bytes() const { return size_; }

 private:
  SafeTensors() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
  size_t data_start_ = 0;
  nlohmann::json header_;
};

}  // namespace agentry::memory::minilm
