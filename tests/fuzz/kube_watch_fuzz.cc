// libFuzzer target: one line of a Kubernetes watch stream (or a list response's item) as the
// operator reads it: decoding, the object helpers, the informer's store (MessagePack packing and
// indexes), API Status parsing, and the Agent controller's pure rendering and validation of
// whatever object arrives. A crash, a sanitizer report or a hang is a finding; a Status is not.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string_view>

#include "operator/controllers/agent_render.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/kube/watch.h"
#include "operator/runtime/store.h"

using namespace agentry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  (void)kube::status_from_http(409, line);
  auto ev = kube::decode_watch_event(line);
  if (!ev.ok()) return 0;
  const nlohmann::json& obj = ev->object;
  if (ev->type == "ERROR") (void)kube::status_from_api_status(obj);
  (void)kube::key_of(obj);
  (void)kube::resource_version(obj);
  (void)kube::generation(obj);
  (void)kube::finalizers(obj);
  (void)kube::being_deleted(obj);
  (void)kube::controller_of(obj);
  runtime::Store store;
  auto ptr = std::make_shared<const nlohmann::json>(obj);
  store.upsert(ptr);
  (void)store.get(kube::key_of(obj).str());
  (void)store.by_index(runtime::kNamespaceIndex, kube::namespace_of(obj));
  store.erase(kube::key_of(obj).str());
  // What the Agent controller does with an Agent it is given. Its reconcile runs under a catch of
  // std::exception (runtime/controller.cc), so a thrown json error is handled there; only
  // crashes and sanitizer reports count here.
  if (obj.is_object() && obj.contains("spec") && obj.contains("metadata")) {
    try {
      controllers::EffectiveSpec e;
      auto policy = controllers::production_policy()["spec"];
      if (!controllers::resolve(obj, policy, &e)) {
        controllers::RenderInput in;
        in.agent = obj;
        in.policy_spec = policy;
        in.effective = e;
        in.config = controllers::render_sidecar_config(obj, policy);
        (void)controllers::check_rendered_config(in.config);
        in.token = "t";
        (void)controllers::render(in);
      }
    } catch (const std::exception&) {
    }
  }
  return 0;
}
