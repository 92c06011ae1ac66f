#include "balrog/pg/error.hpp"

#include <string_view>
#include <utility>

namespace balrog::pg {

namespace {

std::string what_of(const error::fields& f) {
  std::string w = "postgres";
  if (!f.sqlstate.empty()) w += " " + f.sqlstate;
  w += ": " + f.primary;
  if (!f.detail.empty()) w += " (detail: " + f.detail + ")";
  if (!f.hint.empty()) w += " (hint: " + f.hint + ")";
  return w;
}

template <class E>
[[noreturn]] void raise(error::fields& f) {
  throw E(std::move(f));
}
using thrower = void (*)(error::fields&);

struct by_code {
  std::string_view code;  // a full SQLSTATE, or a two-character class
  thrower raise;
};

// Conditions with a type of their own (error.hpp lists the tree).
constexpr by_code conditions[] = {
    {"08007", raise<commit_in_doubt>},
    {"57P01", raise<connection_error>},  // admin_shutdown: the connection is gone
    {"57P02", raise<connection_error>},  // crash_shutdown
    {"57P03", raise<connection_error>},  // cannot_connect_now
    {"22003", raise<numeric_value_out_of_range>},
    {"22007", raise<invalid_datetime_format>},
    {"22008", raise<datetime_field_overflow>},
    {"22012", raise<division_by_zero>},
    {"22021", raise<character_not_in_repertoire>},
    {"22P02", raise<invalid_text_representation>},
    {"23001", raise<restrict_violation>},
    {"23502", raise<not_null_violation>},
    {"23503", raise<foreign_key_violation>},
    {"23505", raise<unique_violation>},
    {"23514", raise<check_violation>},
    {"23P01", raise<exclusion_violation>},
    {"25001", raise<active_sql_transaction>},
    {"25006", raise<read_only_sql_transaction>},
    {"25P02", raise<in_failed_sql_transaction>},
    {"25P03", raise<idle_in_transaction_timeout>},
    {"40001", raise<serialization_failure>},
    {"40P01", raise<deadlock_detected>},
    {"42601", raise<syntax_error>},
    {"42501", raise<insufficient_privilege>},
    {"42703", raise<undefined_column>},
    {"42P01", raise<undefined_table>},
    {"42883", raise<undefined_function>},
    {"42P07", raise<duplicate_table>},
    {"42710", raise<duplicate_object>},
    {"42804", raise<datatype_mismatch>},
    {"42P05", raise<duplicate_prepared_statement>},
    {"53300", raise<too_many_connections>},
    {"55P03", raise<lock_not_available>},
    {"57014", raise<query_cancelled>},
    {"P0001", raise<raise_exception>},
};

// SQLSTATE classes (the first two characters).
constexpr by_code classes[] = {
    {"08", raise<connection_error>},
    {"0A", raise<feature_not_supported>},
    {"22", raise<data_exception>},
    {"23", raise<integrity_constraint_violation>},
    {"25", raise<invalid_transaction_state>},
    {"26", raise<invalid_sql_statement_name>},
    {"28", raise<invalid_authorization>},
    {"40", raise<transaction_rollback>},
    {"42", raise<syntax_error_or_access_rule_violation>},
    {"53", raise<insufficient_resources>},
    {"54", raise<program_limit_exceeded>},
    {"55", raise<object_not_in_prerequisite_state>},
    {"57", raise<operator_intervention>},
    {"58", raise<system_error>},
    {"P0", raise<plpgsql_error>},
    {"XX", raise<internal_error>},
};

}  // namespace

error::error(fields f) : balrog::error(what_of(f)), fields_(std::move(f)) {}

void throw_error(error::fields f) {
  const std::string_view s = f.sqlstate;
  for (const by_code& c : conditions) {
    if (s == c.code) c.raise(f);
  }
  if (s.size() == 5) {
    for (const by_code& c : classes) {
      if (s.substr(0, 2) == c.code) c.raise(f);
    }
  }
  throw error(std::move(f));
}

}  // namespace balrog::pg
