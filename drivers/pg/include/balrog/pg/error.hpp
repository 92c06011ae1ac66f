// balrog/pg/error.hpp — what the Postgres driver throws.
//
//   try { co_await conn.query("insert ..."); }
//   catch (const balrog::pg::error& e) {
//     if (e.sqlstate() == "23505") ...  // unique_violation
//   }
//
// pg::error carries the server's diagnostic fields (SQLSTATE, primary message, detail, hint,
// severity). Its subclasses say what kind of failure it was, so callers can react without
// decoding SQLSTATE classes by hand:
//  - connection_error: connecting failed, or the connection broke (class 08, or libpq's own
//    "server closed the connection unexpectedly"); the connection is unusable afterwards.
//  - query_cancelled: the statement was cancelled (57014): statement_timeout, or cancel().
//  - serialization_failure: 40001 / 40P01 (deadlock): retrying the transaction may succeed.
// Deadlines and fiber cancellation throw balrog::timeout_error / balrog::cancelled as
// everywhere in balrog (the query is cancelled on the server too).
#pragma once

#include <string>

#include "balrog/errors.hpp"

namespace balrog::pg {

class error : public balrog::error {
 public:
  struct fields {
    std::string sqlstate;  // five characters; empty when the error is libpq's, not the server's
    std::string severity;  // "ERROR", "FATAL"...
    std::string primary;   // the message
    std::string detail;
    std::string hint;
  };

  explicit error(fields f);
  [[nodiscard]] const std::string& sqlstate() const noexcept { return fields_.sqlstate; }
  [[nodiscard]] const std::string& severity() const noexcept { return fields_.severity; }
  [[nodiscard]] const std::string& primary() const noexcept { return fields_.primary; }
  [[nodiscard]] const std::string& detail() const noexcept { return fields_.detail; }
  [[nodiscard]] const std::string& hint() const noexcept { return fields_.hint; }

 private:
  fields fields_;
};

class connection_error : public error {
 public:
  using error::error;
};

class query_cancelled : public error {
 public:
  using error::error;
};

class serialization_failure : public error {
 public:
  using error::error;
};

// Throws the subclass of pg::error that fits `f` (by SQLSTATE class).
[[noreturn]] void throw_error(error::fields f);

}  // namespace balrog::pg
