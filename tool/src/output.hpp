// Everything balrog-gen writes: files (atomically), the -o mirror, --export-fixes YAML,
// --depfile, and diagnostics in clang's format.
#pragma once

#include <string>
#include <vector>

#include "merge.hpp"
#include "results.hpp"

namespace balrog::gen {

// Writes `content` to `path` through a temporary file in the same directory and a rename, so
// readers see the old file or the new one, never half of it. Keeps the file's permissions.
// With `only_if_changed`, leaves an identical file alone (its mtime too: no needless rebuilds).
// Returns an error message, empty on success.
std::string atomic_write(const std::string& path, const std::string& content, bool only_if_changed);

// Where the -o mirror puts `source`: out_dir + its path relative to base_dir. Empty (and sets
// `error`) when the file is not under base_dir.
std::string mirror_path(const std::string& source, const std::string& out_dir,
                        const std::string& base_dir, std::string& error);

// `path` (absolute) relative to the current directory when it is under it, else unchanged.
std::string display_path(const std::string& path);

// clang-tidy's --export-fixes format (TranslationUnitDiagnostics), which
// clang-apply-replacements accepts. File paths are display_path()s and BuildDirectory is
// empty, so clang-apply-replacements resolves them against its own current directory: run it
// where balrog-gen ran, or in a copy of that tree.
std::string export_fixes_yaml(const std::string& main_file, const merged& m);

// Make-style: "target: dep dep ...", with what Make and Ninja would misread escaped as GCC
// escapes it (' ' and '#' behind a backslash, '$' doubled, backslashes before them doubled).
std::string depfile_text(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& rules);

class diagnostic_printer {
 public:
  explicit diagnostic_printer(bool color) : color_(color) {}
  // file:line:col: warning: message [pass]
  void print(const diagnostic& d) const;
  void print_edit(const edit& e) const;  // an edit as a --check warning

 private:
  bool color_;
};

}  // namespace balrog::gen
