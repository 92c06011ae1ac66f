// Input of deterministic.cpp: a second header.
#pragma once

#include "balrog/task.hpp"

namespace other {
balrog::task<int> async_b();
balrog::task<int> async_a();
}  // namespace other
