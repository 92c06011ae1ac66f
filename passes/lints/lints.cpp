#include "lints/lints.hpp"

#include "api_keys.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/StmtCXX.h>
#include <clang/AST/TypeLoc.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace balrog::gen {

namespace {

using namespace clang::ast_matchers;

constexpr const char* pass_name = "lints";

// How far a mutex's type is followed through typedefs.
constexpr unsigned max_depth = 8;

bool has(const std::vector<std::string>& v, llvm::StringRef s) {
  return std::find(v.begin(), v.end(), s.str()) != v.end();
}

// The class of a type, through references, pointers and arrays.
const clang::CXXRecordDecl* record_of(clang::QualType t) {
  t = t.getNonReferenceType();
  while (t->isPointerType() || t->isArrayType()) {
    t = t->isPointerType() ? t->getPointeeType()
                           : clang::QualType(t->getArrayElementTypeNoTypeQual(), 0);
  }
  const clang::CXXRecordDecl* r = t->getAsCXXRecordDecl();
  return r != nullptr && r->getIdentifier() != nullptr ? r : nullptr;
}

// The std mutexes (what sync-types rewrites to balrog's).
bool is_std_lockable(clang::QualType t) {
  const clang::CXXRecordDecl* r = record_of(t);
  if (r == nullptr || !r->isInStdNamespace()) return false;
  return llvm::StringSwitch<bool>(r->getName())
      .Cases("mutex", "timed_mutex", "recursive_mutex", "recursive_timed_mutex", true)
      .Cases("shared_mutex", "shared_timed_mutex", true)
      .Default(false);
}

// Whether `method` of the std (or balrog) class `cls` waits: what sync-types rewrites to a
// suspension of the fiber.
bool waits(llvm::StringRef cls, llvm::StringRef method) {
  if (cls == "thread" || cls == "jthread") return method == "join";
  if (cls == "condition_variable" || cls == "condition_variable_any") {
    return method == "wait" || method == "wait_for" || method == "wait_until";
  }
  if (cls == "future" || cls == "shared_future") {
    return method == "get" || method == "wait" || method == "wait_for" || method == "wait_until";
  }
  if (cls == "counting_semaphore") {
    return method == "acquire" || method == "try_acquire_for" || method == "try_acquire_until";
  }
  if (cls == "latch" || cls == "barrier") return method == "wait" || method == "arrive_and_wait";
  return false;
}

bool is_std_waitable(clang::QualType t) {
  const clang::CXXRecordDecl* r = record_of(t);
  if (r == nullptr || !r->isInStdNamespace()) return false;
  return llvm::StringSwitch<bool>(r->getName())
      .Cases("thread", "jthread", "condition_variable", "condition_variable_any", true)
      .Cases("future", "shared_future", "counting_semaphore", "latch", "barrier", true)
      .Default(false);
}

using type_test = bool (*)(clang::QualType);

// Where the std type of a declaration is spelled: the name in its TypeLoc, through typedefs.
// Invalid when it is not spelled (auto, decltype, a template parameter).
class spelled_type : public clang::RecursiveASTVisitor<spelled_type> {
 public:
  spelled_type(type_test want, unsigned depth) : want_(want), depth_(depth) {}
  bool TraverseNestedNameSpecifierLoc(clang::NestedNameSpecifierLoc) { return true; }
  bool VisitElaboratedTypeLoc(clang::ElaboratedTypeLoc tl) {
    if (found.isValid()) return true;
    const clang::TypeLoc named = tl.getNamedTypeLoc();
    const auto alias = named.getAs<clang::TypedefTypeLoc>();
    // `std::binary_semaphore` (an alias of std's) is spelled here; a user's typedef is followed.
    const bool spelled = !named.getAs<clang::RecordTypeLoc>().isNull() ||
                         !named.getAs<clang::TemplateSpecializationTypeLoc>().isNull() ||
                         (!alias.isNull() && alias.getTypedefNameDecl()->isInStdNamespace());
    if (spelled && want_(tl.getType())) found = tl.getBeginLoc();
    return true;
  }
  bool VisitTypedefTypeLoc(clang::TypedefTypeLoc tl) {
    const clang::TypeSourceInfo* tsi = tl.getTypedefNameDecl()->getTypeSourceInfo();
    if (found.isValid() || tsi == nullptr || depth_ >= max_depth ||
        tl.getTypedefNameDecl()->isInStdNamespace()) {
      return true;
    }
    spelled_type inner(want_, depth_ + 1);
    inner.TraverseTypeLoc(tsi->getTypeLoc());
    found = inner.found;
    return true;
  }
  clang::SourceLocation found;

