#include "run-main/run_main.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/StmtCXX.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>

#include <cctype>
#include <string>
#include <vector>

namespace balrog::gen {

namespace {

using namespace clang::ast_matchers;

constexpr const char* pass_name = "run-main";
constexpr const char* renamed = "balrog_user_main";
constexpr const char* header = "<balrog/run_main.hpp>";
// A C file's: balrog_run_main (the C face) calls main through this function.
constexpr const char* c_header = "<balrog/compat/c/run_main.h>";
constexpr const char* c_entry = "balrog_main_entry";

// A main() that already enters the runtime (written for balrog, or written by this pass).
bool enters_runtime(const clang::Stmt* body, clang::ASTContext& ctx) {
  if (body == nullptr) return false;
  const auto runtime_entry = functionDecl(hasAnyName(
      "::balrog::run", "::balrog::run_main", "::balrog::runtime::run", "::balrog_run_main"));
  return !match(findAll(callExpr(callee(runtime_entry))), *body, ctx).empty();
}

// "char **" -> "char**", "char *const *" -> "char* const*": the types as a person writes them.
std::string tidy_type(std::string t) {
  for (std::size_t at; (at = t.find(" *")) != std::string::npos;) t.erase(at, 1);
  for (std::size_t at = 0; (at = t.find('*', at)) != std::string::npos; ++at) {
    if (at + 1 < t.size() && std::isalpha(static_cast<unsigned char>(t[at + 1])) != 0) {
      t.insert(at + 1, " ");
    }
  }
  return t;
}

class run_main final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit run_main(const pass_config& config) : config_(config) {}

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    sink_ = &sink;
    finder.addMatcher(functionDecl(isMain(), isDefinition()).bind("main"), this);
  }

  void run(const MatchFinder::MatchResult& result) override {
    const auto* main = result.Nodes.getNodeAs<clang::FunctionDecl>("main");
    if (main == nullptr || main->getBody() == nullptr) return;
    const clang::SourceManager& sm = *result.SourceManager;
    clang::ASTContext& ctx = *result.Context;
    const clang::SourceLocation name = main->getLocation();
    if (sm.isInSystemHeader(sm.getFileLoc(name))) return;

    auto error = [&](clang::SourceLocation where, const std::string& what) {
      sink_->diagnose(sm, where, severity::error, what + " (docs/passes/run-main.md)", pass_name);
    };

    if (name.isMacroID() || main->getBody()->getEndLoc().isMacroID() ||
        main->getEndLoc().isMacroID()) {
      error(name,
            "main() is defined by a macro: run-main renames only a main() spelled in the "
            "source (define it there, or call balrog::run_main from it by hand)");
      return;
    }
    if (!sm.isInMainFile(name)) {
      // Whether or not the header filter admits the header: renaming main() there would rename
      // it for every file that includes it. Reported even outside the filter (an error is
      // always shown), since the program would otherwise run its threads as OS threads.
      error(name,
            "main() is defined in a header: run-main rewrites it only in the source file "
            "that defines it (move main() to a source file, or call balrog::run_main from it "
            "by hand)");
      return;
    }
    if (enters_runtime(main->getBody(), ctx)) return;  // runs on the runtime already

    const std::string shards = option("shards", "1");
    if (shards.empty() || shards.find_first_not_of("0123456789") != std::string::npos) {
      error(name, "pass-options: run-main: shards is '" + shards +
                      "', not a number of shards (0: one per CPU)");
      return;
    }
    const unsigned params = main->getNumParams();
    if (params != 0 && params != 2 && params != 3) {
      error(name, "main() takes " + std::to_string(params) +
                      (params == 1 ? " parameter" : " parameters") +
                      "; run-main knows main(), main(argc, argv) and main(argc, argv, envp)");
      return;
    }
    const bool c = !ctx.getLangOpts().CPlusPlus;
    if (c && !ctx.getTranslationUnitDecl()->lookup(&ctx.Idents.get(c_entry)).empty()) {
      error(name, std::string("'") + c_entry +
                      "' is already declared in this translation unit: run-main writes it");
      return;
    }
    if (!ctx.getTranslationUnitDecl()->lookup(&ctx.Idents.get(renamed)).empty()) {
      error(name, std::string("'") + renamed +
                      "' is already declared in this translation unit: run-main renames main() "
                      "to it");
      return;
    }
    // Every declaration of main in the file is renamed with it (a forward declaration would
    // otherwise clash with the main() written below).
    std::vector<const clang::FunctionDecl*> others;
    for (const clang::FunctionDecl* d : main->redecls()) {
      if (d == main) continue;
      const clang::SourceLocation at = d->getLocation();
      if (at.isMacroID() || !sm.isInMainFile(at)) {
        error(at,
              "main() is also declared here, in a macro or a header: run-main cannot rename "
              "this declaration");
        return;
      }
      others.push_back(d);
    }

    // The rename comes first: when it is refused (a suppression comment), nothing is edited.
    const std::string why =
        "main() runs on the main thread, so the program's std::threads are "
        "OS threads";
    if (!sink_->replace(sm, clang::CharSourceRange::getTokenRange(name), renamed, why, pass_name)) {
      return;
    }
    for (const clang::FunctionDecl* d : others) {
      sink_->replace(sm, clang::CharSourceRange::getTokenRange(d->getLocation()), renamed,
                     "a declaration of main() renamed with it", pass_name);
    }

    // Flowing off the end of main returns 0; off the end of another function it is undefined.
    if (const auto* body = llvm::dyn_cast<clang::CompoundStmt>(main->getBody())) {
      add_implicit_return(sm, body, c);
    } else if (const auto* fn_try = llvm::dyn_cast<clang::CXXTryStmt>(main->getBody())) {
      add_implicit_return(sm, fn_try->getTryBlock());
      for (unsigned i = 0; i < fn_try->getNumHandlers(); ++i) {
        if (const auto* h =
                llvm::dyn_cast<clang::CompoundStmt>(fn_try->getHandler(i)->getHandlerBlock())) {
          add_implicit_return(sm, h);
        }
      }
    }

    // The new main(), on the line after the old one's end.
    std::string signature;
    std::string arguments;
    static const char* const names[] = {"argc", "argv", "envp"};
    const clang::PrintingPolicy policy = ctx.getPrintingPolicy();
    for (unsigned i = 0; i < params; ++i) {
      if (i > 0) {
        signature += ", ";
        arguments += ", ";
      }
      signature += tidy_type(main->getParamDecl(i)->getType().getAsString(policy)) + " " + names[i];
      arguments += names[i];
    }
    std::string options;
    if (shards != "1") options = ", {.shards = " + shards + "}";
    const std::string wrapper =
        c ? c_wrapper(params, signature, arguments, shards)
          : "\n// balrog-gen run-main: the program's main() above runs on a fiber of balrog's "
            "runtime\n"
            "// (its std::threads are fibers of this thread).\n"
            "int main(" +
                signature + ") {\n  return balrog::run_main([" + (params > 0 ? "&" : "") +
                "] { return " + renamed + "(" + arguments + "); }" + options + ");\n}\n";

    const clang::SourceLocation end = sm.getFileLoc(main->getEndLoc());
    const clang::FileID fid = sm.getFileID(end);
    const llvm::StringRef text = sm.getBufferData(fid);
    unsigned offset =
        sm.getFileOffset(clang::Lexer::getLocForEndOfToken(end, 0, sm, ctx.getLangOpts()));
    const std::size_t newline = text.find('\n', offset);
    std::string inserted = wrapper;
    if (newline == llvm::StringRef::npos) {
      offset = static_cast<unsigned>(text.size());
      inserted = "\n" + wrapper;
    } else {
      offset = static_cast<unsigned>(newline + 1);
    }
    const clang::SourceLocation at =
        sm.getLocForStartOfFile(fid).getLocWithOffset(static_cast<int>(offset));
    sink_->replace(sm, clang::CharSourceRange::getCharRange(at, at), inserted,
                   "main() must enter the runtime: a main() that runs " + std::string(renamed) +
                       (c ? " with balrog_run_main" : " with balrog::run_main"),
                   pass_name);
    sink_->require_include(sm, name, c ? c_header : header);
  }

