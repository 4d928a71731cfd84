// Random identifiers (execution ids, request ids, A2A context ids): not secrets, only unique.
// Each thread has its own generator, seeded once from std::random_device (opening /dev/urandom per
// id would cost a system call each). Thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace agentry {

// 64 random bits from this thread's generator.
uint64_t random64();
// `digits` lowercase hex digits (up to 32), e.g. random_hex(16) -> "3fa9c01d77b2e415".
std::string random_hex(int digits);

}  // namespace agentry
