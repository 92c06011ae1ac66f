#include "coro-shims/qualify.hpp"

#include <clang/AST/DeclTemplate.h>
#include <clang/AST/ExprConcepts.h>
#include <clang/AST/QualTypeNames.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>
#include <llvm/ADT/StringExtras.h>

#include <algorithm>
#include <map>

namespace balrog::gen::coro_shims {

namespace {

// Where a qualifier goes: `length` characters at `at` (0: a pure insertion) become `text`.
struct name_edit {
  clang::SourceLocation at;
  unsigned length = 0;
  std::string text;
};

// Whether the name spelled at `loc` (a file location) already has a qualifier, or is a member
// access: `x::name`, `x::template name`, `a.name`, `p->name`.
bool already_scoped(const clang::SourceManager& sm, clang::SourceLocation loc) {
  auto [file, offset] = sm.getDecomposedLoc(loc);
  bool invalid = false;
  llvm::StringRef text = sm.getBufferData(file, &invalid);
  if (invalid || offset > text.size()) return false;
  llvm::StringRef before = text.substr(0, offset).rtrim();
  if (before.endswith("template")) {
    llvm::StringRef rest = before.drop_back(8);
    if (rest.empty() || !(llvm::isAlnum(rest.back()) || rest.back() == '_')) {
      before = rest.rtrim();
    }
  }
  return before.endswith("::") || before.endswith(".") || before.endswith("->");
}

// Finds the names that need a qualifier in the nodes spelled in a range of text.
class name_collector : public clang::RecursiveASTVisitor<name_collector> {
  using base = clang::RecursiveASTVisitor<name_collector>;

 public:
  explicit name_collector(const qualifier& q) : q_(q) {}

  std::vector<name_edit> edits;
  std::string failure;  // non-empty: the text cannot be made to mean the same elsewhere

  bool shouldVisitTemplateInstantiations() const { return false; }
  bool shouldVisitImplicitCode() const { return false; }

  bool VisitDeclRefExpr(clang::DeclRefExpr* e) {
    const clang::ValueDecl* d = e->getDecl();
    check_access(d);
    // Operators (`a + b`, found by argument-dependent lookup from anywhere) and literal
    // operators (`5s`) are not spelled as names: nothing goes in front of them. A literal
    // operator is found by unqualified lookup, which only the shims' default namespace
    // (nested in the function's own, under the same using-directives) is sure to repeat.
    const clang::DeclarationName::NameKind kind = d->getDeclName().getNameKind();
    if (kind == clang::DeclarationName::CXXLiteralOperatorName) {
      if (!q_.literals_visible()) {
        fail("it uses the literal operator '" + d->getNameAsString() +
             "', which the shims' namespace may not see");
      }
      return true;
    }
    if (kind != clang::DeclarationName::Identifier) return true;
    if (e->hasExplicitTemplateArgs() && in_dependent_class(d)) {
      fail("it names a member template of a class template");
    }
    if (!e->hasQualifier()) name(e->getLocation(), d, false);
    return true;
  }

  bool VisitUnresolvedLookupExpr(clang::UnresolvedLookupExpr* e) {
    if (e->getQualifierLoc()) return true;
    if (e->requiresADL()) {
      fail("it calls '" + e->getName().getAsString() + "' through argument-dependent lookup");
      return true;
    }
    if (e->getNumDecls() > 0) {
      const clang::NamedDecl* first = (*e->decls_begin())->getUnderlyingDecl();
      for (const clang::NamedDecl* d : e->decls()) check_access(d->getUnderlyingDecl());
      name(e->getNameLoc(), first, false);
    }
    return true;
  }

  bool VisitConceptSpecializationExpr(clang::ConceptSpecializationExpr* e) {
    if (!e->getNestedNameSpecifierLoc()) name(e->getConceptNameLoc(), e->getNamedConcept(), false);
    return true;
  }

  bool TraverseTypeConstraint(const clang::TypeConstraint* c) {
    if (!c->getNestedNameSpecifierLoc()) name(c->getConceptNameLoc(), c->getNamedConcept(), false);
    return base::TraverseTypeConstraint(c);
  }

  bool VisitTypedefTypeLoc(clang::TypedefTypeLoc tl) {
    check_access(tl.getTypedefNameDecl());
    name(tl.getNameLoc(), tl.getTypedefNameDecl(), true);
    return true;
  }

