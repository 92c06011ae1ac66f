// py-bindings: which declarations are exported, and how their types look from Python.
#include <clang/AST/Attr.h>
#include <clang/AST/Comment.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/AST/QualTypeNames.h>
#include <clang/AST/RawCommentList.h>
#include <clang/Basic/SourceManager.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/ADT/StringSet.h>

#include <map>
#include <optional>

#include "py-bindings/py_bindings.hpp"

namespace balrog::gen::py_bindings {

namespace {

bool marked(const clang::Decl* d) {
  if (const auto* ft = llvm::dyn_cast<clang::FunctionTemplateDecl>(d)) d = ft->getTemplatedDecl();
  if (const auto* ct = llvm::dyn_cast<clang::ClassTemplateDecl>(d)) d = ct->getTemplatedDecl();
  for (const clang::Decl* r : d->redecls()) {
    for (const auto* a : r->specific_attrs<clang::AnnotateAttr>()) {
      if (a->getAnnotation() == export_annotation) return true;
    }
  }
  return false;
}

// The decl is `std::<name>` (inline namespaces such as __cxx11 skipped), or with `sub`,
// `std::<sub>::<name>`.
bool is_std(const clang::NamedDecl* d, llvm::StringRef name, llvm::StringRef sub = {}) {
  if (d == nullptr || d->getName() != name) return false;
  if (sub.empty()) return d->isInStdNamespace();
  const clang::DeclContext* dc = d->getDeclContext();
  while (dc != nullptr && dc->isInlineNamespace()) dc = dc->getParent();
  const auto* ns = llvm::dyn_cast_or_null<clang::NamespaceDecl>(dc);
  return ns != nullptr && ns->getName() == sub && ns->isInStdNamespace();
}

bool is_balrog_task(const clang::NamedDecl* d) {
  if (d == nullptr || d->getName() != "task") return false;
  const clang::DeclContext* dc = d->getDeclContext();
  while (dc != nullptr && dc->isInlineNamespace()) dc = dc->getParent();
  const auto* ns = llvm::dyn_cast_or_null<clang::NamespaceDecl>(dc);
  return ns != nullptr && ns->getName() == "balrog" && ns->getParent()->isTranslationUnit();
}

bool derives_from_std_exception(const clang::CXXRecordDecl* rd) {
  if (rd == nullptr || !rd->hasDefinition()) return false;
  rd = rd->getDefinition();
  if (is_std(rd, "exception")) return true;
  for (const clang::CXXBaseSpecifier& b : rd->bases()) {
    if (derives_from_std_exception(b.getType()->getAsCXXRecordDecl())) return true;
  }
  return false;
}

// The nearest exported base of an exception class (depth first, declaration order).
const clang::CXXRecordDecl* exported_base(const clang::CXXRecordDecl* rd) {
  for (const clang::CXXBaseSpecifier& b : rd->getDefinition()->bases()) {
    const clang::CXXRecordDecl* base = b.getType()->getAsCXXRecordDecl();
    if (base == nullptr || !base->hasDefinition()) continue;
    if (marked(base)) return base;
    if (const clang::CXXRecordDecl* deeper = exported_base(base)) return deeper;
  }
  return nullptr;
}

const char* const python_keywords[] = {
    "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
    "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
    "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
    "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};

bool is_python_keyword(llvm::StringRef name) {
  for (const char* k : python_keywords) {
    if (name == k) return true;
  }
  return false;
}

class collector {
 public:
  collector(clang::ASTContext& ctx, const options& opts, module& out,
            std::vector<message>& messages)
      : ctx_(ctx), sm_(ctx.getSourceManager()), opts_(opts), out_(out), messages_(messages) {
    policy_.SuppressScope = false;
    policy_.FullyQualifiedName = true;
    policy_.PrintCanonicalTypes = false;
  }

  void walk(const clang::DeclContext* dc) {
    for (const clang::Decl* d : dc->decls()) {
      if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(d)) {
        walk(ns);
        continue;
      }
      if (const auto* ls = llvm::dyn_cast<clang::LinkageSpecDecl>(d)) {
        walk(ls);
        continue;
      }
      if (!in_main_file(d)) continue;
      if (const auto* rd = llvm::dyn_cast<clang::CXXRecordDecl>(d)) {
        if (rd->isThisDeclarationADefinition() && !rd->getDescribedClassTemplate()) {
          check_members(rd);
          if (marked(rd) && !suppressed(rd)) add_record(rd);
        }
        continue;
      }
      if (!marked(d) || suppressed(d)) continue;
      if (const auto* ed = llvm::dyn_cast<clang::EnumDecl>(d)) {
        if (ed->isThisDeclarationADefinition()) add_enum(ed);
      } else if (const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(d)) {
        add_function(fd);
      } else if (llvm::isa<clang::FunctionTemplateDecl>(d)) {
        error(d, "'" + qualified(d) +
                     "' is a function template: py-bindings exports only "
                     "functions with concrete types; export a non-template wrapper");
      } else if (llvm::isa<clang::ClassTemplateDecl>(d)) {
        error(d, "'" + qualified(d) + "' is a class template: py-bindings exports only classes");
      } else {
        error(d, "'" + qualified(d) +
                     "' cannot be exported: py-bindings exports functions, "
                     "structs, enums and exception classes");
      }
    }
  }

 private:
  bool in_main_file(const clang::Decl* d) const {
    return sm_.isWrittenInMainFile(sm_.getExpansionLoc(d->getLocation()));
  }
  bool suppressed(const clang::Decl* d) const {
    return opts_.suppressed && opts_.suppressed(d->getLocation());
  }

  std::string qualified(const clang::Decl* d) const {
    if (const auto* nd = llvm::dyn_cast<clang::NamedDecl>(d)) return nd->getQualifiedNameAsString();
    return "<declaration>";
  }

  void report(const clang::Decl* d, severity level, std::string text) {
    message m;
    const clang::PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(d->getLocation()));
    if (p.isValid()) {
      m.file = p.getFilename();
      m.line = p.getLine();
      m.column = p.getColumn();
    }
    m.level = level;
    m.text = std::move(text);
    messages_.push_back(std::move(m));
  }
  void error(const clang::Decl* d, std::string text) {
    failed_ = true;
    report(d, severity::error, std::move(text));
  }

