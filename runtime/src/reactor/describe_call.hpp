// How every error of a call on an fd names it: "balrog::net::stream::read_some(fd 7)". The one
// formatter of the runtime's messages (waits, the reactor, the net operations).
#pragma once

#include <string>
#include <string_view>

namespace balrog::detail {

std::string describe_call(std::string_view call, int fd);

}  // namespace balrog::detail
