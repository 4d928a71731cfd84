#include "operator/runtime/finalizer.h"

#include "operator/kube/errors.h"
#include "operator/kube/object.h"

namespace agentry::runtime {

nlohmann::json finalizer_patch(const nlohmann::json& obj, std::string_view finalizer, bool add) {
  bool present = kube::has_finalizer(obj, finalizer);
  if (present == add) return nullptr;
  auto current = kube::finalizers(obj);
  const bool has_list = obj.contains("metadata") && obj["metadata"].contains("finalizers") &&
                        obj["metadata"]["finalizers"].is_array();
  nlohmann::json patch = nlohmann::json::array();
  if (has_list) {
    patch.push_back({{"op", "test"}, {"path", "/metadata/finalizers"}, {"value", current}});
  } else {
    // No list to test: pin the whole object's version instead.
    patch.push_back({{"op", "test"},
                     {"path", "/metadata/resourceVersion"},
                     {"value", kube::resource_version(obj)}});
  }
  std::vector<std::string> next;
  for (auto& f : current) {
    if (f != finalizer) next.push_back(f);
  }
  if (add) next.emplace_back(finalizer);
  patch.push_back(
      {{"op", has_list ? "replace" : "add"}, {"path", "/metadata/finalizers"}, {"value", next}});
  return patch;
}

namespace {

Result<nlohmann::json> change(kube::Client& client, const kube::Resource& r,
                              const nlohmann::json& start, std::string_view finalizer, bool add) {
  nlohmann::json obj = start;
  const std::string ns = kube::namespace_of(start);
  const std::string name = kube::name(start);
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    nlohmann::json patch = finalizer_patch(obj, finalizer, add);
    if (patch.is_null()) return obj;
    auto res = client.patch(r, ns, name, kube::PatchType::kJson, patch);
    if (res.ok()) return res;
    last = res.status();
    if (!add && kube::is_not_found(last)) return nlohmann::json::object();
    // A failed test op comes back as 422 (Invalid) or 409; anything else is the caller's.
    if (last.code() != Code::kInvalidArgument && last.code() != Code::kConflict) return last;
    auto fresh = client.get(r, ns, name);
    if (!fresh.ok()) {
      if (!add && kube::is_not_found(fresh.status())) return nlohmann::json::object();
      return fresh.status();
    }
    obj = std::move(*fresh);
  }
  return last;
}

}  // namespace

Result<nlohmann::json> ensure_finalizer(kube::Client& client, const kube::Resource& r,
                                        const nlohmann::json& obj, std::string_view finalizer) {
  return change(client, r, obj, finalizer, true);
}

Result<nlohmann::json> remove_finalizer(kube::Client& client, const kube::Resource& r,
                                        const nlohmann::json& obj, std::string_view finalizer) {
  return change(client, r, obj, finalizer, false);
}

}  // namespace agentry::runtime
