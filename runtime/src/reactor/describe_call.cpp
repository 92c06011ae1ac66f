#include "reactor/describe_call.hpp"

namespace balrog::detail {

std::string describe_call(std::string_view call, int fd) {
  std::string s(call);
  s += "(fd ";
  s += std::to_string(fd);
  s += ')';
  return s;
}

}  // namespace balrog::detail
