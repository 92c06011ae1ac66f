// coro-shims: finding the awaitable-returning functions of a header and describing their shims.
#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/Basic/IdentifierTable.h>
#include <clang/Sema/Sema.h>
#include <llvm/ADT/StringExtras.h>

#include <iterator>
#include <set>

#include "coro-shims/awaitable.hpp"
#include "coro-shims/coro_shims.hpp"
#include "coro-shims/qualify.hpp"

namespace balrog::gen::coro_shims {

namespace {

// async_read_some -> read_some; other names stay. A keyword left over gets a trailing
// underscore (async_delete -> delete_).
std::string shim_name(const clang::FunctionDecl& fd, clang::ASTContext& ctx) {
  const std::string name = fd.getNameAsString();
  llvm::StringRef rest(name);
  if (!rest.consume_front("async_") || rest.empty() || llvm::isDigit(rest.front())) return name;
  if (ctx.Idents.get(rest).isKeyword(ctx.getLangOpts())) return rest.str() + "_";
  return rest.str();
}

std::string join_namespace(const std::vector<namespace_part>& parts) {
  std::vector<std::string> names;
  for (const namespace_part& p : parts) names.push_back(p.name);
  return llvm::join(names, "::");
}

// The text of a declaration's template parameter lists, merged into one head.
struct template_head {
  std::vector<std::string> params;     // "class T", "int N = 3"
  std::vector<std::string> requires_;  // the lists' requires-clauses
  std::vector<std::string> signature;  // what identifies each parameter: kind, type, pack
  bool invented = false;               // abbreviated: `auto` parameters
};

class collector {
 public:
  collector(clang::ASTContext& ctx, const options& opts, std::vector<message>& messages)
      : ctx_(ctx),
        sm_(ctx.getSourceManager()),
        opts_(opts),
        messages_(messages),
        q_(ctx, opts.target.empty() && !opts.target_is_global) {}

  std::vector<shim> run() {
    walk(ctx_.getTranslationUnitDecl());
    return std::move(out_);
  }

 private:
  bool in_main_file(const clang::Decl* d) const {
    return sm_.isWrittenInMainFile(sm_.getExpansionLoc(d->getLocation()));
  }

  bool suppressed(clang::SourceLocation loc) const {
    return opts_.suppressed && loc.isValid() && opts_.suppressed(loc);
  }

  void report(clang::SourceLocation loc, severity level, const std::string& text) {
    const clang::PresumedLoc p = sm_.getPresumedLoc(sm_.getExpansionLoc(loc));
    message m;
    if (p.isValid()) {
      m.file = p.getFilename();
      m.line = p.getLine();
      m.column = p.getColumn();
    }
    m.level = level;
    m.text = text;
    messages_.push_back(std::move(m));
  }

  void walk(const clang::DeclContext* dc) {
    for (const clang::Decl* d : dc->decls()) {
      if (d->isImplicit() || !in_main_file(d)) continue;
      if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(d)) {
        // detail namespaces hold implementation, anonymous ones are private to a file.
        if (!ns->isAnonymousNamespace() && ns->getName() != "detail") walk(ns);
      } else if (llvm::isa<clang::LinkageSpecDecl, clang::ExportDecl>(d)) {
        walk(llvm::cast<clang::DeclContext>(d));
      } else if (const auto* ft = llvm::dyn_cast<clang::FunctionTemplateDecl>(d)) {
        if (!llvm::isa<clang::CXXMethodDecl>(ft->getTemplatedDecl())) {
          consider(*ft->getTemplatedDecl());
        }
      } else if (const auto* fd = llvm::dyn_cast<clang::FunctionDecl>(d)) {
        if (!llvm::isa<clang::CXXMethodDecl>(fd)) consider(*fd);  // else: defined out of line
      } else if (const auto* ct = llvm::dyn_cast<clang::ClassTemplateDecl>(d)) {
        walk_class(*ct->getTemplatedDecl());
      } else if (const auto* rd = llvm::dyn_cast<clang::CXXRecordDecl>(d)) {
        walk_class(*rd);
      }
    }
  }

