// The last line of defence of every thread the project starts: an exception escaping a thread's
// body would call std::terminate and take the whole process down. Each loop handles its own errors
// (Status, Result); this catches what nobody foresaw, logs it with the thread's name, and runs the
// body again after a pause, so the part keeps working (a follower keeps following).
//
//   worker_ = std::thread([this] { run_guarded("memory-follower", [this] { follow_loop(); }); });
//
// The body must be safe to run again: the loops here re-read their state at the top.
#pragma once

#include <chrono>
#include <functional>

namespace agentry {

// Runs body until it returns normally; after an exception, logs it and runs it again after pause.
void run_guarded(const char* name, const std::function<void()>& body,
                 std::chrono::milliseconds pause = std::chrono::milliseconds(1000)) noexcept;

}  // namespace agentry
