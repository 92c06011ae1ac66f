#include "line_directives.hpp"

#include <cstdio>
#include <string_view>
#include <vector>

#include "unified_diff.hpp"

namespace balrog::gen {

namespace {

bool identifier_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The identifier-like token that ends right before text[at] ("" when none).
std::string_view token_before(const std::string& text, std::size_t at) {
  std::size_t start = at;
  while (start > 0 && identifier_char(text[start - 1])) --start;
  return std::string_view(text).substr(start, at - start);
}

// For each line of `text` (by index), whether a directive may be put before it: the line does
// not continue a backslash-newline, a block comment or a raw string literal. A light scanner:
// comments, string and character literals (with their prefixes), raw strings, digit
// separators (1'000 is no character literal).
std::vector<bool> directive_allowed(const std::string& text) {
  std::vector<bool> allowed{true};
  enum class state { code, line_comment, block_comment, string, character, raw_string };
  state s = state::code;
  std::string raw_end;  // )delimiter"
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      const bool continued = i > 0 && text[i - 1] == '\\';
      if (s == state::line_comment && !continued) s = state::code;
      if ((s == state::string || s == state::character) && !continued)
        s = state::code;  // ill-formed
      if (i + 1 < text.size()) {
        allowed.push_back(!continued && s != state::block_comment && s != state::raw_string);
      }
      continue;
    }
    switch (s) {
      case state::code:
        if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
          s = state::line_comment;
          ++i;
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
          s = state::block_comment;
          ++i;
        } else if (c == '"') {
          const std::string_view prefix = token_before(text, i);
          if (!prefix.empty() && prefix.back() == 'R' &&
              (prefix == "R" || prefix == "LR" || prefix == "uR" || prefix == "UR" ||
               prefix == "u8R")) {
            const std::size_t open = text.find('(', i + 1);
            if (open == std::string::npos) return allowed;
            raw_end = ")" + text.substr(i + 1, open - i - 1) + "\"";
            s = state::raw_string;
            i = open;
          } else {
            s = state::string;
          }
        } else if (c == '\'') {
          const std::string_view prefix = token_before(text, i);
          if (prefix.empty() || prefix == "L" || prefix == "u" || prefix == "U" || prefix == "u8") {
            s = state::character;
          }  // else a digit separator
        }
        break;
      case state::line_comment:
        break;
      case state::block_comment:
        if (c == '*' && i + 1 < text.size() && text[i + 1] == '/') {
          s = state::code;
          ++i;
        }
        break;
      case state::string:
      case state::character:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
        } else if (c == (s == state::string ? '"' : '\'')) {
          s = state::code;
        }
        break;
      case state::raw_string:
        if (text.compare(i, raw_end.size(), raw_end) == 0) {
          i += raw_end.size() - 1;
          s = state::code;
        }
        break;
    }
  }
  return allowed;
}

}  // namespace

std::string line_directive_string(const std::string& path) {
  std::string out = "\"";
  for (const char c : path) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char octal[5];
      std::snprintf(octal, sizeof octal, "\\%03o", static_cast<unsigned char>(c));
      out += octal;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string with_line_directives(const std::string& original, const std::string& rewritten,
                                 const std::string& original_path) {
  const std::string name = line_directive_string(original_path);
  const auto directive = [&](std::size_t line) {
    return "#line " + std::to_string(line) + " " + name + "\n";
  };
  std::string out = directive(1);
  if (original == rewritten) return out + rewritten;
  const std::vector<std::string_view> a = split_lines(original);
  const std::vector<std::string_view> b = split_lines(rewritten);
  const std::vector<bool> allowed = directive_allowed(rewritten);
  std::size_t next = 1;  // the number the compiler gives the next line of `out`
  std::size_t j = 0;     // the next line of `rewritten`
  for (const auto& [o, index] : diff_lines(a, b)) {
    if (o == line_op::remove) continue;
    if (o == line_op::keep && next != index + 1 && j < allowed.size() && allowed[j]) {
      // The last line of `out` ends with '\n': only the last line of a file may lack it.
      out += directive(index + 1);
      next = index + 1;
    }
    out += b[j];
    ++j;
    ++next;
  }
  return out;
}

}  // namespace balrog::gen
