// The rewrite_sink the passes report to, for one translation unit: it enforces the rules every
// pass shares (edit only what is spelled in an admitted user file; never in macro bodies,
// system headers or under suppression comments) and records what is left in a tu_result.
#pragma once

#include <clang/Basic/LangOptions.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/Support/Regex.h>

#include <memory>
#include <optional>

#include "pass.hpp"
#include "results.hpp"
#include "suppressions.hpp"

namespace balrog::gen {

class collector final : public rewrite_sink {
 public:
  // `header_filter`: headers whose path matches may be edited (null: main files only).
  collector(tu_result& out, const llvm::Regex* header_filter);

  void set_lang_options(const clang::LangOptions& lo) { lang_ = lo; }

  bool replace(const clang::SourceManager& sm, clang::CharSourceRange range, llvm::StringRef text,
               llvm::StringRef why, llvm::StringRef pass,
               const blocking_call* call = nullptr) override;
  void require_include(const clang::SourceManager& sm, clang::SourceLocation where,
                       llvm::StringRef header) override;
  void diagnose(const clang::SourceManager& sm, clang::SourceLocation where, severity level,
                llvm::StringRef message, llvm::StringRef pass,
                const blocking_call* call = nullptr) override;
  bool editable(const clang::SourceManager& sm, clang::SourceLocation where,
                llvm::StringRef pass) override;
  void system_header_call(const clang::SourceManager& sm, clang::SourceLocation call_loc,
                          clang::SourceLocation reached_from, llvm::StringRef via,
                          const blocking_call& call, llvm::StringRef pass) override;

  // The absolute, normalized path of a file of this TU.
  static std::string path_of(const clang::SourceManager& sm, clang::FileID fid);

 private:
  // Whether `fid` may be edited or reported on: the main file, or a non-system header that the
  // header filter admits.
  bool admitted(const clang::SourceManager& sm, clang::FileID fid) const;
  // Records a blocking call left as it is, at `loc` (a file location).
  left_call& record_left(const clang::SourceManager& sm, clang::SourceLocation loc,
                         const blocking_call& call, llvm::StringRef reason, llvm::StringRef message,
                         llvm::StringRef pass);
  bool is_suppressed(const clang::SourceManager& sm, clang::SourceLocation loc,
                     llvm::StringRef pass);

  tu_result& out_;
  const llvm::Regex* header_filter_;
  clang::LangOptions lang_;
  llvm::DenseMap<clang::FileID, std::unique_ptr<suppressions>> suppressions_;
};

}  // namespace balrog::gen
