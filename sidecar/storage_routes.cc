// Default: no cache or memory routes (replaced by the cache/memory implementation).
#include "sidecar/storage_routes.h"

namespace agentry::sidecar {

void mount_storage_routes(ApiServer&, const Config&, Engine&) {}

}  // namespace agentry::sidecar
