// Copying source text into another namespace: default arguments, parameter types, template
// heads and requires-clauses are copied as spelled, with every name that is not already
// qualified prefixed by the scope of what it names, so the copy means the same thing from the
// shims' namespace (where a shim may even have the name that an unqualified call meant).
//
//   deadline until = deadline::never()   ->   balrog::deadline until = balrog::deadline::never()
//   size_type n = npos  (in class box<T>) ->   typename ns::box<T>::size_type n = ns::box<T>::npos
//
// Names of the global namespace, of template parameters and of function parameters stay as
// they are. A copy fails (nullopt, with the reason) when the text cannot be made to mean the
// same: a name that needs a qualifier inside a macro's body, a private or protected member,
// a member template of a class template, a call that relies on argument-dependent lookup.
#pragma once

#include <clang/AST/ASTContext.h>
#include <clang/AST/TypeLoc.h>

#include <optional>
#include <string>
#include <vector>

namespace balrog::gen::coro_shims {

// The AST nodes spelled inside a range of text, whose names are to be qualified.
struct spelled_nodes {
  std::vector<clang::TypeLoc> types;
  std::vector<const clang::Expr*> exprs;
  std::vector<const clang::NamedDecl*> decls;  // template parameters
};

class qualifier {
 public:
  // `literals_visible`: the copies go inside the namespace of what they were copied from (the
  // default `blocking` namespace), so an unqualified literal operator (`5s`) still means the
  // same there; elsewhere a copy that uses one fails.
  qualifier(clang::ASTContext& ctx, bool literals_visible)
      : ctx_(ctx), literals_visible_(literals_visible) {}

  // The text of `range` (a token range) with qualifiers added to the names that `nodes`
  // spell in it.
  std::optional<std::string> text(clang::SourceRange range, const spelled_nodes& nodes,
                                  std::string& why) const;

  // Shorthands for a type as written and an expression.
  std::optional<std::string> type_text(clang::TypeLoc loc, std::string& why) const;
  std::optional<std::string> expr_text(const clang::Expr* e, std::string& why) const;

  // How code outside `dc` names its members: "" (global namespace), "ns::", "ns::box<T>::",
  // and for types in a dependent class "typename ns::box<T>::". nullopt (and `why`) when it
  // cannot: an unnamed class, a class template whose parameters have no names.
  std::optional<std::string> scope_of(const clang::DeclContext* dc, bool for_type,
                                      std::string& why) const;

  // The fully qualified spelling of a class: "ns::C", "ns::box<T>" (a class template, named
  // with its own parameters), "typename ns::box<T>::inner".
  std::optional<std::string> class_name(const clang::CXXRecordDecl* rd, std::string& why) const;

  // A type printed by clang with full qualification (the fallback when the spelled text
  // cannot be copied), with `name` as its declarator.
  std::string print(clang::QualType t, const std::string& name = "") const;

  [[nodiscard]] clang::ASTContext& context() const { return ctx_; }
  [[nodiscard]] bool literals_visible() const { return literals_visible_; }

 private:
  clang::ASTContext& ctx_;
  bool literals_visible_;
};

}  // namespace balrog::gen::coro_shims
