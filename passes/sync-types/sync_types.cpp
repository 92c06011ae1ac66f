#include "sync-types/sync_types.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/TypeLoc.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace balrog::gen {

namespace {

using namespace clang::ast_matchers;

constexpr const char* pass_name = "sync-types";

// Tracing how far a type flows (typedef of a typedef, a variable initialized from a variable...)
// stops after this many steps and says "unknown".
constexpr unsigned max_depth = 8;

// The standard synchronization types this pass knows, and what becomes of each.
enum class kind { lockable, condition_variable, other };

struct sync_type {
  const char* name;    // in namespace std (libstdc++ puts some in an inline namespace)
  const char* twin;    // null: no balrog twin; diagnosed, never rewritten
  const char* header;  // the twin's header
  kind what;
  // Why the std one is rewritten, after its quoted name (null: it blocks the thread).
  const char* reason = nullptr;
  bool is_template = false;  // a class template: `std::barrier<F>` keeps its arguments
};

constexpr const char* runs_on_os_thread =
    "runs its function on an OS thread, outside the shard's fibers";

constexpr std::array<sync_type, 19> known_types = {{
    {"mutex", "balrog::mutex", "<balrog/sync/mutex.hpp>", kind::lockable},
    {"timed_mutex", "balrog::timed_mutex", "<balrog/sync/mutex.hpp>", kind::lockable},
    {"shared_mutex", "balrog::shared_mutex", "<balrog/sync/shared_mutex.hpp>", kind::lockable},
    {"shared_timed_mutex", "balrog::shared_timed_mutex", "<balrog/sync/shared_mutex.hpp>",
     kind::lockable},
    {"condition_variable", "balrog::condition_variable", "<balrog/sync/condition_variable.hpp>",
     kind::condition_variable},
    {"condition_variable_any", "balrog::condition_variable_any",
     "<balrog/sync/condition_variable.hpp>", kind::condition_variable},
    {"recursive_mutex", "balrog::recursive_mutex", "<balrog/sync/recursive_mutex.hpp>",
     kind::lockable},
    {"recursive_timed_mutex", "balrog::recursive_timed_mutex", "<balrog/sync/recursive_mutex.hpp>",
     kind::lockable},
    {"thread", "balrog::thread", "<balrog/thread.hpp>", kind::other, runs_on_os_thread},
    {"jthread", "balrog::jthread", "<balrog/thread.hpp>", kind::other, runs_on_os_thread},
    {"latch", "balrog::latch", "<balrog/sync/latch.hpp>", kind::other},
    {"binary_semaphore", "balrog::binary_semaphore", "<balrog/sync/counting_semaphore.hpp>",
     kind::other},
    {"counting_semaphore", "balrog::counting_semaphore", "<balrog/sync/counting_semaphore.hpp>",
     kind::other, nullptr, true},
    {"barrier", "balrog::barrier", "<balrog/sync/barrier.hpp>", kind::other, nullptr, true},
    {"once_flag", "balrog::once_flag", "<balrog/sync/call_once.hpp>", kind::other,
     "makes std::call_once block the thread while another caller runs the function"},
    {"future", "balrog::future", "<balrog/future.hpp>", kind::other,
     "blocks the thread in get() and wait*()", true},
    {"shared_future", "balrog::shared_future", "<balrog/future.hpp>", kind::other,
     "blocks the thread in get() and wait*()", true},
    {"promise", "balrog::promise", "<balrog/future.hpp>", kind::other,
     "makes a std::future, which blocks the thread in get() and wait*()", true},
    {"packaged_task", "balrog::packaged_task", "<balrog/future.hpp>", kind::other,
     "makes a std::future, which blocks the thread in get() and wait*()", true},
}};

constexpr const char* atomic_wait_header = "<balrog/sync/atomic_wait.hpp>";
constexpr const char* atomic_waits = "waits by blocking the thread";
constexpr const char* atomic_notifies =
    "wakes only threads blocked in std's waits, not the fibers waiting in balrog's";

// The other std functions rewritten where they are named (a call, or a function pointer): their
// twins have the same name in namespace balrog. (libstdc++ 12 has no std::atomic_flag_wait and
// friends yet; they are here for the libraries that have them.)
constexpr std::array<sync_type, 11> known_functions = {{
    {"call_once", "balrog::call_once", "<balrog/sync/call_once.hpp>", kind::other,
     "blocks the thread while another caller runs the function"},
    {"async", "balrog::async", "<balrog/future.hpp>", kind::other,
     "runs its function on a new OS thread, outside the shard's fibers, and returns a "
     "std::future, which blocks the thread in get() and wait*()"},
    {"atomic_wait", "balrog::atomic_wait", atomic_wait_header, kind::other, atomic_waits},
    {"atomic_wait_explicit", "balrog::atomic_wait_explicit", atomic_wait_header, kind::other,
     atomic_waits},
    {"atomic_notify_one", "balrog::atomic_notify_one", atomic_wait_header, kind::other,
     atomic_notifies},
    {"atomic_notify_all", "balrog::atomic_notify_all", atomic_wait_header, kind::other,
     atomic_notifies},
    {"atomic_flag_wait", "balrog::atomic_flag_wait", atomic_wait_header, kind::other, atomic_waits},
    {"atomic_flag_wait_explicit", "balrog::atomic_flag_wait_explicit", atomic_wait_header,
     kind::other, atomic_waits},
    {"atomic_flag_notify_one", "balrog::atomic_flag_notify_one", atomic_wait_header, kind::other,
     atomic_notifies},
    {"atomic_flag_notify_all", "balrog::atomic_flag_notify_all", atomic_wait_header, kind::other,
     atomic_notifies},
    {"this_thread::get_id", "balrog::this_thread::get_id", "<balrog/thread.hpp>", kind::other,
     "identifies the OS thread, which every fiber of the shard shares"},
}};

// std::atomic<T>'s and std::atomic_flag's members, rewritten to calls of the free functions:
// `a.wait(old)` becomes `balrog::atomic_wait(a, old)`.
struct atomic_member {
  const char* name;
  const char* twin;
  const char* reason;
  bool takes_arguments;
};
constexpr std::array<atomic_member, 3> atomic_members = {{
    {"wait", "balrog::atomic_wait", atomic_waits, true},
    {"notify_one", "balrog::atomic_notify_one", atomic_notifies, false},
    {"notify_all", "balrog::atomic_notify_all", atomic_notifies, false},
}};

const sync_type* lookup_function(const clang::FunctionDecl* fn) {
  if (fn == nullptr || fn->getIdentifier() == nullptr) return nullptr;
  for (const sync_type& f : known_functions) {
    const llvm::StringRef name(f.name);
    if (name.endswith(fn->getName()) &&
        (name.size() == fn->getName().size() || name.startswith("this_thread::"))) {
      return &f;
    }
  }
  return nullptr;
}

const sync_type* lookup(const clang::Decl* d) {
  const auto* record = llvm::dyn_cast_or_null<clang::CXXRecordDecl>(d);
  if (record == nullptr || record->getIdentifier() == nullptr || !record->isInStdNamespace()) {
    return nullptr;
  }
  for (const sync_type& t : known_types) {
    if (!t.is_template && record->getName() == t.name) return &t;
  }
  return nullptr;
}

// A class template or alias template of namespace std that has a twin (`std::barrier<F>`,
// `std::counting_semaphore<N>`, the alias `std::binary_semaphore`).
const sync_type* lookup_named(const clang::NamedDecl* d, bool is_template) {
  if (d == nullptr || d->getIdentifier() == nullptr || !d->isInStdNamespace()) return nullptr;
  for (const sync_type& t : known_types) {
    if (t.is_template == is_template && d->getName() == t.name) return &t;
  }
  return nullptr;
}

const sync_type* lookup(clang::QualType type) {
  return lookup(type.getNonReferenceType()->getAsCXXRecordDecl());
}

std::string std_name(const sync_type& t) { return std::string("std::") + t.name; }

// What became of the std types spelled somewhere, as far as this translation unit can tell.
// `kept` covers every reason: a macro body, a suppression comment, a system header, a header
// outside the header filter, or no twin at all.
enum class fate { unknown, rewritten, kept };

// All known and equal, or unknown.
fate combine(const std::vector<fate>& fates) {
  if (fates.empty()) return fate::unknown;
  for (fate f : fates) {
    if (f != fates.front()) return fate::unknown;
  }
  return fates.front();
}

// What the pass did to the spelled names it proposed to rewrite.
struct rewrite_record {
  std::set<clang::SourceLocation> types;     // begin of each rewritten RecordTypeLoc/UsingTypeLoc
  std::set<const clang::UsingDecl*> usings;  // each rewritten `using std::mutex;`
};

// Finds the std synchronization types of one kind (condition variables, or lockables) spelled in
// a TypeLoc, following typedefs and aliases, and tells whether the pass rewrote them.
class type_walker : public clang::RecursiveASTVisitor<type_walker> {
 public:
  type_walker(const rewrite_record& done, kind want, unsigned depth)
      : done_(done), want_(want), depth_(depth) {}