  std::string doc(const clang::Decl* d) const {
    const clang::RawComment* rc = ctx_.getRawCommentForAnyRedecl(d);
    if (rc == nullptr) return {};
    return rc->getFormattedText(sm_, ctx_.getDiagnostics());
  }

  std::string cxx_name(clang::QualType t) const {
    return clang::TypeName::getFullyQualifiedName(t, ctx_, policy_, false);
  }

  // The Python annotation of `t` (no references, no cv), or an error text in `why`.
  std::optional<std::string> python_type(clang::QualType t, bool top, std::string& why) {
    t = t.getCanonicalType().getUnqualifiedType();
    if (const auto* bt = t->getAs<clang::BuiltinType>()) {
      switch (bt->getKind()) {
        case clang::BuiltinType::Bool:
          return "bool";
        case clang::BuiltinType::Char_S:
        case clang::BuiltinType::Char_U:
        case clang::BuiltinType::WChar_S:
        case clang::BuiltinType::WChar_U:
        case clang::BuiltinType::Char8:
        case clang::BuiltinType::Char16:
        case clang::BuiltinType::Char32:
          why = "character types are ambiguous in Python (use an integer type or std::string)";
          return std::nullopt;
        default:
          break;
      }
      if (bt->isInteger()) return "int";
      if (bt->getKind() == clang::BuiltinType::Float ||
          bt->getKind() == clang::BuiltinType::Double ||
          bt->getKind() == clang::BuiltinType::LongDouble) {
        return "float";
      }
      why = "this builtin type has no Python counterpart";
      return std::nullopt;
    }
    if (t->isPointerType() || t->isReferenceType() || t->isMemberPointerType()) {
      why = "pointers and references have no owner on the Python side (use values)";
      return std::nullopt;
    }
    if (const auto* et = t->getAs<clang::EnumType>()) {
      const clang::EnumDecl* ed = et->getDecl();
      if (marked(ed)) return ed->getNameAsString();
      why = "enum '" + ed->getQualifiedNameAsString() + "' is not exported (mark it BALROG_EXPORT)";
      return std::nullopt;
    }
    const clang::CXXRecordDecl* rd = t->getAsCXXRecordDecl();
    if (rd == nullptr) {
      why = "py-bindings does not support this kind of type";
      return std::nullopt;
    }
    const auto* spec = llvm::dyn_cast<clang::ClassTemplateSpecializationDecl>(rd);
    auto arg = [&](unsigned i) { return spec->getTemplateArgs()[i].getAsType(); };
    if (spec != nullptr) {
      if (is_std(rd, "basic_string") || is_std(rd, "basic_string_view")) {
        if (!arg(0)->isSpecificBuiltinType(clang::BuiltinType::Char_S) &&
            !arg(0)->isSpecificBuiltinType(clang::BuiltinType::Char_U)) {
          why = "only strings of char are supported";
          return std::nullopt;
        }
        if (is_std(rd, "basic_string_view") && !top) {
          why =
              "std::string_view is supported only as a parameter or result, not inside "
              "another type (it would refer to memory nobody owns)";
          return std::nullopt;
        }
        return "str";
      }
      if (is_std(rd, "vector")) {
        const clang::QualType e = arg(0).getCanonicalType();
        if (const auto* et = e->getAs<clang::EnumType>();
            et != nullptr && is_std(et->getDecl(), "byte")) {
          out_.uses_bytes = true;
          return "bytes";
        }
        auto inner = python_type(e, false, why);
        if (!inner) return std::nullopt;
        return "list[" + *inner + "]";
      }
      if (is_std(rd, "map") || is_std(rd, "unordered_map")) {
        auto k = python_type(arg(0), false, why);
        if (!k) return std::nullopt;
        auto v = python_type(arg(1), false, why);
        if (!v) return std::nullopt;
        return "dict[" + *k + ", " + *v + "]";
      }
      if (is_std(rd, "optional")) {
        auto inner = python_type(arg(0), false, why);
        if (!inner) return std::nullopt;
        return *inner + " | None";
      }
      if (is_std(rd, "variant")) {
        std::vector<std::string> parts;
        for (const clang::TemplateArgument& pack : spec->getTemplateArgs()[0].pack_elements()) {
          const clang::QualType a = pack.getAsType().getCanonicalType();
          if (const clang::CXXRecordDecl* m = a->getAsCXXRecordDecl();
              m != nullptr && is_std(m, "monostate")) {
            parts.push_back("None");
            continue;
          }
          auto inner = python_type(a, false, why);
          if (!inner) return std::nullopt;
          parts.push_back(*inner);
        }
        return llvm::join(parts, " | ");
      }
      if (is_std(rd, "duration", "chrono")) return "datetime.timedelta";
      if (is_std(rd, "time_point", "chrono")) {
        const clang::CXXRecordDecl* clock = arg(0)->getAsCXXRecordDecl();
        if (clock != nullptr && is_std(clock, "system_clock", "chrono")) return "datetime.datetime";
        why = "only std::chrono::system_clock time points map to datetime.datetime";
        return std::nullopt;
      }
    }
    if (marked(rd)) {
      if (derives_from_std_exception(rd)) {
        why = "exception classes are raised, not passed";
        return std::nullopt;
      }
      return rd->getNameAsString();
    }
    why = "'" + rd->getQualifiedNameAsString() +
          "' is not exported (mark it BALROG_EXPORT) and not a supported standard type";
    return std::nullopt;
  }

