#include "unified_diff.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

namespace balrog::gen {

std::vector<std::string_view> split_lines(const std::string& text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string::npos ? text.size() : nl + 1;
    lines.emplace_back(text.data() + start, end - start);
    start = end;
  }
  return lines;
}

// Longest common subsequence by dynamic programming: files balrog-gen rewrites are source
// files (thousands of lines at most) and edits are few, so the quadratic table is affordable
// after trimming the common prefix and suffix.
std::vector<std::pair<line_op, std::size_t>> diff_lines(const std::vector<std::string_view>& a,
                                                        const std::vector<std::string_view>& b) {
  using op = line_op;
  std::size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const std::size_t n = a.size() - prefix - suffix;
  const std::size_t m = b.size() - prefix - suffix;
  std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::pair<op, std::size_t>> script;  // index into a (keep/remove) or b (add)
  for (std::size_t k = 0; k < prefix; ++k) script.emplace_back(op::keep, k);
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
      script.emplace_back(op::keep, prefix + i);
      ++i;
      ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      script.emplace_back(op::remove, prefix + i);  // removals first, as diff -u prints them
      ++i;
    } else {
      script.emplace_back(op::add, prefix + j);
      ++j;
    }
  }
  for (std::size_t k = 0; k < suffix; ++k) script.emplace_back(op::keep, a.size() - suffix + k);
  return script;
}

namespace {

using op = line_op;

void append_line(std::string& out, char mark, std::string_view line) {
  out += mark;
  out += line;
  if (line.empty() || line.back() != '\n') out += "\n\\ No newline at end of file\n";
}

}  // namespace

std::string unified_diff(const std::string& old_text, const std::string& new_text,
                         const std::string& old_label, const std::string& new_label) {
  const auto a = split_lines(old_text);
  const auto b = split_lines(new_text);
  const auto script = diff_lines(a, b);
  constexpr std::size_t context = 3;
  std::string out = "--- " + old_label + "\n+++ " + new_label + "\n";
  std::size_t k = 0;
  while (k < script.size()) {
    // Find the next change, then grow a hunk around it (merging changes close together).
    while (k < script.size() && script[k].first == op::keep) ++k;
    if (k == script.size()) break;
    std::size_t start = k >= context ? k - context : 0;
    std::size_t end = k;
    for (;;) {
      while (end < script.size() && script[end].first != op::keep) ++end;
      std::size_t keep_run = 0;
      while (end + keep_run < script.size() && script[end + keep_run].first == op::keep) ++keep_run;
      if (end + keep_run == script.size() || keep_run > 2 * context) {
        end += std::min(keep_run, context);
        break;
      }
      end += keep_run;
    }
    // Line numbers of the hunk in each file (1-based; count what precedes it).
    std::size_t old_line = 1;
    std::size_t new_line = 1;
    for (std::size_t s = 0; s < start; ++s) {
      if (script[s].first != op::add) ++old_line;
      if (script[s].first != op::remove) ++new_line;
    }
    std::size_t old_count = 0;
    std::size_t new_count = 0;
    std::string body;
    for (std::size_t s = start; s < end; ++s) {
      const auto [o, idx] = script[s];
      if (o == op::keep) {
        append_line(body, ' ', a[idx]);
        ++old_count;
        ++new_count;
      } else if (o == op::remove) {
        append_line(body, '-', a[idx]);
        ++old_count;
      } else {
        append_line(body, '+', b[idx]);
        ++new_count;
      }
    }
    out += "@@ -" + std::to_string(old_count ? old_line : old_line - 1) + "," +
           std::to_string(old_count) + " +" + std::to_string(new_count ? new_line : new_line - 1) +
           "," + std::to_string(new_count) + " @@\n" + body;
    k = end;
  }
  return out;
}

}  // namespace balrog::gen
