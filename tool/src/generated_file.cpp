// Paths and formatting shared by --emit-shims and --emit-py-bindings.
#include "generated_file.hpp"

#include "compile_flags.hpp"

#include <clang/Basic/FileManager.h>
#include <clang/Format/Format.h>
#include <clang/Lex/HeaderSearch.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Core/Replacement.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

namespace balrog::gen {

// `path` made absolute and free of symlinks and dots (as far as it exists).
std::string real(llvm::StringRef path) {
  llvm::SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  llvm::sys::path::remove_dots(abs, true);
  llvm::SmallString<256> resolved;
  if (!llvm::sys::fs::real_path(abs, resolved)) return std::string(resolved);
  return std::string(abs);
}

// `to` relative to directory `from` (both absolute): "../include/x.hpp".
std::string relative(llvm::StringRef to, llvm::StringRef from) {
  llvm::SmallVector<llvm::StringRef, 16> a;
  llvm::SmallVector<llvm::StringRef, 16> b;
  llvm::StringRef(to).split(a, '/', -1, false);
  llvm::StringRef(from).split(b, '/', -1, false);
  std::size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
  std::string out;
  for (std::size_t i = common; i < b.size(); ++i) out += "../";
  for (std::size_t i = common; i < a.size(); ++i) {
    out += a[i];
    if (i + 1 < a.size()) out += "/";
  }
  return out;
}

// How the generated header includes the main file: relative to the include directory it is
// found under (the longest match: "balrog/net/stream.hpp"), else relative to the output's
// directory. Either way the text does not depend on where the checkout lives.
std::string spelled_include(clang::CompilerInstance& ci, const std::string& out_dir) {
  const clang::SourceManager& sm = ci.getSourceManager();
  const clang::FileEntry* main = sm.getFileEntryForID(sm.getMainFileID());
  if (main == nullptr) return {};
  const std::string file =
      real(main->tryGetRealPathName().empty() ? main->getName() : main->tryGetRealPathName());
  std::string best;
  std::size_t best_length = 0;
  for (const clang::DirectoryLookup& dl :
       ci.getPreprocessor().getHeaderSearchInfo().search_dir_range()) {
    if (!dl.isNormalDir()) continue;
    const std::string dir = real(dl.getName());
    if (dir.size() > best_length && llvm::StringRef(file).startswith(dir + "/")) {
      best = file.substr(dir.size() + 1);
      best_length = dir.size();
    }
  }
  return best.empty() ? relative(file, out_dir) : best;
}

// Formats `code` the way the project that owns `style_source` formats its code (its
// .clang-format, else LLVM style): the output is committed, and checked with clang-format.
std::string format_generated(const std::string& code, const std::string& style_source,
                             const std::string& out_path) {
  llvm::Expected<clang::format::FormatStyle> found =
      clang::format::getStyle("file", style_source, "LLVM");
  clang::format::FormatStyle style = clang::format::getLLVMStyle();
  if (found) {
    style = *found;
  } else {
    llvm::consumeError(found.takeError());
  }
  const std::vector<clang::tooling::Range> whole{clang::tooling::Range(0, code.size())};
  llvm::Expected<std::string> sorted = clang::tooling::applyAllReplacements(
      code, clang::format::sortIncludes(style, code, whole, out_path));
  if (!sorted) {
    llvm::consumeError(sorted.takeError());
    return code;
  }
  const std::vector<clang::tooling::Range> all{clang::tooling::Range(0, sorted->size())};
  llvm::Expected<std::string> formatted = clang::tooling::applyAllReplacements(
      *sorted, clang::format::reformat(style, *sorted, all, out_path));
  if (!formatted) {
    llvm::consumeError(formatted.takeError());
    return *sorted;
  }
  return *formatted;
}

int run_on_header(const clang::tooling::CompilationDatabase& db, const std::string& header,
                  dropped_flags& dropped, const std::string& resource_dir,
                  const clang::tooling::ArgumentsAdjuster& extra_args,
                  clang::tooling::FrontendActionFactory& factory) {
  clang::tooling::ClangTool tool(db, {header});
  // Parsed as a header (clang's fixed compilation database drops every flag after `--` when
  // they say -x c++-header themselves, so it is added here). Only errors matter: a header as
  // a main file draws "#pragma once in main file".
  tool.appendArgumentsAdjuster(clang::tooling::getInsertArgumentAdjuster(
      {"-x", "c++-header"}, clang::tooling::ArgumentInsertPosition::BEGIN));
  tool.appendArgumentsAdjuster(
      clang::tooling::getInsertArgumentAdjuster("-w", clang::tooling::ArgumentInsertPosition::END));
  tool.appendArgumentsAdjuster(drop_unknown_flags(dropped));
  tool.appendArgumentsAdjuster(add_resource_dir(resource_dir));
  if (extra_args) tool.appendArgumentsAdjuster(extra_args);
  return tool.run(&factory);
}

}  // namespace balrog::gen
