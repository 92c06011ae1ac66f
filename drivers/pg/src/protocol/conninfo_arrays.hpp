// A parsed conninfo (keyword, value pairs) handed to libpq's *Params functions, which take two
// null-terminated arrays.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace balrog::pg::detail {

// Calls fn(keywords, values) with null-terminated arrays pointing into `params`.
template <class F>
auto with_libpq_arrays(const std::vector<std::pair<std::string, std::string>>& params, F fn) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  return fn(keys.data(), values.data());
}

}  // namespace balrog::pg::detail
