#include "balrog/pg/result.hpp"

#include <libpq-fe.h>

#include <cstdlib>

#include "balrog/errors.hpp"
#include "balrog/pg/error.hpp"

namespace balrog::pg {

void result::deleter::operator()(pg_result* r) const noexcept { PQclear(r); }

std::size_t result::size() const noexcept {
  return res_ ? static_cast<std::size_t>(PQntuples(res_.get())) : 0;
}
std::size_t result::columns() const noexcept {
  return res_ ? static_cast<std::size_t>(PQnfields(res_.get())) : 0;
}

std::string_view result::column_name(std::size_t column) const {
  if (column >= columns()) {
    throw_usage("result::column_name: no column " + std::to_string(column) + " (the result has " +
                std::to_string(columns()) + ")");
  }
  return PQfname(res_.get(), static_cast<int>(column));
}

std::size_t result::column_index(std::string_view name) const {
  for (std::size_t i = 0; i < columns(); ++i) {
    if (name == PQfname(res_.get(), static_cast<int>(i))) return i;
  }
  error::fields f;
  f.sqlstate = "42703";  // undefined_column
  f.severity = "ERROR";
  f.primary = "the result has no column \"" + std::string(name) + "\"";
  throw error(std::move(f));
}

std::uint32_t result::column_type(std::size_t column) const {
  if (column >= columns()) throw_usage("result::column_type: no column " + std::to_string(column));
  return PQftype(res_.get(), static_cast<int>(column));
}

std::string_view result::command_tag() const noexcept {
  return res_ ? std::string_view(PQcmdStatus(res_.get())) : std::string_view();
}

std::uint64_t result::rows_affected() const noexcept {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_.get());
  return n != nullptr && *n != '\0' ? std::strtoull(n, nullptr, 10) : 0;
}

void result::expect_rows(std::size_t least, std::size_t most) const {
  const std::size_t n = size();
  if (n >= least && n <= most) return;
  error::fields f;
  f.sqlstate = n < least ? "02000" : "21000";  // no_data / cardinality_violation
  f.severity = "ERROR";
  f.primary = "the statement returned " + std::to_string(n) + " row(s); expected " +
              (least == most ? std::to_string(least)
                             : std::to_string(least) + " to " + std::to_string(most));
  throw unexpected_rows(std::move(f));
}

row result::operator[](std::size_t i) const {
  if (i >= size()) {
    throw_usage("result: no row " + std::to_string(i) + " (the result has " +
                std::to_string(size()) + ")");
  }
  return row(*this, i);
}

result::iterator result::begin() const noexcept { return iterator(this, 0); }
result::iterator result::end() const noexcept { return iterator(this, size()); }

field row::at(std::size_t column) const {
  if (column >= r_->columns()) {
    throw_usage("row: no column " + std::to_string(column) + " (the result has " +
                std::to_string(r_->columns()) + ")");
  }
  return field(*r_, index_, column);
}

void row::check_columns(std::size_t wanted) const {
  if (wanted != r_->columns()) {
    throw_usage("row::as: asked for " + std::to_string(wanted) + " column(s); the result has " +
                std::to_string(r_->columns()));
  }
}

field::field(const result& r, std::size_t row, std::size_t column) noexcept
    : r_(&r), column_(column) {
  const auto* res = r.native_handle();
  const int ri = static_cast<int>(row);
  const int ci = static_cast<int>(column);
  null_ = PQgetisnull(res, ri, ci) == 1;
  data_ = PQgetvalue(res, ri, ci);
  size_ = static_cast<std::size_t>(PQgetlength(res, ri, ci));
  type_ = PQftype(res, ci);
  binary_ = PQfformat(res, ci) == 1;
}

std::string_view field::name() const {
  return r_ != nullptr ? r_->column_name(column_) : std::string_view();
}

std::string field::describe() const {
  std::string where;
  if (element_ >= 0) where = "element " + std::to_string(element_ + 1) + " of ";
  if (r_ == nullptr) return where + "the value";
  return where + "column " + std::to_string(column_) + " \"" + std::string(name()) + "\"";
}

void throw_usage(const std::string& message) { throw usage_error("balrog::pg::" + message); }

}  // namespace balrog::pg
