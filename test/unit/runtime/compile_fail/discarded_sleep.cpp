// M in the runtime review: `balrog::sleep_for(1s);` in fiber code builds an awaiter and drops
// it, so nothing sleeps. The coroutine sleeps are [[nodiscard]] (balrog/sleep.hpp); the ctest
// checks discarded_sleep_* (test/unit/CMakeLists.txt) compile this file with
// -Werror=unused-result: the DISCARD_* cases must fail with that diagnostic, the control (no
// macro) must compile.
#include <chrono>

#include "balrog/sleep.hpp"

using namespace std::chrono_literals;

void fiber_code() {
#if defined(DISCARD_SLEEP_FOR)
  balrog::sleep_for(1s);
#elif defined(DISCARD_SLEEP_UNTIL)
  balrog::sleep_until(balrog::clock::now() + 1s);
#else
  [[maybe_unused]] const balrog::sleep_awaiter kept = balrog::sleep_for(1s);
#endif
}
