#include "operator/runtime/events.h"

#include <unistd.h>

#include <cstdio>

#include "common/log.h"
#include "operator/kube/object.h"

namespace agentry::runtime {

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, Options opts)
    : client_(std::move(client)), opts_(std::move(opts)) {
  if (opts_.instance.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    opts_.instance = host;
  }
}

EventRecorder::Stats EventRecorder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void EventRecorder::record(const nlohmann::json& regarding, std::string_view type,
                           std::string_view reason, std::string_view action,
                           std::string_view note_in) {
  std::string note(note_in.substr(0, 1024));
  const std::string& obj_uid = kube::uid(regarding);
  std::string obj_key = obj_uid.empty() ? kube::key_of(regarding).str() : obj_uid;
  std::string agg_key = obj_key;
  for (std::string_view part : {type, reason, action, std::string_view(note)}) {
    agg_key += '\x1f';
    agg_key += part;
  }
  auto now = std::chrono::steady_clock::now();
  Series s;
  bool aggregate = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& bucket = buckets_[obj_key];
    if (!bucket)
      bucket = std::make_unique<kube::TokenBucket>(opts_.per_object_qps, opts_.per_object_burst);
    if (!bucket->try_take()) {
      ++stats_.dropped;
      return;
    }
    if (series_.size() > 4096) {  // forget series past their window
      for (auto it = series_.begin(); it != series_.end();) {
        it = now - it->second.first > opts_.aggregation_window ? series_.erase(it) : std::next(it);
      }
    }
    auto it = series_.find(agg_key);
    if (it != series_.end() && now - it->second.first < opts_.aggregation_window) {
      s = it->second;
      s.count = ++it->second.count;
      aggregate = true;
    }
  }
  const auto& events = kube::resources::kEventsV1;
  std::string ts = kube::now_rfc3339_micro();
  if (aggregate) {
    nlohmann::json patch = {{"series", {{"count", s.count}, {"lastObservedTime", ts}}}};
    auto r = client_->patch(events, s.ns, s.name, kube::PatchType::kMerge, patch);
    std::lock_guard<std::mutex> lock(mu_);
    if (r.ok()) {
      ++stats_.aggregated;
      return;
    }
    ++stats_.failed;
    series_.erase(agg_key);  // the Event is gone (TTL) or broken: the next one starts afresh
    log::debug("event series patch failed", {{"error", r.status().to_string()}});
    return;
  }
  std::string ns = kube::namespace_of(regarding);
  if (ns.empty()) ns = "default";  // events about cluster-scoped objects
  char suffix[32];
  std::snprintf(
      suffix, sizeof suffix, ".%llx",
      static_cast<unsigned long long>(std::chrono::system_clock::now().time_since_epoch().count()));
  std::string ev_name = kube::name(regarding) + suffix;
  nlohmann::json ref = {{"apiVersion", regarding.value("apiVersion", "")},
                        {"kind", regarding.value("kind", "")},
                        {"name", kube::name(regarding)}};
  if (!kube::namespace_of(regarding).empty()) ref["namespace"] = kube::namespace_of(regarding);
  if (!obj_uid.empty()) ref["uid"] = obj_uid;
  if (!kube::resource_version(regarding).empty()) {
    ref["resourceVersion"] = kube::resource_version(regarding);
  }
  nlohmann::json ev = {{"apiVersion", "events.k8s.io/v1"},
                       {"kind", "Event"},
                       {"metadata", {{"name", ev_name}, {"namespace", ns}}},
                       {"eventTime", ts},
                       {"reportingController", opts_.controller},
                       {"reportingInstance", opts_.instance},
                       {"action", action},
                       {"reason", reason},
                       {"note", note},
                       {"type", type},
                       {"regarding", ref}};
  auto r = client_->create(events, ns, ev);
  std::lock_guard<std::mutex> lock(mu_);
  if (!r.ok()) {
    ++stats_.failed;
    log::debug("event create failed", {{"error", r.status().to_string()}});
    return;
  }
  ++stats_.created;
  series_[agg_key] = Series{ns, ev_name, 1, now};
}

}  // namespace agentry::runtime
