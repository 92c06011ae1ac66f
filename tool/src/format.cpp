#include "format.hpp"

#include <clang/Format/Format.h>
#include <clang/Tooling/Core/Replacement.h>

#include <vector>

namespace balrog::gen {

std::string format_changed_lines(file_change& change) {
  // Where each edit's text landed in the rewritten file (edits are in file order and do not
  // overlap; the include edits are among them).
  std::vector<clang::tooling::Range> ranges;
  long shift = 0;
  for (const edit& e : change.edits) {
    const long start = static_cast<long>(e.offset) + shift;
    ranges.emplace_back(static_cast<unsigned>(start), static_cast<unsigned>(e.text.size()));
    shift += static_cast<long>(e.text.size()) - static_cast<long>(e.length);
  }
  if (ranges.empty()) return {};
  llvm::Expected<clang::format::FormatStyle> style =
      clang::format::getStyle("file", change.path, "none", change.rewritten);
  if (!style) return "--format: " + llvm::toString(style.takeError());
  const clang::tooling::Replacements replacements =
      clang::format::reformat(*style, change.rewritten, ranges, change.path);
  auto formatted = clang::tooling::applyAllReplacements(change.rewritten, replacements);
  if (!formatted) return "--format: " + llvm::toString(formatted.takeError());
  change.rewritten = std::move(*formatted);
  return {};
}

}  // namespace balrog::gen