  void walk_class(const clang::CXXRecordDecl& rd) {
    if (!rd.isThisDeclarationADefinition() || rd.getIdentifier() == nullptr || rd.isLambda() ||
        llvm::isa<clang::ClassTemplateSpecializationDecl>(rd) || suppressed(rd.getLocation())) {
      return;  // specializations: the primary template's shims cover them
    }
    for (const clang::Decl* d : rd.decls()) {
      if (d->isImplicit() || d->getAccess() != clang::AS_public) continue;
      if (const auto* ft = llvm::dyn_cast<clang::FunctionTemplateDecl>(d)) {
        consider(*ft->getTemplatedDecl());
      } else if (const auto* m = llvm::dyn_cast<clang::CXXMethodDecl>(d)) {
        consider(*m);
      } else if (const auto* ct = llvm::dyn_cast<clang::ClassTemplateDecl>(d)) {
        walk_class(*ct->getTemplatedDecl());
      } else if (const auto* nested = llvm::dyn_cast<clang::CXXRecordDecl>(d)) {
        walk_class(*nested);
      }
    }
  }

  // Appends the text of one template parameter list to `head`; false (and `why`) if it cannot
  // be copied.
  bool add_template_params(const clang::TemplateParameterList& list, template_head& head,
                           std::string& why) {
    for (const clang::NamedDecl* p : list) {
      if (p->isImplicit()) {  // invented for an `auto` parameter: spelled in the parameter
        head.invented = true;
        continue;
      }
      spelled_nodes nodes;
      nodes.decls.push_back(p);
      clang::SourceRange range = p->getSourceRange();
      // A constrained parameter's range starts at the concept's name, after its qualifier.
      if (const auto* ttp = llvm::dyn_cast<clang::TemplateTypeParmDecl>(p)) {
        if (const clang::TypeConstraint* tc = ttp->getTypeConstraint()) {
          if (clang::NestedNameSpecifierLoc nns = tc->getNestedNameSpecifierLoc()) {
            range.setBegin(nns.getBeginLoc());
          }
        }
      }
      std::optional<std::string> text = q_.text(range, nodes, why);
      if (!text) return false;
      head.params.push_back(*text);
      std::string sig;
      if (const auto* nttp = llvm::dyn_cast<clang::NonTypeTemplateParmDecl>(p)) {
        sig = "value:" + nttp->getType().getCanonicalType().getAsString();
      } else if (llvm::isa<clang::TemplateTemplateParmDecl>(p)) {
        sig = "template";
      } else {
        sig = "type";
      }
      if (p->isParameterPack()) sig += "...";
      head.signature.push_back(sig);
    }
    if (const clang::Expr* r = list.getRequiresClause()) {
      std::optional<std::string> text = q_.expr_text(r, why);
      if (!text) return false;
      head.requires_.push_back(*text);
    }
    return true;
  }

  // The argument that passes parameter `p` on: forwarded, moved, or as it is.
  std::string pass_on(const clang::ParmVarDecl& p, const std::string& name,
                      const clang::FunctionTemplateDecl* own) const {
    clang::QualType t = p.getType();
    const bool pack = p.isParameterPack();
    if (pack) t = t->castAs<clang::PackExpansionType>()->getPattern();
    std::string e = name;
    if (const auto* rr = t->getAs<clang::RValueReferenceType>()) {
      const clang::QualType pointee = rr->getPointeeType();
      const auto* ttp =
          pointee.hasQualifiers() ? nullptr : pointee->getAs<clang::TemplateTypeParmType>();
      if (ttp != nullptr && own != nullptr &&
          ttp->getDepth() == own->getTemplateParameters()->getDepth()) {
        const clang::TemplateTypeParmDecl* decl = ttp->getDecl();
        const std::string type = decl != nullptr && !decl->isImplicit() && decl->getIdentifier()
                                     ? decl->getNameAsString()
                                     : "decltype(" + name + ")";
        e = "std::forward<" + type + ">(" + name + ")";
      } else {
        e = "std::move(" + name + ")";
      }
    } else if (!t->isReferenceType()) {
      // By value: the shim owns it. Classes that are not trivially copyable are moved on.
      if (t->isRecordType() && t->isIncompleteType() && opts_.sema != nullptr) {
        (void)opts_.sema->isCompleteType(p.getLocation(), t);  // instantiates std::span<T>...
      }
      if (t->isDependentType() ||
          (t->isRecordType() && !(!t->isIncompleteType() && t.isTriviallyCopyableType(ctx_)))) {
        e = "std::move(" + name + ")";
      }
    }
    return pack ? e + "..." : e;
  }

