#include "merge.hpp"

#include <clang/Tooling/Core/Replacement.h>
#include <clang/Tooling/Inclusions/HeaderIncludes.h>
#include <clang/Tooling/Inclusions/IncludeStyle.h>
#include <llvm/Support/MemoryBuffer.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace balrog::gen {

namespace {

bool overlaps(const edit& a, const edit& b) {
  if (a.offset == b.offset) return true;  // two insertions at one point conflict too
  return a.offset < b.offset ? a.offset + a.length > b.offset : b.offset + b.length > a.offset;
}

// Line and column of `offset` in `text`, for edits the tool makes itself.
std::pair<unsigned, unsigned> position(const std::string& text, unsigned offset) {
  unsigned line = 1;
  unsigned column = 1;
  for (unsigned i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

merged merge_edits(const std::vector<tu_result>& results) {
  merged out;
  std::map<std::string, std::vector<edit>> by_file;
  std::map<std::string, std::set<std::string>> includes;
  for (const tu_result& r : results) {
    if (!r.ran || r.parse_errors > 0 || r.pass_errors > 0) continue;
    for (const edit& e : r.edits) by_file[e.file].push_back(e);
    for (const include_request& i : r.includes) includes[i.file].insert(i.header);
  }

  for (auto& [path, edits] : by_file) {
    std::sort(edits.begin(), edits.end(), [](const edit& a, const edit& b) {
      return std::tie(a.offset, a.length, a.text) < std::tie(b.offset, b.length, b.text);
    });
    edits.erase(std::unique(edits.begin(), edits.end(),
                            [](const edit& a, const edit& b) {
                              return a.offset == b.offset && a.length == b.length &&
                                     a.text == b.text;
                            }),
                edits.end());
    // Sweep clusters of overlapping edits; a cluster of more than one conflicts.
    std::vector<edit> kept;
    for (std::size_t i = 0; i < edits.size();) {
      std::size_t j = i + 1;
      unsigned end = edits[i].offset + edits[i].length;
      while (j < edits.size() && (overlaps(edits[j - 1], edits[j]) || edits[j].offset < end)) {
        end = std::max(end, edits[j].offset + edits[j].length);
        ++j;
      }
      if (j - i == 1) {
        kept.push_back(edits[i]);
      } else {
        diagnostic d;
        d.file = path;
        d.line = edits[i].line;
        d.column = edits[i].column;
        d.level = severity::warning;
        d.message = "translation units disagree on how to rewrite this code (" +
                    std::to_string(j - i) + " different edits); none of them was applied";
        d.pass = edits[i].pass;
        out.diagnostics.push_back(std::move(d));
      }
      i = j;
    }
    if (kept.empty()) continue;

    auto buffer = llvm::MemoryBuffer::getFile(path);
    if (!buffer) {
      out.diagnostics.push_back(
          {path, 0, 0, severity::error,
           "cannot read the file to rewrite it: " + buffer.getError().message(), ""});
      continue;
    }
    file_change change;
    change.path = path;
    change.original = (*buffer)->getBuffer().str();
    clang::tooling::IncludeStyle style;  // LLVM's: angled system headers after quoted ones
    const clang::tooling::HeaderIncludes header_includes(path, change.original, style);
    for (const std::string& header : includes[path]) {
      const bool angled = !header.empty() && header.front() == '<';
      const std::string name = header.size() > 2 ? header.substr(1, header.size() - 2) : header;
      if (auto r =
              header_includes.insert(name, angled, clang::tooling::IncludeDirective::Include)) {
        edit e;
        e.file = path;
        e.offset = r->getOffset();
        e.length = r->getLength();
        e.text = r->getReplacementText().str();
        e.pass = "include";
        e.why = "include " + header + " for the rewritten calls";
        std::tie(e.line, e.column) = position(change.original, e.offset);
        kept.push_back(std::move(e));
      }
    }
    // HeaderIncludes places each new #include against the original text, so several land at
    // one offset: join them into one insertion, in a stable order.
    std::sort(kept.begin(), kept.end(), [](const edit& a, const edit& b) {
      return std::tie(a.offset, a.length, a.text) < std::tie(b.offset, b.length, b.text);
    });
    for (std::size_t i = 1; i < kept.size();) {
      edit& prev = kept[i - 1];
      if (prev.pass == "include" && kept[i].pass == "include" && prev.offset == kept[i].offset &&
          prev.length == 0 && kept[i].length == 0) {
        prev.text += kept[i].text;
        prev.why += "; " + kept[i].why;
        kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    clang::tooling::Replacements replacements;
    std::vector<edit> applied;
    bool overlap = false;
    for (const edit& e : kept) {
      if (auto err =
              replacements.add(clang::tooling::Replacement(path, e.offset, e.length, e.text))) {
        llvm::consumeError(std::move(err));
        // Applying the others could leave a rewritten call without its #include (or half an
        // edit): output known not to compile is never written. The file stays as it is.
        out.diagnostics.push_back({path, e.line, e.column, severity::error,
                                   "overlapping edits; none of this file's edits was applied",
                                   e.pass});
        overlap = true;
        break;
      }
      applied.push_back(e);
    }
    if (overlap) continue;
    auto rewritten = clang::tooling::applyAllReplacements(change.original, replacements);
    if (!rewritten) {
      out.diagnostics.push_back(
          {path, 0, 0, severity::error,
           "could not apply the edits: " + llvm::toString(rewritten.takeError()), ""});
      continue;
    }
    if (*rewritten == change.original) continue;
    std::sort(applied.begin(), applied.end(),
              [](const edit& a, const edit& b) { return a.offset < b.offset; });
    change.rewritten = std::move(*rewritten);
    change.edits = std::move(applied);
    out.changes.push_back(std::move(change));
  }
  return out;
}

}  // namespace balrog::gen
