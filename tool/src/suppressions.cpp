#include "suppressions.hpp"

#include <llvm/ADT/SmallVector.h>

namespace balrog::gen {

namespace {

// After `marker`, an optional "(a, b)" list of pass names.
std::vector<std::string> pass_list(llvm::StringRef rest) {
  std::vector<std::string> out;
  if (!rest.startswith("(")) return out;
  const size_t close = rest.find(')');
  if (close == llvm::StringRef::npos) return out;
  llvm::SmallVector<llvm::StringRef, 4> parts;
  rest.slice(1, close).split(parts, ',');
  for (llvm::StringRef p : parts) {
    if (!p.trim().empty()) out.push_back(p.trim().str());
  }
  return out;
}

}  // namespace

suppressions::suppressions(llvm::StringRef text) {
  unsigned line = 1;
  unsigned off_since = 0;  // 0: not inside "balrog: off"
  while (!text.empty()) {
    auto [current, rest] = text.split('\n');
    const size_t comment = current.find("//");
    const llvm::StringRef c = comment == llvm::StringRef::npos ? current.drop_front(current.size())
                                                               : current.drop_front(comment + 2);
    if (const size_t at = c.find("NOBALROGNEXTLINE"); at != llvm::StringRef::npos) {
      lines_.push_back({line + 1, pass_list(c.drop_front(at + 16))});
    } else if (const size_t at2 = c.find("NOBALROG"); at2 != llvm::StringRef::npos) {
      lines_.push_back({line, pass_list(c.drop_front(at2 + 8))});
    }
    const llvm::StringRef trimmed = c.trim();
    if (trimmed == "balrog: off" && off_since == 0) off_since = line;
    if (trimmed == "balrog: on" && off_since != 0) {
      regions_.emplace_back(off_since, line);
      off_since = 0;
    }
    text = rest;
    ++line;
  }
  if (off_since != 0) regions_.emplace_back(off_since, line);  // off to the end of the file
}

bool suppressions::suppressed(unsigned line, llvm::StringRef pass) const {
  for (const auto& [first, last] : regions_) {
    if (line >= first && line <= last) return true;
  }
  for (const rule& r : lines_) {
    if (r.line != line) continue;
    if (r.passes.empty()) return true;
    for (const std::string& p : r.passes) {
      if (p == pass) return true;
    }
  }
  return false;
}

}  // namespace balrog::gen
