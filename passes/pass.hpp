// passes/pass.hpp — what a balrog-gen pass is, and what it may ask of the tool.
//
// A pass is one name in four places (scripts/new-pass creates all four): its folder here
// (a small .hpp + .cpp + README.md), its lit tests in test/lit/<name>/, its page in
// docs/passes/<name>.md, and one line in passes/registry.cpp.
//
// A pass only *proposes*: it registers AST matchers and reports edits and diagnostics to a
// rewrite_sink. The tool decides what may really be edited — never a system header, never a
// macro body, only headers the header filter admits, nothing under a suppression comment —
// and turns refusals into diagnostics, so every pass behaves the same at those edges.
#pragma once

#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/Basic/SourceLocation.h>
#include <clang/Basic/SourceManager.h>
#include <llvm/ADT/StringRef.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace balrog::gen {

enum class severity { note, warning, error };

// A call of an API map entry that a pass found, for --report: which function, from which map,
// and (for diagnose) why it is left as it is. Passes whose findings are blocking calls pass
// one along; the tool records every such call that ends up not rewritten, wherever it is.
struct blocking_call {
  std::string function;  // "recv", "PQsetdb", "std::future::get"
  std::string library;   // the map: "posix-net"
  // Why it is left: "coroutine", "macro-argument", "address-taken", "dependent", "no-twin"
  // (a report entry); the tool adds "macro-body", "header-filter" and "system-header".
  std::string reason;
};

class rewrite_sink {
 public:
  virtual ~rewrite_sink() = default;

  // Proposes replacing `range` (a token or character range, possibly inside macro arguments)
  // with `text`. `why` names the problem ("call to 'recv' blocks the thread"); the tool adds
  // what it did about it, for --check and for refusals. Returns false when the tool
  // refuses: inside a macro body (reported as a warning naming the pass), in a system header
  // or outside the header filter (silently), or under a suppression comment (silently).
  // `call`, when given, names the map entry: a refusal is recorded for --report.
  virtual bool replace(const clang::SourceManager& sm, clang::CharSourceRange range,
                       llvm::StringRef text, llvm::StringRef why, llvm::StringRef pass,
                       const blocking_call* call = nullptr) = 0;

  // Makes sure the file that holds `where` includes `header` ("<x.hpp>" or "\"x.hpp\""),
  // adding the #include with the file's other includes. Only has an effect together with an
  // accepted replace() in that file.
  virtual void require_include(const clang::SourceManager& sm, clang::SourceLocation where,
                               llvm::StringRef header) = 0;

  // Reports something the pass will not rewrite (a call taken by address, a call inside a
  // coroutine...). Suppression comments and the header filter apply; system headers are
  // never reported. With `call`, the finding is a blocking call left as it is: it goes to
  // --report and fails --check wherever it is, in headers outside the filter too (those are
  // counted per header instead of printed one by one).
  virtual void diagnose(const clang::SourceManager& sm, clang::SourceLocation where, severity level,
                        llvm::StringRef message, llvm::StringRef pass,
                        const blocking_call* call = nullptr) = 0;

  // Whether an edit by `pass` at `where` would be accepted: spelled in the file or in a macro
  // argument (not a macro body), in an admitted file (the main file, or a header the filter
  // admits; never a system header), and not under a suppression comment for `pass`. For the
  // report-only passes, which ask what another pass does with the code.
  virtual bool editable(const clang::SourceManager& sm, clang::SourceLocation where,
                        llvm::StringRef pass) = 0;

  // A blocking call inside a system header (never edited), in `via`, a function that user code
  // calls at `reached_from`. Recorded for --report and --check unless `reached_from` is
  // suppressed; a warning at `reached_from` when that file is admitted.
  virtual void system_header_call(const clang::SourceManager& sm, clang::SourceLocation call_loc,
                                  clang::SourceLocation reached_from, llvm::StringRef via,
                                  const blocking_call& call, llvm::StringRef pass) = 0;
};