  bool VisitTagTypeLoc(clang::TagTypeLoc tl) {
    const clang::TagDecl* d = tl.getDecl();
    if (d->getIdentifier() == nullptr) return true;
    check_access(d);
    name(tl.getNameLoc(), d, true);
    return true;
  }

  bool VisitUsingTypeLoc(clang::UsingTypeLoc tl) {
    const clang::UsingShadowDecl* shadow = tl.getTypePtr()->getFoundDecl();
    check_access(shadow);
    name(tl.getNameLoc(), shadow, true);
    return true;
  }

  bool VisitTemplateSpecializationTypeLoc(clang::TemplateSpecializationTypeLoc tl) {
    template_name(tl.getTemplateNameLoc(), tl.getTypePtr()->getTemplateName());
    return true;
  }

  bool VisitDeducedTemplateSpecializationTypeLoc(clang::DeducedTemplateSpecializationTypeLoc tl) {
    template_name(tl.getTemplateNameLoc(), tl.getTypePtr()->getTemplateName());
    return true;
  }

  // Inside a class template, its bare name means the class with its own arguments: box -> box<T>.
  bool VisitInjectedClassNameTypeLoc(clang::InjectedClassNameTypeLoc tl) {
    const clang::CXXRecordDecl* rd = tl.getDecl();
    std::string why;
    std::optional<std::string> spelled = q_.class_name(rd, why);
    if (!spelled) {
      fail(why);
      return true;
    }
    edits.push_back({tl.getNameLoc(), static_cast<unsigned>(rd->getName().size()), *spelled});
    return true;
  }

  // The leftmost name of a qualifier (`detail::` in `detail::x`) is qualified in turn; the
  // types among its components are visited as TypeLocs, without `typename` (a name followed
  // by `::` needs none).
  bool TraverseNestedNameSpecifierLoc(clang::NestedNameSpecifierLoc nns) {
    if (!nns) return true;
    clang::NestedNameSpecifierLoc leftmost = nns;
    while (leftmost.getPrefix()) leftmost = leftmost.getPrefix();
    const clang::NestedNameSpecifier* spec = leftmost.getNestedNameSpecifier();
    if (spec->getKind() == clang::NestedNameSpecifier::Namespace) {
      name(leftmost.getLocalBeginLoc(), spec->getAsNamespace(), false);
    } else if (spec->getKind() == clang::NestedNameSpecifier::NamespaceAlias) {
      name(leftmost.getLocalBeginLoc(), spec->getAsNamespaceAlias(), false);
    }
    const bool was = in_qualifier_;
    in_qualifier_ = true;
    const bool ok = base::TraverseNestedNameSpecifierLoc(nns);
    in_qualifier_ = was;
    return ok;
  }

  bool TraverseTemplateArgumentLoc(const clang::TemplateArgumentLoc& arg) {
    const bool was = in_qualifier_;
    in_qualifier_ = false;
    const bool ok = base::TraverseTemplateArgumentLoc(arg);
    in_qualifier_ = was;
    return ok;
  }

 private:
  void fail(const std::string& why) {
    if (failure.empty()) failure = why;
  }

  static bool in_dependent_class(const clang::Decl* d) {
    const clang::DeclContext* dc = d->getDeclContext()->getRedeclContext();
    return dc->isRecord() && dc->isDependentContext();
  }

  // A member the shims could not name: private or protected, or inside a class that is.
  void check_access(const clang::NamedDecl* d) {
    for (const clang::Decl* x = d; x != nullptr;) {
      const clang::DeclContext* dc = x->getDeclContext();
      if (const auto* e = llvm::dyn_cast<clang::EnumDecl>(dc)) {
        x = e;
        continue;
      }
      if (!dc->isRecord()) return;
      if (x->getAccess() == clang::AS_private || x->getAccess() == clang::AS_protected) {
        const auto* named = llvm::dyn_cast<clang::NamedDecl>(x);
        fail("it names '" + (named ? named->getQualifiedNameAsString() : std::string("?")) +
             "', which is not public");
        return;
      }
      x = llvm::cast<clang::Decl>(dc);
    }
  }

