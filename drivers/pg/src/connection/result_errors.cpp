#include "connection/result_errors.hpp"

#include <cstdlib>
#include <string>

#include "balrog/pg/error.hpp"

namespace balrog::pg::detail {

namespace {

std::string field_of(const PGresult* res, int code) {
  const char* v = PQresultErrorField(res, code);
  return v != nullptr ? v : "";
}

}  // namespace

std::exception_ptr error_from_result(const PGresult* res) noexcept {
  switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
    case PGRES_SINGLE_TUPLE:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
    case PGRES_PIPELINE_SYNC:
      return nullptr;
    default:
      break;
  }
  try {
    error::fields f;
    f.sqlstate = field_of(res, PG_DIAG_SQLSTATE);
    f.severity = field_of(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    f.primary = field_of(res, PG_DIAG_MESSAGE_PRIMARY);
    f.detail = field_of(res, PG_DIAG_MESSAGE_DETAIL);
    f.hint = field_of(res, PG_DIAG_MESSAGE_HINT);
    f.schema = field_of(res, PG_DIAG_SCHEMA_NAME);
    f.table = field_of(res, PG_DIAG_TABLE_NAME);
    f.column = field_of(res, PG_DIAG_COLUMN_NAME);
    f.datatype = field_of(res, PG_DIAG_DATATYPE_NAME);
    f.constraint = field_of(res, PG_DIAG_CONSTRAINT_NAME);
    f.position = std::atoi(field_of(res, PG_DIAG_STATEMENT_POSITION).c_str());
    f.context = field_of(res, PG_DIAG_CONTEXT);
    if (f.primary.empty()) {
      f.primary = PQresultStatus(res) == PGRES_PIPELINE_ABORTED
                      ? "not run: an earlier statement of its pipeline segment failed"
                      : PQresultErrorMessage(res);
      while (!f.primary.empty() && f.primary.back() == '\n') f.primary.pop_back();
    }
    throw_error(std::move(f));
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace balrog::pg::detail
