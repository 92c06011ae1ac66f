#include "balrog/pg/error.hpp"

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

}  // namespace

error::error(fields f) : balrog::error(what_of(f)), fields_(std::move(f)) {}

void throw_error(error::fields f) {
  const std::string& s = f.sqlstate;
  if (s.rfind("08", 0) == 0) throw connection_error(std::move(f));
  if (s == "57014") throw query_cancelled(std::move(f));
  if (s == "40001" || s == "40P01") throw serialization_failure(std::move(f));
  if (s == "57P01" || s == "57P02" || s == "57P03")
    throw connection_error(std::move(f));  // shutdown
  throw error(std::move(f));
}

}  // namespace balrog::pg
