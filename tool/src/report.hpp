// --report: every call of an API map entry that was not rewritten, wherever it is (the main
// files, macro bodies, headers outside the header filter, system headers reached from user
// code), with why, counted per file. As text, JSON or SARIF 2.1.0.
#pragma once

#include <string>
#include <vector>

#include "results.hpp"

namespace balrog::gen {

enum class report_format { text, json, sarif };

// The calls left by every TU, without the duplicates several TUs report for one header, sorted
// by file, line, column. A TU whose rewrite was refused (parse errors, a pass's error: its
// parse_errors / pass_errors) adds the calls its edits would have rewritten, reason "refused"
// ("file refused: <why>; ..."), unless another TU rewrites them (a shared header).
std::vector<left_call> collect_left(const std::vector<tu_result>& results);

// Per file, how many of `left` it holds, sorted by path.
std::vector<std::pair<std::string, std::size_t>> count_per_file(const std::vector<left_call>& left);

std::string render_report(const std::vector<left_call>& left, report_format format);

}  // namespace balrog::gen
