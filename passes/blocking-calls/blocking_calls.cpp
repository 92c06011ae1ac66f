#include "blocking-calls/blocking_calls.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/StmtCXX.h>
#include <clang/ASTMatchers/ASTMatchers.h>

#include <map>
#include <string>

namespace balrog::gen {

namespace {

using namespace clang::ast_matchers;

constexpr const char* pass_name = "blocking-calls";

// The function (or lambda) whose body contains `node`, if it is a C++20 coroutine.
bool inside_coroutine(clang::ASTContext& ctx, const clang::Stmt& node) {
  clang::DynTypedNodeList parents = ctx.getParents(node);
  while (!parents.empty()) {
    const clang::DynTypedNode& p = parents[0];
    if (const auto* fn = p.get<clang::FunctionDecl>()) {
      return fn->getBody() != nullptr && llvm::isa<clang::CoroutineBodyStmt>(fn->getBody());
    }
    if (const auto* lambda = p.get<clang::LambdaExpr>()) {
      const clang::Stmt* body = lambda->getBody();
      return body != nullptr && llvm::isa<clang::CoroutineBodyStmt>(body);
    }
    parents = ctx.getParents(p);
  }
  return false;
}

// Whether `ref` is the callee of a call (through the usual function-to-pointer decay).
bool is_callee(clang::ASTContext& ctx, const clang::Expr& ref) {
  const clang::Expr* e = &ref;
  for (;;) {
    clang::DynTypedNodeList parents = ctx.getParents(*e);
    if (parents.empty()) return false;
    if (const auto* call = parents[0].get<clang::CallExpr>()) {
      return call->getCallee()->IgnoreParenImpCasts() == &ref;
    }
    const auto* up = parents[0].get<clang::Expr>();
    if (up == nullptr ||
        !(llvm::isa<clang::ImplicitCastExpr>(up) || llvm::isa<clang::ParenExpr>(up))) {
      return false;
    }
    e = up;
  }
}

class blocking_calls final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit blocking_calls(const pass_config& config) {
    for (const api_map& m : config.maps) {
      for (const api_function& f : m.functions) {
        entries_[normalized(f.name)] = {&f, m.system_headers_only};
      }
    }
  }

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    sink_ = &sink;
    if (entries_.empty()) return;
    std::vector<llvm::StringRef> names;
    for (const auto& kv : entries_) names.push_back(kv.first);
    const auto mapped = functionDecl(hasAnyName(llvm::ArrayRef<llvm::StringRef>(names)));
    finder.addMatcher(
        traverse(clang::TK_AsIs,
                 declRefExpr(to(mapped), unless(isInTemplateInstantiation())).bind("ref")),
        this);
    // Calls that depend on template arguments: the callee is known only per instantiation.
    finder.addMatcher(
        traverse(clang::TK_AsIs,
                 unresolvedLookupExpr(unless(isInTemplateInstantiation())).bind("dependent")),
        this);
  }

  void run(const MatchFinder::MatchResult& result) override {
    clang::ASTContext& ctx = *result.Context;
    const clang::SourceManager& sm = *result.SourceManager;
    if (const auto* ref = result.Nodes.getNodeAs<clang::DeclRefExpr>("ref")) {
      handle_reference(ctx, sm, *ref);
    } else if (const auto* dep = result.Nodes.getNodeAs<clang::UnresolvedLookupExpr>("dependent")) {
      handle_dependent(ctx, sm, *dep);
    }
  }

 private:
  struct entry {
    const api_function* fn;
    bool system_only;
  };

  static std::string normalized(const std::string& name) {
    return name.rfind("::", 0) == 0 ? name : "::" + name;
  }

  const entry* lookup(const clang::FunctionDecl& fd, const clang::SourceManager& sm) const {
    const auto it = entries_.find("::" + fd.getQualifiedNameAsString());
    if (it == entries_.end()) return nullptr;
    // A user's own function of the same name is not the blocking API.
    if (it->second.system_only && !sm.isInSystemHeader(fd.getCanonicalDecl()->getLocation())) {
      return nullptr;
    }
    if (!it->second.fn->params.empty() && !params_match(fd, it->second.fn->params)) return nullptr;
    return &it->second;
  }

