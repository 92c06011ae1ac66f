// What the driver needs to know about a statement's text before sending it, found by a small
// lexer (whitespace, -- and nested /* */ comments, quoted strings and identifiers, dollar
// quotes), never by parsing SQL.
#pragma once

#include <string_view>

namespace balrog::pg::detail {

// The statement's first keyword, upper-cased into `out` (at most 15 characters); empty when
// the text starts with something else (a parenthesis, a quoted identifier...).
std::string_view first_keyword(std::string_view sql, char (&out)[16]) noexcept;

// COPY ... FROM STDIN / TO STDOUT: a COPY whose data goes through this connection. Such a
// statement cannot run in the pipeline (query()); copy_in/copy_out run it.
bool is_copy_through_client(std::string_view sql) noexcept;

// A query or DML statement (SELECT, INSERT, UPDATE, DELETE, MERGE, WITH, VALUES, TABLE):
// one that may run in a pipeline segment after another statement, so the caller's deadline
// can be sent ahead of it as statement_timeout. Utility statements (VACUUM, CREATE INDEX
// CONCURRENTLY...) refuse to run there.
bool takes_statement_timeout(std::string_view sql) noexcept;

}  // namespace balrog::pg::detail
