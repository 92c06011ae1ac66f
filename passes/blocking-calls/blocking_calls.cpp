#include "blocking-calls/blocking_calls.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/StmtCXX.h>
#include <clang/ASTMatchers/ASTMatchers.h>

#include <cctype>
#include <map>
#include <set>
#include <string>

namespace balrog::gen {

namespace {

using namespace clang::ast_matchers;

constexpr const char* pass_name = "blocking-calls";

// Whether the function (or lambda) whose body contains `node` is a C++20 coroutine. The first
// enclosing function decides: a plain lambda inside a coroutine runs wherever it is called, so
// it is not "inside the coroutine", and neither is a default argument. Templates count too (a
// coroutine template's pattern has a CoroutineBodyStmt body like its instantiations).
bool inside_coroutine(clang::ASTContext& ctx, const clang::DynTypedNode& node) {
  const auto is_coroutine_body = [](const clang::Stmt* body) {
    return body != nullptr && llvm::isa<clang::CoroutineBodyStmt>(body);
  };
  clang::DynTypedNodeList parents = ctx.getParents(node);
  while (!parents.empty()) {
    const clang::DynTypedNode& p = parents[0];
    // A default argument is evaluated by the caller, not in the function's body.
    if (p.get<clang::ParmVarDecl>() != nullptr) return false;
    if (const auto* fn = p.get<clang::FunctionDecl>()) return is_coroutine_body(fn->getBody());
    if (const auto* lambda = p.get<clang::LambdaExpr>()) {
      return is_coroutine_body(lambda->getCallOperator()->getBody());
    }
    parents = ctx.getParents(p);
  }
  return false;
}

// Whether `ref` is the callee of a call (through parentheses and the function-to-pointer
// decay). Every parent is looked at: a non-dependent expression in a template is shared by
// the template and its instantiations, so it has one parent in each.
bool is_callee(clang::ASTContext& ctx, const clang::Expr& ref) {
  std::vector<const clang::Expr*> todo{&ref};
  while (!todo.empty()) {
    const clang::Expr* e = todo.back();
    todo.pop_back();
    for (const clang::DynTypedNode& p : ctx.getParents(*e)) {
      if (const auto* call = p.get<clang::CallExpr>()) {
        if (call->getCallee()->IgnoreParenImpCasts() == &ref) return true;
        continue;
      }
      const auto* up = p.get<clang::Expr>();
      if (up != nullptr &&
          (llvm::isa<clang::ImplicitCastExpr>(up) || llvm::isa<clang::ParenExpr>(up))) {
        todo.push_back(up);
      }
    }
  }
  return false;
}

// Parameter types as a map writes them and as clang prints them differ in spacing only
// ("const char*" / "const char *"): drop every space that does not separate two words.
std::string normalized_type(llvm::StringRef type) {
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  std::string out;
  bool pending_space = false;
  for (const char c : type) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = true;
      continue;
    }
    if (pending_space && !out.empty() && word(out.back()) && word(c)) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

class blocking_calls final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit blocking_calls(const pass_config& config)
      : rewrite_in_macro_args_(config.flag("rewrite-in-macro-args", false)) {
    for (const api_map& m : config.maps) {
      for (const api_function& f : m.functions) {
        entries_[normalized(f.name)].push_back({&f, m.system_headers_only});
      }
    }
  }

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    sink_ = &sink;
    if (entries_.empty()) return;
    std::vector<llvm::StringRef> names;
    for (const auto& kv : entries_) names.push_back(kv.first);
    const auto mapped = functionDecl(hasAnyName(llvm::ArrayRef<llvm::StringRef>(names)));
    // Only code as written: template patterns, not their instantiations (whose calls are
    // spelled at the same place). A non-dependent call in a template is one node shared by
    // the pattern and every instantiation; TK_AsIs with unless(isInTemplateInstantiation())
    // would skip it as soon as the template is instantiated.
    finder.addMatcher(
        traverse(clang::TK_IgnoreUnlessSpelledInSource, declRefExpr(to(mapped)).bind("ref")), this);
    // Calls that depend on template arguments: the callee is known only per instantiation.
    finder.addMatcher(
        traverse(clang::TK_IgnoreUnlessSpelledInSource, unresolvedLookupExpr().bind("dependent")),
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

  // The map entry `fd` is, if any: the first of its name whose conditions hold (declared in a
  // system header unless the map says otherwise; the parameter types, if the entry lists
  // them). Several entries may share a name to map overloads to different replacements.
  const entry* lookup(const clang::FunctionDecl& fd, const clang::SourceManager& sm) const {
    const auto it = entries_.find("::" + fd.getQualifiedNameAsString());
    if (it == entries_.end()) return nullptr;
    for (const entry& e : it->second) {
      // A user's own function of the same name is not the blocking API.
      if (e.system_only && !sm.isInSystemHeader(fd.getCanonicalDecl()->getLocation())) continue;
      if (!e.fn->params.empty() && !params_match(fd, e.fn->params)) continue;
      return &e;
    }
    return nullptr;
  }

  static bool params_match(const clang::FunctionDecl& fd, const std::vector<std::string>& params) {
    if (fd.getNumParams() != params.size()) return false;
    clang::PrintingPolicy policy(fd.getASTContext().getLangOpts());
    for (unsigned i = 0; i < fd.getNumParams(); ++i) {
      const clang::QualType type = fd.getParamDecl(i)->getType();
      const std::string wanted = normalized_type(params[i]);
      if (normalized_type(type.getAsString(policy)) != wanted &&
          normalized_type(type.getCanonicalType().getAsString(policy)) != wanted) {
        return false;
      }
    }
    return true;
  }

  // What every mapped call goes through, resolved or dependent: the checks that turn a
  // rewrite into a diagnostic, then the edit of `[begin, name_end]` (qualifier and name; the
  // explicit template arguments and the arguments stay).
  void consider(clang::ASTContext& ctx, const clang::SourceManager& sm,
                const clang::DynTypedNode& node, const std::string& name, const entry& e,
                clang::SourceLocation begin, clang::SourceLocation name_end) {
    const api_function& f = *e.fn;
    // A call that never waits (close, fcntl...) is as harmless in a coroutine as anywhere.
    if (f.blocks && inside_coroutine(ctx, node)) {
      sink_->diagnose(sm, begin, severity::warning,
                      "call to '" + name +
                          "' inside a C++20 coroutine would block every fiber and task of the "
                          "shard; not rewritten (use the co_await form" +
                          (f.coroutine_form.empty() ? std::string() : ": " + f.coroutine_form) +
                          ")",
                      pass_name);
      return;
    }
    const std::string why = "call to '" + name + "' " + effect(f);
    if (begin.isMacroID() && sm.isMacroArgExpansion(begin) && !rewrite_in_macro_args_) {
      sink_->diagnose(sm, begin, severity::warning,
                      why +
                          "; not rewritten: it is inside a macro argument "
                          "(rewrite it by hand, or set the blocking-calls option "
                          "rewrite-in-macro-args)",
                      pass_name);
      return;
    }
    const auto range = clang::CharSourceRange::getTokenRange(begin, name_end);
    if (sink_->replace(sm, range, f.replacement, why, pass_name)) {
      sink_->require_include(sm, begin, f.header);
    }
  }

  // Why a call of `f` must be rewritten: what the original does on a fiber.
  static std::string effect(const api_function& f) {
    return f.blocks ? "blocks the thread" : "changes an fd behind the runtime's back";
  }

  void handle_reference(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::DeclRefExpr& ref) {
    const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(ref.getDecl());
    if (fd == nullptr) return;
    const entry* e = lookup(*fd, sm);
    if (e == nullptr) return;
    const std::string name = fd->getNameAsString();
    const clang::SourceLocation begin = ref.getQualifierLoc() ? ref.getQualifierLoc().getBeginLoc()
                                                              : ref.getNameInfo().getBeginLoc();
    if (!is_callee(ctx, ref)) {
      sink_->diagnose(sm, begin, severity::warning,
                      "'" + name + "' is taken by address; calls through the pointer " +
                          (e->fn->blocks ? "block the thread" : "are not seen by the runtime") +
                          " and are not rewritten (call '" + e->fn->replacement + "' instead)",
                      pass_name);
      return;
    }
    consider(ctx, sm, clang::DynTypedNode::create(ref), name, *e, begin,
             ref.getNameInfo().getEndLoc());
  }

  void handle_dependent(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::UnresolvedLookupExpr& lookup_expr) {
    // Overload resolution happens per instantiation: rewrite only when every candidate is
    // mapped to the same replacement, so no instantiation can mean another function.
    const entry* found = nullptr;
    bool other_candidates = false;
    for (const clang::NamedDecl* d : lookup_expr.decls()) {
      const clang::NamedDecl* target = d->getUnderlyingDecl();
      if (const auto* tmpl = llvm::dyn_cast<clang::FunctionTemplateDecl>(target)) {
        target = tmpl->getTemplatedDecl();
      }
      const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(target);
      const entry* e = fd != nullptr ? lookup(*fd, sm) : nullptr;
      if (e == nullptr || (found != nullptr && found->fn->replacement != e->fn->replacement)) {
        other_candidates = true;
      } else {
        found = e;
      }
    }
    if (found == nullptr) return;
    const std::string name = lookup_expr.getName().getAsString();
    const clang::SourceLocation begin = lookup_expr.getQualifierLoc()
                                            ? lookup_expr.getQualifierLoc().getBeginLoc()
                                            : lookup_expr.getNameLoc();
    const auto node = clang::DynTypedNode::create(lookup_expr);
    const bool adl = lookup_expr.getQualifier() == nullptr && lookup_expr.requiresADL();
    if ((adl || other_candidates) && !inside_coroutine(ctx, node)) {
      // Argument-dependent lookup may find another function per instantiation, and a
      // qualified balrog name would switch it off. Leave it to the author.
      sink_->diagnose(sm, begin, severity::warning,
                      "call to '" + name +
                          "' depends on template arguments and may resolve to another function "
                          "in some instantiations; not rewritten (call '" +
                          found->fn->replacement + "' explicitly if it is the blocking one)",
                      pass_name);
      return;
    }
    consider(ctx, sm, node, name, *found, begin, lookup_expr.getNameInfo().getEndLoc());
  }

  bool rewrite_in_macro_args_;
  std::map<std::string, std::vector<entry>> entries_;
  rewrite_sink* sink_ = nullptr;
};

}  // namespace

std::unique_ptr<pass> make_blocking_calls(const pass_config& config) {
  return std::make_unique<blocking_calls>(config);
}

}  // namespace balrog::gen
