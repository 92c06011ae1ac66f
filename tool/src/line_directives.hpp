// `#line` directives for the -o mirror: a mirrored file names its original, so compiler
// errors, __FILE__, __LINE__, coverage and debuggers point at the file the user edits.
#pragma once

#include <string>

namespace balrog::gen {

// `rewritten` (the new content of `original_path`, whose content was `original`), preceded by
// `#line 1 "<original_path>"` and with a `#line N "<original_path>"` before each unchanged line
// whose line number the changes above it shifted (added #include blocks, edits that add or
// remove lines), so every unchanged line carries its original number. A directive goes only
// where one may: never inside a block comment, a raw string literal or a backslash-continued
// line (there it waits for the next line that allows it). Changed lines carry the numbers of
// the lines they replace, or of the line they were inserted before, as near as can be.
std::string with_line_directives(const std::string& original, const std::string& rewritten,
                                 const std::string& original_path);

// `"path"` as a string literal of a #line directive (backslashes, quotes and control
// characters escaped).
std::string line_directive_string(const std::string& path);

}  // namespace balrog::gen