  void template_name(clang::SourceLocation loc, clang::TemplateName tn) {
    if (tn.getKind() == clang::TemplateName::QualifiedTemplate) return;  // written with a scope
    if (const clang::UsingShadowDecl* shadow = tn.getAsUsingShadowDecl()) {
      name(loc, shadow, true);
      return;
    }
    const clang::TemplateDecl* td = tn.getAsTemplateDecl();
    if (td == nullptr || llvm::isa<clang::TemplateTemplateParmDecl>(td)) return;
    check_access(td);
    if (in_dependent_class(td) && !already_scoped(q_.context().getSourceManager(), loc)) {
      fail("it names '" + td->getNameAsString() + "', a member template of a class template");
      return;
    }
    name(loc, td, true);
  }

  // Queues the qualifier of `d` in front of its name at `loc`.
  void name(clang::SourceLocation loc, const clang::NamedDecl* d, bool type) {
    if (d == nullptr || loc.isInvalid()) return;
    if (llvm::isa<clang::TemplateTypeParmDecl, clang::NonTypeTemplateParmDecl,
                  clang::TemplateTemplateParmDecl, clang::ParmVarDecl>(d)) {
      return;
    }
    const clang::DeclContext* dc = d->getDeclContext();
    if (const auto* e = llvm::dyn_cast<clang::EnumDecl>(dc); e != nullptr && !e->isScoped()) {
      dc = e->getDeclContext();  // unscoped enumerators are members of the enclosing scope too
    }
    dc = dc->getRedeclContext();
    if (!dc->isFileContext() && !dc->isRecord()) return;  // local to a function or lambda
    std::string why;
    std::optional<std::string> scope = q_.scope_of(dc, type && !in_qualifier_, why);
    if (!scope) {
      fail(why);
      return;
    }
    if (!scope->empty()) edits.push_back({loc, 0, *scope});
  }

