// --emit-shims: each input header is parsed as a translation unit of its own (with the compile
// command the database gives it: -p, or the flags after --), the coro-shims pass describes the
// shims of the functions it declares, and one header is written for all of them: sorted by
// how it includes the inputs, formatted with the inputs' .clang-format, atomically and only
// when its bytes change. A header that fails to parse, or shims that would collide, write
// nothing.
#include "shims/emit_shims.hpp"

#include <clang/Basic/FileManager.h>
#include <clang/Format/Format.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Lex/HeaderSearch.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Core/Replacement.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

#include <algorithm>
#include <map>

#include "compile_flags.hpp"
#include "coro-shims/coro_shims.hpp"
#include "generated_file.hpp"
#include "suppressions.hpp"

namespace balrog::gen {

namespace {

namespace cs = coro_shims;

struct header_result {
  std::string path;     // as given on the command line
  std::string spelled;  // how the generated header includes it
  bool ran = false;
  bool flagless = false;  // its compile command had no flags
  unsigned parse_errors = 0;
  std::vector<cs::shim> shims;
  std::vector<cs::message> messages;
};

class shims_consumer final : public clang::ASTConsumer {
 public:
  shims_consumer(clang::CompilerInstance& ci, header_result& out, const cs::options& opts,
                 const std::string& out_dir)
      : ci_(ci), out_(out), opts_(opts), out_dir_(out_dir) {}

  void HandleTranslationUnit(clang::ASTContext& ctx) override {
    out_.spelled = spelled_include(ci_, out_dir_);
    if (ci_.getDiagnostics().hasErrorOccurred()) return;  // nothing from a broken header
    const clang::SourceManager& sm = ctx.getSourceManager();
    const suppressions marks(sm.getBufferData(sm.getMainFileID()));
    cs::options opts = opts_;
    opts.sema = ci_.hasSema() ? &ci_.getSema() : nullptr;
    opts.suppressed = [&](clang::SourceLocation loc) {
      const clang::SourceLocation at = sm.getExpansionLoc(loc);
      return sm.isWrittenInMainFile(at) &&
             marks.suppressed(sm.getExpansionLineNumber(at), cs::pass_name);
    };
    out_.shims = cs::collect(ctx, opts, out_.messages);
  }

 private:
  clang::CompilerInstance& ci_;
  header_result& out_;
  const cs::options& opts_;
  const std::string& out_dir_;
};

class shims_action final : public clang::ASTFrontendAction {
 public:
  shims_action(header_result& out, const cs::options& opts, const std::string& out_dir)
      : out_(out), opts_(opts), out_dir_(out_dir) {}

  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance& ci,
                                                        llvm::StringRef) override {
    return std::make_unique<shims_consumer>(ci, out_, opts_, out_dir_);
  }

  void EndSourceFileAction() override {
    out_.parse_errors += getCompilerInstance().getDiagnostics().getClient()->getNumErrors();
  }

 private:
  header_result& out_;
  const cs::options& opts_;
  const std::string& out_dir_;
};

class shims_action_factory final : public clang::tooling::FrontendActionFactory {
 public:
  shims_action_factory(header_result& out, const cs::options& opts, const std::string& out_dir)
      : out_(out), opts_(opts), out_dir_(out_dir) {}
  std::unique_ptr<clang::FrontendAction> create() override {
    return std::make_unique<shims_action>(out_, opts_, out_dir_);
  }

 private:
  header_result& out_;
  const cs::options& opts_;
  const std::string& out_dir_;
};

void print(const diagnostic_printer& printer, const cs::message& m) {
  printer.print({m.file, m.line, m.column, m.level, m.text, cs::pass_name});
}

}  // namespace

int run_emit_shims(const clang::tooling::CompilationDatabase& db,
                   const std::vector<std::string>& headers, const std::string& out_path,
                   const std::string& target_namespace,
                   const clang::tooling::ArgumentsAdjuster& extra_args,
                   const std::string& resource_dir, const diagnostic_printer& printer) {
  cs::options opts;
  if (std::string error;
      !target_namespace.empty() && !cs::parse_namespace(target_namespace, opts, error)) {
    printer.print({"", 0, 0, severity::error, error, ""});
    return 2;
  }
  const std::string out_dir = [&] {
    llvm::SmallString<256> abs(out_path);
    llvm::sys::fs::make_absolute(abs);
    return real(llvm::sys::path::parent_path(abs));
  }();

  std::vector<header_result> results(headers.size());
  dropped_flags dropped;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    header_result& r = results[i];
    r.path = headers[i];
    const std::vector<clang::tooling::CompileCommand> commands =
        db.getCompileCommands(real(headers[i]));
    r.flagless = commands.empty() || commands.front().CommandLine.size() <= 2;
    shims_action_factory factory(r, opts, out_dir);
    const int status = run_on_header(db, headers[i], dropped, resource_dir, extra_args, factory);
    r.ran = status != 2;
    if (status == 1 && r.parse_errors == 0) r.parse_errors = 1;
  }

  print_dropped(dropped, printer);
  int status = 0;
  for (const header_result& r : results) {
    if (!r.ran) {
      printer.print({r.path, 0, 0, severity::error,
                     "no compile command for this header (give -p <build dir> or -- <flags>)", ""});
      status = 2;
    } else if (r.parse_errors > 0) {
      printer.print({r.path, 0, 0, severity::error,
                     std::to_string(r.parse_errors) +
                         " error(s) while parsing: no shims were written" +
                         (r.flagless ? " (the compile command had no flags: give the ones that "
                                       "compile the header after --, without -x c++-header, "
                                       "which makes clang ignore all of them)"
                                     : ""),
                     ""});
      status = 2;
    }
    for (const cs::message& m : r.messages) {
      print(printer, m);
      if (m.level == severity::error) status = 2;
    }
  }
  if (status != 0) return status;

  // Deterministic order: by how the header is included, then by declaration.
  std::vector<const header_result*> order;
  std::map<std::string, const header_result*> seen;
  for (const header_result& r : results) {
    if (seen.emplace(r.spelled, &r).second) order.push_back(&r);
  }
  std::sort(order.begin(), order.end(),
            [](const header_result* a, const header_result* b) { return a->spelled < b->spelled; });
  std::vector<std::string> sources;
  std::vector<cs::shim> shims;
  for (const header_result* r : order) {
    sources.push_back(r->spelled);
    shims.insert(shims.end(), r->shims.begin(), r->shims.end());
  }
  std::vector<cs::message> collisions;
  if (!cs::check_collisions(shims, collisions)) {
    for (const cs::message& m : collisions) print(printer, m);
    return 2;
  }
  if (shims.empty()) {
    printer.print({"", 0, 0, severity::warning,
                   "found no function returning an awaitable in " +
                       llvm::join(sources.begin(), sources.end(), ", ") +
                       "; the header declares no shims",
                   cs::pass_name});
  }
  const std::string text =
      format_generated(cs::render(sources, shims), order.front()->path, out_path);
  if (std::string error = atomic_write(out_path, text, true); !error.empty()) {
    printer.print({out_path, 0, 0, severity::error, error, ""});
    return 2;
  }
  return 0;
}

}  // namespace balrog::gen
