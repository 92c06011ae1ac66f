// Turning a PGresult that reports failure into the pg::error subclass that fits it.
#pragma once

#include <libpq-fe.h>

#include <exception>

namespace balrog::pg::detail {

// Null when `res` succeeded (tuples, command, empty query); else the error to throw.
std::exception_ptr error_from_result(const PGresult* res) noexcept;

}  // namespace balrog::pg::detail