  // The existing function of `ns` (looked up in this translation unit) that a shim named
  // `name` taking `types` would redeclare.
  const clang::FunctionDecl* existing(const std::vector<namespace_part>& ns,
                                      const std::string& name,
                                      const std::vector<clang::QualType>& types) {
    const clang::DeclContext* dc = ctx_.getTranslationUnitDecl();
    for (const namespace_part& part : ns) {
      const clang::NamespaceDecl* found = nullptr;
      for (const clang::NamedDecl* d : dc->lookup(&ctx_.Idents.get(part.name))) {
        if ((found = llvm::dyn_cast<clang::NamespaceDecl>(d)) != nullptr) break;
      }
      if (found == nullptr) return nullptr;
      dc = found;
    }
    for (const clang::NamedDecl* d : dc->lookup(&ctx_.Idents.get(name))) {
      const auto* f = llvm::dyn_cast<clang::FunctionDecl>(d->getUnderlyingDecl());
      if (f == nullptr || f->getNumParams() != types.size()) continue;
      bool same = true;
      for (unsigned i = 0; same && i < types.size(); ++i) {
        same = ctx_.hasSameType(f->getParamDecl(i)->getType(), types[i]);
      }
      if (same) return f;
    }
    return nullptr;
  }

  void consider(const clang::FunctionDecl& fd) {
    if (!fd.isFirstDecl() || fd.isDeleted() || fd.isDefaulted() ||
        fd.getDeclName().getNameKind() != clang::DeclarationName::Identifier) {
      return;  // redeclarations, operators, constructors, conversions, deduction guides
    }
    std::optional<awaitable_info> info = classify_awaitable(fd, ctx_, opts_.sema);
    if (!info || suppressed(fd.getLocation()) || suppressed(fd.getBeginLoc())) return;
    const std::string origin = fd.getQualifiedNameAsString();
    auto skip = [&](const std::string& why) {
      report(fd.getLocation(), severity::warning,
             "no blocking-style shim for '" + origin + "': " + why);
    };
    if (fd.isVariadic()) return skip("C-style variadic functions cannot forward their arguments");
    if (fd.getLocation().isMacroID()) return skip("it is declared by a macro");

    const auto* method = llvm::dyn_cast<clang::CXXMethodDecl>(&fd);
    const bool member = method != nullptr && !method->isStatic();
    const clang::CXXRecordDecl* cls = method != nullptr ? method->getParent() : nullptr;

    // Where the shim goes.
    shim s;
    if (!opts_.target.empty() || opts_.target_is_global) {
      s.target = opts_.target;
    } else {
      std::vector<namespace_part> parts;
      for (const clang::DeclContext* dc = fd.getDeclContext(); !dc->isTranslationUnit();
           dc = dc->getParent()) {
        if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(dc)) {
          parts.insert(parts.begin(), namespace_part{ns->getNameAsString(), ns->isInline()});
        }
      }
      // `blocking` goes before the innermost inline namespaces: db::inline v2::f's shim is
      // db::blocking::inline v2::f, so db::blocking::f names it. (db::v2::blocking would make
      // db::blocking ambiguous beside the shims of db's own functions.)
      auto at = parts.end();
      while (at != parts.begin() && std::prev(at)->is_inline) --at;
      parts.insert(at, namespace_part{"blocking", false});
      s.target = std::move(parts);
    }
    s.name = shim_name(fd, ctx_);
    s.origin = origin;
    const clang::PresumedLoc where = sm_.getPresumedLoc(fd.getLocation());
    s.file = where.getFilename();
    s.line = where.getLine();
    s.column = where.getColumn();

