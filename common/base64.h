// Standard base64 (RFC 4648 with padding), as Kubernetes Secrets and kubeconfigs carry data.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentry {

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);  // whitespace is ignored

}  // namespace agentry
