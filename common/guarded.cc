#include "common/guarded.h"

#include <exception>
#include <thread>

#include "common/log.h"

namespace agentry {

void run_guarded(const char* name, const std::function<void()>& body,
                 std::chrono::milliseconds pause) noexcept {
  for (;;) {
    try {
      body();
      return;
    } catch (const std::exception& e) {
      log::error("thread body threw; running it again", {{"thread", name}, {"error", e.what()}});
    } catch (...) {
      log::error("thread body threw; running it again", {{"thread", name}});
    }
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace agentry
