// Runs the operator's controllers in the test process against the real API server, scoped to one
// namespace so tests running side by side never reconcile each other's objects.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "operator/controllers/agent_controller.h"
#include "operator/controllers/builtin_policies.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/runtime/manager.h"
#include "tests/support/control_plane.h"
#include "tests/support/eventually.h"

namespace agentry::testing {

class OperatorHarness {
 public:
  using Register = std::function<void(runtime::Manager&, const controllers::OperatorSettings&)>;

  OperatorHarness(ControlPlane* cp, std::string ns, Register extra = {},
                  controllers::OperatorSettings settings = {})
      : cp_(cp), ns_(std::move(ns)), extra_(std::move(extra)), settings_(std::move(settings)) {}
  ~OperatorHarness() { stop(); }

  // Starts a fresh manager (a restarted operator: new caches, new identity).
  ::testing::AssertionResult start() {
    auto cfg = kube::load_kubeconfig(cp_->kubeconfig());
    if (!cfg.ok()) return ::testing::AssertionFailure() << cfg.status().to_string();
    auto client = kube::Client::create(*cfg);
    if (!client.ok()) return ::testing::AssertionFailure() << client.status().to_string();
    client_ = *client;
    if (auto s = controllers::ensure_builtin_policies(*client_); !s.is_ok()) {
      return ::testing::AssertionFailure() << s.to_string();
    }
    runtime::Manager::Options mo;
    mo.metrics_addr = "127.0.0.1:0";
    mgr_ = std::make_unique<runtime::Manager>(client_, mo);
    controllers::OperatorSettings settings = settings_;
    settings.watch_namespace = ns_;
    controllers::register_agent_controllers(*mgr_, settings);
    if (extra_) extra_(*mgr_, settings);
    thread_ = std::thread([this] { (void)mgr_->run(); });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!mgr_->controllers_running()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return ::testing::AssertionFailure() << "controllers did not start within 30 s";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ::testing::AssertionSuccess();
  }

  void stop() {
    if (!mgr_) return;
    mgr_->stop();
    if (thread_.joinable()) thread_.join();
    mgr_.reset();
  }

  kube::Client& client() { return *client_; }
  runtime::Manager& manager() { return *mgr_; }

 private:
  ControlPlane* cp_;
  std::string ns_;
  Register extra_;
  controllers::OperatorSettings settings_;  // watch_namespace is set to ns_
  std::shared_ptr<kube::Client> client_;
  std::unique_ptr<runtime::Manager> mgr_;
  std::thread thread_;
};

}  // namespace agentry::testing
