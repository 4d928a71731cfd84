#include "operator/kube/object.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/time_format.h"

namespace agentry::kube {
namespace {

const std::string kEmpty;
const json kEmptyObject = json::object();
const json kEmptyArray = json::array();

const json* meta_field(const json& obj, const char* field) {
  if (!obj.is_object()) return nullptr;
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return nullptr;
  auto f = m->find(field);
  return f == m->end() ? nullptr : &*f;
}

const std::string& meta_string(const json& obj, const char* field) {
  const json* f = meta_field(obj, field);
  return f && f->is_string() ? f->get_ref<const std::string&>() : kEmpty;
}

}  // namespace

ObjectKey ObjectKey::parse(std::string_view key) {
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

const std::string& name(const json& obj) {
  return meta_string(obj, "name");
}
const std::string& namespace_of(const json& obj) {
  return meta_string(obj, "namespace");
}
const std::string& uid(const json& obj) {
  return meta_string(obj, "uid");
}
const std::string& resource_version(const json& obj) {
  return meta_string(obj, "resourceVersion");
}

int64_t generation(const json& obj) {
  const json* f = meta_field(obj, "generation");
  return f && f->is_number_integer() ? f->get<int64_t>() : 0;
}

const std::string& kind(const json& obj) {
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find("kind");
  return it != obj.end() && it->is_string() ? it->get_ref<const std::string&>() : kEmpty;
}

const std::string& string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return kEmpty;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get_ref<const std::string&>() : kEmpty;
}

const json& labels(const json& obj) {
  const json* f = meta_field(obj, "labels");
  return f && f->is_object() ? *f : kEmptyObject;
}
const json& annotations(const json& obj) {
  const json* f = meta_field(obj, "annotations");
  return f && f->is_object() ? *f : kEmptyObject;
}
const json& owner_references(const json& obj) {
  const json* f = meta_field(obj, "ownerReferences");
  return f && f->is_array() ? *f : kEmptyArray;
}

std::vector<std::string> finalizers(const json& obj) {
  std::vector<std::string> out;
  const json* f = meta_field(obj, "finalizers");
  if (f && f->is_array()) {
    for (const auto& v : *f) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool has_finalizer(const json& obj, std::string_view finalizer) {
  const json* f = meta_field(obj, "finalizers");
  if (!f || !f->is_array()) return false;
  for (const auto& v : *f) {
    if (v.is_string() && v.get_ref<const std::string&>() == finalizer) return true;
  }
  return false;
}

bool being_deleted(const json& obj) {
  const json* f = meta_field(obj, "deletionTimestamp");
  return f && f->is_string() && !f->get_ref<const std::string&>().empty();
}

ObjectKey key_of(const json& obj) {
  return {namespace_of(obj), name(obj)};
}

const json* controller_of(const json& obj) {
  // Checked, not json::value(): a non-boolean "controller" must not throw (kube_watch_fuzz).
  for (const auto& ref : owner_references(obj)) {
    if (!ref.is_object()) continue;
    auto c = ref.find("controller");
    if (c != ref.end() && c->is_boolean() && c->get<bool>()) return &ref;
  }
  return nullptr;
}

json owner_reference(const json& owner, bool controller, bool block_owner_deletion) {
  std::string api_version;
  if (owner.is_object()) {
    auto v = owner.find("apiVersion");
    if (v != owner.end() && v->is_string()) api_version = v->get<std::string>();
  }
  return {{"apiVersion", api_version}, {"kind", kind(owner)},
          {"name", name(owner)},       {"uid", uid(owner)},
          {"controller", controller},  {"blockOwnerDeletion", block_owner_deletion}};
}

void strip_managed_fields(json& obj) {
  if (!obj.is_object()) return;
  auto m = obj.find("metadata");
  if (m != obj.end() && m->is_object()) m->erase("managedFields");
}

std::string now_rfc3339() {
  return agentry::now_rfc3339(TimePrecision::kSeconds);
}
std::string now_rfc3339_micro() {
  return agentry::now_rfc3339(TimePrecision::kMicros);
}

}  // namespace agentry::kube
