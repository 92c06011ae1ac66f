#include "connection/statement_text.hpp"

#include <array>
#include <cctype>
#include <cstddef>

namespace balrog::pg::detail {

namespace {

bool is_word_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Walks the text token by token; calls `on_word(word)` for each bare word (keywords and
// unquoted identifiers) until it returns false.
template <class F>
void for_each_word(std::string_view s, F on_word) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
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
      // A quoted string or identifier; a doubled quote is part of it. (E'' strings with
      // backslashes end at the same quote for what we look for.)
      for (++i; i < n; ++i) {
        if (s[i] == c) {
          if (i + 1 < n && s[i + 1] == c) {
            ++i;
          } else {
            ++i;
            break;
          }
        }
      }
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

bool equals_upper(std::string_view word, std::string_view upper) noexcept {
  if (word.size() != upper.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(word[i])) != upper[i]) return false;
  }
  return true;
}

}  // namespace

std::string_view first_keyword(std::string_view sql, char (&out)[16]) noexcept {
  std::size_t len = 0;
  for_each_word(sql, [&](std::string_view w) {
    if (std::isalpha(static_cast<unsigned char>(w[0])) == 0 || w.size() >= sizeof out) {
      return false;
    }
    for (char c : w) out[len++] = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return false;
  });
  out[len] = '\0';
  return {out, len};
}

bool is_copy_through_client(std::string_view sql) noexcept {
  bool first = true;
  bool copy = false;
  bool client = false;
  for_each_word(sql, [&](std::string_view w) {
    if (first) {
      first = false;
      copy = equals_upper(w, "COPY");
      return copy;
    }
    if (w == ";") return false;  // the next statement (execute_script texts) is not ours
    if (equals_upper(w, "STDIN") || equals_upper(w, "STDOUT")) {
      client = true;
      return false;
    }
    return true;
  });
  return copy && client;
}

bool takes_statement_timeout(std::string_view sql) noexcept {
  char buffer[16];
  const std::string_view k = first_keyword(sql, buffer);
  static constexpr std::array<std::string_view, 8> dml{"SELECT", "INSERT", "UPDATE", "DELETE",
                                                       "MERGE",  "WITH",   "VALUES", "TABLE"};
  for (std::string_view d : dml) {
    if (k == d) return true;
  }
  return false;
}

}  // namespace balrog::pg::detail
