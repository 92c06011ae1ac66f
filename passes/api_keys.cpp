#include "api_keys.hpp"

#include <clang/AST/DeclCXX.h>

namespace balrog::gen {

std::string qualified_key(const clang::NamedDecl& d) {
  std::string key = "::" + d.getNameAsString();
  for (const clang::DeclContext* c = d.getDeclContext(); c != nullptr; c = c->getParent()) {
    if (const auto* ns = llvm::dyn_cast<clang::NamespaceDecl>(c)) {
      if (ns->isInline() || ns->isAnonymousNamespace()) continue;
      key = "::" + ns->getNameAsString() + key;
    } else if (const auto* rd = llvm::dyn_cast<clang::RecordDecl>(c)) {
      key = "::" + rd->getNameAsString() + key;
    } else if (!llvm::isa<clang::LinkageSpecDecl>(c)) {
      break;
    }
  }
  return key;
}

std::string normalized_key(const std::string& name) {
  return name.rfind("::", 0) == 0 ? name : "::" + name;
}

}  // namespace balrog::gen
