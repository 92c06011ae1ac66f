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

left_call& collector::record_left(const clang::SourceManager& sm, clang::SourceLocation loc,
                                  const blocking_call& call, llvm::StringRef reason,
                                  llvm::StringRef message, llvm::StringRef pass) {
  left_call l;
  l.file = path_of(sm, sm.getFileID(loc));
  l.line = sm.getSpellingLineNumber(loc);
  l.column = sm.getSpellingColumnNumber(loc);
  l.function = call.function;
  l.library = call.library;
  l.reason = reason.str();
  l.message = message.str();
  l.pass = pass.str();
  out_.left.push_back(std::move(l));
  return out_.left.back();
}

bool collector::replace(const clang::SourceManager& sm, clang::CharSourceRange range,
                        llvm::StringRef text, llvm::StringRef why, llvm::StringRef pass,
                        const blocking_call* call) {
  blocking_call in_macro_body;
  if (call != nullptr) {
    in_macro_body = *call;
    in_macro_body.reason = "macro-body";
  }
  const blocking_call* macro_call = call != nullptr ? &in_macro_body : nullptr;
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
             pass, macro_call);
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
             pass, macro_call);
    return false;
  }
  const clang::SourceLocation begin = file_range.getBegin();
  const clang::FileID fid = sm.getFileID(begin);
  if (!admitted(sm, fid)) {
    // A user header the filter does not admit: not edited, but not silent either.
    if (call != nullptr && !sm.isInSystemHeader(begin) && !is_suppressed(sm, begin, pass)) {
      record_left(sm, begin, *call, "header-filter",
                  (why + "; not rewritten: this header is outside the header filter "
                         "(--header-filter or the configuration's header-filter)")
                      .str(),
                  pass);
    }
    return false;
  }
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
  if (const llvm::StringRef shown = text.trim(); !text.contains('\n')) {
    e.why = (why + "; rewrite to '" + text + "'").str();
  } else if (!shown.contains('\n')) {  // a line of its own (run-main's implicit return)
    e.why = (why + "; " + (e.length == 0 ? "insert '" : "rewrite to '") + shown + "'").str();
  } else {  // whole lines (run-main's new main()): too long to quote in a diagnostic
    e.why = (why + "; " + (e.length == 0 ? "insert " : "rewrite to ") +
             std::to_string(shown.count('\n') + 1) + " lines")
                .str();
  }
  e.line = sm.getSpellingLineNumber(begin);
  e.column = sm.getSpellingColumnNumber(begin);
  if (call != nullptr) {
    left_call l;
    l.file = e.file;
    l.line = e.line;
    l.column = e.column;
    l.function = call->function;
    l.library = call->library;
    l.message = e.why;
    l.pass = e.pass;
    out_.rewritten.push_back(std::move(l));
  }
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
                         severity level, llvm::StringRef message, llvm::StringRef pass,
                         const blocking_call* call) {
  const clang::SourceLocation loc = sm.getFileLoc(where);
  const clang::FileID fid = sm.getFileID(loc);
  if (!admitted(sm, fid) && (level != severity::error || sm.isInSystemHeader(loc))) {
    // Outside the header filter: recorded (and counted per header by main), not printed. An
    // error is printed wherever it is (run-main: a main() in a header the filter does not
    // admit): it refuses the translation unit, which must not happen silently.
    if (call != nullptr && !sm.isInSystemHeader(loc) && !is_suppressed(sm, loc, pass)) {
      record_left(sm, loc, *call, call->reason, message, pass);
    }
    return;
  }
  if (is_suppressed(sm, loc, pass)) return;
  if (call != nullptr) record_left(sm, loc, *call, call->reason, message, pass).shown = true;
  diagnostic d;
  d.file = path_of(sm, fid);
  d.line = sm.getSpellingLineNumber(loc);
  d.column = sm.getSpellingColumnNumber(loc);
  d.level = level;
  d.message = message.str();
  d.pass = pass.str();
  out_.diagnostics.push_back(std::move(d));
}

bool collector::editable(const clang::SourceManager& sm, clang::SourceLocation where,
                         llvm::StringRef pass) {
  while (where.isMacroID()) {
    if (!sm.isMacroArgExpansion(where)) return false;  // a macro body
    where = sm.getImmediateSpellingLoc(where);
  }
  if (where.isInvalid() || !admitted(sm, sm.getFileID(where))) return false;
  return !is_suppressed(sm, where, pass);
}

void collector::system_header_call(const clang::SourceManager& sm, clang::SourceLocation call_loc,
                                   clang::SourceLocation reached_from, llvm::StringRef via,
                                   const blocking_call& call, llvm::StringRef pass) {
  const clang::SourceLocation from = sm.getFileLoc(reached_from);
  if (sm.isInSystemHeader(from) || is_suppressed(sm, from, pass)) return;
  const clang::SourceLocation at = sm.getFileLoc(call_loc);
  const std::string where =
      path_of(sm, sm.getFileID(at)) + ":" + std::to_string(sm.getSpellingLineNumber(at));
  const std::string message = "call to '" + via.str() + "' reaches a call to '" + call.function +
                              "' in a system header (" + where +
                              "), which blocks the thread; system headers are never rewritten";
  left_call& l = record_left(sm, at, call, "system-header", message, pass);
  l.via = via.str();
  l.from_file = path_of(sm, sm.getFileID(from));
  l.from_line = sm.getSpellingLineNumber(from);
  l.from_column = sm.getSpellingColumnNumber(from);
  if (!admitted(sm, sm.getFileID(from))) return;
  l.shown = true;
  diagnostic d;
  d.file = l.from_file;
  d.line = l.from_line;
  d.column = l.from_column;
  d.level = severity::warning;
  d.message = message;
  d.pass = pass.str();
  out_.diagnostics.push_back(std::move(d));
}

}  // namespace balrog::gen
