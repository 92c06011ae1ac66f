#include "blocking-calls/blocking_calls.hpp"

#include "api_keys.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/StmtCXX.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>
#include <llvm/ADT/DenseSet.h>

#include <cctype>
#include <map>
#include <optional>
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

// The function (not lambda) whose body holds `node`, if any: what callers of the code call.
const clang::FunctionDecl* enclosing_function(clang::ASTContext& ctx,
                                              const clang::DynTypedNode& node) {
  clang::DynTypedNodeList parents = ctx.getParents(node);
  while (!parents.empty()) {
    const clang::DynTypedNode& p = parents[0];
    if (const auto* fn = p.get<clang::FunctionDecl>()) {
      if (const auto* method = llvm::dyn_cast<clang::CXXMethodDecl>(fn);
          method == nullptr || !method->getParent()->isLambda()) {
        return fn;
      }
    }
    parents = ctx.getParents(p);
  }
  return nullptr;
}

// The declaration a use of `fd` stands for in a template as written: a specialization's
// pattern, canonical.
const clang::FunctionDecl* pattern_of(const clang::FunctionDecl* fd) {
  if (const clang::FunctionDecl* p = fd->getTemplateInstantiationPattern()) fd = p;
  return fd->getCanonicalDecl();
}

// Splits a macro use as spelled (`NAME`, `NAME(a, (b, c), "d)")`) into its arguments.
// False when the text is not a complete use.
bool macro_arguments(llvm::StringRef text, std::vector<std::string>& args) {
  size_t i = 0;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) {
    ++i;
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) return true;  // object-like
  if (text[i] != '(') return false;
  int depth = 0;
  std::string current;
  for (++i; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      const size_t start = i;
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      current += text.substr(start, i - start + 1).str();
      continue;
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ')' && depth == 0) {
      const llvm::StringRef last = llvm::StringRef(current).trim();
      if (!last.empty() || !args.empty()) args.push_back(last.str());
      return i + 1 == text.size();
    }
    if (c == ',' && depth == 0) {
      args.push_back(llvm::StringRef(current).trim().str());
      current.clear();
      continue;
    }
    current += c;
  }
  return false;
}

