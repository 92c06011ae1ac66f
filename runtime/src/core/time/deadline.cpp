#include "balrog/deadline.hpp"

#include "balrog/detail/execution_context.hpp"

namespace balrog {

deadline_scope::deadline_scope(deadline d) : mine_(d) {
  detail::execution_context& ctx = detail::current_context();
  previous_ = ctx.scope_deadline;
  ctx.scope_deadline = earliest(previous_, d);
}

deadline_scope::~deadline_scope() { detail::current_context().scope_deadline = previous_; }

deadline current_deadline() noexcept { return detail::current_context().scope_deadline; }

}  // namespace balrog