  // Members of any class written here: exported member functions are not supported yet.
  void check_members(const clang::CXXRecordDecl* rd) {
    for (const clang::Decl* m : rd->decls()) {
      if (m->isImplicit()) continue;
      if (const auto* inner = llvm::dyn_cast<clang::CXXRecordDecl>(m)) {
        if (marked(inner) && !suppressed(inner)) {
          error(inner, "'" + qualified(inner) +
                           "' is a nested class: py-bindings exports "
                           "classes of namespaces only");
        }
        continue;
      }
      if (marked(m) && !suppressed(m) &&
          (llvm::isa<clang::CXXMethodDecl>(m) || llvm::isa<clang::FunctionTemplateDecl>(m))) {
        error(m, "'" + qualified(m) +
                     "' is a member function: py-bindings does not export "
                     "member functions yet; export a free function that takes the object");
      }
    }
  }

  bool check_name(const clang::NamedDecl* d, const std::string& name) {
    if (!is_python_keyword(name)) return true;
    error(d, "'" + qualified(d) + "': '" + name + "' is a Python keyword");
    return false;
  }

  void add_function(const clang::FunctionDecl* fd) {
    const std::string what = "'" + fd->getQualifiedNameAsString() + "'";
    if (llvm::isa<clang::CXXMethodDecl>(fd)) return;  // check_members reports them
    if (fd->isVariadic()) {
      error(fd, what + " is variadic: py-bindings cannot export it");
      return;
    }
    if (fd->isDeleted()) {
      error(fd, what + " is deleted");
      return;
    }
    if (!fd->getIdentifier()) {
      error(fd, what + " is an operator or conversion: py-bindings exports named functions");
      return;
    }
    function f;
    f.name = fd->getNameAsString();
    f.qualified = "::" + fd->getQualifiedNameAsString();
    f.doc = doc(fd);
    bool ok = check_name(fd, f.name);
    unsigned index = 0;
    for (const clang::ParmVarDecl* p : fd->parameters()) {
      parameter param;
      param.name = p->getName().empty() ? "arg" + std::to_string(index) : p->getNameAsString();
      ++index;
      ok = check_name(p, param.name) && ok;
      clang::QualType t = p->getType();
      if (t->isLValueReferenceType() && !t.getNonReferenceType().isConstQualified()) {
        error(p, "parameter '" + param.name + "' of " + what + " has type '" + cxx_name(t) +
                     "': a non-const reference cannot be passed from Python (the change would "
                     "not be seen); take it by value or const reference");
        ok = false;
        continue;
      }
      const clang::QualType value = t.getNonReferenceType().getUnqualifiedType();
      std::string why;
      auto py = python_type(value, true, why);
      if (!py) {
        error(p, "parameter '" + param.name + "' of " + what + " has unsupported type '" +
                     cxx_name(t) + "': " + why);
        ok = false;
        continue;
      }
      param.type.python = *py;
      param.type.cxx = *py == "str" ? "std::string" : cxx_name(value);
      param.by_value_in_callee = !t->isReferenceType();
      if (p->hasDefaultArg()) {
        report(p, severity::warning,
               "the default argument of parameter '" + param.name + "' of " + what +
                   " is not carried to Python: the argument is required there");
      }
      f.params.push_back(std::move(param));
    }
    clang::QualType result = fd->getReturnType();
    const clang::CXXRecordDecl* rrd = result.getCanonicalType()->getAsCXXRecordDecl();
    if (rrd != nullptr && is_balrog_task(rrd)) {
      f.coroutine = true;
      const auto* spec = llvm::dyn_cast<clang::ClassTemplateSpecializationDecl>(rrd);
      result = spec->getTemplateArgs()[0].getAsType();
      if (result->isReferenceType()) {
        error(fd, what + " returns '" + cxx_name(fd->getReturnType()) +
                      "': a task of a reference cannot be returned to Python");
        return;
      }
    }
    if (result->isVoidType()) {
      f.result = {"void", "None"};
    } else {
      const clang::QualType value = result.getNonReferenceType().getUnqualifiedType();
      std::string why;
      auto py = python_type(value, true, why);
      if (!py) {
        error(fd,
              what + " returns unsupported type '" + cxx_name(fd->getReturnType()) + "': " + why);
        return;
      }
      f.result = {*py == "str" ? "std::string" : cxx_name(value), *py};
    }
    if (ok) out_.functions.push_back(std::move(f));
  }

