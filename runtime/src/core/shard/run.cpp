#include "balrog/run.hpp"

#include "balrog/runtime.hpp"

namespace balrog::detail {

void run_scheduler(fiber_task& main, fiber_options options) {
  run_shards(main, runtime_options{.threads = 1, .main = std::move(options)});
}

}  // namespace balrog::detail