// One API map entry (passes/maps/*.yaml, or a user's map named in .balrog.yaml).
struct api_function {
  enum class form {
    function,     // `name:` a free function (or a static member), called as f(args)
    method,       // `method:` a member function, called as obj.f(args) / p->f(args)
    constructor,  // `constructor:` a class whose constructors block (report entries only)
    macro,        // `macro:` a library's function-like or object-like API macro
  };
  enum class action {
    rewrite,  // call the replacement instead
    offload,  // run the call on the offload pool: balrog::compat::offloaded<&f>(args...)
    report,   // known to block, no twin: report with `advice`
  };
  form what = form::function;
  action kind = action::rewrite;
  std::string name;                 // qualified, e.g. "::recv" or "std::this_thread::sleep_for"
                                    // (a macro: its name)
  std::vector<std::string> params;  // optional: parameter types, as clang prints them
  // e.g. "balrog::compat::recv". A method's replacement takes the object first
  // (`obj.f(a)` -> `replacement(obj, a)`). A macro's is the whole text of the use, with
  // $1..$9 for the use's arguments as spelled. offload: balrog::compat::offloaded<&name>.
  std::string replacement;
  std::string advice;  // report entries: what to do instead
  std::string header;  // include for the replacement; defaults to the map's
  // What the call becomes in a C file (a .c translation unit, compiled as C): a function with
  // C linkage, e.g. "balrog_recv" (a macro entry's: the whole use, with $1..$9), and the C
  // header that declares it (defaults to the map's c-header). Empty: the entry has no C twin,
  // and its calls in C files are reported, never rewritten to the C++ replacement.
  std::string c_replacement;
  std::string c_header;
  std::string coroutine_form;  // optional: what to suggest inside coroutines
  // False for calls that never wait but must reach the runtime (close, dup2, fcntl...): they
  // are rewritten everywhere, coroutines included, and described as such.
  bool blocks = true;
};

struct api_map {
  std::string library;  // "posix-net"
  std::string header;   // "<balrog/compat/posix_net.hpp>"
  // The C face's header for the entries' c-replacement: "<balrog/compat/c/posix_net.h>".
  std::string c_header;
  // Match only functions declared in system headers (the real libc/libstdc++ ones), so a user
  // function of the same name is left alone. A map of a project's own library sets it false.
  bool system_headers_only = true;
  std::string source;  // the file it was read from
  std::vector<api_function> functions;
};

// What a pass is configured with (from .balrog.yaml and the command line).
struct pass_config {
  std::vector<api_map> maps;
  std::vector<std::string> passes;             // every pass that runs over the file, in order
  std::map<std::string, std::string> options;  // pass-options: <pass>: {key: value}

  [[nodiscard]] bool flag(const std::string& key, bool fallback) const;
};

class pass {
 public:
  virtual ~pass() = default;
  // Registers the pass's matchers. The pass owns its callbacks; it outlives the finder.
  // balrog-gen runs them over the declarations outside system headers only (the clang-tidy
  // plugin over the whole TU).
  virtual void register_matchers(clang::ast_matchers::MatchFinder& finder, rewrite_sink& sink) = 0;
  // Matchers balrog-gen runs over the declarations of system headers, after the others: only
  // for what a pass learns there (blocking-calls' calls reached from user code). The same
  // callbacks may serve both finders; onEndOfTranslationUnit then comes once per finder.
  // False when it registered none (the system headers are then not walked at all).
  virtual bool register_system_matchers(clang::ast_matchers::MatchFinder& /*finder*/,
                                        rewrite_sink& /*sink*/) {
    return false;
  }
};

struct pass_info {
  const char* name;
  const char* summary;
  // Null for passes that do not rewrite files (coro-shims runs with --emit-shims).
  std::unique_ptr<pass> (*make)(const pass_config& config);
  // Runs only when asked for (`passes:`, --passes, or --run-main for run-main), never by
  // default: what it changes is more than a call or a type.
  bool opt_in = false;
  // Also runs on C translation units (a .c file, LangOptions without CPlusPlus), where what it
  // writes must be C. The other passes are skipped there: their rewrites are C++.
  bool c_sources = false;
};

// Every pass, in the order they run (passes/registry.cpp).
const std::vector<pass_info>& all_passes();
const pass_info* find_pass(llvm::StringRef name);

}  // namespace balrog::gen
