// Free loopback TCP ports for servers started by tests.
#pragma once

#include <chrono>
#include <string>

namespace agentry::testing {

// A port on 127.0.0.1 that was free when asked (bound to :0 and released). Ports handed out by this
// process are never repeated, so two servers started back to back do not race for the same one.
int free_port();

// Waits until host:port accepts TCP connections; false on timeout.
bool wait_for_port(int port, std::chrono::milliseconds timeout, const std::string& host = "127.0.0.1");

}  // namespace agentry::testing
