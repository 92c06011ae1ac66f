// --format: the lines balrog-gen changed, reformatted in the project's clang-format style.
#pragma once

#include <string>

#include "merge.hpp"

namespace balrog::gen {

// Reformats the lines of `change.rewritten` that its edits touched (whole statements, as
// `clang-format --lines` would), with the style of the .clang-format (or _clang-format) found
// from the file's directory upwards, as `clang-format -style=file` finds it. No such file: the
// text is left as it is (the project has no declared style to follow). Other lines are never
// touched. Updates `change.rewritten` only; `change.edits` still describe the rewrite.
// Returns an error message (an unreadable or invalid .clang-format), empty on success.
std::string format_changed_lines(file_change& change);

}  // namespace balrog::gen
