#include "balrog/run.hpp"

#include "core/scheduler.hpp"

namespace balrog::detail {

void run_scheduler(fiber_task& main, fiber_options options) {
  scheduler s;  // throws usage_error when nested
  fiber_context* f = s.create_fiber(0, alignof(fiber_context), std::move(options));
  f->task = &main;  // owned by run(), not by the context
  s.start(*f);
  s.run();
}

}  // namespace balrog::detail