// A macro entry's replacement with $1..$9 replaced by the use's arguments; empty when the use
// has fewer arguments than the replacement names.
std::string substitute(llvm::StringRef pattern, const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '$' && i + 1 < pattern.size() && pattern[i + 1] >= '1' &&
        pattern[i + 1] <= '9') {
      const size_t n = pattern[i + 1] - '1';
      if (n >= args.size()) return {};
      out += args[n];
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
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

// A C translation unit (a .c file): calls are rewritten to the maps' C twins (c-replacement,
// c-header), never to their C++ replacements.
bool c_file(const clang::ASTContext& ctx) { return !ctx.getLangOpts().CPlusPlus; }

// What a call of `f` becomes here, and the header that declares it: the C twin in a C file
// (empty when the entry has none), the replacement elsewhere.
const std::string& replacement_in(const clang::ASTContext& ctx, const api_function& f) {
  return c_file(ctx) ? f.c_replacement : f.replacement;
}
const std::string& header_in(const clang::ASTContext& ctx, const api_function& f) {
  return c_file(ctx) ? f.c_header : f.header;
}

// Why an entry without a C twin stays as it is in a C file.
std::string no_c_twin(const api_function& f, const std::string& library) {
  return "; not rewritten: this is a C file, and the " + library +
         " map has no C twin for it (its twin '" + f.replacement +
         "' is C++; a map entry's c-replacement: names a C twin)";
}

class blocking_calls final : public pass, public MatchFinder::MatchCallback {
 public:
  explicit blocking_calls(const pass_config& config)
      : rewrite_in_macro_args_(config.flag("rewrite-in-macro-args", false)) {
    for (const api_map& m : config.maps) {
      for (const api_function& f : m.functions) {
        const entry e{&f, m.system_headers_only, &m};
        switch (f.what) {
          case api_function::form::function:
            entries_[normalized_key(f.name)].push_back(e);
            break;
          case api_function::form::method:
            methods_[normalized_key(f.name)].push_back(e);
            break;
          case api_function::form::constructor:
            constructors_[normalized_key(f.name)].push_back(e);
            break;
          case api_function::form::macro:
            macros_.try_emplace(f.name, e);
            break;
        }
      }
    }
  }

  void register_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    user_finder_ = &finder;
    add_matchers(finder, sink);
  }

  // balrog-gen: the same matchers for the few system declarations that hold user code (the
  // runner walks no other). The system headers' blocking calls are found by the walk over the
  // user's declarations instead (onEndOfTranslationUnit), in the bodies of the system functions
  // user code calls: all a report names (reached()).
  bool register_system_matchers(MatchFinder& finder, rewrite_sink& sink) override {
    const bool any = !entries_.empty() || !methods_.empty() || !constructors_.empty();
    if (!any) return false;
    scan_system_ = true;
    add_matchers(finder, sink);
    // That walk needs the ASTContext, which only a match brings: any use of a function or
    // constructor in user code, which is all the walk looks for.
    if (user_finder_ != nullptr) {
      user_finder_->addMatcher(declRefExpr().bind("context"), &context_);
      user_finder_->addMatcher(memberExpr().bind("context"), &context_);
      user_finder_->addMatcher(cxxConstructExpr().bind("context"), &context_);
    }
    return true;
  }

  void add_matchers(MatchFinder& finder, rewrite_sink& sink) {
    sink_ = &sink;
    // Members and constructors: only when a map has such entries (no cost otherwise).
    // Members are matched by their own name and checked by qualified name in handle_member:
    // hasName("::ns::cls::f") never matches a member of a class template specialization
    // (tcp::socket::read_some is basic_stream_socket<tcp, executor>'s, whose qualified name
    // has the template arguments), and a map names the template.
    std::set<std::string> method_names_set;
    for (const auto& kv : methods_) {
      method_names_set.insert(kv.first.substr(kv.first.rfind("::") + 2));
    }
    method_names_.assign(method_names_set.begin(), method_names_set.end());
    std::vector<llvm::StringRef> method_names(method_names_.begin(), method_names_.end());
    if (!method_names.empty()) {
      method_decl_.emplace(
          cxxMethodDecl(hasAnyName(llvm::ArrayRef<llvm::StringRef>(method_names))));
      finder.addMatcher(traverse(clang::TK_IgnoreUnlessSpelledInSource,
                                 memberExpr(member(cxxMethodDecl(hasAnyName(
                                                llvm::ArrayRef<llvm::StringRef>(method_names)))))
                                     .bind("member")),
                        this);
    }
    std::vector<llvm::StringRef> class_names;
    for (const auto& kv : constructors_) class_names.push_back(kv.first);
    if (!class_names.empty()) {
      constructor_decl_.emplace(
          cxxConstructorDecl(ofClass(hasAnyName(llvm::ArrayRef<llvm::StringRef>(class_names)))));
      finder.addMatcher(
          traverse(clang::TK_IgnoreUnlessSpelledInSource,
                   cxxConstructExpr(hasDeclaration(cxxConstructorDecl(ofClass(
                                        hasAnyName(llvm::ArrayRef<llvm::StringRef>(class_names))))))
                       .bind("construct")),
          this);
    }
    if (entries_.empty()) return;
    std::vector<llvm::StringRef> names;
    for (const auto& kv : entries_) names.push_back(kv.first);
    const auto mapped = functionDecl(hasAnyName(llvm::ArrayRef<llvm::StringRef>(names)));
    mapped_decl_.emplace(mapped);
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
    } else if (const auto* me = result.Nodes.getNodeAs<clang::MemberExpr>("member")) {
      handle_member(ctx, sm, *me);
    } else if (const auto* ce = result.Nodes.getNodeAs<clang::CXXConstructExpr>("construct")) {
      handle_construct(ctx, sm, *ce);
    }
  }

  // Blocking calls found in system headers become reports only where user code calls the
  // function that holds them: one walk over the user's own declarations, and only in TUs
  // where a system header holds such a call at all.
  // balrog-gen (scan_system_): the first call, at the end of the user's declarations, walks
  // them all and finds the system headers' calls as it goes; a second one (after the system
  // declarations that hold user code, if any) reports what that walk found.
  void onEndOfTranslationUnit() override {
    if (scan_system_ && !reach_walked_) {
      reach_walked_ = true;
      if (ctx_ == nullptr) ctx_ = context_.ctx;
      if (ctx_ != nullptr) reach_walk(false);
    } else if (!system_calls_.empty() && ctx_ != nullptr) {
      reach_walk(true);
    }
    system_calls_.clear();
  }

 private:
  struct entry {
    const api_function* fn;
    bool system_only;
    const api_map* map;
  };

  // A blocking call inside a system header, waiting for user code that reaches it.
  struct system_call {
    clang::SourceLocation at;
    blocking_call call;
  };

  // Walks the user's declarations for the functions they call (reached()). Until every
  // system call found so far is reported, or (balrog-gen, scan_system_) all of them.
  void reach_walk(bool until_none_left) {
    reach_visitor v(*this);
    const clang::SourceManager& sm = ctx_->getSourceManager();
    for (clang::Decl* d : ctx_->getTranslationUnitDecl()->decls()) {
      if (d->getLocation().isValid() && sm.isInSystemHeader(sm.getExpansionLoc(d->getLocation()))) {
        continue;
      }
      v.TraverseDecl(d);
      if (until_none_left && system_calls_.empty()) break;  // every one reported
    }
  }

  // The blocking calls in one system function's own code, found where the system matchers
  // would find them (consider()'s system-header branch): its body, constructor initializers
  // and default arguments as written, lambdas included (never an instantiation, nor a local
  // class's member functions: their calls are theirs).
  class system_scanner : public clang::RecursiveASTVisitor<system_scanner> {
    using base = clang::RecursiveASTVisitor<system_scanner>;

   public:
    system_scanner(blocking_calls& pass, clang::ASTContext& ctx, const clang::FunctionDecl& key,
                   const clang::FunctionDecl& root)
        : pass_(pass), ctx_(ctx), key_(key), root_(root) {
      coroutine_.push_back(is_coroutine_body(root.getBody()));
    }

    bool TraverseDecl(clang::Decl* d) {
      if (d != &root_ && d != nullptr && llvm::isa<clang::FunctionDecl>(d)) return true;
      return base::TraverseDecl(d);
    }
    // inside_coroutine(): the innermost function, lambda or default argument decides.
    bool TraverseParmVarDecl(clang::ParmVarDecl* d) {
      coroutine_.push_back(false);
      const bool ok = base::TraverseParmVarDecl(d);
      coroutine_.pop_back();
      return ok;
    }
    bool TraverseLambdaExpr(clang::LambdaExpr* e) {
      coroutine_.push_back(is_coroutine_body(e->getCallOperator()->getBody()));
      const bool ok = base::TraverseLambdaExpr(e);
      coroutine_.pop_back();
      return ok;
    }

    bool VisitCallExpr(clang::CallExpr* call) {
      pass_.scan_call(ctx_, key_, *call);
      return true;
    }
    bool VisitCXXConstructExpr(clang::CXXConstructExpr* ce) {
      pass_.scan_construct(ctx_, key_, *ce);
      return true;
    }
    bool VisitUnresolvedLookupExpr(clang::UnresolvedLookupExpr* e) {
      pass_.scan_dependent(ctx_, key_, *e, coroutine_.back());
      return true;
    }

   private:
    static bool is_coroutine_body(const clang::Stmt* body) {
      return body != nullptr && llvm::isa<clang::CoroutineBodyStmt>(body);
    }

    blocking_calls& pass_;
    clang::ASTContext& ctx_;
    const clang::FunctionDecl& key_;
    const clang::FunctionDecl& root_;
    std::vector<bool> coroutine_;
  };

  // Once per function user code calls: the blocking calls its code in system headers holds.
  void scan_system_function(const clang::FunctionDecl& key) {
    const clang::SourceManager& sm = ctx_->getSourceManager();
    for (const clang::FunctionDecl* d : key.redecls()) {
      // What the matchers skip: implicit and defaulted functions, instantiations.
      if (d->isImplicit() || d->isDefaulted() || d->isTemplateInstantiation()) continue;
      const clang::SourceLocation l = d->getLocation();
      if (l.isInvalid() || !sm.isInSystemHeader(sm.getExpansionLoc(l))) continue;
      system_scanner(*this, *ctx_, key, *d).TraverseDecl(const_cast<clang::FunctionDecl*>(d));
    }
  }

  // A node the matchers match (`matcher` as registered) that is also an entry of the maps.
  template <typename Matcher, typename Node>
  static bool matches(const std::optional<Matcher>& matcher, const Node& node,
                      clang::ASTContext& ctx) {
    return matcher && !match(*matcher, node, ctx).empty();
  }

  void add_system_call(const clang::FunctionDecl& key, clang::SourceLocation at,
                       const std::string& name, const entry& e) {
    system_calls_[&key].push_back({at, {name, e.map->library, ""}});
  }

  // handle_reference and handle_member, in a system header.
  void scan_call(clang::ASTContext& ctx, const clang::FunctionDecl& key,
                 const clang::CallExpr& call) {
    const clang::Expr* callee = call.getCallee();
    if (callee == nullptr) return;
    const clang::Expr* target = callee->IgnoreParenImpCasts();
    const clang::SourceManager& sm = ctx.getSourceManager();
    if (const auto* me = llvm::dyn_cast<clang::MemberExpr>(target)) {
      const auto* md = llvm::dyn_cast<clang::CXXMethodDecl>(me->getMemberDecl());
      if (md == nullptr || methods_.empty()) return;
      const entry* e = lookup_in(methods_, qualified_key(*md), *md, sm);
      if (e == nullptr || !e->fn->blocks || !matches(method_decl_, *md, ctx)) return;
      const clang::SourceLocation at = me->getMemberLoc();
      if (!sm.isInSystemHeader(sm.getExpansionLoc(at))) return;
      add_system_call(key, at, qualified_key(*md).substr(2), *e);
      return;
    }
    const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(target);
    if (ref == nullptr || entries_.empty()) return;
    // is_callee(): the callee through parentheses and implicit casts only.
    for (const clang::Expr* e = callee; e != ref;) {
      if (const auto* cast = llvm::dyn_cast<clang::ImplicitCastExpr>(e)) {
        e = cast->getSubExpr();
      } else if (const auto* paren = llvm::dyn_cast<clang::ParenExpr>(e)) {
        e = paren->getSubExpr();
      } else {
        return;
      }
    }
    const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(ref->getDecl());
    if (fd == nullptr) return;
    const entry* e = lookup(*fd, sm);
    if (e == nullptr || !e->fn->blocks || !matches(mapped_decl_, *fd, ctx)) return;
    const clang::SourceLocation begin = ref->getQualifierLoc()
                                            ? ref->getQualifierLoc().getBeginLoc()
                                            : ref->getNameInfo().getBeginLoc();
    if (!sm.isInSystemHeader(sm.getExpansionLoc(begin))) return;
    add_system_call(key, begin, fd->getNameAsString(), *e);
  }

  // handle_construct, in a system header.
  void scan_construct(clang::ASTContext& ctx, const clang::FunctionDecl& key,
                      const clang::CXXConstructExpr& ce) {
    if (constructors_.empty()) return;
    // The matchers' traversal skips what is not spelled (an elidable copy, a conversion).
    if (const_cast<clang::CXXConstructExpr&>(ce).IgnoreUnlessSpelledInSource() != &ce) return;
    const clang::CXXRecordDecl* rd = ce.getConstructor()->getParent();
    const auto it = constructors_.find(qualified_key(*rd));
    if (it == constructors_.end()) return;
    const clang::SourceManager& sm = ctx.getSourceManager();
    for (const entry& e : it->second) {
      if (e.system_only && !sm.isInSystemHeader(rd->getCanonicalDecl()->getLocation())) continue;
      const clang::SourceLocation at = ce.getBeginLoc();
      if (sm.isInSystemHeader(sm.getExpansionLoc(at)) &&
          matches(constructor_decl_, *ce.getConstructor(), ctx)) {
        add_system_call(key, at, it->first.substr(2), e);
      }
      return;
    }
  }

  // handle_dependent, in a system header.
  void scan_dependent(clang::ASTContext& ctx, const clang::FunctionDecl& key,
                      const clang::UnresolvedLookupExpr& lookup_expr, bool in_coroutine) {
    if (entries_.empty()) return;
    const clang::SourceManager& sm = ctx.getSourceManager();
    bool other_candidates = false;
    const entry* found = dependent_entry(sm, lookup_expr, other_candidates);
    if (found == nullptr || !found->fn->blocks) return;
    const bool adl = lookup_expr.getQualifier() == nullptr && lookup_expr.requiresADL();
    if ((adl || other_candidates) && !in_coroutine) return;  // diagnosed, in a system header
    const clang::SourceLocation begin = lookup_expr.getQualifierLoc()
                                            ? lookup_expr.getQualifierLoc().getBeginLoc()
                                            : lookup_expr.getNameLoc();
    if (!sm.isInSystemHeader(sm.getExpansionLoc(begin))) return;
    add_system_call(key, begin, lookup_expr.getName().getAsString(), *found);
  }

  class reach_visitor : public clang::RecursiveASTVisitor<reach_visitor> {
   public:
    explicit reach_visitor(blocking_calls& pass) : pass_(pass) {}
    bool VisitDeclRefExpr(clang::DeclRefExpr* e) {
      if (const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(e->getDecl())) {
        pass_.reached(fd, e->getBeginLoc());
      }
      return true;
    }
    bool VisitMemberExpr(clang::MemberExpr* e) {
      if (const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(e->getMemberDecl())) {
        pass_.reached(fd, e->getMemberLoc());
      }
      return true;
    }
    bool VisitCXXConstructExpr(clang::CXXConstructExpr* e) {
      pass_.reached(e->getConstructor(), e->getBeginLoc());
      return true;
    }

   private:
    blocking_calls& pass_;
  };

  void reached(const clang::FunctionDecl* fd, clang::SourceLocation from) {
    if (fd == nullptr || from.isInvalid()) return;
    const clang::FunctionDecl* key = pattern_of(fd);
    if (scan_system_ && scanned_.insert(key).second) scan_system_function(*key);
    const auto it = system_calls_.find(key);
    if (it == system_calls_.end()) return;
    const clang::SourceManager& sm = ctx_->getSourceManager();
    // A mapped function (std::this_thread::sleep_for calling nanosleep) is the call itself:
    // rewritten or reported where it is called.
    if (lookup(*fd, sm) != nullptr) return;
    if (const auto* md = llvm::dyn_cast<clang::CXXMethodDecl>(fd);
        md != nullptr && lookup_in(methods_, qualified_key(*md), *md, sm) != nullptr) {
      return;
    }
    if (sm.isInSystemHeader(sm.getExpansionLoc(from))) return;
    for (const system_call& c : it->second) {
      sink_->system_header_call(sm, c.at, from, fd->getQualifiedNameAsString(), c.call, pass_name);
    }
    system_calls_.erase(it);  // reported once, at the first user code that reaches it
  }

  // The map entry `fd` is, if any: the first of its name whose conditions hold (declared in a
  // system header unless the map says otherwise; the parameter types, if the entry lists
  // them). Several entries may share a name to map overloads to different replacements.
  const entry* lookup(const clang::FunctionDecl& fd, const clang::SourceManager& sm) const {
    return lookup_in(entries_, "::" + fd.getQualifiedNameAsString(), fd, sm);
  }

  const entry* lookup_in(const std::map<std::string, std::vector<entry>>& table,
                         const std::string& key, const clang::FunctionDecl& fd,
                         const clang::SourceManager& sm) const {
    const auto it = table.find(key);
    if (it == table.end()) return nullptr;
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
                clang::SourceLocation begin, clang::SourceLocation name_end,
                const clang::MemberExpr* member = nullptr) {
    const api_function& f = *e.fn;
    blocking_call call{name, e.map->library, ""};
    const auto with_reason = [&](const char* reason) {
      call.reason = reason;
      return &call;
    };
    // A system header is never edited: its blocking calls are reported where user code
    // reaches them (onEndOfTranslationUnit).
    if (sm.isInSystemHeader(sm.getExpansionLoc(begin))) {
      if (!f.blocks) return;
      ctx_ = &ctx;
      if (const clang::FunctionDecl* fn = enclosing_function(ctx, node)) {
        system_calls_[fn->getCanonicalDecl()].push_back({begin, {name, e.map->library, ""}});
      }
      return;
    }
    // A call that never waits (close, fcntl...) is as harmless in a coroutine as anywhere.
    if (f.blocks && inside_coroutine(ctx, node)) {
      sink_->diagnose(sm, begin, severity::warning,
                      "call to '" + name +
                          "' inside a C++20 coroutine would block every fiber and task of the "
                          "shard; not rewritten (use the co_await form" +
                          (f.coroutine_form.empty() ? std::string() : ": " + f.coroutine_form) +
                          ")",
                      pass_name, with_reason("coroutine"));
      return;
    }
    if (f.kind == api_function::action::report) {
      sink_->diagnose(
          sm, begin, severity::warning,
          "call to '" + name + "' " +
              (f.blocks ? "blocks the thread and has no balrog twin; " : "has no balrog twin; ") +
              f.advice,
          pass_name, with_reason("no-twin"));
      return;
    }
    const std::string why = "call to '" + name + "' " + effect(f);
    if (begin.isMacroID() && !sm.isMacroArgExpansion(begin) &&
        rewrite_macro_use(ctx, sm, name, begin)) {
      return;
    }
    if (replacement_in(ctx, f).empty()) {  // a C file, and no C twin
      sink_->diagnose(sm, begin, severity::warning, why + no_c_twin(f, e.map->library), pass_name,
                      with_reason("no-c-twin"));
      return;
    }
    if (begin.isMacroID() && sm.isMacroArgExpansion(begin) && !rewrite_in_macro_args_) {
      sink_->diagnose(sm, begin, severity::warning,
                      why +
                          "; not rewritten: it is inside a macro argument "
                          "(rewrite it by hand, or set the blocking-calls option "
                          "rewrite-in-macro-args)",
                      pass_name, with_reason("macro-argument"));
      return;
    }
    if (member != nullptr) {
      rewrite_member_call(ctx, sm, *member, f, why, call);
      return;
    }
    const auto range = clang::CharSourceRange::getTokenRange(begin, name_end);
    if (sink_->replace(sm, range, replacement_in(ctx, f), why, pass_name, &call)) {
      sink_->require_include(sm, begin, header_in(ctx, f));
    }
  }

  // A mapped call spelled in the body of a macro: when the use of the macro in the file is a
  // macro entry's (libpq's PQsetdb expanding to PQsetdbLogin), the whole use is rewritten to
  // the entry's replacement. False when no macro entry applies (the tool then reports it).
  bool rewrite_macro_use(clang::ASTContext& ctx, const clang::SourceManager& sm,
                         const std::string& name, clang::SourceLocation begin) {
    if (macros_.empty()) return false;
    const clang::CharSourceRange use = sm.getExpansionRange(begin);
    bool invalid = false;
    const llvm::StringRef text = clang::Lexer::getSourceText(use, sm, ctx.getLangOpts(), &invalid);
    if (invalid || text.empty()) return false;
    size_t n = 0;
    while (n < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[n])) || text[n] == '_')) {
      ++n;
    }
    const auto it = macros_.find(text.substr(0, n).str());
    if (it == macros_.end()) return false;
    const entry& m = it->second;
    // The macro of a system library is defined in a system header.
    if (m.system_only && !sm.isInSystemHeader(sm.getSpellingLoc(begin))) return false;
    const clang::SourceLocation at = use.getBegin();
    if (!macro_uses_done_.insert(at.getRawEncoding()).second) return true;  // one edit per use
    blocking_call call{it->first, m.map->library, ""};
    std::vector<std::string> args;
    std::string replacement;
    const std::string why =
        "use of macro '" + it->first + "' calls '" + name + "', which " + effect(*m.fn);
    if (replacement_in(ctx, *m.fn).empty()) {  // a C file, and no C twin
      call.reason = "no-c-twin";
      sink_->diagnose(sm, at, severity::warning, why + no_c_twin(*m.fn, m.map->library), pass_name,
                      &call);
      return true;
    }
    if (macro_arguments(text, args)) replacement = substitute(replacement_in(ctx, *m.fn), args);
    if (replacement.empty()) {
      call.reason = "macro-body";
      sink_->diagnose(sm, at, severity::warning,
                      why +
                          "; not rewritten: the use does not have the arguments the map's "
                          "replacement names",
                      pass_name, &call);
      return true;
    }
    if (sink_->replace(sm, use, replacement, why, pass_name, &call)) {
      sink_->require_include(sm, at, header_in(ctx, *m.fn));
    }
    return true;
  }

  // obj.f(a) -> replacement(obj, a); p->f(a) -> replacement(*p, a); f(a) in a member ->
  // replacement(*this, a). Two edits: before the object, and from `.`/`->` through `(`.
  void rewrite_member_call(clang::ASTContext& ctx, const clang::SourceManager& sm,
                           const clang::MemberExpr& me, const api_function& f,
                           const std::string& why, blocking_call& call) {
    const clang::LangOptions& lo = ctx.getLangOpts();
    const clang::SourceLocation name_end = me.getEndLoc();
    std::optional<clang::Token> paren = clang::Lexer::findNextToken(name_end, sm, lo);
    const auto* callexpr = parent_call(ctx, me);
    const bool spelled = me.getBeginLoc().isFileID() && name_end.isFileID() && paren &&
                         paren->is(clang::tok::l_paren) && callexpr != nullptr &&
                         callexpr->getRParenLoc().isFileID();
    if (!spelled) {
      call.reason = "macro-body";
      sink_->diagnose(sm, me.getMemberLoc(), severity::warning,
                      why +
                          "; not rewritten: the call is not spelled in one piece in the file "
                          "(a macro); call '" +
                          f.replacement + "' with the object first by hand",
                      pass_name, &call);
      return;
    }
    const std::string comma = callexpr->getNumArgs() > 0 ? ", " : "";
    if (me.isImplicitAccess()) {
      const auto range = clang::CharSourceRange::getCharRange(me.getBeginLoc(), paren->getEndLoc());
      if (sink_->replace(sm, range, f.replacement + "(*this" + comma, why, pass_name, &call)) {
        sink_->require_include(sm, me.getBeginLoc(), f.header);
      }
      return;
    }
    // One edit from the object through `(`, so the rewrite is all or nothing (a conflict or a
    // refusal leaves the call as it was, never half rewritten).
    const clang::Expr* base = me.getBase();
    bool invalid = false;
    const llvm::StringRef object =
        clang::Lexer::getSourceText(
            clang::CharSourceRange::getCharRange(base->getBeginLoc(), me.getOperatorLoc()), sm, lo,
            &invalid)
            .rtrim();
    if (invalid || object.empty() || !base->getBeginLoc().isFileID() ||
        !me.getOperatorLoc().isFileID()) {
      return;
    }
    const auto range =
        clang::CharSourceRange::getCharRange(base->getBeginLoc(), paren->getEndLoc());
    const std::string text = f.replacement + "(" + (me.isArrow() ? "*" : "") + object.str() + comma;
    if (sink_->replace(sm, range, text, why, pass_name, &call)) {
      sink_->require_include(sm, me.getBeginLoc(), f.header);
    }
  }

  static const clang::CallExpr* parent_call(clang::ASTContext& ctx, const clang::MemberExpr& me) {
    for (const clang::DynTypedNode& p : ctx.getParents(me)) {
      if (const auto* call = p.get<clang::CallExpr>()) {
        if (call->getCallee()->IgnoreParenImpCasts() == &me) return call;
      }
    }
    return nullptr;
  }

  // Why a call of `f` must be rewritten: what the original does on a fiber.
  static std::string effect(const api_function& f) {
    return f.blocks ? "blocks the thread" : "changes an fd behind the runtime's back";
  }

  void handle_member(clang::ASTContext& ctx, const clang::SourceManager& sm,
                     const clang::MemberExpr& me) {
    const auto* md = llvm::dyn_cast<clang::CXXMethodDecl>(me.getMemberDecl());
    if (md == nullptr) return;
    const entry* e = lookup_in(methods_, qualified_key(*md), *md, sm);
    if (e == nullptr) return;
    const std::string name = qualified_key(*md).substr(2);
    if (parent_call(ctx, me) == nullptr) return;  // a bound member named but not called
    consider(ctx, sm, clang::DynTypedNode::create(me), name, *e, me.getMemberLoc(),
             me.getMemberLoc(), &me);
  }

  void handle_construct(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::CXXConstructExpr& ce) {
    const clang::CXXRecordDecl* rd = ce.getConstructor()->getParent();
    const auto it = constructors_.find(qualified_key(*rd));
    if (it == constructors_.end()) return;
    for (const entry& e : it->second) {
      if (e.system_only && !sm.isInSystemHeader(rd->getCanonicalDecl()->getLocation())) continue;
      const std::string name = it->first.substr(2);
      const clang::SourceLocation at = ce.getBeginLoc();
      if (sm.isInSystemHeader(sm.getExpansionLoc(at))) {
        ctx_ = &ctx;
        if (const clang::FunctionDecl* fn =
                enclosing_function(ctx, clang::DynTypedNode::create(ce))) {
          system_calls_[fn->getCanonicalDecl()].push_back({at, {name, e.map->library, ""}});
        }
        return;
      }
      blocking_call call{name, e.map->library, "no-twin"};
      sink_->diagnose(
          sm, at, severity::warning,
          "constructing '" + name + "' blocks the thread and has no balrog twin; " + e.fn->advice,
          pass_name, &call);
      return;
    }
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
    if (sm.isInSystemHeader(sm.getExpansionLoc(begin))) {
      // Never edited; reported where user code reaches it (consider()).
      if (is_callee(ctx, ref)) {
        consider(ctx, sm, clang::DynTypedNode::create(ref), name, *e, begin,
                 ref.getNameInfo().getEndLoc());
      }
      return;
    }
    if (!is_callee(ctx, ref)) {
      const blocking_call call{name, e->map->library, "address-taken"};
      sink_->diagnose(sm, begin, severity::warning,
                      "'" + name + "' is taken by address; calls through the pointer " +
                          (e->fn->blocks ? "block the thread" : "are not seen by the runtime") +
                          " and are not rewritten (" +
                          (e->fn->kind == api_function::action::report ? e->fn->advice
                           : replacement_in(ctx, *e->fn).empty()
                               ? "and this C file has no C twin to call instead"
                               : "call '" + replacement_in(ctx, *e->fn) + "' instead") +
                          ")",
                      pass_name, &call);
      return;
    }
    consider(ctx, sm, clang::DynTypedNode::create(ref), name, *e, begin,
             ref.getNameInfo().getEndLoc());
  }

  // Overload resolution happens per instantiation: rewrite only when every candidate is
  // mapped to the same replacement, so no instantiation can mean another function.
  const entry* dependent_entry(const clang::SourceManager& sm,
                               const clang::UnresolvedLookupExpr& lookup_expr,
                               bool& other_candidates) const {
    const entry* found = nullptr;
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
    return found;
  }

  void handle_dependent(clang::ASTContext& ctx, const clang::SourceManager& sm,
                        const clang::UnresolvedLookupExpr& lookup_expr) {
    bool other_candidates = false;
    const entry* found = dependent_entry(sm, lookup_expr, other_candidates);
    if (found == nullptr) return;
    const std::string name = lookup_expr.getName().getAsString();
    const clang::SourceLocation begin = lookup_expr.getQualifierLoc()
                                            ? lookup_expr.getQualifierLoc().getBeginLoc()
                                            : lookup_expr.getNameLoc();
    const auto node = clang::DynTypedNode::create(lookup_expr);
    const bool adl = lookup_expr.getQualifier() == nullptr && lookup_expr.requiresADL();
    if ((adl || other_candidates) && !inside_coroutine(ctx, node)) {
      const blocking_call dependent_call{name, found->map->library, "dependent"};
      // Argument-dependent lookup may find another function per instantiation, and a
      // qualified balrog name would switch it off. Leave it to the author.
      sink_->diagnose(sm, begin, severity::warning,
                      "call to '" + name +
                          "' depends on template arguments and may resolve to another function "
                          "in some instantiations; not rewritten (call '" +
                          found->fn->replacement + "' explicitly if it is the blocking one)",
                      pass_name, &dependent_call);
      return;
    }
    consider(ctx, sm, node, name, *found, begin, lookup_expr.getNameInfo().getEndLoc());
  }

  bool rewrite_in_macro_args_;
  std::map<std::string, std::vector<entry>> entries_;       // name: entries
  std::map<std::string, std::vector<entry>> methods_;       // method: entries
  std::vector<std::string> method_names_;                   // their last name components
  std::map<std::string, std::vector<entry>> constructors_;  // constructor: entries (by class)
  std::map<std::string, entry> macros_;                     // macro: entries (by macro name)
  std::set<unsigned> macro_uses_done_;
  std::map<const clang::FunctionDecl*, std::vector<system_call>> system_calls_;
  // balrog-gen: system headers are not matched; the functions user code calls are scanned
  // (scan_system_function) when reached, each once.
  bool scan_system_ = false;
  bool reach_walked_ = false;
  llvm::DenseSet<const clang::FunctionDecl*> scanned_;
  MatchFinder* user_finder_ = nullptr;
  // The ASTContext, from any match.
  struct context_callback final : MatchFinder::MatchCallback {
    void run(const MatchFinder::MatchResult& result) override { ctx = result.Context; }
    clang::ASTContext* ctx = nullptr;
  } context_;
  // The matchers' own conditions, for the nodes scan_system_function finds.
  std::optional<clang::ast_matchers::DeclarationMatcher> mapped_decl_;
  std::optional<clang::ast_matchers::DeclarationMatcher> method_decl_;
  std::optional<clang::ast_matchers::DeclarationMatcher> constructor_decl_;
  clang::ASTContext* ctx_ = nullptr;
  rewrite_sink* sink_ = nullptr;
};

}  // namespace

std::unique_ptr<pass> make_blocking_calls(const pass_config& config) {
  return std::make_unique<blocking_calls>(config);
}

}  // namespace balrog::gen