  // `std::mutex::native_handle_type` names a member of std::mutex, not a std::mutex.
  bool TraverseNestedNameSpecifierLoc(clang::NestedNameSpecifierLoc) { return true; }
  bool TraverseDecltypeTypeLoc(clang::DecltypeTypeLoc) {
    opaque_ = true;
    return true;
  }
  bool TraverseTypeOfExprTypeLoc(clang::TypeOfExprTypeLoc) {
    opaque_ = true;
    return true;
  }

  bool VisitRecordTypeLoc(clang::RecordTypeLoc tl) {
    if (wanted(lookup(tl.getDecl()))) count(done_.types.count(tl.getBeginLoc()) > 0);
    return true;
  }
  bool VisitUsingTypeLoc(clang::UsingTypeLoc tl) {
    const clang::UsingShadowDecl* shadow = tl.getFoundDecl();
    if (!wanted(lookup(shadow->getTargetDecl()))) return true;
    const auto* introducer = llvm::dyn_cast<clang::UsingDecl>(shadow->getIntroducer());
    count(done_.usings.count(introducer) > 0 || done_.types.count(tl.getBeginLoc()) > 0);
    return true;
  }
  bool VisitTypedefTypeLoc(clang::TypedefTypeLoc tl) {
    const clang::TypeSourceInfo* tsi = tl.getTypedefNameDecl()->getTypeSourceInfo();
    if (tsi == nullptr || depth_ >= max_depth) {
      opaque_ = true;
      return true;
    }
    type_walker inner(done_, want_, depth_ + 1);
    inner.TraverseTypeLoc(tsi->getTypeLoc());
    rewritten_ += inner.rewritten_;
    kept_ += inner.kept_;
    opaque_ = opaque_ || inner.opaque_;
    deduced_ = deduced_ || inner.deduced_;
    return true;
  }
  bool VisitAutoTypeLoc(clang::AutoTypeLoc) {
    deduced_ = true;
    return true;
  }
  bool VisitDeducedTemplateSpecializationTypeLoc(clang::DeducedTemplateSpecializationTypeLoc) {
    deduced_ = true;
    return true;
  }

  // Known only when every type of the kind that was found went the same way.
  [[nodiscard]] fate result() const {
    if (opaque_ || (rewritten_ > 0) == (kept_ > 0)) return fate::unknown;
    return rewritten_ > 0 ? fate::rewritten : fate::kept;
  }
  // auto, decltype(auto) or class template argument deduction: the initializer decides.
  [[nodiscard]] bool deduced() const { return deduced_; }

 private:
  bool wanted(const sync_type* t) const { return t != nullptr && t->what == want_; }
  void count(bool rewritten) { ++(rewritten ? rewritten_ : kept_); }

  const rewrite_record& done_;
  kind want_;
  unsigned depth_;
  unsigned rewritten_ = 0;
  unsigned kept_ = 0;
  bool deduced_ = false;
  bool opaque_ = false;
};

// Where the tokens [begin, end] are written in a file, directly or as one macro argument; an
// invalid range when part of them comes from a macro body. (The tool's own check,
// Lexer::makeFileCharRange, maps a range that covers a whole macro expansion, `MUTEX_T` or
// `WRAP(std::mutex)`, to the macro invocation, and the edit would replace the macro use.)
clang::CharSourceRange spelled_range(const clang::SourceManager& sm, clang::SourceLocation begin,
                                     clang::SourceLocation end) {
  while (begin.isMacroID() || end.isMacroID()) {
    if (!sm.isMacroArgExpansion(begin) || !sm.isMacroArgExpansion(end) ||
        sm.getFileID(begin) != sm.getFileID(end)) {
      return {};
    }
    begin = sm.getImmediateSpellingLoc(begin);
    end = sm.getImmediateSpellingLoc(end);
  }
  if (sm.getFileID(begin) != sm.getFileID(end) || sm.getFileOffset(end) < sm.getFileOffset(begin)) {
    return {};
  }
  return clang::CharSourceRange::getTokenRange(begin, end);
}

// How messages name the object an expression denotes: as written ("'cv'", "'l.cv'") when that
// is short, else its declaration's name, else `fallback`.
std::string describe(const clang::ASTContext& ctx, const clang::Expr* e, const char* fallback) {
  e = e->IgnoreUnlessSpelledInSource()->IgnoreParens();
  const llvm::StringRef written =
      clang::Lexer::getSourceText(clang::CharSourceRange::getTokenRange(e->getSourceRange()),
                                  ctx.getSourceManager(), ctx.getLangOpts());
  if (!written.empty() && written.size() <= 40 && !written.contains('\n')) {
    return "'" + written.str() + "'";
  }
  const clang::NamedDecl* d = nullptr;
  if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) d = ref->getDecl();
  if (const auto* member = llvm::dyn_cast<clang::MemberExpr>(e)) d = member->getMemberDecl();
  if (d == nullptr || d->getIdentifier() == nullptr) return fallback;
  return "'" + d->getName().str() + "'";
}

// The type names spelled in a TypeLoc, at any depth (template arguments, pointees, qualifiers).
class spelled_types : public clang::RecursiveASTVisitor<spelled_types> {
 public:
  bool VisitElaboratedTypeLoc(clang::ElaboratedTypeLoc tl) {
    types.push_back(tl);
    return true;
  }
  std::vector<clang::ElaboratedTypeLoc> types;
};

