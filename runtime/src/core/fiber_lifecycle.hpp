// The end of a fiber's life, shared by the scheduler (the fiber finished) and the handle
// (detach): publishing the outcome, waking joiners, and reporting an exception nobody will
// ever observe.
#pragma once

#include "core/fiber_context.hpp"

namespace balrog::detail {

// The fiber's function returned or threw: mark it finished, wake its joiners, and release
// its attachment (or, if detached, report an unobserved exception). Scheduler thread only.
void finish_fiber(fiber_context& f) noexcept;

}  // namespace balrog::detail
