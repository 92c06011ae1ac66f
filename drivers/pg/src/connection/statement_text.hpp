// What the driver needs to know about a statement's text before sending it, found by a small
// lexer (whitespace, -- and nested /* */ comments, quoted strings and identifiers, dollar
// quotes), never by parsing SQL.
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>

namespace balrog::pg::detail {

// A character of a bare word: letters (any non-ASCII byte too), digits, _ and $.
inline bool is_word_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The one lexer of statement texts (here and in the compat layer's multiplexing rules).
// Walks the text token by token and calls `on_word(token)` for each bare word (keywords and
// unquoted identifiers) and each punctuation character (";" ends a statement), until it
// returns false. Skipped: whitespace, -- and nested /* */ comments, quoted strings and
// identifiers (a doubled quote is part of them; in an E'' string a backslash escapes the next
// character) and dollar-quoted strings.
template <class F>
void for_each_word(std::string_view s, F on_word) noexcept(noexcept(on_word(s))) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  // From the opening quote at i to past the closing one.
  const auto skip_quoted = [&](bool backslash_escapes) {
    const char q = s[i];
    for (++i; i < n; ++i) {
      if (backslash_escapes && s[i] == '\\') {
        ++i;
      } else if (s[i] == q) {
        if (i + 1 < n && s[i + 1] == q) {
          ++i;
        } else {
          ++i;
          return;
        }
      }
    }
  };
  while (i < n) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
    } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      int depth = 0;
      while (i < n) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else if (c == '\'' || c == '"') {
      skip_quoted(false);
    } else if ((c == 'e' || c == 'E') && i + 1 < n && s[i + 1] == '\'') {
      ++i;  // E'...': an escape string, not the word E
      skip_quoted(true);
    } else if (c == '$' && i + 1 < n &&
               (s[i + 1] == '$' || std::isalpha(static_cast<unsigned char>(s[i + 1])) != 0)) {
      // $tag$ ... $tag$ (a dollar quote) or $1 (a parameter, handled as a word below).
      std::size_t j = i + 1;
      while (j < n && s[j] != '$' && is_word_char(s[j])) ++j;
      if (j < n && s[j] == '$') {
        const std::string_view tag = s.substr(i, j - i + 1);
        const std::size_t end = s.find(tag, j + 1);
        i = end == std::string_view::npos ? n : end + tag.size();
      } else {
        i = j;
      }
    } else if (is_word_char(c)) {
      const std::size_t start = i;
      while (i < n && is_word_char(s[i])) ++i;
      if (!on_word(s.substr(start, i - start))) return;
    } else {
      if (!on_word(s.substr(i, 1))) return;  // punctuation counts as a token
      ++i;
    }
  }
}

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