 private:
  std::string option(const std::string& key, const std::string& fallback) const {
    const auto it = config_.options.find(key);
    return it == config_.options.end() ? fallback : it->second;
  }

  // A C file's main(): C has no lambdas, so balrog_run_main (balrog/compat/c/run_main.h)
  // calls the program's main through a function of main's three parameters. C comments, so
  // that C89 code compiles too.
  static std::string c_wrapper(unsigned params, const std::string& signature,
                               const std::string& arguments, const std::string& shards) {
    std::string unused;
    for (unsigned i = params; i < 3; ++i) {
      static const char* const names[] = {"argc", "argv", "envp"};
      unused += std::string("  (void)") + names[i] + ";\n";
    }
    return std::string(
               "\n/* balrog-gen run-main: the program's main() above runs on a fiber of "
               "balrog's runtime. */\n") +
           "static int " + c_entry + "(int argc, char** argv, char** envp) {\n" + unused +
           "  return " + renamed + "(" + arguments + ");\n}\n" + "int main(" +
           (params == 0 ? "void" : signature) + ") {\n  return balrog_run_main(" + c_entry + ", " +
           (params > 0 ? "argc, argv, " : "0, NULL, ") + (params > 2 ? "envp" : "NULL") + ", " +
           shards + ");\n}\n";
  }

  // Adds `return 0;` before the closing brace of `block` unless it ends with a return.
  void add_implicit_return(const clang::SourceManager& sm, const clang::CompoundStmt* block,
                           bool c = false) {
    if (block == nullptr) return;
    if (!block->body_empty() && llvm::isa<clang::ReturnStmt>(block->body_back())) return;
    const clang::SourceLocation rbrace = block->getRBracLoc();
    const clang::FileID fid = sm.getFileID(rbrace);
    const llvm::StringRef text = sm.getBufferData(fid);
    const unsigned brace = sm.getFileOffset(rbrace);
    unsigned line_start = brace;
    while (line_start > 0 && (text[line_start - 1] == ' ' || text[line_start - 1] == '\t')) {
      --line_start;
    }
    std::string inserted;
    clang::SourceLocation at = rbrace;
    if (line_start == 0 || text[line_start - 1] == '\n') {
      // `}` alone on its line: a line of its own, indented one step more than the brace.
      const std::string indent(text.substr(line_start, brace - line_start).str() + "  ");
      inserted = indent + (c ? "return 0; /* main()'s implicit return (balrog-gen run-main) */\n"
                             : "return 0;  // main()'s implicit return (balrog-gen run-main)\n");
      at = sm.getLocForStartOfFile(fid).getLocWithOffset(static_cast<int>(line_start));
    } else {
      inserted = "return 0; ";
    }
    sink_->replace(sm, clang::CharSourceRange::getCharRange(at, at), inserted,
                   "flowing off the end of main() returns 0, off the end of another function "
                   "it is undefined",
                   pass_name);
  }

  const pass_config& config_;  // pass-options: {shards: N}
  rewrite_sink* sink_ = nullptr;
};

}  // namespace

std::unique_ptr<pass> make_run_main(const pass_config& config) {
  return std::make_unique<run_main>(config);
}

}  // namespace balrog::gen
