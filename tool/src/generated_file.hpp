// Paths and formatting shared by the modes that write generated files from headers
// (--emit-shims, --emit-py-bindings).
#pragma once

#include <clang/Frontend/CompilerInstance.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/ADT/StringRef.h>

#include <string>

namespace balrog::gen {

class dropped_flags;

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

// Runs `factory` over `header` parsed as a header, with its compile command from `db` (unknown
// flags dropped into `dropped`, clang's resource directory, then `extra_args`). Returns
// ClangTool::run's status: 0 parsed, 1 parse errors, 2 no compile command.
int run_on_header(const clang::tooling::CompilationDatabase& db, const std::string& header,
                  dropped_flags& dropped, const std::string& resource_dir,
                  const clang::tooling::ArgumentsAdjuster& extra_args,
                  clang::tooling::FrontendActionFactory& factory);

}  // namespace balrog::gen
