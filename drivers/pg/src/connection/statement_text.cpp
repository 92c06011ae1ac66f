#include "connection/statement_text.hpp"

#include <array>
#include <cctype>
#include <cstddef>

namespace balrog::pg::detail {

namespace {

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
