// balrog/pg/error.hpp — what the Postgres driver throws.
//
//   try { co_await conn.query("insert into person(email) values ($1)", email); }
//   catch (const balrog::pg::unique_violation& e) {
//     // e.constraint() == "person_email_key", e.table() == "person", e.detail() says which key
//   } catch (const balrog::pg::integrity_constraint_violation& e) { ... }  // any 23xxx
//
// pg::error carries the server's diagnostic fields: SQLSTATE, severity, the primary message,
// detail, hint, and where the server knows them the schema, table, column, data type and
// constraint concerned, the error's position in the statement and its context (PL/pgSQL call
// stack). Fields the server did not send are empty (position() 0).
//
// The exception type follows the SQLSTATE, as in psycopg and userver: each SQLSTATE class has
// a type (integrity_constraint_violation for 23xxx, transaction_rollback for 40xxx...), and the
// common conditions have their own type under it (unique_violation under
// integrity_constraint_violation...). An SQLSTATE without a type of its own is thrown as its
// class's type; a class without one as pg::error. The tree, with the SQLSTATEs:
//
//   error
//   ├─ connection_error               08xxx, 57P01-57P03 (shutdown), libpq's own ("server
//   │                                 closed the connection unexpectedly"): the connection
//   │                                 is unusable afterwards; a pool replaces it
//   ├─ commit_in_doubt                08007 (transaction_resolution_unknown): the COMMIT was
//   │                                 sent and its outcome is unknown (see transaction::commit).
//   │                                 Not a connection_error on purpose: code that retries on
//   │                                 a broken connection must not commit twice
//   ├─ feature_not_supported          0Axxx
//   ├─ data_exception                 22xxx (the server's; conversion_error, types.hpp, is the
//   │  │                              client's side of decoding a value)
//   │  ├─ numeric_value_out_of_range  22003
//   │  ├─ invalid_datetime_format     22007
//   │  ├─ datetime_field_overflow     22008
//   │  ├─ division_by_zero            22012
//   │  ├─ character_not_in_repertoire 22021 (also: a text parameter holding a NUL byte)
//   │  └─ invalid_text_representation 22P02
//   ├─ integrity_constraint_violation 23xxx
//   │  ├─ restrict_violation 23001, not_null_violation 23502, foreign_key_violation 23503,
//   │  └─ unique_violation 23505, check_violation 23514, exclusion_violation 23P01
//   ├─ invalid_transaction_state      25xxx
//   │  ├─ active_sql_transaction 25001, read_only_sql_transaction 25006 (a standby: a
//   │  └─ failover hint), in_failed_sql_transaction 25P02, idle_in_transaction_timeout 25P03
//   ├─ invalid_sql_statement_name     26000 (no such prepared statement)
//   ├─ invalid_authorization          28xxx
//   ├─ transaction_rollback           40xxx: the transaction was rolled back
//   │  ├─ serialization_failure 40001 ┐ retrying the whole transaction may succeed:
//   │  └─ deadlock_detected     40P01 ┘ see balrog/pg/retry.hpp
//   ├─ syntax_error_or_access_rule_violation 42xxx
//   │  ├─ syntax_error 42601, insufficient_privilege 42501, undefined_column 42703,
//   │  ├─ undefined_table 42P01, undefined_function 42883, duplicate_table 42P07,
//   │  └─ duplicate_object 42710, datatype_mismatch 42804, duplicate_prepared_statement 42P05
//   ├─ insufficient_resources         53xxx (too_many_connections 53300 under it)
//   ├─ program_limit_exceeded         54xxx
//   ├─ object_not_in_prerequisite_state 55xxx (lock_not_available 55P03: NOWAIT, lock_timeout)
//   ├─ operator_intervention          57xxx but 57P01-03
//   │  └─ query_cancelled             57014: statement_timeout, or a cancel request
//   ├─ system_error                   58xxx
//   ├─ plpgsql_error                  P0xxx (raise_exception P0001: RAISE EXCEPTION)
//   ├─ internal_error                 XXxxx
//   └─ unexpected_rows                02000 / 21000, the client's: query_one() of no row or of
//                                     two, query_opt() of two (result::one/opt too)
//
// COMMIT of a transaction in which a statement failed: PostgreSQL rolls back and answers with
// the tag ROLLBACK and no error; commit() then throws transaction_rollback (40000).
//
// Deadlines and fiber cancellation throw balrog::timeout_error / balrog::cancelled, as
// everywhere in balrog.
#pragma once

#include <string>

#include "balrog/errors.hpp"

namespace balrog::pg {

class error : public balrog::error {
 public:
  // The server's ErrorResponse fields (PQresultErrorField). Only the first three are always
  // set; an error made by libpq or the driver has no SQLSTATE class of its own to offer
  // beyond what it sets here.
  struct fields {
    std::string sqlstate;  // five characters; empty when the error is libpq's, not the server's
    std::string severity;  // "ERROR", "FATAL"... (never localized)
    std::string primary;   // the message
    std::string detail;
    std::string hint;
    std::string schema{};  // the object the error concerns, where the server says it
    std::string table{};
    std::string column{};
    std::string datatype{};
    std::string constraint{};
    int position = 0;       // 1-based character index of the error in the statement; 0: none
    std::string context{};  // where it happened (PL/pgSQL call stack, an SQL function...)
  };

