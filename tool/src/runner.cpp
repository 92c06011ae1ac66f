#include "runner.hpp"

#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Lex/PPCallbacks.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "collector.hpp"

#ifndef BALROG_GEN_CLANG_RESOURCE_DIR
#define BALROG_GEN_CLANG_RESOURCE_DIR ""
#endif

namespace balrog::gen {

namespace {

// Where a system header includes a file that is not one (`#include "user.h"` inside a system
// header's namespace): the top-level declarations around these hold user code.
class system_include_watch final : public clang::PPCallbacks {
 public:
  system_include_watch(const clang::SourceManager& sm, std::vector<clang::SourceLocation>& out)
      : sm_(sm), out_(out) {}

  void InclusionDirective(clang::SourceLocation hash, const clang::Token& /*include*/,
                          llvm::StringRef /*name*/, bool /*angled*/,
                          clang::CharSourceRange /*filename*/, clang::OptionalFileEntryRef /*file*/,
                          llvm::StringRef /*search_path*/, llvm::StringRef /*relative_path*/,
                          const clang::Module* /*imported*/,
                          clang::SrcMgr::CharacteristicKind kind) override {
    if (!clang::SrcMgr::isSystem(kind) && sm_.isInSystemHeader(hash)) out_.push_back(hash);
  }

 private:
  const clang::SourceManager& sm_;
  std::vector<clang::SourceLocation>& out_;
};

// Runs `user` over the TU's top-level declarations outside system headers. Most of a TU is
// libstdc++ and Boost, and no pass needs to walk it all: `system` runs only over the system
// declarations that hold user code (system_include_watch): what else a pass needs there, it
// finds itself (blocking-calls: the system functions user code calls).
class scoped_consumer final : public clang::ASTConsumer {
 public:
  scoped_consumer(clang::ast_matchers::MatchFinder& user, clang::ast_matchers::MatchFinder& system,
                  bool any_system, const std::vector<clang::SourceLocation>& system_includes)
      : user_(user), system_(system), any_system_(any_system), system_includes_(system_includes) {}

  void HandleTranslationUnit(clang::ASTContext& ctx) override {
    std::vector<clang::Decl*> user;
    std::vector<clang::Decl*> system;
    const clang::SourceManager& sm = ctx.getSourceManager();
    for (clang::Decl* d : ctx.getTranslationUnitDecl()->decls()) {
      const clang::SourceLocation l = d->getLocation();
      if (!l.isValid() || !sm.isInSystemHeader(sm.getExpansionLoc(l))) {
        user.push_back(d);
      } else if (any_system_ && holds_user_code(sm, *d)) {
        system.push_back(d);
      }
    }
    ctx.setTraversalScope(user);
    user_.matchAST(ctx);
    if (!system.empty()) {
      ctx.setTraversalScope(system);
      system_.matchAST(ctx);
    }
    ctx.setTraversalScope({ctx.getTranslationUnitDecl()});
  }

 private:
  bool holds_user_code(const clang::SourceManager& sm, const clang::Decl& d) const {
    if (system_includes_.empty()) return false;
    const clang::SourceLocation begin = sm.getExpansionLoc(d.getBeginLoc());
    const clang::SourceLocation end = sm.getExpansionLoc(d.getEndLoc());
    if (begin.isInvalid() || end.isInvalid()) return false;
    return std::any_of(
        system_includes_.begin(), system_includes_.end(), [&](clang::SourceLocation at) {
          return !sm.isBeforeInTranslationUnit(at, begin) && !sm.isBeforeInTranslationUnit(end, at);
        });
  }

  clang::ast_matchers::MatchFinder& user_;
  clang::ast_matchers::MatchFinder& system_;
  bool any_system_;
  const std::vector<clang::SourceLocation>& system_includes_;
};

// One TU: registers the configured passes with a MatchFinder and collects what they report.
class gen_action final : public clang::ASTFrontendAction {
 public:
  gen_action(tu_result& out, const config& cfg, const run_settings& s)
      : out_(out), cfg_(cfg), settings_(s) {
    if (!cfg.header_filter.empty()) filter_.emplace(cfg.header_filter);
    sink_ = std::make_unique<collector>(out_, filter_ ? &*filter_ : nullptr);
  }

  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance& ci,
                                                        llvm::StringRef) override {
    sink_->set_lang_options(ci.getLangOpts());
    // A C file gets only the passes that write C (blocking-calls onto the C face, run-main's
    // C main, the lints); the others' rewrites are C++ (docs/balrog-gen.md, "C sources").
    const bool c_source = !ci.getLangOpts().CPlusPlus;
    bool any_system = false;  // an empty MatchFinder's matchAST would still walk it all
    for (const std::string& name : cfg_.passes) {
      const pass_info* info = find_pass(name);
      if (info == nullptr || info->make == nullptr) continue;  // validated before the run
      if (c_source && !info->c_sources) continue;
      passes_.push_back(info->make(settings_.pass_config_for(cfg_, name)));
      passes_.back()->register_matchers(finder_, *sink_);
      any_system = passes_.back()->register_system_matchers(system_finder_, *sink_) || any_system;
    }
    ci.getPreprocessor().addPPCallbacks(
        std::make_unique<system_include_watch>(ci.getSourceManager(), system_includes_));
    return std::make_unique<scoped_consumer>(finder_, system_finder_, any_system, system_includes_);
  }

