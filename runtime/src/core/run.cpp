#include "balrog/run.hpp"

#include "core/scheduler.hpp"

namespace balrog::detail {

void run_scheduler(fiber_task& main, fiber_options options) {
  scheduler s;  // throws usage_error when nested
  fiber_context* f = s.spawn(nullptr, main, std::move(options));
  s.run(*f);
}

}  // namespace balrog::detail
