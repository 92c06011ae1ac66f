// Whether libpq's connect_timeout may apply to a connection, found before connecting. libpq
// applies it per host and per address inside its blocking connect (connectDBComplete), which
// the non-blocking API (PQconnectPoll) cannot reproduce: where it may apply, the driver and the
// compat layer run libpq's blocking connect on the offload pool instead.
#pragma once

namespace balrog::pg::detail {

// libpq's parse_int_param: a timeout is in force unless the value is an integer <= 0 (an
// invalid value makes libpq fail the connection: its own function reports that too).
bool timeout_in_force(const char* value) noexcept;

// PGCONNECT_TIMEOUT, or a service (PGSERVICE) that may set one.
bool environment_sets_timeout() noexcept;

// A conninfo string (or URI) that sets connect_timeout or names a service.
bool conninfo_sets_timeout(const char* conninfo) noexcept;

// The same for PQconnectdbParams' arrays (a dbname that is a connection string counts when
// expand_dbname is set).
bool params_set_timeout(const char* const* keywords, const char* const* values,
                        int expand_dbname) noexcept;

}  // namespace balrog::pg::detail
