// balrog/balrog.hpp — everything in the runtime, for those who prefer one include.
#pragma once

#include "balrog/deadline.hpp"
#include "balrog/errors.hpp"
#include "balrog/fiber.hpp"
#include "balrog/io.hpp"
#include "balrog/offload.hpp"
#include "balrog/run.hpp"
#include "balrog/stack.hpp"
#include "balrog/sync.hpp"
#include "balrog/this_fiber.hpp"
