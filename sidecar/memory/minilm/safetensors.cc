#include "sidecar/memory/minilm/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/json_io.h"

namespace agentry::memory::minilm {

Result<std::unique_ptr<SafeTensors>> SafeTensors::open(const std::string& path) {
  std::unique_ptr<SafeTensors> st(new SafeTensors());
  st->path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return invalid_argument(path + ": " + std::strerror(errno));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0 || sb.st_size < 8) {
    ::close(fd);
    return invalid_argument(path + ": not a safetensors file (too short)");
  }
  st->size_ = static_cast<size_t>(sb.st_size);
  void* m = ::mmap(nullptr, st->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return invalid_argument(path + ": mmap: " + std::strerror(errno));
  st->map_ = m;
  uint64_t n = 0;
  std::memcpy(&n, m, 8);  // little-endian, as every machine this runs on
  if (n == 0 || n > st->size_ - 8 || n > (100u << 20))
    return invalid_argument(path + ": header length " + std::to_string(n) + " out of bounds");
  auto header = json_io::parse(std::string(static_cast<const char*>(m) + 8, n));
  if (!header.ok() || !header->is_object())
    return invalid_argument(path + ": header is not a JSON object");
  st->header_ = std::move(*header);
  st->data_start_ = 8 + n;
  return st;
}

SafeTensors::~SafeTensors() {
  if (map_) ::munmap(map_, size_);
}

Result<const float*> SafeTensors::f32(const std::string& name,
                                      const std::vector<int64_t>& shape) const {
  auto it = header_.find(name);
  if (it == header_.end() || !it->is_object())
    return invalid_argument(path_ + ": no tensor " + name);
  const nlohmann::json& t = *it;
  if (t.value("dtype", "") != "F32")
    return invalid_argument(path_ + ": " + name + " is " + t.value("dtype", "?") + ", want F32");
  if (!t.contains("shape") || t["shape"] != nlohmann::json(shape))
    return invalid_argument(path_ + ": " + name + " has shape " +
                            json_io::dump(t.value("shape", nlohmann::json())) + ", want " +
                            json_io::dump(nlohmann::json(shape)));
  const nlohmann::json& off = t.value("data_offsets", nlohmann::json());
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    return invalid_argument(path_ + ": " + name + ": bad data_offsets");
  const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
  uint64_t count = 1;
  for (int64_t d : shape) count *= static_cast<uint64_t>(d);
  if (end < begin || end - begin != count * 4 || data_start_ + end > size_)
    return invalid_argument(path_ + ": " + name + ": data out of the file's bounds");
  const char* p = static_cast<const char*>(map_) + data_start_ + begin;
  if (reinterpret_cast<uintptr_t>(p) % alignof(float) != 0)
    return invalid_argument(path_ + ": " + name + ": misaligned data");
  return reinterpret_cast<const float*>(p);
}

}  // namespace agentry::memory::minilm
