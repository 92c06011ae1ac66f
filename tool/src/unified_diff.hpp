// A unified diff (as `diff -u`) of two texts, with 3 lines of context.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace balrog::gen {

// `text`'s lines, each with its '\n' (the last one may lack it); views into `text`.
std::vector<std::string_view> split_lines(const std::string& text);

enum class line_op { keep, remove, add };

// The shortest edit script turning lines `a` into lines `b`: each step keeps or removes a line
// of `a` (its index) or adds a line of `b` (its index), in order; removals come before the
// additions that replace them, as `diff -u` prints them.
std::vector<std::pair<line_op, std::size_t>> diff_lines(const std::vector<std::string_view>& a,
                                                        const std::vector<std::string_view>& b);

std::string unified_diff(const std::string& old_text, const std::string& new_text,
                         const std::string& old_label, const std::string& new_label);

}  // namespace balrog::gen
