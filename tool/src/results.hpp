// What running the passes over one translation unit produced, before anything is applied.
#pragma once

#include <string>
#include <vector>

#include "pass.hpp"

namespace balrog::gen {

struct edit {
  std::string file;  // absolute, normalized
  unsigned offset = 0;
  unsigned length = 0;
  std::string text;
  std::string pass;
  std::string why;  // for --check
  unsigned line = 0;
  unsigned column = 0;
};

struct include_request {
  std::string file;
  std::string header;  // "<x.hpp>" or "\"x.hpp\""
};

struct diagnostic {
  std::string file;  // empty: not about a location
  unsigned line = 0;
  unsigned column = 0;
  severity level = severity::warning;
  std::string message;
  std::string pass;  // empty for the tool's own
};

// A call of an API map entry that is not rewritten (for --report and --check).
struct left_call {
  std::string file;  // where the call is spelled (a system header's path for system-header)
  unsigned line = 0;
  unsigned column = 0;
  std::string function;
  std::string library;
  std::string reason;   // blocking_call::reason
  std::string message;  // the full explanation
  std::string pass;
  // system-header: the user code that calls `via`, the system function holding the call.
  std::string via;
  std::string from_file;
  unsigned from_line = 0;
  unsigned from_column = 0;
  bool shown = false;  // a diagnostic about it was printed (else main counts it per file)
};

struct tu_result {
  std::string main_file;
  bool ran = false;           // false: the tool could not even start (no compile command...)
  unsigned parse_errors = 0;  // a TU with errors is never rewritten
  unsigned pass_errors = 0;   // nor one a pass reported an error in
  std::vector<edit> edits;
  std::vector<include_request> includes;
  std::vector<diagnostic> diagnostics;
  std::vector<std::string> dependencies;  // every file the TU read, sorted, for --depfile
  std::string clang_output;     // clang's own diagnostics (parse errors...), printed in input order
  unsigned suppressed = 0;      // edits a suppression comment stopped
  std::vector<left_call> left;  // blocking calls not rewritten, wherever they are
  // Blocking calls this TU's edits rewrite (reason empty; message: the rewrite). When the TU
  // is refused (a parse or pass error) they are left after all: the report lists them.
  std::vector<left_call> rewritten;
};

}  // namespace balrog::gen
