// A unified diff (as `diff -u`) of two texts, with 3 lines of context.
#pragma once

#include <string>

namespace balrog::gen {

std::string unified_diff(const std::string& old_text, const std::string& new_text,
                         const std::string& old_label, const std::string& new_label);

}  // namespace balrog::gen
