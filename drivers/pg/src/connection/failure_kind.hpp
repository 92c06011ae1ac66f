// What kind of failure an exception_ptr holds, for code that must react to its kind without
// rethrowing it: the caller gave up, the connection broke, or which SQLSTATE the server sent.
#pragma once

#include <exception>
#include <string>

namespace balrog::pg::detail {

// balrog::cancelled or balrog::timeout_error: the caller gave up; the connection is fine.
bool is_interruption(const std::exception_ptr& e) noexcept;
// pg::connection_error.
bool is_connection_loss(const std::exception_ptr& e) noexcept;
// The SQLSTATE of a pg::error; empty for anything else.
std::string sqlstate_of(const std::exception_ptr& e);

}  // namespace balrog::pg::detail
