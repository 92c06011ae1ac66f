// balrog/sync.hpp — all fiber-aware synchronization primitives.
#pragma once

#include "balrog/sync/barrier.hpp"
#include "balrog/sync/channel.hpp"
#include "balrog/sync/condition_variable.hpp"
#include "balrog/sync/counting_semaphore.hpp"
#include "balrog/sync/event.hpp"
#include "balrog/sync/latch.hpp"
#include "balrog/sync/mutex.hpp"
#include "balrog/sync/recursive_mutex.hpp"
#include "balrog/sync/semaphore.hpp"
#include "balrog/sync/shared_mutex.hpp"
#include "balrog/sync/wait_group.hpp"
