#include "reactor/timeouts.hpp"

#include <chrono>
#include <climits>

namespace balrog::detail {

int poll_timeout_ms(deadline until) noexcept {
  if (until.is_never()) return -1;
  const clock::duration left = until.when() - clock::now();
  if (left <= clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

}  // namespace balrog::detail