    // Template parameters: the enclosing class templates', then the function's own.
    template_head head;
    std::string why;
    std::vector<const clang::CXXRecordDecl*> classes;
    for (const clang::DeclContext* dc = cls; dc != nullptr && dc->isRecord();
         dc = dc->getParent()) {
      classes.insert(classes.begin(), llvm::cast<clang::CXXRecordDecl>(dc));
    }
    for (const clang::CXXRecordDecl* c : classes) {
      if (const clang::ClassTemplateDecl* ct = c->getDescribedClassTemplate()) {
        if (!add_template_params(*ct->getTemplateParameters(), head, why)) return skip(why);
      }
    }
    const clang::FunctionTemplateDecl* own = fd.getDescribedFunctionTemplate();
    std::vector<std::string> own_args;  // explicit template arguments of the call
    if (own != nullptr) {
      if (!add_template_params(*own->getTemplateParameters(), head, why)) return skip(why);
      for (const clang::NamedDecl* p : *own->getTemplateParameters()) {
        if (p->isImplicit() || p->getIdentifier() == nullptr) {
          own_args.clear();  // invented or unnamed: leave all of them to deduction
          break;
        }
        own_args.push_back(p->getNameAsString() + (p->isParameterPack() ? "..." : ""));
      }
    }
    if (!head.params.empty()) s.template_head = "template <" + llvm::join(head.params, ", ") + ">";
    if (head.requires_.size() == 1) {
      s.template_head += " requires " + head.requires_[0];
    } else if (head.requires_.size() > 1) {
      s.template_head += " requires (" + llvm::join(head.requires_, ") && (") + ")";
    }
    const bool is_template = !head.params.empty() || head.invented;
    if (const clang::Expr* r = fd.getTrailingRequiresClause()) {
      std::optional<std::string> text = q_.expr_text(r, why);
      if (!text) return skip(why);
      s.trailing_requires = "requires " + *text;
    }
    const bool internal = fd.getStorageClass() == clang::SC_Static && method == nullptr;
    s.specifiers = std::string(internal ? "static" : "") + (internal && !is_template ? " " : "") +
                   (is_template ? "" : "inline");

    // What co_await yields.
    if (info->result.isNull()) {
      s.result = "auto";
    } else if (info->result->isVoidType()) {
      s.result = "void";
    } else {
      std::optional<std::string> text;
      if (info->result_loc) text = q_.type_text(info->result_loc, why);
      s.result = text ? *text : q_.print(info->result);
    }

    // Parameter names: the declared ones, argN for unnamed ones, and a `self` that differs.
    std::set<std::string> taken;
    for (const clang::ParmVarDecl* p : fd.parameters()) taken.insert(p->getNameAsString());
    std::vector<std::string> names;
    for (unsigned i = 0; i < fd.getNumParams(); ++i) {
      std::string n = fd.getParamDecl(i)->getNameAsString();
      if (n.empty()) {
        n = "arg" + std::to_string(i + 1);
        while (taken.count(n) != 0) n += "_";
        taken.insert(n);
      }
      names.push_back(n);
    }
    std::string self = "self";
    while (taken.count(self) != 0) self += "_";

