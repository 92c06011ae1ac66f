// A finished transfer's CURLcode as the exception balrog/http/error.hpp promises.
#pragma once

#include "transfer/transfer.hpp"

namespace balrog::http::detail {

// Throws the error for a transfer that finished with a failure; returns if it succeeded.
void throw_if_failed(const transfer& t);

}  // namespace balrog::http::detail
