// Waits for SIGTERM/SIGINT on a dedicated thread (sigwait), so shut-down runs as ordinary code
// rather than inside a signal handler. Call block_termination_signals() first thing in main(),
// before any thread starts, so every thread inherits the mask.
#pragma once

#include <functional>

namespace agentry {

void block_termination_signals();
// Blocks until SIGTERM or SIGINT arrives; returns the signal number.
int wait_for_termination_signal();

}  // namespace agentry
