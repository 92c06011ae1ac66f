// Turning the edits of many translation units into one new content per file.
//
// A header seen by several TUs gets the same edit from each: identical edits are applied once.
// Edits that overlap but differ (two TUs saw the header through different macros...) conflict:
// each conflict is reported and none of its edits is applied. TUs that failed to parse
// contribute nothing. #include requests become edits in files that have other edits.
#pragma once

#include <string>
#include <vector>

#include "results.hpp"

namespace balrog::gen {

struct file_change {
  std::string path;
  std::string original;
  std::string rewritten;
  std::vector<edit> edits;  // applied, in file order (includes added by the tool too)
};

struct merged {
  std::vector<file_change> changes;     // sorted by path
  std::vector<diagnostic> diagnostics;  // conflicts, unreadable files
};

merged merge_edits(const std::vector<tu_result>& results);

}  // namespace balrog::gen