class sync_types final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit sync_types(const pass_config& config)
      : rewrite_in_macro_args_(config.flag("rewrite-in-macro-args", true)),
        to_fiber_local_(config.flag("thread-local-to-fiber-local", false)) {}

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    sink_ = &sink;
    std::vector<llvm::StringRef> names;
    for (const sync_type& t : known_types) {
      if (!t.is_template) names.emplace_back(t.name);
    }
    const auto known =
        cxxRecordDecl(isInStdNamespace(), hasAnyName(llvm::ArrayRef<llvm::StringRef>(names)));
    const auto condition_variables = cxxRecordDecl(
        isInStdNamespace(), hasAnyName("condition_variable", "condition_variable_any"));
    // Only what is spelled in the source: a template's pattern once, never its instantiations,
    // never implicit code (deduction guides, implicit members).
    const auto spelled = [](const auto& matcher) {
      return traverse(clang::TK_IgnoreUnlessSpelledInSource, matcher);
    };
    // `std::mutex`, `::std::mutex`, `mutex` after `using namespace std;`: Clang 16 wraps every
    // type name as written in an ElaboratedTypeLoc, which holds the qualifier. A RecordTypeLoc
    // outside one is a nested-name-specifier (`std::mutex::native_handle_type`): not a mutex.
    const auto record =
        elaboratedTypeLoc(hasNamedTypeLoc(loc(recordType(hasDeclaration(known))))).bind("type");
    // `mutex` after `using std::mutex;`: follows the using-declaration.
    const auto through_using =
        elaboratedTypeLoc(hasNamedTypeLoc(loc(usingType(throughUsingDecl(hasTargetDecl(known))))))
            .bind("using-type");
    // RecursiveASTVisitor moves from a QualifiedTypeLoc (`const std::mutex&`) to its unqualified
    // TypeLoc without going through the matcher's TraverseTypeLoc, so the ElaboratedTypeLoc right
    // under a cv-qualifier is only seen as part of the QualifiedTypeLoc.
    // `std::barrier<F>`, `std::counting_semaphore<N>` and CTAD's `std::barrier b(n, f)`: the
    // template's name is rewritten, its arguments stay (the handler picks the std ones).
    const auto template_type =
        elaboratedTypeLoc(hasNamedTypeLoc(anyOf(loc(templateSpecializationType()),
                                                loc(deducedTemplateSpecializationType()))))
            .bind("template-type");
    // `std::binary_semaphore`, an alias template's specialization in namespace std.
    const auto alias_type =
        elaboratedTypeLoc(hasNamedTypeLoc(loc(typedefType(hasDeclaration(
                              typedefNameDecl(isInStdNamespace(), hasName("binary_semaphore")))))))
            .bind("alias-type");
    for (const auto& m : {record, through_using, template_type, alias_type}) {
      finder.addMatcher(spelled(m), this);
      finder.addMatcher(spelled(qualifiedTypeLoc(hasUnqualifiedLoc(m))), this);
    }
    finder.addMatcher(spelled(usingDecl(hasAnyUsingShadowDecl(hasTargetDecl(known))).bind("using")),
                      this);
    // `for (std::thread& t : workers)`: in TK_IgnoreUnlessSpelledInSource, the matcher visits a
    // range-for's loop variable as a declaration only, never its TypeLoc (and the DeclStmt
    // that holds it counts as not spelled), so the types written in it are walked by hand.
    finder.addMatcher(spelled(cxxForRangeStmt(hasLoopVariable(varDecl().bind("range-var")))), this);
    // `std::thread::id`, `std::thread::hardware_concurrency()`, `std::latch::max()`,
    // `std::counting_semaphore<8>::max()`: the class in a qualifier (the handler picks the std
    // templates). `std::mutex::native_handle_type` has no twin and stays.
    // `std::thread::hardware_concurrency()` is the same function as its twin's: inside a macro
    // body (cpp-httplib's CPPHTTPLIB_THREAD_POOL_COUNT) it stays, unreported. Matched on the
    // call's DeclRefExpr, which is visited before its qualifier.
    finder.addMatcher(
        spelled(
            declRefExpr(to(cxxMethodDecl(hasName("hardware_concurrency"),
                                         ofClass(cxxRecordDecl(isInStdNamespace(),
                                                               hasAnyName("thread", "jthread"))))))
                .bind("hardware-concurrency")),
        this);
    finder.addMatcher(nestedNameSpecifierLoc(
                          specifiesTypeLoc(anyOf(
                              loc(recordType(hasDeclaration(cxxRecordDecl(
                                  isInStdNamespace(), hasAnyName("thread", "jthread", "latch"))))),
                              loc(templateSpecializationType()))))
                          .bind("qualifier"),
                      this);
    // std::this_thread::get_id, std::call_once, std::async, std::atomic_wait...: the name.
    std::vector<std::string> qualified;
    for (const sync_type& f : known_functions) qualified.push_back(std::string("::std::") + f.name);
    const std::vector<llvm::StringRef> function_names(qualified.begin(), qualified.end());
    finder.addMatcher(
        spelled(declRefExpr(
                    to(functionDecl(hasAnyName(llvm::ArrayRef<llvm::StringRef>(function_names)))))
                    .bind("get-id")),
        this);
    // `a.wait(old)`, `p->notify_one()` on a std::atomic<T> or std::atomic_flag (libstdc++ declares
    // most of them in a base class, hence the object's type); std::atomic_ref's are reported.
    finder.addMatcher(
        spelled(
            cxxMemberCallExpr(callee(cxxMethodDecl(hasAnyName("wait", "notify_one", "notify_all"),
                                                   ofClass(cxxRecordDecl(isInStdNamespace())))),
                              thisPointerType(hasUnqualifiedDesugaredType(recordType(hasDeclaration(
                                  cxxRecordDecl(isInStdNamespace(),
                                                hasAnyName("atomic", "atomic_flag", "atomic_ref"))
                                      .bind("atomic-class"))))))
                .bind("atomic-member")),
        this);
    // What the future twins do not have.
    finder.addMatcher(
        spelled(cxxMemberCallExpr(
                    callee(cxxMethodDecl(
                        hasAnyName("set_value_at_thread_exit", "set_exception_at_thread_exit",
                                   "make_ready_at_thread_exit"),
                        ofClass(classTemplateSpecializationDecl(
                            isInStdNamespace(), hasAnyName("promise", "packaged_task"))))))
                    .bind("at-thread-exit")),
        this);
    finder.addMatcher(spelled(varDecl(hasThreadStorageDuration()).bind("thread-local")), this);
    if (to_fiber_local_) {
      finder.addMatcher(
          spelled(declRefExpr(to(varDecl(hasThreadStorageDuration()))).bind("thread-local-use")),
          this);
    }
    // What the twins cannot do, and what breaks when only part of the code is rewritten: checked
    // at the end of the translation unit, once every spelled type has been seen.
    finder.addMatcher(
        spelled(cxxMemberCallExpr(callee(cxxMethodDecl(hasName("native_handle"), ofClass(known))))
                    .bind("native-handle")),
        this);
    finder.addMatcher(
        spelled(cxxMemberCallExpr(callee(cxxMethodDecl(hasAnyName("wait", "wait_for", "wait_until"),
                                                       ofClass(condition_variables))))
                    .bind("wait")),
        this);
    finder.addMatcher(
        spelled(cxxConstructExpr(
                    hasDeclaration(cxxConstructorDecl(ofClass(classTemplateSpecializationDecl(
                        isInStdNamespace(),
                        hasAnyName("lock_guard", "unique_lock", "scoped_lock", "shared_lock"))))))
                    .bind("lock")),
        this);
    finder.addMatcher(spelled(callExpr(callee(functionDecl(isInStdNamespace(),
                                                           hasName("notify_all_at_thread_exit"))))
                                  .bind("notify-at-exit")),
                      this);
    // A mutex or condition variable passed to a function or constructor parameter whose spelled
    // type goes the other way (a third-party `void f(std::mutex&)` in a system header, a
    // parameter under NOBALROG). The std lock types are check_lock's; std function templates
    // (std::lock, std::scoped_lock...) deduce their parameters and take either, and members of
    // std classes (std::thread's move assignment, std::vector<T>::push_back) follow their class.
    const auto of_std_class = cxxMethodDecl(ofClass(cxxRecordDecl(isInStdNamespace())));
    finder.addMatcher(
        spelled(callExpr(callee(functionDecl(unless(isInStdNamespace()), unless(of_std_class))),
                         hasAnyArgument(hasType(hasUnqualifiedDesugaredType(
                             anyOf(recordType(hasDeclaration(known)),
                                   pointerType(pointee(hasDeclaration(known))))))))
                    .bind("argument")),
        this);
    finder.addMatcher(
        spelled(cxxConstructExpr(hasDeclaration(cxxConstructorDecl(unless(isInStdNamespace()),
                                                                   unless(of_std_class))),
                                 hasAnyArgument(hasType(hasUnqualifiedDesugaredType(
                                     anyOf(recordType(hasDeclaration(known)),
                                           pointerType(pointee(hasDeclaration(known))))))))
                    .bind("argument")),
        this);
  }

  void run(const MatchFinder::MatchResult& result) override {
    ctx_ = result.Context;
    const clang::SourceManager& sm = *result.SourceManager;
    const auto& nodes = result.Nodes;
    if (const auto* tl = nodes.getNodeAs<clang::TypeLoc>("type")) {
      handle_type(sm, *tl);
    } else if (const auto* utl = nodes.getNodeAs<clang::TypeLoc>("using-type")) {
      handle_using_type(sm, *utl);
    } else if (const auto* ud = nodes.getNodeAs<clang::UsingDecl>("using")) {
      handle_using_decl(sm, *ud);
    } else if (const auto* range_var = nodes.getNodeAs<clang::VarDecl>("range-var")) {
      handle_range_variable(sm, *range_var);
    } else if (const auto* ttl = nodes.getNodeAs<clang::TypeLoc>("template-type")) {
      handle_template_type(sm, *ttl);
    } else if (const auto* atl = nodes.getNodeAs<clang::TypeLoc>("alias-type")) {
      handle_alias_type(sm, *atl);
    } else if (const auto* nns = nodes.getNodeAs<clang::NestedNameSpecifierLoc>("qualifier")) {
      handle_qualifier(sm, *nns);
    } else if (const auto* hc = nodes.getNodeAs<clang::DeclRefExpr>("hardware-concurrency")) {
      handle_hardware_concurrency(sm, *hc);
    } else if (const auto* ref = nodes.getNodeAs<clang::DeclRefExpr>("get-id")) {
      handle_get_id(sm, *ref);
    } else if (const auto* call = nodes.getNodeAs<clang::CXXMemberCallExpr>("atomic-member")) {
      handle_atomic_member(sm, *call, nodes.getNodeAs<clang::CXXRecordDecl>("atomic-class"));
    } else if (const auto* var = nodes.getNodeAs<clang::VarDecl>("thread-local")) {
      handle_thread_local(sm, *var);
    } else if (const auto* use = nodes.getNodeAs<clang::DeclRefExpr>("thread-local-use")) {
      const auto* target = llvm::cast<clang::VarDecl>(use->getDecl())->getCanonicalDecl();
      thread_local_uses_[target].push_back(use);
    } else {
      for (const char* id :
           {"native-handle", "wait", "lock", "notify-at-exit", "argument", "at-thread-exit"}) {
        if (const auto* s = nodes.getNodeAs<clang::Expr>(id)) {
          if (!in_system_header(sm, s->getBeginLoc())) checks_.emplace_back(id, s);
        }
      }
    }
  }

  void onEndOfTranslationUnit() override {
    if (ctx_ == nullptr) return;
    for (const auto& [what, node] : checks_) {
      const llvm::StringRef id(what);
      if (id == "native-handle") {
        check_native_handle(*llvm::cast<clang::CXXMemberCallExpr>(node));
      } else if (id == "wait") {
        check_wait(*llvm::cast<clang::CXXMemberCallExpr>(node));
      } else if (id == "lock") {
        check_lock(*llvm::cast<clang::CXXConstructExpr>(node));
      } else if (id == "argument") {
        check_arguments(*node);
      } else if (id == "notify-at-exit") {
        check_notify_at_exit(*llvm::cast<clang::CallExpr>(node));
      } else if (id == "at-thread-exit") {
        check_at_thread_exit(*llvm::cast<clang::CXXMemberCallExpr>(node));
      }
    }
    checks_.clear();
    for (const clang::VarDecl* var : thread_locals_) to_fiber_local(*var);
    thread_locals_.clear();
    thread_local_uses_.clear();
    edited_.clear();
  }

 private:
  static bool in_system_header(const clang::SourceManager& sm, clang::SourceLocation loc) {
    return sm.isInSystemHeader(sm.getExpansionLoc(loc));
  }

  // `why` for replace(): the tool appends what it did ("; rewrite to 'balrog::mutex'", or why
  // it did not, for a macro body).
  static std::string why(const sync_type& t) {
    return "'" + std_name(t) + "' " +
           (t.reason != nullptr ? t.reason : "blocks the thread while it waits");
  }

  // The twin, spelled as the original was: `::std::mutex` becomes `::balrog::mutex`.
  static std::string twin_spelling(const sync_type& t, clang::NestedNameSpecifierLoc qualifier) {
    bool global = false;
    if (qualifier) {
      const clang::NestedNameSpecifier* n = qualifier.getNestedNameSpecifier();
      while (n->getPrefix() != nullptr) n = n->getPrefix();
      global = n->getKind() == clang::NestedNameSpecifier::Global;
    }
    return (global ? "::" : "") + std::string(t.twin);
  }

  void warn_no_twin(const clang::SourceManager& sm, clang::SourceLocation where,
                    const sync_type& t) {
    sink_->diagnose(sm, where, severity::warning,
                    "'" + std_name(t) +
                        "' blocks the thread while it waits and has no balrog twin; not "
                        "rewritten (restructure the code so that no one locks it twice, then "
                        "use balrog::mutex)",
                    pass_name);
  }

  // Proposes `text` for the tokens [begin, end]. Refuses, with a warning, when part of them
  // comes from a macro body, or from a macro argument unless rewrite-in-macro-args; refuses
  // silently where the tool does (suppression comment, system header, header filter).
  bool rewrite(const clang::SourceManager& sm, clang::SourceLocation begin,
               clang::SourceLocation end, const std::string& text, const sync_type& t) {
    const clang::CharSourceRange range = spelled_range(sm, begin, end);
    if (range.isInvalid()) {
      sink_->diagnose(sm, begin, severity::warning,
                      why(t) +
                          "; not rewritten: it is inside a macro body (rewrite the macro by "
                          "hand, or mark the line NOBALROG)",
                      pass_name);
      return false;
    }
    if (begin.isMacroID() && !rewrite_in_macro_args_) {
      sink_->diagnose(sm, begin, severity::warning,
                      why(t) +
                          "; not rewritten: it is inside a macro argument (rewrite it by hand, "
                          "or set the sync-types option rewrite-in-macro-args)",
                      pass_name);
      return false;
    }
    if (!sink_->replace(sm, range, text, why(t), pass_name)) return false;
    sink_->require_include(sm, range.getBegin(), t.header);
    edited_.push_back(range);
    return true;
  }

  // Replaces the qualifier and the name of an ElaboratedTypeLoc; keeps `class`/`typename`.
  void rewrite_elaborated(const clang::SourceManager& sm, clang::ElaboratedTypeLoc etl,
                          const sync_type& t) {
    const clang::TypeLoc named = etl.getNamedTypeLoc();
    rewrite_name(sm, etl, named.getBeginLoc(), named.getEndLoc(), t);
  }

  // Replaces the qualifier and the tokens [name_begin, name_end] (the name of a template, whose
  // arguments stay).
  void rewrite_name(const clang::SourceManager& sm, clang::ElaboratedTypeLoc etl,
                    clang::SourceLocation name_begin, clang::SourceLocation name_end,
                    const sync_type& t) {
    const clang::SourceLocation begin =
        etl.getQualifierLoc() ? etl.getQualifierLoc().getBeginLoc() : name_begin;
    if (rewrite(sm, begin, name_end, twin_spelling(t, etl.getQualifierLoc()), t)) {
      done_.types.insert(etl.getNamedTypeLoc().getBeginLoc());
    }
  }

  // Whether this TypeLoc was handled already (a spelled type is one TypeLoc, but be safe against
  // a traversal that reaches it twice: an edit or a warning must be made once).
  bool first_visit(clang::TypeLoc tl) {
    return visited_.insert({tl.getTypePtr(), tl.getOpaqueData()}).second;
  }

  void handle_type(const clang::SourceManager& sm, clang::TypeLoc tl) {
    const auto etl = tl.getAs<clang::ElaboratedTypeLoc>();
    if (etl.isNull() || !first_visit(etl) || in_system_header(sm, etl.getBeginLoc())) return;
    const auto record = etl.getNamedTypeLoc().getAs<clang::RecordTypeLoc>();
    const sync_type* t = record.isNull() ? nullptr : lookup(record.getDecl());
    if (t == nullptr) return;
    if (t->twin == nullptr) {
      warn_no_twin(sm, etl.getBeginLoc(), *t);
      return;
    }
    rewrite_elaborated(sm, etl, *t);
  }

  // Every type spelled in a range-for's loop variable (`std::thread&`, `const std::mutex&`,
  // `std::pair<const int, std::thread>&`), to the handler its matcher would have called.
  void handle_range_variable(const clang::SourceManager& sm, const clang::VarDecl& var) {
    if (var.getTypeSourceInfo() == nullptr) return;
    spelled_types found;
    found.TraverseTypeLoc(var.getTypeSourceInfo()->getTypeLoc());
    for (const clang::ElaboratedTypeLoc etl : found.types) {
      const clang::TypeLoc named = etl.getNamedTypeLoc();
      if (!named.getAs<clang::RecordTypeLoc>().isNull()) {
        handle_type(sm, etl);
      } else if (!named.getAs<clang::UsingTypeLoc>().isNull()) {
        handle_using_type(sm, etl);
      } else if (!named.getAs<clang::TemplateSpecializationTypeLoc>().isNull() ||
                 !named.getAs<clang::DeducedTemplateSpecializationTypeLoc>().isNull()) {
        handle_template_type(sm, etl);
      } else if (!named.getAs<clang::TypedefTypeLoc>().isNull()) {
        handle_alias_type(sm, etl);
      }
    }
  }

  void handle_template_type(const clang::SourceManager& sm, clang::TypeLoc tl) {
    const auto etl = tl.getAs<clang::ElaboratedTypeLoc>();
    if (etl.isNull() || !first_visit(etl) || in_system_header(sm, etl.getBeginLoc())) return;
    const clang::TypeLoc named = etl.getNamedTypeLoc();
    clang::SourceLocation name;
    const clang::TemplateDecl* decl = nullptr;
    if (const auto spec = named.getAs<clang::TemplateSpecializationTypeLoc>(); !spec.isNull()) {
      name = spec.getTemplateNameLoc();
      decl = spec.getTypePtr()->getTemplateName().getAsTemplateDecl();
    } else if (const auto deduced = named.getAs<clang::DeducedTemplateSpecializationTypeLoc>();
               !deduced.isNull()) {
      name = deduced.getTemplateNameLoc();
      decl = deduced.getTypePtr()->getTemplateName().getAsTemplateDecl();
    }
    const sync_type* t = lookup_named(decl, true);
    if (t != nullptr) rewrite_name(sm, etl, name, name, *t);
  }

  void handle_alias_type(const clang::SourceManager& sm, clang::TypeLoc tl) {
    const auto etl = tl.getAs<clang::ElaboratedTypeLoc>();
    if (etl.isNull() || !first_visit(etl) || in_system_header(sm, etl.getBeginLoc())) return;
    const auto alias = etl.getNamedTypeLoc().getAs<clang::TypedefTypeLoc>();
    const sync_type* t = alias.isNull() ? nullptr : lookup_named(alias.getTypedefNameDecl(), false);
    if (t != nullptr) rewrite_elaborated(sm, etl, *t);
  }

  // `std::thread::id` becomes `balrog::thread::id`: the class named in the qualifier changes,
  // the member stays (the twins have the same static members and member types).
  void handle_qualifier(const clang::SourceManager& sm, clang::NestedNameSpecifierLoc nns) {
    const clang::TypeLoc tl = nns.getTypeLoc();
    if (tl.isNull() || in_system_header(sm, nns.getBeginLoc()) ||
        !visited_.insert({nns.getNestedNameSpecifier(), nns.getOpaqueData()}).second) {
      return;
    }
    if (const auto spec = tl.getAs<clang::TemplateSpecializationTypeLoc>(); !spec.isNull()) {
      const sync_type* t =
          lookup_named(spec.getTypePtr()->getTemplateName().getAsTemplateDecl(), true);
      if (t != nullptr) {
        rewrite(sm, nns.getBeginLoc(), spec.getTemplateNameLoc(),
                twin_spelling(*t, nns.getPrefix()), *t);
      }
      return;
    }
    const sync_type* t = lookup(tl.getType()->getAsCXXRecordDecl());
    if (t == nullptr) return;
    rewrite(sm, nns.getBeginLoc(), tl.getEndLoc(), twin_spelling(*t, nns.getPrefix()), *t);
  }

  // `std::thread::hardware_concurrency()`: rewritten with the other qualifiers (handle_qualifier)
  // where the pass may edit it; where it may not (a macro body, or a macro argument without
  // rewrite-in-macro-args), kept silently: balrog::thread::hardware_concurrency() is the same
  // function, so nothing is lost.
  void handle_hardware_concurrency(const clang::SourceManager& sm, const clang::DeclRefExpr& ref) {
    const clang::NestedNameSpecifierLoc nns = ref.getQualifierLoc();
    if (!nns) return;  // `hardware_concurrency()` inside the class: nothing spelled
    const bool editable = spelled_range(sm, nns.getBeginLoc(), nns.getEndLoc()).isValid() &&
                          (!nns.getBeginLoc().isMacroID() || rewrite_in_macro_args_);
    if (!editable) visited_.insert({nns.getNestedNameSpecifier(), nns.getOpaqueData()});
  }

  // `std::this_thread::get_id()` becomes `balrog::this_thread::get_id()`, `std::call_once`
  // `balrog::call_once` and so on (known_functions), however they are spelled.
  void handle_get_id(const clang::SourceManager& sm, const clang::DeclRefExpr& ref) {
    if (in_system_header(sm, ref.getBeginLoc())) return;
    const sync_type* f = lookup_function(llvm::dyn_cast<clang::FunctionDecl>(ref.getDecl()));
    if (f == nullptr) return;
    const clang::NestedNameSpecifierLoc qualifier = ref.getQualifierLoc();
    const clang::SourceLocation begin = qualifier ? qualifier.getBeginLoc() : ref.getLocation();
    rewrite(sm, begin, ref.getNameInfo().getEndLoc(), twin_spelling(*f, qualifier), *f);
  }

  // `a.wait(old)` becomes `balrog::atomic_wait(a, old)`, `p->notify_one()`
  // `balrog::atomic_notify_one(p)`: two edits, one before the object and one from the `.` or
  // `->` to the `(`, so that whatever else is spelled in the object and the arguments stays.
  void handle_atomic_member(const clang::SourceManager& sm, const clang::CXXMemberCallExpr& call,
                            const clang::CXXRecordDecl* record) {
    if (in_system_header(sm, call.getBeginLoc())) return;
    const auto* method = call.getMethodDecl();
    const auto* member = llvm::dyn_cast<clang::MemberExpr>(call.getCallee()->IgnoreParens());
    if (method == nullptr || member == nullptr) return;
    const atomic_member* m = nullptr;
    for (const atomic_member& candidate : atomic_members) {
      if (method->getName() == candidate.name) m = &candidate;
    }
    if (m == nullptr) return;
    const std::string type_name = record != nullptr && record->getName() == "atomic_flag"
                                      ? "std::atomic_flag"
                                      : "std::atomic";
    const std::string why = "'" + type_name + "::" + m->name + "' " + m->reason;
    if (record != nullptr && record->getName() == "atomic_ref") {
      sink_->diagnose(sm, member->getMemberLoc(), severity::warning,
                      "'std::atomic_ref::" + std::string(m->name) + "' " + m->reason +
                          " and has no balrog twin (an atomic_ref does not tell its address); "
                          "not rewritten (wait on a std::atomic with balrog::atomic_wait, or on "
                          "a balrog::event or condition variable, instead)",
                      pass_name);
      return;
    }
    const clang::Expr* base = member->getBase();
    if (member->isImplicitAccess() || base == nullptr) {
      sink_->diagnose(sm, member->getMemberLoc(), severity::warning,
                      why + "; not rewritten: the object is implicit (write the call as " +
                          m->twin + "(*this" + (m->takes_arguments ? ", ...)" : ")") + " by hand)",
                      pass_name);
      return;
    }
    // The whole call must be spelled in one place (the file, or one macro argument).
    const clang::CharSourceRange whole =
        spelled_range(sm, base->getBeginLoc(), call.getRParenLoc());
    const clang::CharSourceRange op =
        spelled_range(sm, member->getOperatorLoc(), member->getMemberLoc());
    if (whole.isInvalid() || op.isInvalid()) {
      sink_->diagnose(sm, sm.getExpansionLoc(call.getBeginLoc()), severity::warning,
                      why +
                          "; not rewritten: it is inside a macro body (rewrite the macro by "
                          "hand, or mark the line NOBALROG)",
                      pass_name);
      return;
    }
    if (call.getBeginLoc().isMacroID() && !rewrite_in_macro_args_) {
      sink_->diagnose(sm, call.getBeginLoc(), severity::warning,
                      why +
                          "; not rewritten: it is inside a macro argument (rewrite it by hand, "
                          "or set the sync-types option rewrite-in-macro-args)",
                      pass_name);
      return;
    }
    const std::optional<clang::Token> paren =
        clang::Lexer::findNextToken(op.getEnd(), sm, ctx_->getLangOpts());
    if (!paren || !paren->is(clang::tok::l_paren)) return;
    const clang::SourceLocation object_begin = whole.getBegin();
    if (!sink_->replace(sm, clang::CharSourceRange::getCharRange(object_begin, object_begin),
                        std::string(m->twin) + "(", why, pass_name)) {
      return;
    }
    sink_->replace(sm, clang::CharSourceRange::getTokenRange(op.getBegin(), paren->getLocation()),
                   m->takes_arguments ? ", " : "", why, pass_name);
    edited_.push_back(whole);
    sink_->require_include(sm, object_begin, atomic_wait_header);
  }

  // promise::set_value_at_thread_exit and friends: a fiber has no "thread exit".
  void check_at_thread_exit(const clang::CXXMemberCallExpr& call) {
    const clang::CXXMethodDecl* method = call.getMethodDecl();
    const clang::Expr* object = call.getImplicitObjectArgument();
    const std::string owner = method->getParent()->getName().str();
    sink_->diagnose(ctx_->getSourceManager(), call.getExprLoc(), severity::warning,
                    "'std::" + owner + "::" + method->getName().str() +
                        "' has no balrog twin (a fiber has no thread exit): this call does not "
                        "compile once " +
                        describe(*ctx_, object, "the object") +
                        " is rewritten to balrog::" + owner +
                        " (set the result as the function's last step instead, or keep it a "
                        "std::" +
                        owner + ": mark its declaration NOBALROG(sync-types))",
                    pass_name);
  }

  // A thread_local variable is one per OS thread: every fiber of the thread shares it.
  void handle_thread_local(const clang::SourceManager& sm, const clang::VarDecl& var) {
    if (var.getTSCSpec() == clang::TSCS_unspecified || !var.isFirstDecl() ||
        in_system_header(sm, var.getLocation())) {
      return;
    }
    if (to_fiber_local_) {
      thread_locals_.push_back(&var);  // rewritten at the end, once every use has been seen
      return;
    }
    report_thread_local(sm, var, "");
  }

  void report_thread_local(const clang::SourceManager& sm, const clang::VarDecl& var,
                           const std::string& because) {
    sink_->diagnose(
        sm, var.getLocation(), severity::warning,
        "'" + var.getName().str() +
            "' is thread_local: every fiber of a thread shares one instance (a "
            "balrog::thread is a fiber of the thread that started it, and fibers "
            "interleave at every suspension point); not rewritten" +
            (because.empty() ? std::string(" (keep per-fiber state in the fiber's function or an "
                                           "object passed to it, or mark the declaration "
                                           "NOBALROG(sync-types) when one per OS thread is "
                                           "intended)")
                             : " to a balrog::fiber_local: " + because +
                                   " (rewrite it by hand, or mark the declaration "
                                   "NOBALROG(sync-types) when one per OS thread is intended)"),
        pass_name);
  }

  // Why the initializer of `var` cannot move into a factory lambda without captures: it names a
  // local variable, a parameter or `this`. Empty when it can.
  static std::string init_uses_locals(const clang::Expr* init) {
    struct finder : clang::RecursiveASTVisitor<finder> {
      std::string found;
      bool VisitDeclRefExpr(clang::DeclRefExpr* ref) {
        if (const auto* v = llvm::dyn_cast<clang::VarDecl>(ref->getDecl())) {
          if (v->hasLocalStorage() && found.empty()) found = "'" + v->getName().str() + "'";
        }
        return true;
      }
      bool VisitCXXThisExpr(clang::CXXThisExpr* e) {
        if (!e->isImplicit() || found.empty()) found = "'this'";
        return true;
      }
    } f;
    if (init != nullptr) f.TraverseStmt(const_cast<clang::Expr*>(init));
    return f.found;
  }

  // The offsets [begin, end) of a file range, or false when it is not in `fid`.
  static bool offsets(const clang::SourceManager& sm, clang::CharSourceRange r, clang::FileID fid,
                      const clang::LangOptions& lang, unsigned& begin, unsigned& end) {
    const clang::CharSourceRange c = clang::Lexer::makeFileCharRange(r, sm, lang);
    if (c.isInvalid() || sm.getFileID(c.getBegin()) != fid) return false;
    begin = sm.getFileOffset(c.getBegin());
    end = sm.getFileOffset(c.getEnd());
    return true;
  }

  // `thread_local T x = e;` becomes `balrog::fiber_local<T> x{[]() -> T { return e; }};` (with
  // `static` in a function), and each use of x `(*x)`; or a report saying why not.
  void to_fiber_local(const clang::VarDecl& var) {
    const clang::SourceManager& sm = ctx_->getSourceManager();
    const clang::LangOptions& lang = ctx_->getLangOpts();
    const auto not_rewritten = [&](const std::string& because) {
      report_thread_local(sm, var, because);
    };
    if (var.isStaticDataMember()) return not_rewritten("it is a static data member");
    if (var.hasExternalStorage() || var.getPreviousDecl() != nullptr ||
        var.getMostRecentDecl() != &var) {
      return not_rewritten("it is declared more than once (extern)");
    }
    if (var.getType()->isArrayType()) {
      return not_rewritten("it is an array (make it a std::array first)");
    }
    if (var.getType()->isReferenceType()) return not_rewritten("it is a reference");
    if (var.isConstexpr() || var.hasAttr<clang::ConstInitAttr>()) {
      return not_rewritten("it is constexpr or constinit (a fiber_local is made at run time)");
    }
    const clang::TypeSourceInfo* tsi = var.getTypeSourceInfo();
    if (tsi == nullptr || var.getType()->getContainedDeducedType() != nullptr) {
      return not_rewritten("its type is deduced (spell the type)");
    }
    if (const std::string local = init_uses_locals(var.getInit()); !local.empty()) {
      return not_rewritten("its initializer uses " + local +
                           ", which a fiber's own copy cannot see");
    }
    // The declaration: one declarator, spelled in one file, with nothing else of this pass in it.
    const clang::CharSourceRange decl = spelled_range(sm, var.getBeginLoc(), var.getEndLoc());
    if (decl.isInvalid()) return not_rewritten("it is declared inside a macro");
    const clang::FileID fid = sm.getFileID(decl.getBegin());
    const std::optional<clang::Token> after = clang::Lexer::findNextToken(decl.getEnd(), sm, lang);
    if (!after || !after->is(clang::tok::semi)) {
      return not_rewritten("its declaration declares several variables");
    }
    const clang::CharSourceRange name = spelled_range(sm, var.getLocation(), var.getLocation());
    const clang::CharSourceRange type =
        spelled_range(sm, tsi->getTypeLoc().getBeginLoc(), tsi->getTypeLoc().getEndLoc());
    unsigned decl_begin = 0, decl_end = 0, name_begin = 0, name_end = 0, type_begin = 0,
             type_end = 0;
    if (name.isInvalid() || type.isInvalid() ||
        !offsets(sm, decl, fid, lang, decl_begin, decl_end) ||
        !offsets(sm, name, fid, lang, name_begin, name_end) ||
        !offsets(sm, type, fid, lang, type_begin, type_end)) {
      return not_rewritten("it is declared inside a macro");
    }
    const llvm::StringRef buffer = sm.getBufferData(fid);
    // Between the type and the name only qualifiers and declarator punctuation (`int* const p`),
    // never an earlier declarator (`int a, b`).
    std::string between = buffer.slice(type_end, name_begin).str();
    for (const char* word : {"volatile", "const"}) {
      for (std::size_t at = between.find(word); at != std::string::npos; at = between.find(word)) {
        between.erase(at, std::strlen(word));
      }
    }
    if (between.find_first_not_of("*& \t\n") != std::string::npos) {
      return not_rewritten("its declaration declares several variables");
    }
    for (const clang::CharSourceRange& e : edited_) {
      unsigned b = 0, en = 0;
      if (offsets(sm, e, fid, lang, b, en) && b < decl_end && en > decl_begin) {
        return not_rewritten("its declaration has another rewrite of this pass in it");
      }
    }
    // Every use must be rewritable too.
    std::vector<clang::CharSourceRange> uses;
    for (const clang::DeclRefExpr* use : thread_local_uses_[var.getCanonicalDecl()]) {
      const clang::SourceLocation begin =
          use->getQualifierLoc() ? use->getQualifierLoc().getBeginLoc() : use->getLocation();
      const clang::CharSourceRange r = spelled_range(sm, begin, use->getNameInfo().getEndLoc());
      if (r.isInvalid() || (begin.isMacroID() && !rewrite_in_macro_args_)) {
        return not_rewritten("a use of it at line " +
                             std::to_string(sm.getExpansionLineNumber(begin)) +
                             " is inside a macro");
      }
      uses.push_back(r);
    }
    // The new declaration.
    std::string prefix = buffer.slice(decl_begin, type_begin).str();
    for (const char* word : {"thread_local", "__thread", "_Thread_local", "const", "volatile"}) {
      for (std::size_t at = prefix.find(word); at != std::string::npos; at = prefix.find(word)) {
        prefix.erase(at, std::strlen(word));
      }
    }
    std::string specifiers;
    for (llvm::StringRef rest = prefix; !rest.empty();) {
      auto [word, tail] = rest.split(' ');
      word = word.trim();
      if (!word.empty()) specifiers += word.str() + " ";
      rest = tail;
    }
    if (!var.isFileVarDecl() && specifiers.find("static") == std::string::npos) {
      specifiers = "static " + specifiers;
    }
    clang::PrintingPolicy policy(lang);
    policy.SuppressTagKeyword = true;
    policy.SuppressUnwrittenScope = true;
    const std::string t = var.getType().getAsString(policy);
    std::string text = specifiers + "balrog::fiber_local<" + t + "> " + var.getName().str();
    const llvm::StringRef init = buffer.slice(name_end, decl_end).trim();
    if (!init.empty()) {
      std::string made;
      if (init.startswith("=")) {
        made = init.drop_front().trim().str();
      } else if (init.startswith("(") || init.startswith("{")) {
        made = t + init.str();
      } else {
        return not_rewritten("its declarator is not a plain name");
      }
      text += "{[]() -> " + t + " { return " + made + "; }}";
    }
    const std::string why_text = "'" + var.getName().str() +
                                 "' is thread_local: every fiber of a thread shares one instance";
    if (!sink_->replace(sm, decl, text, why_text, pass_name)) return;
    sink_->require_include(sm, decl.getBegin(), "<balrog/fiber_local.hpp>");
    for (const clang::CharSourceRange& r : uses) {
      const std::string written = clang::Lexer::getSourceText(r, sm, lang).str();
      sink_->replace(sm, r, "(*" + written + ")", why_text, pass_name);
    }
  }

  // `mutex` named through a using-declaration: it follows the declaration (rewritten by
  // handle_using_decl), unless that is in a system header, where it never changes.
  void handle_using_type(const clang::SourceManager& sm, clang::TypeLoc tl) {
    const auto etl = tl.getAs<clang::ElaboratedTypeLoc>();
    if (etl.isNull() || !first_visit(etl) || in_system_header(sm, etl.getBeginLoc())) return;
    const auto using_tl = etl.getNamedTypeLoc().getAs<clang::UsingTypeLoc>();
    if (using_tl.isNull()) return;
    const clang::UsingShadowDecl* shadow = using_tl.getFoundDecl();
    const sync_type* t = lookup(shadow->getTargetDecl());
    if (t == nullptr) return;
    if (t->twin == nullptr) {
      warn_no_twin(sm, etl.getBeginLoc(), *t);
      return;
    }
    if (!in_system_header(sm, shadow->getIntroducer()->getLocation())) return;
    rewrite_elaborated(sm, etl, *t);
  }

  // `using std::mutex;` becomes `using balrog::mutex;`, so that the unqualified uses follow it
  // without an edit each.
  void handle_using_decl(const clang::SourceManager& sm, const clang::UsingDecl& ud) {
    if (in_system_header(sm, ud.getBeginLoc()) || ud.shadow_size() == 0) return;
    const sync_type* t = lookup((*ud.shadow_begin())->getTargetDecl());
    if (t == nullptr || t->twin == nullptr) return;  // the uses of a recursive mutex are diagnosed
    if (rewrite(sm, ud.getQualifierLoc().getBeginLoc(), ud.getNameInfo().getEndLoc(),
                twin_spelling(*t, ud.getQualifierLoc()), *t)) {
      done_.usings.insert(&ud);
    }
  }

  // --- Tracing: which spelled type an object's type comes from, and what became of it. ---

  fate type_fate(clang::TypeLoc tl, kind want_cv, bool* deduced = nullptr) const {
    type_walker walker(done_, want_cv, 0);
    walker.TraverseTypeLoc(tl);
    if (deduced != nullptr) *deduced = walker.deduced();
    return walker.result();
  }

  fate decl_fate(const clang::ValueDecl* d, kind want_cv, unsigned depth) const {
    const auto* dd = llvm::dyn_cast_or_null<clang::DeclaratorDecl>(d);
    if (dd == nullptr || dd->getTypeSourceInfo() == nullptr) return fate::unknown;
    bool deduced = false;
    const fate f = type_fate(dd->getTypeSourceInfo()->getTypeLoc(), want_cv, &deduced);
    if (f != fate::unknown || !deduced) return f;
    const auto* var = llvm::dyn_cast<clang::VarDecl>(dd);
    return var != nullptr ? trace(var->getInit(), want_cv, depth + 1) : fate::unknown;
  }

  // The fate of the spelled type that the object `e` denotes has, e.g. for `cv` in `cv.wait(lk)`
  // the std::condition_variable written in cv's declaration, and for `lk` the std::mutex in
  // `std::unique_lock<std::mutex> lk` (or, for `std::unique_lock lk(m)`, in m's declaration).
  fate trace(const clang::Expr* e, kind want_cv, unsigned depth) const {
    if (e == nullptr || depth > max_depth) return fate::unknown;
    e = e->IgnoreUnlessSpelledInSource()->IgnoreParens();
    if (const auto* u = llvm::dyn_cast<clang::UnaryOperator>(e)) {
      const bool through = u->getOpcode() == clang::UO_Deref || u->getOpcode() == clang::UO_AddrOf;
      return through ? trace(u->getSubExpr(), want_cv, depth + 1) : fate::unknown;
    }
    if (const auto* sub = llvm::dyn_cast<clang::ArraySubscriptExpr>(e)) {
      return trace(sub->getBase(), want_cv, depth + 1);
    }
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) {
      return decl_fate(ref->getDecl(), want_cv, depth);
    }
    if (const auto* member = llvm::dyn_cast<clang::MemberExpr>(e)) {
      return decl_fate(member->getMemberDecl(), want_cv, depth);
    }
    if (const auto* cast = llvm::dyn_cast<clang::CXXFunctionalCastExpr>(e)) {
      bool deduced = false;
      const fate f = type_fate(cast->getTypeInfoAsWritten()->getTypeLoc(), want_cv, &deduced);
      return f != fate::unknown || !deduced ? f : trace(cast->getSubExpr(), want_cv, depth + 1);
    }
    if (const auto* construct = llvm::dyn_cast<clang::CXXConstructExpr>(e)) {
      if (const auto* tmp = llvm::dyn_cast<clang::CXXTemporaryObjectExpr>(construct)) {
        bool deduced = false;
        const fate f = type_fate(tmp->getTypeSourceInfo()->getTypeLoc(), want_cv, &deduced);
        if (f != fate::unknown || !deduced) return f;
      }
      // `std::unique_lock lk(m)`: the lock is of whatever m is.
      std::vector<fate> args;
      for (const clang::Expr* arg : construct->arguments()) {
        const sync_type* t = lookup(arg->getType());
        if (t != nullptr && t->what == want_cv) {
          args.push_back(trace(arg, want_cv, depth + 1));
        }
      }
      return combine(args);
    }
    if (const auto* call = llvm::dyn_cast<clang::CallExpr>(e)) {
      const clang::FunctionDecl* fn = call->getDirectCallee();
      if (fn == nullptr) return fate::unknown;
      const clang::FunctionTypeLoc ftl = fn->getFunctionTypeLoc();
      if (ftl.isNull()) return fate::unknown;
      bool deduced = false;
      const fate f = type_fate(ftl.getReturnLoc(), want_cv, &deduced);
      return deduced ? fate::unknown : f;
    }
    return fate::unknown;
  }

  // --- The checks. ---

  void check_native_handle(const clang::CXXMemberCallExpr& call) {
    const sync_type* t = lookup(call.getMethodDecl()->getParent());
    if (t == nullptr || t->twin == nullptr) return;
    const clang::Expr* object = call.getImplicitObjectArgument();
    if (trace(object, t->what, 0) == fate::kept) return;
    const std::string name = describe(*ctx_, object, "the object");
    sink_->diagnose(ctx_->getSourceManager(), call.getExprLoc(), severity::warning,
                    "'" + std_name(*t) + "::native_handle' has no balrog twin (" + t->twin +
                        " is not a pthread object): this call does not compile once " + name +
                        " is rewritten (keep it a " + std_name(*t) +
                        ": mark its declaration NOBALROG(sync-types))",
                    pass_name);
  }

  void check_wait(const clang::CXXMemberCallExpr& call) {
    const sync_type* t = lookup(call.getMethodDecl()->getParent());
    if (t == nullptr || call.getNumArgs() == 0) return;
    const clang::SourceManager& sm = ctx_->getSourceManager();
    const clang::Expr* object = call.getImplicitObjectArgument();
    const fate cv = trace(object, kind::condition_variable, 0);
    const std::string cv_name = describe(*ctx_, object, "the condition variable");
    if (llvm::StringRef(t->name) == "condition_variable_any") {
      // C++20's interruptible waits: balrog's twin has none (balrog cancels fibers instead).
      for (const clang::ParmVarDecl* p : call.getMethodDecl()->parameters()) {
        const clang::CXXRecordDecl* r = p->getType().getNonReferenceType()->getAsCXXRecordDecl();
        if (r == nullptr || !r->isInStdNamespace() || r->getIdentifier() == nullptr ||
            r->getName() != "stop_token" || cv == fate::kept) {
          continue;
        }
        sink_->diagnose(sm, call.getExprLoc(), severity::warning,
                        "balrog::condition_variable_any has no std::stop_token overloads: this "
                        "call does not compile once " +
                            cv_name +
                            " is rewritten (cancel the fiber instead, or keep a "
                            "std::condition_variable_any: mark its declaration "
                            "NOBALROG(sync-types))",
                        pass_name);
        return;
      }
      return;  // condition_variable_any (either one) takes any lock
    }
    const fate lock = trace(call.getArg(0), kind::lockable, 0);
    if (cv == fate::unknown || lock == fate::unknown || cv == lock) return;
    const std::string lock_name = describe(*ctx_, call.getArg(0), "this lock");
    const std::string message =
        cv == fate::rewritten
            ? cv_name +
                  " becomes a balrog::condition_variable, which waits only with a "
                  "std::unique_lock<balrog::mutex>, but the mutex of " +
                  lock_name +
                  " stays a std::mutex (not rewritten): the rewritten code does not compile "
                  "(let both be rewritten, or mark the condition variable's declaration "
                  "NOBALROG(sync-types) too)"
            : cv_name +
                  " stays a std::condition_variable (not rewritten), which waits only with a "
                  "std::unique_lock<std::mutex>, but the mutex of " +
                  lock_name +
                  " becomes a balrog::mutex: the rewritten code does not compile (let both be "
                  "rewritten, or mark the mutex's declaration NOBALROG(sync-types) too)";
    sink_->diagnose(sm, call.getExprLoc(), severity::warning, message, pass_name);
  }

  // The type the code spells for the object that `ce` constructs: its variable's, its
  // member's, or its functional cast's. Null when nothing is spelled.
  clang::TypeLoc spelled_type(const clang::CXXConstructExpr& ce) const {
    if (const auto* tmp = llvm::dyn_cast<clang::CXXTemporaryObjectExpr>(&ce)) {
      return tmp->getTypeSourceInfo()->getTypeLoc();
    }
    const auto written = [](const clang::DeclaratorDecl* d) {
      return d != nullptr && d->getTypeSourceInfo() != nullptr
                 ? d->getTypeSourceInfo()->getTypeLoc()
                 : clang::TypeLoc();
    };
    clang::DynTypedNodeList parents = ctx_->getParents(ce);
    for (unsigned hops = 0; hops < max_depth && !parents.empty(); ++hops) {
      const clang::DynTypedNode& p = parents[0];
      if (const auto* var = p.get<clang::VarDecl>()) return written(var);
      if (const auto* field = p.get<clang::FieldDecl>()) return written(field);
      if (const auto* init = p.get<clang::CXXCtorInitializer>()) return written(init->getMember());
      if (const auto* cast = p.get<clang::CXXFunctionalCastExpr>()) {
        return cast->getTypeInfoAsWritten()->getTypeLoc();
      }
      const auto* e = p.get<clang::Expr>();
      if (e == nullptr ||
          !llvm::isa<clang::ExprWithCleanups, clang::MaterializeTemporaryExpr,
                     clang::CXXBindTemporaryExpr, clang::ImplicitCastExpr, clang::ParenExpr>(e)) {
        return {};
      }
      parents = ctx_->getParents(p);
    }
    return {};
  }

  // `std::lock_guard<std::mutex> g(m)`: the lock's spelled mutex type and m's must go the same
  // way. (CTAD, `std::lock_guard g(m)`, follows m by itself.)
  void check_lock(const clang::CXXConstructExpr& ce) {
    const clang::TypeLoc written = spelled_type(ce);
    if (written.isNull()) return;
    bool deduced = false;
    const fate lock = type_fate(written, kind::lockable, &deduced);
    if (deduced || lock == fate::unknown) return;
    std::vector<fate> fates;
    const clang::Expr* first = nullptr;
    const sync_type* type = nullptr;
    for (const clang::Expr* arg : ce.arguments()) {
      const sync_type* t = lookup(arg->getType());
      if (t == nullptr || t->what != kind::lockable) continue;
      fates.push_back(trace(arg, kind::lockable, 0));
      if (first == nullptr) {
        first = arg;
        type = t;
      }
    }
    const fate mutex = combine(fates);
    if (mutex == fate::unknown || mutex == lock) return;
    const std::string name = describe(*ctx_, first, "the mutex");
    const std::string twin = type->twin != nullptr ? type->twin : "balrog::mutex";
    const std::string message =
        lock == fate::rewritten
            ? name + " stays a " + std_name(*type) +
                  " (not rewritten), but the type of this lock is rewritten to take a " + twin +
                  ": the rewritten code does not compile (let both be rewritten, or mark this "
                  "line NOBALROG(sync-types) too)"
            : name + " becomes a " + twin + ", but the type of this lock still takes a " +
                  std_name(*type) +
                  " (not rewritten): the rewritten code does not compile (let both be "
                  "rewritten, or mark the mutex's declaration NOBALROG(sync-types) too)";
    sink_->diagnose(ctx_->getSourceManager(), first->getBeginLoc(), severity::warning, message,
                    pass_name);
  }

  // The std synchronization object a parameter of type `t` refers to: T, T&, T&&, T*.
  static const sync_type* lookup_object(clang::QualType t) {
    t = t.getNonReferenceType();
    if (t->isPointerType()) t = t->getPointeeType();
    return lookup(t);
  }

  void check_arguments(const clang::Expr& e) {
    const clang::FunctionDecl* fn = nullptr;
    llvm::ArrayRef<const clang::Expr*> args;
    if (const auto* call = llvm::dyn_cast<clang::CallExpr>(&e)) {
      fn = call->getDirectCallee();
      args = llvm::ArrayRef(call->getArgs(), call->getNumArgs());
    } else if (const auto* ce = llvm::dyn_cast<clang::CXXConstructExpr>(&e)) {
      fn = ce->getConstructor();
      args = llvm::ArrayRef(ce->getArgs(), ce->getNumArgs());
    }
    if (fn == nullptr) return;
    // A member operator call passes the object as argument 0.
    const unsigned shift =
        llvm::isa<clang::CXXOperatorCallExpr>(&e) && llvm::isa<clang::CXXMethodDecl>(fn) ? 1 : 0;
    for (unsigned i = shift; i < args.size() && i - shift < fn->getNumParams(); ++i) {
      const clang::ParmVarDecl* param = fn->getParamDecl(i - shift);
      const sync_type* t = lookup_object(param->getType());
      if (t == nullptr || t->twin == nullptr || param->getTypeSourceInfo() == nullptr) continue;
      bool deduced = false;
      const fate wanted = type_fate(param->getTypeSourceInfo()->getTypeLoc(), t->what, &deduced);
      const fate given = trace(args[i], t->what, 0);
      if (deduced || wanted == fate::unknown || given == fate::unknown || wanted == given) {
        continue;
      }
      const std::string name = describe(*ctx_, args[i], "the argument");
      const std::string callee = "'" + fn->getQualifiedNameAsString() + "'";
      const std::string message =
          given == fate::rewritten
              ? name + " becomes a " + t->twin + ", but this parameter of " + callee +
                    " still takes a " + std_name(*t) +
                    " (not rewritten): the rewritten code does not compile (keep " + name + " a " +
                    std_name(*t) + ": mark its declaration NOBALROG(sync-types))"
              : name + " stays a " + std_name(*t) + " (not rewritten), but this parameter of " +
                    callee + " is rewritten to take a " + t->twin +
                    ": the rewritten code does not compile (let both be rewritten, or mark the "
                    "parameter NOBALROG(sync-types) too)";
      sink_->diagnose(ctx_->getSourceManager(), args[i]->getBeginLoc(), severity::warning, message,
                      pass_name);
    }
  }

  void check_notify_at_exit(const clang::CallExpr& call) {
    if (call.getNumArgs() == 0 || trace(call.getArg(0), kind::condition_variable, 0) == fate::kept)
      return;
    sink_->diagnose(ctx_->getSourceManager(), call.getBeginLoc(), severity::warning,
                    "'std::notify_all_at_thread_exit' takes a std::condition_variable and has no "
                    "balrog twin: this call does not compile once " +
                        describe(*ctx_, call.getArg(0), "the condition variable") +
                        " is rewritten (call notify_all() as the thread's last step instead, or "
                        "mark the condition variable's declaration NOBALROG(sync-types))",
                    pass_name);
  }

  // A type spelled in a macro argument is spelled in the file, and it is the same type in every
  // expansion: rewriting it is safe, and leaving it would mix std and balrog types (the lock
  // around a rewritten mutex no longer compiles). Hence on by default, unlike blocking-calls.
  bool rewrite_in_macro_args_;
  rewrite_sink* sink_ = nullptr;
  clang::ASTContext* ctx_ = nullptr;
  rewrite_record done_;
  std::set<std::pair<const void*, const void*>> visited_;
  std::vector<std::pair<const char*, const clang::Expr*>> checks_;
  // thread-local-to-fiber-local: the variables to rewrite, their uses, and where this pass
  // proposed other edits (a declaration with one of them in it is reported instead).
  bool to_fiber_local_;
  std::vector<const clang::VarDecl*> thread_locals_;
  std::map<const clang::VarDecl*, std::vector<const clang::DeclRefExpr*>> thread_local_uses_;
  std::vector<clang::CharSourceRange> edited_;
};

}  // namespace

std::unique_ptr<pass> make_sync_types(const pass_config& config) {
  return std::make_unique<sync_types>(config);
}

}  // namespace balrog::gen
