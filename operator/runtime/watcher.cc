#include "operator/runtime/watcher.h"

#include <random>

#include "common/log.h"
#include "operator/kube/errors.h"
#include "operator/kube/object.h"
#include "operator/kube/watch.h"

namespace agentry::runtime {

Watcher::Watcher(std::shared_ptr<kube::Client> client, kube::Resource resource, Options opts)
    : client_(std::move(client)), resource_(std::move(resource)), opts_(std::move(opts)) {}

void Watcher::stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  canceller_.cancel();
}

bool Watcher::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_.load(); });
  return !stop_;
}

std::string Watcher::resource_version() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mu_));
  return rv_;
}

// Lists every page into ev->objects, transforming items as they come, so the peak is one page of
// raw JSON; *rv is the list's resourceVersion. Returns early (ok) when stopped.
Status Watcher::list_all(WatcherEvent* ev, std::string* rv) {
  kube::ListOptions lo;
  lo.label_selector = opts_.label_selector;
  lo.field_selector = opts_.field_selector;
  lo.limit = opts_.page_size;
  const std::string api_version = resource_.api_version();
  for (;;) {
    auto page = client_->list(resource_, opts_.ns, lo);
    if (stop_) return ok_status();
    if (!page.ok()) return page.status();
    nlohmann::json* items =
        page->is_object() && page->contains("items") ? &(*page)["items"] : nullptr;
    if (items && items->is_array()) {
      ev->objects.reserve(ev->objects.size() + items->size());
      for (auto& item : *items) {
        // List items carry no kind/apiVersion; watch events do. Make them alike.
        item["kind"] = resource_.kind;
        item["apiVersion"] = api_version;
        if (opts_.transform) opts_.transform(item);
        ev->objects.push_back(std::move(item));
      }
    }
    const nlohmann::json* md =
        page->is_object() && page->contains("metadata") ? &(*page)["metadata"] : nullptr;
    *rv = md ? kube::string_at(*md, "resourceVersion") : "";
    std::string cont = md ? kube::string_at(*md, "continue") : "";
    if (cont.empty()) return ok_status();
    lo.continue_token = cont;
  }
}

void Watcher::run(const std::function<void(WatcherEvent&&)>& sink) {
  Backoff backoff(opts_.backoff);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> timeout(opts_.min_timeout_seconds, opts_.max_timeout_seconds);
  const std::string what = resource_.plural + (opts_.ns.empty() ? "" : " in " + opts_.ns);
  bool need_list = true;
  std::string rv;
  while (!stop_) {
    if (need_list) {
      WatcherEvent ev{WatcherEvent::Type::kRestarted, {}, {}};
      Status list_error = list_all(&ev, &rv);
      if (stop_) break;
      if (!list_error.is_ok()) {
        auto d = backoff.next();
        log::warn("list failed",
                  {{"resource", what}, {"error", list_error.to_string()}, {"retry_ms", d.count()}});
        sleep_for(d);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        rv_ = rv;
      }
      ++lists_;
      need_list = false;
      sink(std::move(ev));
      continue;
    }

    kube::WatchOptions wo;
    wo.resource_version = rv;
    wo.timeout_seconds = timeout(rng);
    wo.allow_bookmarks = true;
    wo.label_selector = opts_.label_selector;
    wo.field_selector = opts_.field_selector;
    bool gone = false;
    Status event_error;
    size_t events = 0;
    auto started = std::chrono::steady_clock::now();
    auto last_heard = started;
    ++watches_;
    Status s = kube::watch_once(
        *client_, resource_, opts_.ns, wo,
        [&](kube::WatchEvent&& ev) {
          if (stop_) return false;
          ++events;
          last_heard = std::chrono::steady_clock::now();
          if (ev.type == "ERROR") {
            Status st = kube::status_from_api_status(ev.object);
            if (st.code() == Code::kGone) {
              gone = true;
            } else {
              event_error = st;
            }
            return false;
          }
          const std::string& new_rv = kube::resource_version(ev.object);
          if (!new_rv.empty()) {
            rv = new_rv;
            std::lock_guard<std::mutex> lock(mu_);
            rv_ = rv;
          }
          if (ev.type == "BOOKMARK") return true;
          if (opts_.transform && ev.type != "BOOKMARK") opts_.transform(ev.object);
          if (ev.type == "ADDED" || ev.type == "MODIFIED") {
            sink(WatcherEvent{WatcherEvent::Type::kApplied, {}, std::move(ev.object)});
          } else if (ev.type == "DELETED") {
            sink(WatcherEvent{WatcherEvent::Type::kDeleted, {}, std::move(ev.object)});
          }
          return true;
        },
        &canceller_);
    if (stop_) break;
    if (gone || s.code() == Code::kGone) {
      log::info("watch expired, relisting", {{"resource", what}, {"resourceVersion", rv}});
      need_list = true;
      continue;
    }
    if (!event_error.is_ok()) s = event_error;
    // A kind with nothing changing can be silent for longer than the read timeout (the API server
    // sends bookmarks only now and then): that is not a failure, so continue from rv at once.
    if (s.code() == Code::kUnavailable && std::chrono::steady_clock::now() - last_heard >=
                                              wo.read_timeout - std::chrono::seconds(1)) {
      log::debug("watch silent, watching again", {{"resource", what}, {"resourceVersion", rv}});
      continue;
    }
    bool quick_empty =
        events == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
    if (!s.is_ok() || quick_empty) {
      auto d = backoff.next();
      log::warn("watch failed", {{"resource", what},
                                 {"error", s.is_ok() ? "ended at once" : s.to_string()},
                                 {"retry_ms", d.count()}});
      sleep_for(d);
    }
    // A watch that ended normally (timeoutSeconds) continues from rv at once.
  }
}

}  // namespace agentry::runtime