 private:
  type_test want_;
  unsigned depth_;
};

// The declaration an expression names: `m`, `obj.m`, `*p`, `&m`, `ms[i]`.
const clang::ValueDecl* named_decl(const clang::Expr* e) {
  for (unsigned i = 0; e != nullptr && i < max_depth; ++i) {
    e = e->IgnoreParenImpCasts();
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) return ref->getDecl();
    if (const auto* member = llvm::dyn_cast<clang::MemberExpr>(e)) return member->getMemberDecl();
    if (const auto* u = llvm::dyn_cast<clang::UnaryOperator>(e)) {
      if (u->getOpcode() != clang::UO_Deref && u->getOpcode() != clang::UO_AddrOf) return nullptr;
      e = u->getSubExpr();
    } else if (const auto* sub = llvm::dyn_cast<clang::ArraySubscriptExpr>(e)) {
      e = sub->getBase();
    } else {
      return nullptr;
    }
  }
  return nullptr;
}

// Whether a token at `loc` is the expansion of the macro `name` (EINTR, errno).
bool is_macro(const clang::SourceManager& sm, const clang::LangOptions& lo,
              clang::SourceLocation loc, llvm::StringRef name) {
  return loc.isMacroID() && clang::Lexer::getImmediateMacroName(loc, sm, lo) == name;
}

// A comparison with EINTR (`errno == EINTR`, `e != EINTR`) anywhere in `s`, as spelled.
class eintr_finder : public clang::RecursiveASTVisitor<eintr_finder> {
 public:
  eintr_finder(const clang::SourceManager& sm, const clang::LangOptions& lo) : sm_(sm), lo_(lo) {}
  bool VisitBinaryOperator(clang::BinaryOperator* b) {
    if (!b->isEqualityOp()) return true;
    for (const clang::Expr* side : {b->getLHS(), b->getRHS()}) {
      if (is_macro(sm_, lo_, side->IgnoreParenImpCasts()->getBeginLoc(), "EINTR")) {
        (b->getOpcode() == clang::BO_EQ ? equal : not_equal) = b;
      }
    }
    return true;
  }
  bool TraverseLambdaExpr(clang::LambdaExpr*) { return true; }
  const clang::BinaryOperator* equal = nullptr;
  const clang::BinaryOperator* not_equal = nullptr;

 private:
  const clang::SourceManager& sm_;
  const clang::LangOptions& lo_;
};

// Whether `s` leaves the loop it is in: a `break` of that loop, a `return`, a `goto`, a throw.
class exit_finder : public clang::RecursiveASTVisitor<exit_finder> {
 public:
  bool TraverseWhileStmt(clang::WhileStmt* s) { return nested(s->getBody()); }
  bool TraverseDoStmt(clang::DoStmt* s) { return nested(s->getBody()); }
  bool TraverseForStmt(clang::ForStmt* s) { return nested(s->getBody()); }
  bool TraverseCXXForRangeStmt(clang::CXXForRangeStmt* s) { return nested(s->getBody()); }
  bool TraverseSwitchStmt(clang::SwitchStmt* s) { return nested(s->getBody()); }
  bool TraverseLambdaExpr(clang::LambdaExpr*) { return true; }
  bool VisitBreakStmt(clang::BreakStmt*) {
    if (depth_ == 0) exits = true;
    return true;
  }
  bool VisitReturnStmt(clang::ReturnStmt*) {
    exits = true;
    return true;
  }
  bool VisitGotoStmt(clang::GotoStmt*) {
    exits = true;
    return true;
  }
  bool VisitCXXThrowExpr(clang::CXXThrowExpr*) {
    exits = true;
    return true;
  }
  bool exits = false;

