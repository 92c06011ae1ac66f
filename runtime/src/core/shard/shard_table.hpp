// The shards of one runtime: a scheduler per thread, fixed once the runtime has started.
#pragma once

#include <cstddef>
#include <vector>

namespace balrog::detail {

class scheduler;

struct shard_table {
  std::vector<scheduler*> shards;
};

}  // namespace balrog::detail
