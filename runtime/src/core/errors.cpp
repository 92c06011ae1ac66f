#include "balrog/errors.hpp"

#include <cerrno>

namespace balrog {

void throw_errno(const std::string& what) { throw_errno(errno, what); }

void throw_errno(int err, const std::string& what) {
  throw io_error(std::error_code(err, std::generic_category()), what);
}

}  // namespace balrog
