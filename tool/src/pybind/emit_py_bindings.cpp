// --emit-py-bindings: each input header is parsed as a translation unit of its own (with the
// compile command the database gives it: -p, or the flags after --), the py-bindings pass
// collects its exported declarations, and one module source (and stub) is written for all of
// them, atomically and only when their bytes change. A header that fails to parse, or an
// exported declaration the pass cannot bind, writes nothing.
#include "pybind/emit_py_bindings.hpp"

#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

#include "compile_flags.hpp"
#include "generated_file.hpp"  // spelled_include, real
#include "py-bindings/py_bindings.hpp"
#include "suppressions.hpp"

namespace balrog::gen {

namespace {

namespace pb = py_bindings;

struct header_result {
  std::string path;
  std::string spelled;
  bool ran = false;
  unsigned parse_errors = 0;
  pb::module found;
  std::vector<pb::message> messages;
};

class consumer final : public clang::ASTConsumer {
 public:
  consumer(clang::CompilerInstance& ci, header_result& out, const std::string& out_dir)
      : ci_(ci), out_(out), out_dir_(out_dir) {}

  void HandleTranslationUnit(clang::ASTContext& ctx) override {
    out_.spelled = spelled_include(ci_, out_dir_);
    if (ci_.getDiagnostics().hasErrorOccurred()) return;
    const clang::SourceManager& sm = ctx.getSourceManager();
    const suppressions marks(sm.getBufferData(sm.getMainFileID()));
    pb::options opts;
    opts.suppressed = [&](clang::SourceLocation loc) {
      const clang::SourceLocation at = sm.getExpansionLoc(loc);
      return sm.isWrittenInMainFile(at) &&
             marks.suppressed(sm.getExpansionLineNumber(at), pb::pass_name);
    };
    pb::collect(ctx, opts, out_.found, out_.messages);
  }

 private:
  clang::CompilerInstance& ci_;
  header_result& out_;
  const std::string& out_dir_;
};

class action final : public clang::ASTFrontendAction {
 public:
  action(header_result& out, const std::string& out_dir) : out_(out), out_dir_(out_dir) {}
  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance& ci,
                                                        llvm::StringRef) override {
    return std::make_unique<consumer>(ci, out_, out_dir_);
  }
  void EndSourceFileAction() override {
    out_.parse_errors += getCompilerInstance().getDiagnostics().getClient()->getNumErrors();
  }

 private:
  header_result& out_;
  const std::string& out_dir_;
};

class factory final : public clang::tooling::FrontendActionFactory {
 public:
  factory(header_result& out, const std::string& out_dir) : out_(out), out_dir_(out_dir) {}
  std::unique_ptr<clang::FrontendAction> create() override {
    return std::make_unique<action>(out_, out_dir_);
  }

 private:
  header_result& out_;
  const std::string& out_dir_;
};

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

int run_emit_py_bindings(const clang::tooling::CompilationDatabase& db,
                         const std::vector<std::string>& headers, const py_bindings_request& req,
                         const clang::tooling::ArgumentsAdjuster& extra_args,
                         const std::string& resource_dir, const diagnostic_printer& printer) {
  if (req.module_name.empty() ||
      !llvm::all_of(req.module_name, [](char c) { return llvm::isAlnum(c) || c == '_'; }) ||
      llvm::isDigit(req.module_name.front())) {
    printer.print(
        {"", 0, 0, severity::error,
         "--py-module: give the module's name, a Python identifier (got '" + req.module_name + "')",
         ""});
    return 2;
  }
  const std::string out_dir = [&] {
    llvm::SmallString<256> abs(req.cpp_path);
    llvm::sys::fs::make_absolute(abs);
    return real(llvm::sys::path::parent_path(abs));
  }();

  std::vector<header_result> results(headers.size());
  dropped_flags dropped;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    header_result& r = results[i];
    r.path = headers[i];
    factory f(r, out_dir);
    const int status = run_on_header(db, headers[i], dropped, resource_dir, extra_args, f);
    r.ran = status != 2;
    if (status == 1 && r.parse_errors == 0) r.parse_errors = 1;
  }
  print_dropped(dropped, printer);
  auto print = [&](const pb::message& m) {
    printer.print({m.file, m.line, m.column, m.level, m.text, pb::pass_name});
  };
  int status = 0;
  for (const header_result& r : results) {
    if (!r.ran) {
      printer.print({r.path, 0, 0, severity::error,
                     "no compile command for this header (give -p <build dir> or -- <flags>)", ""});
      status = 2;
    } else if (r.parse_errors > 0) {
      printer.print(
          {r.path, 0, 0, severity::error,
           std::to_string(r.parse_errors) + " error(s) while parsing: no bindings were written",
           ""});
      status = 2;
    }
    for (const pb::message& m : r.messages) {
      print(m);
      if (m.level == severity::error) status = 2;
    }
  }
  if (status != 0) {
    printer.print({req.cpp_path, 0, 0, severity::error,
                   "no bindings were written (see the errors above)", pb::pass_name});
    return status;
  }

  // In the order of the command line; a header given twice counts once.
  pb::module all;
  std::map<std::string, bool> seen;
  for (const header_result& r : results) {
    if (!seen.emplace(r.spelled, true).second) continue;
    all.includes.push_back(r.spelled);
    append(all.exceptions, r.found.exceptions);
    append(all.enums, r.found.enums);
    append(all.records, r.found.records);
    append(all.functions, r.found.functions);
    all.uses_bytes = all.uses_bytes || r.found.uses_bytes;
  }
  std::vector<pb::message> clashes;
  if (!pb::check_names(all, clashes)) {
    for (const pb::message& m : clashes) print(m);
    return 2;
  }
  if (all.exceptions.empty() && all.enums.empty() && all.records.empty() && all.functions.empty()) {
    printer.print({"", 0, 0, severity::warning,
                   "found no declaration marked BALROG_EXPORT in " +
                       llvm::join(all.includes, ", ") + "; the module is empty",
                   pb::pass_name});
  }
  // Not formatted (a build artifact, never committed): the text is what render_module wrote.
  const std::string text = pb::render_module(req.module_name, all);
  if (std::string error = atomic_write(req.cpp_path, text, true); !error.empty()) {
    printer.print({req.cpp_path, 0, 0, severity::error, error, ""});
    return 2;
  }
  if (!req.pyi_path.empty()) {
    if (std::string error = atomic_write(req.pyi_path, pb::render_stub(req.module_name, all), true);
        !error.empty()) {
      printer.print({req.pyi_path, 0, 0, severity::error, error, ""});
      return 2;
    }
  }
  return 0;
}

}  // namespace balrog::gen