    // The self parameter of a member shim, and the types that identify the shim.
    std::vector<std::string> key_types;
    std::vector<clang::QualType> types;
    std::string self_param;
    if (member) {
      std::optional<std::string> cname = q_.class_name(cls, why);
      if (!cname) return skip(why);
      const clang::Qualifiers quals = method->getMethodQualifiers();
      const bool rvalue = method->getRefQualifier() == clang::RQ_RValue;
      self_param = std::string(quals.hasConst() ? "const " : "") +
                   (quals.hasVolatile() ? "volatile " : "") + *cname + (rvalue ? "&& " : "& ") +
                   self;
      clang::QualType object = ctx_.getQualifiedType(
          ctx_.getRecordType(cls), clang::Qualifiers::fromCVRMask(quals.getCVRQualifiers()));
      if (cls->getDescribedClassTemplate() != nullptr) {
        object = ctx_.getQualifiedType(cls->getTypeForDecl()->getCanonicalTypeInternal(),
                                       clang::Qualifiers::fromCVRMask(quals.getCVRQualifiers()));
      }
      types.push_back(rvalue ? ctx_.getRValueReferenceType(object)
                             : ctx_.getLValueReferenceType(object));
      key_types.push_back(types.back().getCanonicalType().getAsString());
      llvm::StringRef bare(*cname);
      bare.consume_front("typename ");
      s.heading = "Members of " + bare.str();
    } else if (cls != nullptr) {
      std::optional<std::string> cname = q_.class_name(cls, why);
      if (!cname) return skip(why);
      llvm::StringRef bare(*cname);
      bare.consume_front("typename ");
      s.heading = "Static members of " + bare.str();
    } else {
      std::optional<std::string> scope = q_.scope_of(fd.getDeclContext(), false, why);
      if (!scope) return skip(why);
      s.heading = scope->empty() ? "Functions of the global namespace"
                                 : "Functions of " + scope->substr(0, scope->size() - 2);
    }
    for (const clang::ParmVarDecl* p : fd.parameters()) {
      types.push_back(p->getType());
      key_types.push_back(p->getType().getCanonicalType().getAsString());
    }

    // Parameters as spelled, default arguments repeated. A default argument that cannot be
    // repeated (it names something private, or needs a qualifier inside a macro) ends the
    // repeated ones: from there on, one shim per arity lets the function supply its own.
    std::vector<std::string> params;
    std::vector<std::string> defaults;  // " = value", or empty
    std::vector<std::string> args;
    unsigned unrepeatable = fd.getNumParams();
    for (unsigned i = 0; i < fd.getNumParams(); ++i) {
      const clang::ParmVarDecl* p = fd.getParamDecl(i);
      std::optional<std::string> text;
      std::string ignored;
      if (!p->getName().empty()) {
        clang::SourceLocation end = p->getLocation();
        const clang::TypeLoc tl = p->getTypeSourceInfo()->getTypeLoc();
        if (tl.getEndLoc().isValid() && sm_.isBeforeInTranslationUnit(end, tl.getEndLoc())) {
          end = tl.getEndLoc();
        }
        spelled_nodes nodes;
        nodes.types.push_back(tl);
        text = q_.text(clang::SourceRange(p->getInnerLocStart(), end), nodes, ignored);
      }
      if (!text) text = q_.print(p->getOriginalType(), names[i]);
      params.push_back(*text);
      defaults.emplace_back();
      args.push_back(pass_on(*p, names[i], own));
      if (i >= unrepeatable) continue;
      const clang::ParmVarDecl* with_default = nullptr;
      for (const clang::FunctionDecl* r : fd.redecls()) {
        const clang::ParmVarDecl* rp = r->getParamDecl(i);
        if (rp->hasDefaultArg() && !rp->hasInheritedDefaultArg() && !rp->hasUnparsedDefaultArg()) {
          with_default = rp;
          break;
        }
      }
      if (with_default == nullptr) continue;
      const clang::Expr* e = with_default->hasUninstantiatedDefaultArg()
                                 ? with_default->getUninstantiatedDefaultArg()
                                 : with_default->getDefaultArg();
      spelled_nodes nodes;
      nodes.exprs.push_back(e);
      std::optional<std::string> value =
          q_.text(with_default->getDefaultArgRange(), nodes, ignored);
      if (value) {
        // Copy-list-initialization of a class (`std::vector<int> v = {}`) starts its range at
        // the `=`.
        llvm::StringRef v = llvm::StringRef(*value).trim();
        if (v.consume_front("=")) v = v.ltrim();
        defaults.back() = " = " + v.str();
      } else {
        unrepeatable = i;
      }
    }

    // The awaitable expression.
    std::string callee;
    const std::string targs = own_args.empty() ? "" : "<" + llvm::join(own_args, ", ") + ">";
    const bool dependent_class = cls != nullptr && cls->isDependentContext();
    const std::string tkw = dependent_class && !targs.empty() ? "template " : "";
    if (member) {
      callee = (method->getRefQualifier() == clang::RQ_RValue ? "std::move(" + self + ")" : self) +
               "." + tkw + fd.getNameAsString() + targs;
    } else {
      std::optional<std::string> scope = q_.scope_of(fd.getDeclContext(), false, why);
      if (!scope) return skip(why);
      llvm::StringRef bare(*scope);
      bare.consume_front("typename ");
      callee = (bare.empty() ? "::" : bare.str() + tkw) + fd.getNameAsString() + targs;
    }