  void EndSourceFileAction() override {
    clang::CompilerInstance& ci = getCompilerInstance();
    out_.parse_errors += ci.getDiagnostics().getClient()->getNumErrors();
    const clang::SourceManager& sm = ci.getSourceManager();
    for (auto it = sm.fileinfo_begin(); it != sm.fileinfo_end(); ++it) {
      llvm::StringRef real = it->first->tryGetRealPathName();
      out_.dependencies.push_back(real.empty() ? it->first->getName().str() : real.str());
    }
    std::sort(out_.dependencies.begin(), out_.dependencies.end());  // hash order otherwise
    out_.dependencies.erase(std::unique(out_.dependencies.begin(), out_.dependencies.end()),
                            out_.dependencies.end());
  }

 private:
  tu_result& out_;
  const config& cfg_;
  const run_settings& settings_;
  std::optional<llvm::Regex> filter_;
  std::unique_ptr<collector> sink_;
  clang::ast_matchers::MatchFinder finder_;
  clang::ast_matchers::MatchFinder system_finder_;
  std::vector<clang::SourceLocation> system_includes_;  // system_include_watch
  std::vector<std::unique_ptr<pass>> passes_;
};

class gen_action_factory final : public clang::tooling::FrontendActionFactory {
 public:
  gen_action_factory(tu_result& out, const config& cfg, const run_settings& s)
      : out_(out), cfg_(cfg), settings_(s) {}
  std::unique_ptr<clang::FrontendAction> create() override {
    return std::make_unique<gen_action>(out_, cfg_, settings_);
  }

 private:
  tu_result& out_;
  const config& cfg_;
  const run_settings& settings_;
};

tu_result run_one(const std::string& file, const run_settings& s) {
  tu_result r;
  r.main_file = file;
  const config& cfg = s.config_for(file);
  clang::tooling::ClangTool tool(*s.database, {file});
  // Only errors matter to us; warnings (unknown -W flags from GCC builds...) are noise.
  // -fno-caret-diagnostics only stops clang's "N errors generated." line, which it prints
  // straight to stderr, out of order with the diagnostics kept below (the printer keeps
  // its own options, carets included); main.cpp reports the errors of each TU itself.
  tool.appendArgumentsAdjuster(clang::tooling::getInsertArgumentAdjuster(
      {"-w", "-fno-caret-diagnostics"}, clang::tooling::ArgumentInsertPosition::END));
  if (s.dropped != nullptr) tool.appendArgumentsAdjuster(drop_unknown_flags(*s.dropped));
  tool.appendArgumentsAdjuster(add_resource_dir(s.resource_dir));
  if (s.extra_args) tool.appendArgumentsAdjuster(s.extra_args);
  // Keep clang's diagnostics with the result: printed as they come, the TUs of -j N would
  // interleave them and break the progress line.
  llvm::raw_string_ostream clang_output(r.clang_output);
  // The printer owns its options (an intrusive reference count): they must be on the heap.
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> diagnostic_options(
      new clang::DiagnosticOptions());
  diagnostic_options->ShowColors = s.color;
  clang::TextDiagnosticPrinter printer(clang_output, diagnostic_options.get());
  tool.setDiagnosticConsumer(&printer);
  tool.setPrintErrorMessage(false);  // "Error while processing": main.cpp says it better
  gen_action_factory factory(r, cfg, s);
  const int status = tool.run(&factory);
  clang_output.flush();
  // 2: no compile command could be built for the file (ClangTool printed why).
  r.ran = status != 2;
  if (status == 1 && r.parse_errors == 0) r.parse_errors = 1;  // failed to run the action
  return r;
}

}  // namespace

std::vector<tu_result> run_passes(const std::vector<std::string>& files, const run_settings& s) {
  std::vector<tu_result> results(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      results[i] = run_one(files[i], s);
      const std::size_t finished = done.fetch_add(1) + 1;
      if (s.progress) {
        std::lock_guard lk(progress_mutex);
        std::fprintf(stderr, "\r\033[K[%zu/%zu] %s", finished, files.size(),
                     llvm::sys::path::filename(files[i]).str().c_str());
        std::fflush(stderr);
      }
    }
  };
  const unsigned jobs =
      std::max(1U, std::min<unsigned>(s.jobs, static_cast<unsigned>(files.size())));
  if (jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (unsigned j = 0; j < jobs; ++j) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (s.progress && !files.empty()) std::fprintf(stderr, "\r\033[K");
  return results;
}

std::string find_resource_dir(const std::string& executable) {
  const auto usable = [](const llvm::Twine& dir) {
    llvm::SmallString<256> stddef;
    llvm::sys::path::append(stddef, dir, "include", "stddef.h");
    return llvm::sys::fs::exists(stddef);
  };
  llvm::SmallString<256> beside(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(executable)));
  llvm::sys::path::append(beside, "lib", "clang", "16");
  if (usable(beside)) return std::string(beside);
  if (usable(BALROG_GEN_CLANG_RESOURCE_DIR)) return BALROG_GEN_CLANG_RESOURCE_DIR;
  return {};
}

}  // namespace balrog::gen