  static bool params_match(const clang::FunctionDecl& fd, const std::vector<std::string>& params) {
    if (fd.getNumParams() != params.size()) return false;
    clang::PrintingPolicy policy(fd.getASTContext().getLangOpts());
    for (unsigned i = 0; i < fd.getNumParams(); ++i) {
      if (fd.getParamDecl(i)->getType().getCanonicalType().getAsString(policy) != params[i] &&
          fd.getParamDecl(i)->getType().getAsString(policy) != params[i]) {
        return false;
      }
    }
    return true;
  }

  void handle_reference(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::DeclRefExpr& ref) {
    const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(ref.getDecl());
    if (fd == nullptr) return;
    const entry* e = lookup(*fd, sm);
    if (e == nullptr) return;
    const std::string name = fd->getNameAsString();
    const api_function& f = *e->fn;
    if (!is_callee(ctx, ref)) {
      sink_->diagnose(sm, ref.getBeginLoc(), severity::warning,
                      "'" + name +
                          "' is taken by address; calls through the pointer block the "
                          "thread and are not rewritten (call '" +
                          f.replacement + "' instead)",
                      pass_name);
      return;
    }
    if (inside_coroutine(ctx, ref)) {
      sink_->diagnose(sm, ref.getBeginLoc(), severity::warning,
                      "'" + name +
                          "' inside a C++20 coroutine would block every fiber of the "
                          "shard; not rewritten (use the co_await form" +
                          (f.coroutine_form.empty() ? std::string() : ": " + f.coroutine_form) +
                          ")",
                      pass_name);
      return;
    }
    // Replace the qualifier and the name; keep explicit template arguments and the arguments.
    const clang::SourceLocation begin = ref.getQualifierLoc() ? ref.getQualifierLoc().getBeginLoc()
                                                              : ref.getNameInfo().getBeginLoc();
    const auto range = clang::CharSourceRange::getTokenRange(begin, ref.getNameInfo().getEndLoc());
    const std::string why = "call to '" + name + "' blocks the thread";
    if (sink_->replace(sm, range, f.replacement, why, pass_name)) {
      sink_->require_include(sm, begin, f.header);
    }
  }

  void handle_dependent(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::UnresolvedLookupExpr& lookup_expr) {
    const entry* found = nullptr;
    for (const clang::NamedDecl* d : lookup_expr.decls()) {
      const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(d->getUnderlyingDecl());
      if (fd != nullptr) {
        if (const entry* e = lookup(*fd, sm)) found = e;
      }
    }
    if (found == nullptr) return;
    const std::string name = lookup_expr.getName().getAsString();
    if (lookup_expr.getQualifier() == nullptr && lookup_expr.requiresADL()) {
      // Argument-dependent lookup may pick another function per instantiation; a qualified
      // balrog name would switch ADL off. Leave it to the author.
      sink_->diagnose(sm, lookup_expr.getBeginLoc(), severity::warning,
                      "call to '" + name +
                          "' depends on template arguments and may resolve to "
                          "another function in some instantiations; not rewritten (call '" +
                          found->fn->replacement + "' explicitly if it is the blocking one)",
                      pass_name);
      return;
    }
    if (inside_coroutine(ctx, lookup_expr)) {
      sink_->diagnose(sm, lookup_expr.getBeginLoc(), severity::warning,
                      "'" + name +
                          "' inside a C++20 coroutine would block every fiber of the "
                          "shard; not rewritten (use the co_await form)",
                      pass_name);
      return;
    }
    const clang::SourceLocation begin = lookup_expr.getQualifierLoc()
                                            ? lookup_expr.getQualifierLoc().getBeginLoc()
                                            : lookup_expr.getNameLoc();
    const auto range =
        clang::CharSourceRange::getTokenRange(begin, lookup_expr.getNameInfo().getEndLoc());
    const std::string why = "call to '" + name + "' blocks the thread";
    if (sink_->replace(sm, range, found->fn->replacement, why, pass_name)) {
      sink_->require_include(sm, begin, found->fn->header);
    }
  }

  std::map<std::string, entry> entries_;
  rewrite_sink* sink_ = nullptr;
};

}  // namespace

std::unique_ptr<pass> make_blocking_calls(const pass_config& config) {
  return std::make_unique<blocking_calls>(config);
}

}  // namespace balrog::gen
