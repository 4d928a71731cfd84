// Finalizer helpers. They write metadata.finalizers with a JSON patch whose first op tests the
// list the caller saw, so a concurrent change by another controller makes the patch fail instead
// of silently dropping that controller's finalizer; on such a failure the object is read again
// and the patch rebuilt (up to a few times).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.h"
#include "operator/kube/client.h"

namespace agentry::runtime {

// The JSON patch that adds (add=true) or removes finalizer from obj's current list; null when
// there is nothing to do. Pure.
nlohmann::json finalizer_patch(const nlohmann::json& obj, std::string_view finalizer, bool add);

// Adds finalizer if absent; returns the object as stored afterwards.
Result<nlohmann::json> ensure_finalizer(kube::Client& client, const kube::Resource& r,
                                        const nlohmann::json& obj, std::string_view finalizer);
// Removes finalizer if present; returns the object afterwards (NotFound is success: the object
// went away once the last finalizer was gone, an empty object is returned).
Result<nlohmann::json> remove_finalizer(kube::Client& client, const kube::Resource& r,
                                        const nlohmann::json& obj, std::string_view finalizer);

}  // namespace agentry::runtime
