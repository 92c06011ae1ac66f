#include "coro-shims/awaitable.hpp"

#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclFriend.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/Sema/Sema.h>

namespace balrog::gen::coro_shims {

namespace {

// The class behind a return type, dependent or not.
struct class_info {
  const clang::CXXRecordDecl* members = nullptr;   // a definition to look members up in
  const clang::CXXRecordDecl* record = nullptr;    // the class itself (canonical), if known
  const clang::ClassTemplateDecl* tmpl = nullptr;  // canonical; set for specializations
  std::vector<clang::TemplateArgument> args;       // their arguments, as written
};

const clang::ClassTemplateDecl* canonical(const clang::ClassTemplateDecl* t) {
  return t != nullptr ? t->getCanonicalDecl() : nullptr;
}

std::optional<class_info> class_behind(clang::QualType t, clang::Sema* sema = nullptr,
                                       clang::SourceLocation where = {}) {
  class_info c;
  if (!t->isDependentType()) {
    const clang::CXXRecordDecl* rd = t->getAsCXXRecordDecl();
    if (rd == nullptr) return std::nullopt;
    if (rd->getDefinition() == nullptr && sema != nullptr) {
      (void)sema->isCompleteType(where, t);  // instantiates a specialization
    }
    c.record = rd->getCanonicalDecl();
    c.members = rd->getDefinition();
    if (const auto* spec = llvm::dyn_cast<clang::ClassTemplateSpecializationDecl>(rd)) {
      c.tmpl = canonical(spec->getSpecializedTemplate());
      const auto& args = spec->getTemplateArgs().asArray();
      c.args.assign(args.begin(), args.end());
      // Not instantiated yet (a declaration does not need it): the primary template tells.
      if (c.members == nullptr) c.members = c.tmpl->getTemplatedDecl()->getDefinition();
    }
    return c.members != nullptr ? std::optional(c) : std::nullopt;
  }
  // A member class of a class template, named from inside it (`awaiter` in future<T>).
  if (const auto* record = t->getAs<clang::RecordType>()) {
    c.record = llvm::cast<clang::CXXRecordDecl>(record->getDecl())->getCanonicalDecl();
    c.members = c.record->getDefinition();
    return c.members != nullptr ? std::optional(c) : std::nullopt;
  }
  // Inside a class template, its own name.
  if (const auto* injected = t->getAs<clang::InjectedClassNameType>()) {
    c.record = injected->getDecl()->getCanonicalDecl();
    c.members = injected->getDecl()->getDefinition();
    c.tmpl = canonical(injected->getDecl()->getDescribedClassTemplate());
    return c.members != nullptr ? std::optional(c) : std::nullopt;
  }
  const auto* tst = t->getAs<clang::TemplateSpecializationType>();
  while (tst != nullptr && tst->isTypeAlias()) {
    tst = tst->getAliasedType()->getAs<clang::TemplateSpecializationType>();
  }
  if (tst == nullptr) return std::nullopt;
  const auto* ct =
      llvm::dyn_cast_or_null<clang::ClassTemplateDecl>(tst->getTemplateName().getAsTemplateDecl());
  if (ct == nullptr) return std::nullopt;
  c.tmpl = canonical(ct);
  c.members = ct->getTemplatedDecl()->getDefinition();
  const auto args = tst->template_arguments();
  c.args.assign(args.begin(), args.end());
  return c.members != nullptr ? std::optional(c) : std::nullopt;
}

bool same_class(const class_info& a, const class_info& b) {
  if (a.tmpl != nullptr || b.tmpl != nullptr) return a.tmpl == b.tmpl;
  return a.record == b.record;
}

// Members named `name` of `rd` and of its (non-dependent) bases.
void find_members(const clang::CXXRecordDecl* rd, clang::DeclarationName name,
                  std::vector<const clang::NamedDecl*>& out, int depth = 0) {
  rd = rd->getDefinition();
  if (rd == nullptr || depth > 32) return;
  for (const clang::NamedDecl* d : rd->lookup(name)) out.push_back(d->getUnderlyingDecl());
  for (const clang::CXXBaseSpecifier& b : rd->bases()) {
    if (const clang::CXXRecordDecl* base = b.getType()->getAsCXXRecordDecl()) {
      find_members(base, name, out, depth + 1);
    }
  }
}

std::vector<const clang::NamedDecl*> members(const clang::CXXRecordDecl* rd, llvm::StringRef name,
                                             clang::ASTContext& ctx) {
  std::vector<const clang::NamedDecl*> out;
  find_members(rd, clang::DeclarationName(&ctx.Idents.get(name)), out);
  return out;
}

// What await_resume returns, decayed; null when it depends on template arguments.
clang::QualType resume_type(const clang::CXXRecordDecl* awaiter, clang::ASTContext& ctx) {
  for (const clang::NamedDecl* d : members(awaiter, "await_resume", ctx)) {
    const clang::FunctionDecl* f = d->getAsFunction();
    if (f == nullptr) continue;
    clang::QualType r = f->getReturnType().getNonReferenceType().getUnqualifiedType();
    if (const auto* a = r->getAs<clang::AutoType>()) {
      if (!a->isDeduced()) return {};
      r = a->getDeducedType().getNonReferenceType().getUnqualifiedType();
    }
    if (r->isDependentType() || r->isUndeducedType()) return {};
    return r;
  }
  return {};
}

bool is_awaiter(const clang::CXXRecordDecl* rd, clang::ASTContext& ctx) {
  return !members(rd, "await_ready", ctx).empty() && !members(rd, "await_suspend", ctx).empty() &&
         !members(rd, "await_resume", ctx).empty();
}

// What an awaiter returned by operator co_await yields: `found` tells whether it is one.
clang::QualType awaiter_result(clang::QualType awaiter, clang::ASTContext& ctx, clang::Sema* sema,
                               clang::SourceLocation where, bool& found) {
  if (awaiter->isUndeducedType() || awaiter->getContainedAutoType() != nullptr) {
    found = true;  // `auto operator co_await()`: trust it, but the yield is unknown here
    return {};
  }
  // `sema` instantiates a member class of a class template specialization (future<int>::awaiter).
  std::optional<class_info> c =
      class_behind(awaiter.getNonReferenceType().getUnqualifiedType(), sema, where);
  found = c && is_awaiter(c->members, ctx);
  return found ? resume_type(c->members, ctx) : clang::QualType();
}

}  // namespace

namespace {

// Where the function's return type is spelled, past `ns::` and cv-qualifiers: the
// template-id the user wrote (task<T>, my_future<std::string>), not an alias of it.
clang::TypeLoc written_return_loc(const clang::FunctionDecl& fd) {
  clang::TypeLoc loc;
  if (clang::FunctionTypeLoc ftl = fd.getFunctionTypeLoc()) loc = ftl.getReturnLoc();
  while (loc) {
    if (auto e = loc.getAs<clang::ElaboratedTypeLoc>()) {
      loc = e.getNamedTypeLoc();
    } else if (auto q = loc.getAs<clang::QualifiedTypeLoc>()) {
      loc = q.getUnqualifiedLoc();
    } else {
      break;
    }
  }
  return loc;
}

std::optional<awaitable_info> classify(const clang::FunctionDecl& fd, clang::ASTContext& ctx,
                                       clang::Sema* sema) {
  const clang::QualType rt = fd.getReturnType();
  if (rt->isReferenceType() || rt->isPointerType() || rt->isUndeducedType() ||
      rt.isConstQualified()) {
    return std::nullopt;
  }
  std::optional<class_info> c = class_behind(rt, sema, fd.getLocation());
  if (!c) return std::nullopt;

  awaitable_info info;
  const clang::CXXRecordDecl* pattern = c->tmpl ? c->tmpl->getTemplatedDecl() : nullptr;
  if (pattern != nullptr && pattern->getQualifiedNameAsString() == "balrog::task") {
    info.is_task = true;
    clang::QualType arg = ctx.VoidTy;  // task<> is task<void>
    if (!c->args.empty() && c->args[0].getKind() == clang::TemplateArgument::Type) {
      arg = c->args[0].getAsType();
    }
    info.result = arg;
    if (arg->isReferenceType() || arg.hasQualifiers()) {
      info.result = arg.getNonReferenceType().getUnqualifiedType();
      return info;  // printed, not copied: the spelling has the reference
    }
    // Where T is spelled: task<T> written as such (not through an alias of it).
    const clang::TypeLoc loc = written_return_loc(fd);
    if (auto tl = loc ? loc.getAs<clang::TemplateSpecializationTypeLoc>()
                      : clang::TemplateSpecializationTypeLoc()) {
      const auto* written = llvm::dyn_cast_or_null<clang::ClassTemplateDecl>(
          tl.getTypePtr()->getTemplateName().getAsTemplateDecl());
      if (canonical(written) == c->tmpl && tl.getNumArgs() >= 1 &&
          tl.getArgLoc(0).getArgument().getKind() == clang::TemplateArgument::Type) {
        info.result_loc = tl.getArgLoc(0).getTypeSourceInfo()->getTypeLoc();
      }
    }
    return info;
  }

  // An awaiter itself.
  if (is_awaiter(c->members, ctx)) {
    info.result = resume_type(c->members, ctx);
    return info;
  }
  const clang::DeclarationName co_await_name =
      ctx.DeclarationNames.getCXXOperatorName(clang::OO_Coawait);
  // A member operator co_await that a prvalue can call.
  std::vector<const clang::NamedDecl*> ops;
  find_members(c->members, co_await_name, ops);
  for (const clang::NamedDecl* d : ops) {
    const auto* m = llvm::dyn_cast_or_null<clang::CXXMethodDecl>(d->getAsFunction());
    if (m == nullptr || m->isDeleted()) continue;
    if (m->getRefQualifier() == clang::RQ_LValue && !m->isConst()) continue;
    bool found = false;
    info.result = awaiter_result(m->getReturnType(), ctx, sema, fd.getLocation(), found);
    if (found) return info;
  }
  // A non-member operator co_await beside the class, or a friend of it, taking a prvalue.
  std::vector<const clang::NamedDecl*> free_ops;
  for (const clang::NamedDecl* d :
       c->members->getEnclosingNamespaceContext()->lookup(co_await_name)) {
    free_ops.push_back(d->getUnderlyingDecl());
  }
  for (const clang::FriendDecl* f : c->members->friends()) {
    const clang::NamedDecl* d = f->getFriendDecl();
    if (d != nullptr && d->getDeclName() == co_await_name) free_ops.push_back(d);
  }
  for (const clang::NamedDecl* d : free_ops) {
    const clang::FunctionDecl* f = d->getAsFunction();
    if (f == nullptr || f->isDeleted() || f->getNumParams() < 1) continue;
    const clang::QualType p = f->getParamDecl(0)->getType();
    if (p->isLValueReferenceType() && !p.getNonReferenceType().isConstQualified()) continue;
    std::optional<class_info> pc = class_behind(p.getNonReferenceType().getUnqualifiedType());
    if (!pc || !same_class(*pc, *c)) continue;
    bool found = false;
    info.result = awaiter_result(f->getReturnType(), ctx, sema, fd.getLocation(), found);
    if (found) return info;
  }
  return std::nullopt;
}

}  // namespace

std::optional<awaitable_info> classify_awaitable(const clang::FunctionDecl& fd,
                                                 clang::ASTContext& ctx, clang::Sema* sema) {
  std::optional<awaitable_info> info = classify(fd, ctx, sema);
  if (!info || info->is_task || info->result.isNull()) return info;
  // What a foreign awaitable yields is one of its template arguments, more often than not
  // (my_future<std::string>): copy it as written rather than print it desugared.
  const clang::TypeLoc loc = written_return_loc(fd);
  auto tl = loc ? loc.getAs<clang::TemplateSpecializationTypeLoc>()
                : clang::TemplateSpecializationTypeLoc();
  for (unsigned i = 0; tl && i < tl.getNumArgs(); ++i) {
    const clang::TemplateArgumentLoc& arg = tl.getArgLoc(i);
    if (arg.getArgument().getKind() != clang::TemplateArgument::Type) continue;
    const clang::QualType t = arg.getArgument().getAsType();
    if (!t->isReferenceType() && !t.hasQualifiers() && ctx.hasSameType(t, info->result)) {
      info->result_loc = arg.getTypeSourceInfo()->getTypeLoc();
      break;
    }
  }
  return info;
}

}  // namespace balrog::gen::coro_shims