  void add_enum(const clang::EnumDecl* ed) {
    enumeration e;
    e.name = ed->getNameAsString();
    e.qualified = "::" + ed->getQualifiedNameAsString();
    e.doc = doc(ed);
    if (e.name.empty()) {
      error(ed, "an anonymous enum cannot be exported: give it a name");
      return;
    }
    if (!llvm::isa<clang::NamespaceDecl, clang::TranslationUnitDecl>(ed->getDeclContext())) {
      error(ed, "'" + qualified(ed) +
                    "' is a nested enum: py-bindings exports enums of "
                    "namespaces only");
      return;
    }
    bool ok = check_name(ed, e.name);
    for (const clang::EnumConstantDecl* c : ed->enumerators()) {
      ok = check_name(c, c->getNameAsString()) && ok;
      e.values.push_back(c->getNameAsString());
    }
    if (ok) out_.enums.push_back(std::move(e));
  }

  void add_record(const clang::CXXRecordDecl* rd) {
    const std::string what = "'" + rd->getQualifiedNameAsString() + "'";
    if (rd->getName().empty()) {
      error(rd, "an anonymous class cannot be exported: give it a name");
      return;
    }
    if (!llvm::isa<clang::NamespaceDecl, clang::TranslationUnitDecl>(rd->getDeclContext())) {
      return;  // nested: check_members of the enclosing class reports it
    }
    if (llvm::isa<clang::ClassTemplateSpecializationDecl>(rd) || rd->getDescribedClassTemplate()) {
      error(rd, what + " is a class template: py-bindings exports only classes");
      return;
    }
    if (!check_name(rd, rd->getNameAsString())) return;
    if (derives_from_std_exception(rd)) {
      exception e;
      e.name = rd->getNameAsString();
      e.qualified = "::" + rd->getQualifiedNameAsString();
      e.doc = doc(rd);
      if (const clang::CXXRecordDecl* base = exported_base(rd)) e.base = base->getNameAsString();
      out_.exceptions.push_back(std::move(e));
      return;
    }
    if (rd->getNumBases() != 0) {
      error(rd, what +
                    " has base classes: py-bindings exports plain structs (and exception "
                    "classes derived from std::exception)");
      return;
    }
    record r;
    r.name = rd->getNameAsString();
    r.qualified = "::" + rd->getQualifiedNameAsString();
    r.doc = doc(rd);
    r.aggregate = rd->isAggregate();
    r.default_constructible = rd->hasDefaultConstructor();
    bool ok = true;
    for (const clang::FieldDecl* fd : rd->fields()) {
      if (fd->getAccess() != clang::AS_public) {
        r.aggregate = false;
        continue;
      }
      const std::string fname = fd->getNameAsString();
      if (fd->isBitField() || fname.empty()) {
        error(fd, "field '" + fname + "' of " + what +
                      " is a bit-field or anonymous: py-bindings cannot bind it");
        ok = false;
        continue;
      }
      ok = check_name(fd, fname) && ok;
      const clang::QualType t = fd->getType();
      std::string why;
      auto py = (t->isReferenceType() || t.isConstQualified()) ? std::nullopt
                                                               : python_type(t, false, why);
      if (!py) {
        if (why.empty()) why = "const and reference fields cannot be assigned from Python";
        error(fd, "field '" + fname + "' of " + what + " has unsupported type '" + cxx_name(t) +
                      "': " + why);
        ok = false;
        continue;
      }
      r.fields.push_back({fname, {cxx_name(t), *py}, doc(fd)});
    }
    if (ok) out_.records.push_back(std::move(r));
  }