  const qualifier& q_;
  bool in_qualifier_ = false;
};

}  // namespace

std::optional<std::string> qualifier::text(clang::SourceRange range, const spelled_nodes& nodes,
                                           std::string& why) const {
  const clang::SourceManager& sm = ctx_.getSourceManager();
  const clang::CharSourceRange chars = clang::Lexer::makeFileCharRange(
      clang::CharSourceRange::getTokenRange(range), sm, ctx_.getLangOpts());
  if (chars.isInvalid()) {
    why = "its text is not one piece of one file (macros)";
    return std::nullopt;
  }
  const auto [file, begin] = sm.getDecomposedLoc(chars.getBegin());
  const auto [end_file, end] = sm.getDecomposedLoc(chars.getEnd());
  bool invalid = false;
  const llvm::StringRef buffer = sm.getBufferData(file, &invalid);
  if (invalid || end_file != file || end < begin || end > buffer.size()) {
    why = "its text is not one piece of one file";
    return std::nullopt;
  }

  name_collector collector(*this);
  for (clang::TypeLoc t : nodes.types) collector.TraverseTypeLoc(t);
  for (const clang::Expr* e : nodes.exprs) collector.TraverseStmt(const_cast<clang::Expr*>(e));
  for (const clang::NamedDecl* d : nodes.decls) {
    collector.TraverseDecl(const_cast<clang::NamedDecl*>(d));
  }
  if (!collector.failure.empty()) {
    why = collector.failure;
    return std::nullopt;
  }

  std::map<unsigned, name_edit> placed;  // by offset: the same name may be reached twice
  for (name_edit& e : collector.edits) {
    const clang::SourceLocation spelled = sm.getSpellingLoc(e.at);
    if (already_scoped(sm, spelled)) continue;
    if (e.at.isMacroID() && !sm.isMacroArgExpansion(e.at)) {
      why = "a name inside the body of macro '" +
            clang::Lexer::getImmediateMacroName(e.at, sm, ctx_.getLangOpts()).str() +
            "' would need a qualifier";
      return std::nullopt;
    }
    const auto [at_file, at] = sm.getDecomposedLoc(spelled);
    if (at_file != file || at < begin || at + e.length > end) {
      why = "a name that needs a qualifier is spelled outside its text";
      return std::nullopt;
    }
    placed.emplace(at, std::move(e));
  }
  std::string out;
  unsigned pos = begin;
  for (const auto& [at, e] : placed) {
    if (at < pos) continue;  // overlaps a replacement
    out += buffer.substr(pos, at - pos);
    out += e.text;
    pos = at + e.length;
  }
  out += buffer.substr(pos, end - pos);
  return out;
}

std::optional<std::string> qualifier::type_text(clang::TypeLoc loc, std::string& why) const {
  spelled_nodes nodes;
  nodes.types.push_back(loc);
  return text(loc.getSourceRange(), nodes, why);
}

std::optional<std::string> qualifier::expr_text(const clang::Expr* e, std::string& why) const {
  spelled_nodes nodes;
  nodes.exprs.push_back(e);
  return text(e->getSourceRange(), nodes, why);
}

namespace {

// "a::b" for the named namespaces around (and including) `dc`; inline and anonymous ones are
// left out (their members are members of the enclosing namespace too).
std::optional<std::string> namespace_path(const clang::DeclContext* dc, std::string& why) {
  std::vector<std::string> names;
  for (; dc != nullptr && !dc->isTranslationUnit(); dc = dc->getParent()) {
    if (dc->isTransparentContext()) continue;
    const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(dc);
    if (ns == nullptr) {
      why = "it names something local to a function";
      return std::nullopt;
    }
    if (ns->isAnonymousNamespace() || ns->isInline()) continue;
    names.push_back(ns->getNameAsString());
  }
  std::reverse(names.begin(), names.end());
  return llvm::join(names, "::");
}

}  // namespace

std::optional<std::string> qualifier::class_name(const clang::CXXRecordDecl* rd,
                                                 std::string& why) const {
  std::vector<const clang::CXXRecordDecl*> chain;
  const clang::DeclContext* dc = rd;
  for (; dc->isRecord(); dc = dc->getParent()) {
    chain.push_back(llvm::cast<clang::CXXRecordDecl>(dc));
  }
  std::optional<std::string> ns = namespace_path(dc, why);
  if (!ns) return std::nullopt;
  std::string out = *ns;
  bool dependent_scope = false;  // an enclosing class is a template: its members need typename
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const clang::CXXRecordDecl* r = *it;
    if (r->getIdentifier() == nullptr) {
      why = "it names a member of an unnamed class";
      return std::nullopt;
    }
    if (llvm::isa<clang::ClassTemplateSpecializationDecl>(r)) {
      why = "it names a member of a class template specialization";
      return std::nullopt;
    }
    if (!out.empty()) out += "::";
    out += r->getName();
    if (const clang::ClassTemplateDecl* ct = r->getDescribedClassTemplate()) {
      std::vector<std::string> args;
      for (const clang::NamedDecl* p : *ct->getTemplateParameters()) {
        if (p->getIdentifier() == nullptr) {
          why = "class template '" + r->getNameAsString() + "' has an unnamed parameter";
          return std::nullopt;
        }
        args.push_back(p->getNameAsString() + (p->isParameterPack() ? "..." : ""));
      }
      out += "<" + llvm::join(args, ", ") + ">";
    }
    if (it + 1 != chain.rend() && r->isDependentContext()) dependent_scope = true;
  }
  return (dependent_scope ? "typename " : "") + out;
}

std::optional<std::string> qualifier::scope_of(const clang::DeclContext* dc, bool for_type,
                                               std::string& why) const {
  dc = dc->getRedeclContext();
  if (dc->isTranslationUnit()) return std::string();
  if (const auto* rd = llvm::dyn_cast<clang::CXXRecordDecl>(dc)) {
    std::optional<std::string> name = class_name(rd, why);
    if (!name) return std::nullopt;
    llvm::StringRef bare(*name);
    bare.consume_front("typename ");
    const bool dependent = rd->isDependentContext();
    return (for_type && dependent ? "typename " : "") + bare.str() + "::";
  }
  std::optional<std::string> path = namespace_path(dc, why);
  if (!path) return std::nullopt;
  return path->empty() ? std::string() : *path + "::";
}

std::string qualifier::print(clang::QualType t, const std::string& name) const {
  clang::PrintingPolicy policy = ctx_.getPrintingPolicy();
  policy.SuppressScope = false;
  policy.SuppressUnwrittenScope = true;
  policy.SuppressInlineNamespace = true;
  policy.FullyQualifiedName = true;
  policy.SuppressTagKeyword = true;
  policy.PrintCanonicalTypes = false;
  const clang::QualType qualified =
      clang::TypeName::getFullyQualifiedType(t, ctx_, /*WithGlobalNsPrefix=*/false);
  std::string out;
  llvm::raw_string_ostream os(out);
  qualified.print(os, policy, name);
  return os.str();
}

}  // namespace balrog::gen::coro_shims
