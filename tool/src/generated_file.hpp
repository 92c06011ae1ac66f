// Paths and formatting shared by the modes that write generated files from headers
// (--emit-shims, --emit-py-bindings).
#pragma once

#include <clang/Frontend/CompilerInstance.h>
#include <llvm/ADT/StringRef.h>

#include <string>

namespace balrog::gen {

// `path` made absolute and free of symlinks and dots (as far as it exists).
std::string real(llvm::StringRef path);

// `to` relative to directory `from` (both absolute): "../include/x.hpp".
std::string relative(llvm::StringRef to, llvm::StringRef from);

// How a generated file includes the main file: relative to the include directory it is
// found under (the longest match: "balrog/net/stream.hpp"), else relative to the output's
// directory. Either way the text does not depend on where the checkout lives.
std::string spelled_include(clang::CompilerInstance& ci, const std::string& out_dir);

// Formats `code` the way the project that owns `style_source` formats its code (its
// .clang-format, else LLVM style).
std::string format_generated(const std::string& code, const std::string& style_source,
                             const std::string& out_path);

}  // namespace balrog::gen