  clang::ASTContext& ctx_;
  const clang::SourceManager& sm_;
  const options& opts_;
  module& out_;
  std::vector<message>& messages_;
  clang::PrintingPolicy policy_{ctx_.getLangOpts()};
  bool failed_ = false;
};

}  // namespace

void collect(clang::ASTContext& ctx, const options& opts, module& out,
             std::vector<message>& messages) {
  collector c(ctx, opts, out, messages);
  c.walk(ctx.getTranslationUnitDecl());
}

bool check_names(const module& m, std::vector<message>& messages) {
  std::map<std::string, std::string> seen;  // Python name -> C++ name
  bool ok = true;
  auto add = [&](const std::string& name, const std::string& qualified) {
    auto [it, inserted] = seen.emplace(name, qualified);
    if (inserted) return;
    ok = false;
    message msg;
    msg.level = severity::error;
    msg.text = "'" + qualified + "' and '" + it->second + "' would both be '" + name +
               "' in the Python module (overloads and same-named declarations of several "
               "namespaces are not supported); export one of them";
    messages.push_back(std::move(msg));
  };
  for (const exception& e : m.exceptions) add(e.name, e.qualified);
  for (const enumeration& e : m.enums) add(e.name, e.qualified);
  for (const record& r : m.records) add(r.name, r.qualified);
  for (const function& f : m.functions) {
    add(f.name, f.qualified);
    if (f.coroutine) add(f.name + "_async", f.qualified);
  }
  return ok;
}

}  // namespace balrog::gen::py_bindings
