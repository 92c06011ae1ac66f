// Suppression comments, as clang-tidy's NOLINT family:
//
//   recv(fd, buf, n, 0);  // NOBALROG                      this line
//   recv(fd, buf, n, 0);  // NOBALROG(blocking-calls)      this line, one pass (comma list)
//   // NOBALROGNEXTLINE                                     the next line
//   // balrog: off   ...   // balrog: on                    everything between
#pragma once

#include <llvm/ADT/StringRef.h>

#include <string>
#include <vector>

namespace balrog::gen {

class suppressions {
 public:
  explicit suppressions(llvm::StringRef file_text);
  // Lines count from 1.
  [[nodiscard]] bool suppressed(unsigned line, llvm::StringRef pass) const;

 private:
  struct rule {
    unsigned line;
    std::vector<std::string> passes;  // empty: all passes
  };
  std::vector<rule> lines_;
  std::vector<std::pair<unsigned, unsigned>> regions_;  // [first, last] lines, inclusive
};

}  // namespace balrog::gen
