#include "pass.hpp"

namespace balrog::gen {

bool pass_config::flag(const std::string& key, bool fallback) const {
  const auto it = options.find(key);
  if (it == options.end()) return fallback;
  return it->second == "true" || it->second == "1" || it->second == "yes";
}

}  // namespace balrog::gen
