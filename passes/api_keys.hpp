// How API map entries are keyed: the names blocking-calls looks entries up by, and lints
// matches calls against. One definition, so the two passes never disagree on a key.
#pragma once

#include <clang/AST/Decl.h>

#include <string>

namespace balrog::gen {

// `::a::b::f` for a function, `::a::C::f` for a member (a class template's name without its
// arguments), skipping inline and anonymous namespaces.
std::string qualified_key(const clang::NamedDecl& d);

// A map entry's name with the leading `::` every key has (`recv` and `::recv` are one entry).
std::string normalized_key(const std::string& name);

}  // namespace balrog::gen