 private:
  // Inside a nested loop or switch a `break` is theirs; a return still leaves.
  bool nested(clang::Stmt* body) {
    ++depth_;
    TraverseStmt(body);
    --depth_;
    return true;
  }
  unsigned depth_ = 0;
};

class lints final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit lints(const pass_config& config)
      : blocking_calls_(has(config.passes, "blocking-calls")),
        sync_types_(has(config.passes, "sync-types")) {
    for (const api_map& m : config.maps) {
      for (const api_function& f : m.functions) {
        if (!f.blocks || f.kind == api_function::action::report) continue;
        const entry e{&f, &m};
        if (f.what == api_function::form::function) functions_[normalized_key(f.name)].push_back(e);
        if (f.what == api_function::form::method) methods_[normalized_key(f.name)].push_back(e);
        if (f.kind == api_function::action::rewrite && !f.replacement.empty()) {
          twins_.emplace(normalized_key(f.replacement), e);
        }
        // A C file's twin (balrog_recv); a macro entry's is a whole use, not a name.
        if (f.what != api_function::form::macro && !f.c_replacement.empty()) {
          twins_.emplace(normalized_key(f.c_replacement), e);
        }
      }
    }
  }

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    sink_ = &sink;
    const auto spelled = [](const auto& matcher) {
      return traverse(clang::TK_IgnoreUnlessSpelledInSource, matcher);
    };
    finder.addMatcher(spelled(callExpr().bind("call")), this);
    finder.addMatcher(
        spelled(varDecl(hasType(hasUnqualifiedDesugaredType(
                            recordType(hasDeclaration(classTemplateSpecializationDecl(
                                isInStdNamespace(), hasAnyName("lock_guard", "unique_lock",
                                                               "scoped_lock", "shared_lock")))))))
                    .bind("lock")),
        this);
    finder.addMatcher(
        spelled(binaryOperator(
                    isAssignmentOperator(),
                    hasLHS(memberExpr(member(fieldDecl(hasAnyName("sa_handler", "sa_sigaction"))))))
                    .bind("sigaction")),
        this);
    finder.addMatcher(spelled(stmt(anyOf(whileStmt(), doStmt(), forStmt())).bind("loop")), this);
  }

  void run(const MatchFinder::MatchResult& result) override {
    ctx_ = result.Context;
    const clang::SourceManager& sm = *result.SourceManager;
    if (const auto* call = result.Nodes.getNodeAs<clang::CallExpr>("call")) {
      handle_call(sm, *call);
    } else if (const auto* lock = result.Nodes.getNodeAs<clang::VarDecl>("lock")) {
      handle_lock(sm, *lock);
    } else if (const auto* assign = result.Nodes.getNodeAs<clang::BinaryOperator>("sigaction")) {
      add_handler(assign->getRHS());
    } else if (const auto* loop = result.Nodes.getNodeAs<clang::Stmt>("loop")) {
      handle_loop(sm, *loop);
    }
  }

  void onEndOfTranslationUnit() override {
    if (ctx_ != nullptr) check();
    suspensions_.clear();
    held_.clear();
    unlocks_.clear();
    handlers_.clear();
    loops_.clear();
  }

 private:
  struct entry {
    const api_function* fn;
    const api_map* map;
  };

  // A call that suspends the fiber once the code is rewritten (or already does).
  struct suspension {
    const clang::CallExpr* call;
    std::string function;  // as the report names it: "recv"
    std::string library;   // the map: "posix-net"
    const void* scope;     // the function or lambda whose body holds it
  };

  // Where a kept std mutex is held: from `begin` to `end` (or to the first unlock() of
  // `unlocked_by`).
  struct held_region {
    clang::SourceLocation begin;
    clang::SourceLocation end;
    const clang::ValueDecl* unlocked_by;  // the lock variable, or the mutex for m.lock()
    const void* scope;
    std::string mutex;   // as written: "'m'"
    bool explicit_lock;  // m.lock() (lint b), or a lock object (lint a)
    clang::SourceLocation at;
  };

  struct eintr_loop {
    const clang::Stmt* loop;
    const clang::BinaryOperator* test;
    const void* scope;
  };

  // --- What the passes that rewrite do with a call. ---

  // The map entry a call suspends through, once rewritten (blocking-calls) or already rewritten
  // (a call of an entry's replacement). Null: the call does not suspend.
  const entry* suspends(const clang::SourceManager& sm, const clang::CallExpr& call) const {
    const clang::FunctionDecl* fd = call.getDirectCallee();
    if (fd == nullptr || fd->getIdentifier() == nullptr) return nullptr;
    const std::string key = qualified_key(*fd);
    if (auto it = twins_.find(key); it != twins_.end()) return &it->second;
    // `balrog::compat::offloaded<&f>(args)` runs f on the offload pool while the fiber waits.
    if (key == "::balrog::compat::offloaded") return &offloaded_;
    if (!blocking_calls_ || sm.isInSystemHeader(sm.getExpansionLoc(call.getBeginLoc()))) {
      return nullptr;
    }
    // Only where blocking-calls may rewrite it (not a macro body, a filtered header, or a line
    // under NOBALROG(blocking-calls)): elsewhere it keeps blocking the thread.
    if (!sink_->editable(sm, call.getBeginLoc(), "blocking-calls")) return nullptr;
    const bool member =
        llvm::isa<clang::CXXMethodDecl>(fd) && !llvm::cast<clang::CXXMethodDecl>(fd)->isStatic();
    const auto& table = member ? methods_ : functions_;
    const auto it = table.find(member ? key : "::" + fd->getQualifiedNameAsString());
    if (it == table.end()) return nullptr;
    for (const entry& e : it->second) {
      if (e.map->system_headers_only &&
          !sm.isInSystemHeader(fd->getCanonicalDecl()->getLocation())) {
        continue;
      }
      // In a C file, blocking-calls rewrites only the entries with a C twin.
      if (!fd->getASTContext().getLangOpts().CPlusPlus && e.fn->c_replacement.empty()) continue;
      return &e;  // (a map's `params:` pick a replacement; every candidate here suspends)
    }
    return nullptr;
  }

  // Where the std type (of `want`) of the object `e` names is spelled in its declaration.
  static clang::SourceLocation spelled_at(const clang::Expr* e, type_test want) {
    if (e == nullptr || !want(e->getType())) return {};
    const auto* d = llvm::dyn_cast_or_null<clang::DeclaratorDecl>(named_decl(e));
    if (d == nullptr || d->getTypeSourceInfo() == nullptr) return {};
    spelled_type finder(want, 0);
    finder.TraverseTypeLoc(d->getTypeSourceInfo()->getTypeLoc());
    return finder.found;
  }

  // Whether the mutex `e` names stays a std mutex: sync-types does not run, or the type in its
  // declaration is spelled where sync-types may not edit it (NOBALROG, a macro body, a header
  // outside the filter, a system header). Unknown (auto, a template parameter): no.
  bool kept_mutex(const clang::SourceManager& sm, const clang::Expr* e) const {
    const clang::SourceLocation at = spelled_at(e, &is_std_lockable);
    return at.isValid() && (!sync_types_ || !sink_->editable(sm, at, "sync-types"));
  }

  // A wait of a std thread, condition variable, future, semaphore, latch or barrier that
  // sync-types rewrites to its balrog twin (whose wait suspends), or of a twin already:
  // "std::thread::join". Empty: not one.
  std::string suspending_wait(const clang::SourceManager& sm,
                              const clang::CXXMemberCallExpr& call) const {
    const clang::CXXMethodDecl* method = call.getMethodDecl();
    const clang::Expr* object = call.getImplicitObjectArgument();
    if (method == nullptr || method->getIdentifier() == nullptr || object == nullptr) return {};
    const clang::CXXRecordDecl* r = record_of(object->getType());
    if (r == nullptr || !waits(r->getName(), method->getName())) return {};
    const std::string name = r->getName().str() + "::" + method->getName().str();
    if (llvm::StringRef(qualified_key(*r)).startswith("::balrog::")) return "balrog::" + name;
    if (!r->isInStdNamespace() || !sync_types_) return {};
    const clang::SourceLocation at = spelled_at(object, &is_std_waitable);
    return at.isValid() && sink_->editable(sm, at, "sync-types") ? "std::" + name : "";
  }

  static const void* operator_of(const clang::LambdaExpr& lambda) {
    return static_cast<const clang::FunctionDecl*>(lambda.getCallOperator())->getCanonicalDecl();
  }

  // The function or lambda whose body holds `node`.
  const void* scope_of(const clang::DynTypedNode& node) const {
    clang::DynTypedNodeList parents = ctx_->getParents(node);
    for (unsigned hops = 0; hops < 256 && !parents.empty(); ++hops) {
      const clang::DynTypedNode& p = parents[0];
      if (const auto* fd = p.get<clang::FunctionDecl>()) return fd->getCanonicalDecl();
      if (const auto* lambda = p.get<clang::LambdaExpr>()) return operator_of(*lambda);
      parents = ctx_->getParents(p);
    }
    return nullptr;
  }

  std::string spelled(const clang::Expr* e) const {
    const llvm::StringRef text =
        clang::Lexer::getSourceText(clang::CharSourceRange::getTokenRange(e->getSourceRange()),
                                    ctx_->getSourceManager(), ctx_->getLangOpts());
    if (text.empty() || text.size() > 40 || text.contains('\n')) return "the mutex";
    return "'" + text.str() + "'";
  }

  // --- Collecting. ---

  void handle_call(const clang::SourceManager& sm, const clang::CallExpr& call) {
    const clang::FunctionDecl* fd = call.getDirectCallee();
    if (fd == nullptr || fd->getIdentifier() == nullptr ||
        sm.isInSystemHeader(sm.getExpansionLoc(call.getBeginLoc()))) {
      return;
    }
    if (const entry* e = suspends(sm, call)) {
      suspensions_.push_back(
          {&call, e->fn->name, e->map->library, scope_of(clang::DynTypedNode::create(call))});
      if (llvm::StringRef(suspensions_.back().function).startswith("::")) {
        suspensions_.back().function.erase(0, 2);
      }
    }
    const llvm::StringRef name = fd->getName();
    const auto* member = llvm::dyn_cast<clang::CXXMemberCallExpr>(&call);
    if (member != nullptr) {
      if (std::string wait = suspending_wait(sm, *member); !wait.empty()) {
        suspensions_.push_back(
            {&call, wait, "sync-types", scope_of(clang::DynTypedNode::create(call))});
      }
    }
    if (member != nullptr && (name == "lock" || name == "unlock")) {
      const clang::Expr* object = member->getImplicitObjectArgument();
      const clang::ValueDecl* d = named_decl(object);
      if (d == nullptr) return;
      if (name == "unlock") {
        unlocks_.push_back({d, sm.getExpansionLoc(call.getBeginLoc())});
      } else if (kept_mutex(sm, object)) {
        held_.push_back({sm.getExpansionLoc(call.getEndLoc()), end_of_block(call), d,
                         scope_of(clang::DynTypedNode::create(call)), spelled(object), true,
                         sm.getExpansionLoc(call.getBeginLoc())});
      }
      return;
    }
    if (!fd->isExternC() && !fd->isInStdNamespace()) return;
    if (name == "signal" && call.getNumArgs() == 2) {
      add_handler(call.getArg(1));
    } else if (name == "fork" && call.getNumArgs() == 0 && (blocking_calls_ || sync_types_)) {
      sink_->diagnose(
          sm, call.getBeginLoc(), severity::warning,
          "'fork' in code that runs on fibers: the child has one thread, the one that called "
          "fork; the runtime's other shards, their fibers, the offload pool and the reactor's "
          "threads are gone, and the child shares the parent's epoll and eventfd descriptors, "
          "so a rewritten blocking call in the child hangs or steals the parent's events (fork "
          "before the runtime starts, or exec right away in the child (posix_spawn), calling "
          "only async-signal-safe functions in between; mark the line NOBALROG(lints) when "
          "that is so)",
          pass_name, &fork_call_);
    }
  }

  // The end of the block that holds `node`: where a lock taken there is released at the latest.
  clang::SourceLocation end_of_block(const clang::Stmt& node) const {
    clang::DynTypedNodeList parents = ctx_->getParents(node);
    for (unsigned hops = 0; hops < 256 && !parents.empty(); ++hops) {
      const clang::DynTypedNode& p = parents[0];
      if (const auto* block = p.get<clang::CompoundStmt>()) {
        return ctx_->getSourceManager().getExpansionLoc(block->getRBracLoc());
      }
      if (p.get<clang::FunctionDecl>() != nullptr || p.get<clang::LambdaExpr>() != nullptr) break;
      parents = ctx_->getParents(p);
    }
    return {};
  }

  void handle_lock(const clang::SourceManager& sm, const clang::VarDecl& var) {
    if (sm.isInSystemHeader(sm.getExpansionLoc(var.getLocation())) || var.getInit() == nullptr) {
      return;
    }
    const auto* construct =
        llvm::dyn_cast<clang::CXXConstructExpr>(var.getInit()->IgnoreImplicit());
    if (construct == nullptr) return;
    const clang::Expr* kept = nullptr;
    for (const clang::Expr* arg : construct->arguments()) {
      const clang::CXXRecordDecl* r = arg->getType()->getAsCXXRecordDecl();
      // std::defer_lock: not held yet (and try_to_lock: maybe not).
      if (r != nullptr && r->isInStdNamespace() && r->getIdentifier() != nullptr &&
          (r->getName() == "defer_lock_t" || r->getName() == "try_to_lock_t")) {
        return;
      }
      if (kept == nullptr && kept_mutex(sm, arg)) kept = arg;
    }
    if (kept == nullptr) return;
    const auto* stmt =
        ctx_->getParents(var).empty() ? nullptr : ctx_->getParents(var)[0].get<clang::DeclStmt>();
    if (stmt == nullptr) return;
    held_.push_back({sm.getExpansionLoc(var.getEndLoc()), end_of_block(*stmt), &var,
                     scope_of(clang::DynTypedNode::create(*stmt)), spelled(kept), false,
                     sm.getExpansionLoc(var.getLocation())});
  }

  void add_handler(const clang::Expr* e) {
    if (e == nullptr) return;
    e = e->IgnoreParenImpCasts();
    if (const auto* u = llvm::dyn_cast<clang::UnaryOperator>(e))
      e = u->getSubExpr()->IgnoreParenImpCasts();
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) {
      if (const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(ref->getDecl())) {
        handlers_[static_cast<const void*>(fd->getCanonicalDecl())] = fd->getNameAsString();
      }
      return;
    }
    // `signal(SIGINT, [](int) { ... })`: the lambda's conversion to a function pointer.
    if (const auto* conversion = llvm::dyn_cast<clang::CXXMemberCallExpr>(e)) {
      e = conversion->getImplicitObjectArgument()->IgnoreParenImpCasts();
    }
    if (const auto* tmp = llvm::dyn_cast<clang::MaterializeTemporaryExpr>(e)) {
      e = tmp->getSubExpr()->IgnoreParenImpCasts();
    }
    if (const auto* lambda = llvm::dyn_cast<clang::LambdaExpr>(e)) {
      handlers_[operator_of(*lambda)] = "lambda";
    }
  }

  void handle_loop(const clang::SourceManager& sm, const clang::Stmt& loop) {
    if (sm.isInSystemHeader(sm.getExpansionLoc(loop.getBeginLoc()))) return;
    const clang::Expr* cond = nullptr;
    const clang::Stmt* body = nullptr;
    if (const auto* w = llvm::dyn_cast<clang::WhileStmt>(&loop)) {
      cond = w->getCond();
      body = w->getBody();
    } else if (const auto* d = llvm::dyn_cast<clang::DoStmt>(&loop)) {
      cond = d->getCond();
      body = d->getBody();
    } else if (const auto* f = llvm::dyn_cast<clang::ForStmt>(&loop)) {
      cond = f->getCond();
      body = f->getBody();
    }
    const void* scope = scope_of(clang::DynTypedNode::create(loop));
    // The loop goes on while errno is not EINTR: EINTR is its way out.
    if (cond != nullptr) {
      eintr_finder in_cond(sm, ctx_->getLangOpts());
      in_cond.TraverseStmt(const_cast<clang::Expr*>(cond));
      if (in_cond.not_equal != nullptr && in_cond.equal == nullptr) {
        loops_.push_back({&loop, in_cond.not_equal, scope});
        return;
      }
    }
    // `if (errno == EINTR) break;` (or return) in the body, this loop's own statements.
    if (body == nullptr) return;
    std::vector<const clang::Stmt*> todo = {body};
    while (!todo.empty()) {
      const clang::Stmt* s = todo.back();
      todo.pop_back();
      if (s == nullptr || llvm::isa<clang::WhileStmt, clang::DoStmt, clang::ForStmt,
                                    clang::CXXForRangeStmt, clang::LambdaExpr>(s)) {
        continue;
      }
      if (const auto* branch = llvm::dyn_cast<clang::IfStmt>(s)) {
        eintr_finder test(sm, ctx_->getLangOpts());
        test.TraverseStmt(const_cast<clang::Expr*>(branch->getCond()));
        if (test.equal != nullptr) {
          exit_finder leaves;
          leaves.TraverseStmt(const_cast<clang::Stmt*>(branch->getThen()));
          if (leaves.exits) {
            loops_.push_back({&loop, test.equal, scope});
            return;
          }
        }
      }
      for (const clang::Stmt* child : s->children()) todo.push_back(child);
    }
  }

  // --- The lints, once the whole TU is seen. ---

  bool before(clang::SourceLocation a, clang::SourceLocation b) const {
    return ctx_->getSourceManager().isBeforeInTranslationUnit(a, b);
  }

  void check() {
    const clang::SourceManager& sm = ctx_->getSourceManager();
    for (held_region& h : held_) {
      for (const auto& [decl, at] : unlocks_) {
        if (decl == h.unlocked_by && before(h.begin, at) &&
            (h.end.isInvalid() || before(at, h.end))) {
          h.end = at;
        }
      }
    }
    for (const suspension& s : suspensions_) {
      const clang::SourceLocation at = sm.getExpansionLoc(s.call->getBeginLoc());
      const blocking_call call_for = [&] {
        blocking_call c;
        c.function = s.function;
        c.library = s.library;
        return c;
      }();
      // (a), (b): a kept std mutex held across the suspension.
      for (const held_region& h : held_) {
        if (h.scope != s.scope || !before(h.begin, at) || (h.end.isValid() && !before(at, h.end))) {
          continue;
        }
        blocking_call c = call_for;
        c.reason = "held-mutex";
        const std::string line = std::to_string(sm.getSpellingLineNumber(h.at));
        sink_->diagnose(
            sm, s.call->getBeginLoc(), severity::warning,
            "call to '" + s.function + "' suspends the fiber while the std mutex " + h.mutex +
                (h.explicit_lock ? " locked on line " + line
                                 : " is held by the lock on line " + line) +
                ", which stays a std mutex (not rewritten): the OS thread keeps it across the "
                "suspension, and the next fiber of the shard that locks it blocks the thread, so "
                "the holder never resumes and the shard deadlocks (let sync-types rewrite the "
                "mutex to balrog::mutex, or unlock it before the call)",
            pass_name, &c);
        break;
      }
      // (c): inside a signal handler.
      if (auto it = handlers_.find(s.scope); it != handlers_.end()) {
        blocking_call c = call_for;
        c.reason = "signal-handler";
        const std::string handler =
            it->second == "lambda" ? "a signal handler" : "the signal handler '" + it->second + "'";
        sink_->diagnose(
            sm, s.call->getBeginLoc(), severity::warning,
            "call to '" + s.function + "' in " + handler +
                " suspends the fiber: a handler runs on whatever stack the signal interrupted "
                "(a fiber's, or the scheduler's own), and switching fibers from inside it "
                "corrupts the scheduler and is not async-signal-safe (only set a "
                "'volatile std::sig_atomic_t' or lock-free std::atomic flag, or write(2) to a "
                "self-pipe, in the handler, and do the work on a fiber)",
            pass_name, &c);
      }
      // (e): a loop that a signal ends through EINTR.
      for (const eintr_loop& l : loops_) {
        if (l.scope != s.scope || !before(sm.getExpansionLoc(l.loop->getBeginLoc()), at) ||
            !before(at, sm.getExpansionLoc(l.loop->getEndLoc()))) {
          continue;
        }
        blocking_call c = call_for;
        c.reason = "eintr-loop";
        const std::string line =
            std::to_string(sm.getSpellingLineNumber(sm.getExpansionLoc(l.test->getBeginLoc())));
        sink_->diagnose(
            sm, l.loop->getBeginLoc(), severity::warning,
            "this loop ends when a call fails with EINTR (line " + line + "), around '" +
                s.function +
                "', which suspends the fiber once rewritten: a fiber's wait is never "
                "interrupted by a signal (the reactor retries), so EINTR never comes and the "
                "loop never ends on a signal (let the signal handler set a flag that the loop "
                "checks and cancel the fiber, or wake it through a self-pipe or eventfd it "
                "waits on; mark the loop NOBALROG(lints) if something else ends it)",
            pass_name, &c);
        break;
      }
    }
  }

  bool blocking_calls_;
  bool sync_types_;
  std::map<std::string, std::vector<entry>> functions_;  // name: entries that suspend
  std::map<std::string, std::vector<entry>> methods_;
  std::map<std::string, entry> twins_;  // replacement: its entry (already rewritten code)
  api_function offloaded_fn_ = [] {
    api_function f;
    f.kind = api_function::action::offload;
    f.name = "balrog::compat::offloaded";
    return f;
  }();
  api_map offloaded_map_ = [] {
    api_map m;
    m.library = "posix-offload";
    return m;
  }();
  entry offloaded_{&offloaded_fn_, &offloaded_map_};
  blocking_call fork_call_{"fork", "posix", "fork"};

  rewrite_sink* sink_ = nullptr;
  clang::ASTContext* ctx_ = nullptr;
  std::vector<suspension> suspensions_;
  std::vector<held_region> held_;
  std::vector<std::pair<const clang::ValueDecl*, clang::SourceLocation>> unlocks_;
  std::map<const void*, std::string> handlers_;  // handler (canonical): its name
  std::vector<eintr_loop> loops_;
};

}  // namespace

std::unique_ptr<pass> make_lints(const pass_config& config) {
  return std::make_unique<lints>(config);
}

}  // namespace balrog::gen
