// A balrog-gen pass as a clang-tidy check (`balrog-<pass>`), for `clang-tidy --load
// libbalrog-tidy.so`: the pass's own matchers run inside clang-tidy's MatchFinder and report to
// balrog-gen's collector, so the refusals are balrog-gen's (macro bodies, system headers,
// NOBALROG comments) and the edits are merged as balrog-gen merges them (identical edits once,
// conflicts reported, #includes placed by HeaderIncludes). At the end of the translation unit
// the result becomes clang-tidy diagnostics: each edit a warning with its fix-it, each of the
// pass's own diagnostics as it is. Which headers may be edited is clang-tidy's header filter
// (--header-filter, HeaderFilterRegex), not .balrog.yaml's.
//
// Configuration: the nearest .balrog.yaml above the main file gives the maps and pass-options,
// as for balrog-gen; check options override them:
//   balrog-<pass>.maps: 'posix-net,posix-time,./maps/mylib.yaml'   (or `balrog.maps`, global)
//   balrog-<pass>.<pass-option>: value     e.g. balrog-blocking-calls.rewrite-in-macro-args: true
// The passes that "run" (lints asks whether blocking-calls and sync-types rewrite a call) are
// the enabled balrog-* checks.
#pragma once

#include <clang-tidy/ClangTidyCheck.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector.hpp"
#include "pass.hpp"
#include "results.hpp"

namespace balrog::tidy {

// What the balrog-* checks of one translation unit share: like balrog-gen, one collector for
// every pass, so their edits are merged together (conflicts between passes refused, all new
// #includes of a file placed at once). The last check to finish reports for all.
struct shared_tu;

class pass_check final : public clang::tidy::ClangTidyCheck {
 public:
  pass_check(llvm::StringRef name, clang::tidy::ClangTidyContext* context,
             const gen::pass_info& info);
  ~pass_check() override;

  void registerMatchers(clang::ast_matchers::MatchFinder* finder) override;
  // Only to be told when matching is over (a single match on the TranslationUnitDecl).
  void check(const clang::ast_matchers::MatchFinder::MatchResult& result) override;
  void onEndOfTranslationUnit() override;

 private:
  // The maps and options the pass is made with; false (after a configuration diagnostic) when a
  // map or .balrog.yaml cannot be read.
  bool configure(gen::pass_config& out);

  std::string name_;  // balrog-<pass>
  const gen::pass_info& info_;
  clang::tidy::ClangTidyContext* context_;
  gen::pass_config config_;
  std::unique_ptr<gen::pass> pass_;
  std::shared_ptr<shared_tu> tu_;
};

// Where the built-in API maps are for a plugin at `plugin_path`: <prefix>/share/balrog/maps
// when installed, else the source tree's passes/maps.
std::string maps_dir_for_plugin(const std::string& plugin_path);

}  // namespace balrog::tidy