    // The shim with every parameter, then (past an unrepeatable default) one per shorter arity.
    const std::string target_text = join_namespace(s.target);
    for (unsigned arity = fd.getNumParams() + 1; arity-- > unrepeatable;) {
      if (arity < fd.getNumParams() && !fd.getParamDecl(arity)->hasDefaultArg()) break;
      shim v = s;
      if (member) v.params.push_back(self_param);
      std::vector<std::string> call_args;
      std::vector<std::string> keys;
      std::vector<clang::QualType> shim_types;
      const unsigned offset = member ? 1 : 0;
      for (unsigned i = 0; i < offset; ++i) {
        keys.push_back(key_types[i]);
        shim_types.push_back(types[i]);
      }
      for (unsigned i = 0; i < arity; ++i) {
        // Only the shortest shim repeats the defaults before `unrepeatable` (where they are
        // trailing); the longer ones take every argument, so no call matches two shims.
        v.params.push_back(params[i] + (arity == unrepeatable ? defaults[i] : std::string()));
        call_args.push_back(args[i]);
        keys.push_back(key_types[offset + i]);
        shim_types.push_back(types[offset + i]);
      }
      v.call = callee + "(" + llvm::join(call_args, ", ") + ")";
      v.key = target_text + "::" + v.name + "(" + llvm::join(keys, ", ") + ")";
      if (!head.signature.empty() || head.invented) {
        v.key +=
            " template<" + llvm::join(head.signature, ", ") + (head.invented ? ", auto" : "") + ">";
      }
      if (!head.requires_.empty()) v.key += " requires " + llvm::join(head.requires_, " && ");
      if (!v.trailing_requires.empty()) v.key += " " + v.trailing_requires;
      if (!is_template) {
        if (const clang::FunctionDecl* old = existing(v.target, v.name, shim_types)) {
          const std::string what =
              old == &fd ? "the function itself" : "'" + old->getQualifiedNameAsString() + "'";
          report(fd.getLocation(), severity::error,
                 "the blocking-style shim of '" + origin + "' would redeclare " + what +
                     (target_text.empty() ? "" : " in namespace '" + target_text + "'") +
                     ": choose another --shims-namespace, or skip it with // NOBALROG(" +
                     pass_name + ")");
          return;
        }
      }
      out_.push_back(std::move(v));
    }
  }

  clang::ASTContext& ctx_;
  const clang::SourceManager& sm_;
  const options& opts_;
  std::vector<message>& messages_;
  qualifier q_;
  std::vector<shim> out_;
};

}  // namespace

bool parse_namespace(const std::string& text, options& out, std::string& error) {
  out.target.clear();
  out.target_is_global = false;
  llvm::StringRef rest(text);
  rest = rest.trim();
  if (rest == "::") {
    out.target_is_global = true;
    return true;
  }
  rest.consume_front("::");
  llvm::SmallVector<llvm::StringRef, 4> parts;
  rest.split(parts, "::");
  for (llvm::StringRef part : parts) {
    part = part.trim();
    bool is_inline = false;
    if (part.consume_front("inline ")) {
      is_inline = true;
      part = part.trim();
    }
    const bool identifier = !part.empty() && !llvm::isDigit(part.front()) &&
                            llvm::all_of(part, [](char c) { return llvm::isAlnum(c) || c == '_'; });
    if (!identifier) {
      error = "--shims-namespace '" + text + "' is not a namespace name (like a::b)";
      return false;
    }
    out.target.push_back({part.str(), is_inline});
  }
  return true;
}

std::vector<shim> collect(clang::ASTContext& ctx, const options& opts,
                          std::vector<message>& messages) {
  return collector(ctx, opts, messages).run();
}

}  // namespace balrog::gen::coro_shims