  explicit error(fields f);
  [[nodiscard]] const std::string& sqlstate() const noexcept { return fields_.sqlstate; }
  [[nodiscard]] const std::string& severity() const noexcept { return fields_.severity; }
  [[nodiscard]] const std::string& primary() const noexcept { return fields_.primary; }
  [[nodiscard]] const std::string& detail() const noexcept { return fields_.detail; }
  [[nodiscard]] const std::string& hint() const noexcept { return fields_.hint; }
  [[nodiscard]] const std::string& schema() const noexcept { return fields_.schema; }
  [[nodiscard]] const std::string& table() const noexcept { return fields_.table; }
  [[nodiscard]] const std::string& column() const noexcept { return fields_.column; }
  [[nodiscard]] const std::string& datatype() const noexcept { return fields_.datatype; }
  [[nodiscard]] const std::string& constraint() const noexcept { return fields_.constraint; }
  [[nodiscard]] int position() const noexcept { return fields_.position; }
  [[nodiscard]] const std::string& context() const noexcept { return fields_.context; }
  [[nodiscard]] const fields& diagnostics() const noexcept { return fields_; }

 private:
  fields fields_;
};

// Declares `name`, derived from `base`, with base's constructor.
#define BALROG_PG_ERROR_CLASS(name, base) \
  class name : public base {              \
   public:                                \
    using base::base;                     \
  }

BALROG_PG_ERROR_CLASS(connection_error, error);
BALROG_PG_ERROR_CLASS(commit_in_doubt, error);
BALROG_PG_ERROR_CLASS(feature_not_supported, error);
BALROG_PG_ERROR_CLASS(data_exception, error);
BALROG_PG_ERROR_CLASS(numeric_value_out_of_range, data_exception);
BALROG_PG_ERROR_CLASS(invalid_datetime_format, data_exception);
BALROG_PG_ERROR_CLASS(datetime_field_overflow, data_exception);
BALROG_PG_ERROR_CLASS(division_by_zero, data_exception);
BALROG_PG_ERROR_CLASS(character_not_in_repertoire, data_exception);
BALROG_PG_ERROR_CLASS(invalid_text_representation, data_exception);
BALROG_PG_ERROR_CLASS(integrity_constraint_violation, error);
BALROG_PG_ERROR_CLASS(restrict_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(not_null_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(foreign_key_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(unique_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(check_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(exclusion_violation, integrity_constraint_violation);
BALROG_PG_ERROR_CLASS(invalid_transaction_state, error);
BALROG_PG_ERROR_CLASS(active_sql_transaction, invalid_transaction_state);
BALROG_PG_ERROR_CLASS(read_only_sql_transaction, invalid_transaction_state);
BALROG_PG_ERROR_CLASS(in_failed_sql_transaction, invalid_transaction_state);
BALROG_PG_ERROR_CLASS(idle_in_transaction_timeout, invalid_transaction_state);
BALROG_PG_ERROR_CLASS(invalid_sql_statement_name, error);
BALROG_PG_ERROR_CLASS(invalid_authorization, error);
BALROG_PG_ERROR_CLASS(transaction_rollback, error);
BALROG_PG_ERROR_CLASS(serialization_failure, transaction_rollback);
BALROG_PG_ERROR_CLASS(deadlock_detected, transaction_rollback);
BALROG_PG_ERROR_CLASS(syntax_error_or_access_rule_violation, error);
BALROG_PG_ERROR_CLASS(syntax_error, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(insufficient_privilege, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(undefined_column, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(undefined_table, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(undefined_function, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(duplicate_table, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(duplicate_object, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(datatype_mismatch, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(duplicate_prepared_statement, syntax_error_or_access_rule_violation);
BALROG_PG_ERROR_CLASS(insufficient_resources, error);
BALROG_PG_ERROR_CLASS(too_many_connections, insufficient_resources);
BALROG_PG_ERROR_CLASS(program_limit_exceeded, error);
BALROG_PG_ERROR_CLASS(object_not_in_prerequisite_state, error);
BALROG_PG_ERROR_CLASS(lock_not_available, object_not_in_prerequisite_state);
BALROG_PG_ERROR_CLASS(operator_intervention, error);
BALROG_PG_ERROR_CLASS(query_cancelled, operator_intervention);
BALROG_PG_ERROR_CLASS(system_error, error);
BALROG_PG_ERROR_CLASS(plpgsql_error, error);
BALROG_PG_ERROR_CLASS(raise_exception, plpgsql_error);
BALROG_PG_ERROR_CLASS(internal_error, error);
// The client's: a statement returned a number of rows the caller ruled out (query_one of no
// row: 02000 no_data; of two: 21000 cardinality_violation).
BALROG_PG_ERROR_CLASS(unexpected_rows, error);

#undef BALROG_PG_ERROR_CLASS

// Throws the subclass of pg::error that fits `f` (by SQLSTATE, then by its class).
[[noreturn]] void throw_error(error::fields f);

}  // namespace balrog::pg
