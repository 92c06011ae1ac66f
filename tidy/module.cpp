// The clang-tidy module of balrog-gen's passes: one `balrog-<pass>` check per pass that
// rewrites files (passes/registry.cpp), registered when clang-tidy loads the plugin:
//   clang-tidy-16 --load=libbalrog-tidy.so -checks='-*,balrog-*' file.cpp -- -std=c++20
#include <clang-tidy/ClangTidyModule.h>
#include <clang-tidy/ClangTidyModuleRegistry.h>

#include "pass.hpp"
#include "pass_check.hpp"

namespace balrog::tidy {

namespace {

class balrog_module final : public clang::tidy::ClangTidyModule {
 public:
  void addCheckFactories(clang::tidy::ClangTidyCheckFactories& factories) override {
    for (const gen::pass_info& p : gen::all_passes()) {
      if (p.make == nullptr) continue;  // coro-shims, py-bindings: they emit files, not edits
      factories.registerCheckFactory(
          std::string("balrog-") + p.name,
          [&p](llvm::StringRef name, clang::tidy::ClangTidyContext* context) {
            return std::make_unique<pass_check>(name, context, p);
          });
    }
  }
};

}  // namespace

}  // namespace balrog::tidy

// clang-tidy finds the module through this registry entry once the plugin is loaded.
static clang::tidy::ClangTidyModuleRegistry::Add<balrog::tidy::balrog_module> balrog_tidy_module(
    "balrog-module", "balrog-gen's passes as balrog-* checks");
