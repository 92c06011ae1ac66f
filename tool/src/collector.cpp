#include "collector.hpp"

#include <clang/Basic/FileManager.h>
#include <clang/Lex/Lexer.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

namespace balrog::gen {

collector::collector(tu_result& out, const llvm::Regex* header_filter)
    : out_(out), header_filter_(header_filter) {}

std::string collector::path_of(const clang::SourceManager& sm, clang::FileID fid) {
  const auto entry = sm.getFileEntryRefForID(fid);
  if (!entry) return {};
  llvm::StringRef real = entry->getFileEntry().tryGetRealPathName();
  if (!real.empty()) return real.str();
  llvm::SmallString<256> p(entry->getName());
  llvm::sys::fs::make_absolute(p);
  llvm::sys::path::remove_dots(p, /*remove_dot_dot=*/true);
  return std::string(p);
}

bool collector::admitted(const clang::SourceManager& sm, clang::FileID fid) const {
  if (fid == sm.getMainFileID()) return true;
  if (sm.isInSystemHeader(sm.getLocForStartOfFile(fid))) return false;
  if (header_filter_ == nullptr) return false;
  return header_filter_->match(path_of(sm, fid));
}

bool collector::is_suppressed(const clang::SourceManager& sm, clang::SourceLocation loc,
                              llvm::StringRef pass) {
  const clang::FileID fid = sm.getFileID(loc);
  auto& s = suppressions_[fid];
  if (!s) {
    bool invalid = false;
    const llvm::StringRef text = sm.getBufferData(fid, &invalid);
    s = std::make_unique<suppressions>(invalid ? llvm::StringRef() : text);
  }
  return s->suppressed(sm.getSpellingLineNumber(loc), pass);
}

bool collector::replace(const clang::SourceManager& sm, clang::CharSourceRange range,
                        llvm::StringRef text, llvm::StringRef why, llvm::StringRef pass) {
  const clang::CharSourceRange file_range = clang::Lexer::makeFileCharRange(range, sm, lang_);
  // makeFileCharRange also accepts a range that covers a whole macro expansion (`NAP(1)` with
  // `#define NAP sleep` maps `sleep` to `NAP`): editing it would edit the macro's use, not
  // what is spelled. Only text spelled where it is edited counts: the range must start with
  // its own spelling (true in the main text and in macro arguments, false in macro bodies).
  if (file_range.isValid() && range.getBegin().isMacroID() &&
      sm.getSpellingLoc(range.getBegin()) != file_range.getBegin()) {
    diagnose(sm, range.getBegin(), severity::warning,
             (why + "; not rewritten: it is inside a macro body (rewrite the macro by hand, or "
                    "mark the line NOBALROG)")
                 .str(),
             pass);
    return false;
  }
  if (file_range.isInvalid()) {
    // Not spelled contiguously in a file: part of a macro body. Report where the macro is used.
    const clang::SourceLocation shown = sm.getFileLoc(range.getBegin());
    if (sm.isInSystemHeader(sm.getSpellingLoc(range.getBegin())) && sm.isInSystemHeader(shown)) {
      return false;
    }
    diagnose(sm, range.getBegin(), severity::warning,
             (why + "; not rewritten: it is inside a macro body (rewrite the macro by hand, or "
                    "mark the line NOBALROG)")
                 .str(),
             pass);
    return false;
  }
  const clang::SourceLocation begin = file_range.getBegin();
  const clang::FileID fid = sm.getFileID(begin);
  if (!admitted(sm, fid)) return false;
  if (is_suppressed(sm, begin, pass)) {
    ++out_.suppressed;
    return false;
  }
  edit e;
  e.file = path_of(sm, fid);
  e.offset = sm.getFileOffset(begin);
  e.length = sm.getFileOffset(file_range.getEnd()) - e.offset;
  e.text = text.str();
  e.pass = pass.str();
  e.why = (why + "; rewrite to '" + text + "'").str();
  e.line = sm.getSpellingLineNumber(begin);
  e.column = sm.getSpellingColumnNumber(begin);
  out_.edits.push_back(std::move(e));
  return true;
}

void collector::require_include(const clang::SourceManager& sm, clang::SourceLocation where,
                                llvm::StringRef header) {
  const clang::FileID fid = sm.getFileID(sm.getFileLoc(where));
  if (!admitted(sm, fid)) return;
  out_.includes.push_back({path_of(sm, fid), header.str()});
}

void collector::diagnose(const clang::SourceManager& sm, clang::SourceLocation where,
                         severity level, llvm::StringRef message, llvm::StringRef pass) {
  const clang::SourceLocation loc = sm.getFileLoc(where);
  const clang::FileID fid = sm.getFileID(loc);
  if (!admitted(sm, fid)) return;
  if (is_suppressed(sm, loc, pass)) return;
  diagnostic d;
  d.file = path_of(sm, fid);
  d.line = sm.getSpellingLineNumber(loc);
  d.column = sm.getSpellingColumnNumber(loc);
  d.level = level;
  d.message = message.str();
  d.pass = pass.str();
  out_.diagnostics.push_back(std::move(d));
}

}  // namespace balrog::gen
