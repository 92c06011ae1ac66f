#include "pass_check.hpp"

#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Basic/FileManager.h>
#include <dlfcn.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "config.hpp"
#include "merge.hpp"

#ifndef BALROG_TIDY_MAPS_DIR
#define BALROG_TIDY_MAPS_DIR ""
#endif
#ifndef BALROG_TIDY_INSTALLED_MAPS_DIR
#define BALROG_TIDY_INSTALLED_MAPS_DIR "../share/balrog/maps"
#endif

namespace balrog::tidy {

namespace {

using clang::DiagnosticIDs;

std::vector<std::string> split_list(llvm::StringRef list) {
  std::string commas = list.str();
  std::replace(commas.begin(), commas.end(), ';', ',');
  llvm::SmallVector<llvm::StringRef, 8> parts;
  llvm::StringRef(commas).split(parts, ',');
  std::vector<std::string> out;
  for (llvm::StringRef p : parts) {
    if (!p.trim().empty()) out.push_back(p.trim().str());
  }
  return out;
}

std::string this_plugin() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&maps_dir_for_plugin), &info) == 0 ||
      info.dli_fname == nullptr) {
    return {};
  }
  return info.dli_fname;
}

DiagnosticIDs::Level level_of(gen::severity s) {
  // A note of its own would have no warning to attach to in clang-tidy: shown as a warning.
  return s == gen::severity::error ? DiagnosticIDs::Error : DiagnosticIDs::Warning;
}

// Source locations of the files the collector names by path.
class locations {
 public:
  explicit locations(const clang::SourceManager& sm) : sm_(sm) {}

  clang::SourceLocation at_offset(const std::string& file, unsigned offset) {
    const clang::FileID fid = file_id(file);
    if (fid.isInvalid()) return {};
    return sm_.getLocForStartOfFile(fid).getLocWithOffset(static_cast<int>(offset));
  }

  clang::SourceLocation at_line(const std::string& file, unsigned line, unsigned column) {
    const clang::FileID fid = file_id(file);
    if (fid.isInvalid() || line == 0) return {};
    return sm_.translateLineCol(fid, line, std::max(column, 1U));
  }

 private:
  clang::FileID file_id(const std::string& file) {
    if (file.empty()) return {};
    auto [it, inserted] = ids_.try_emplace(file);
    if (inserted) {
      if (auto ref = sm_.getFileManager().getOptionalFileRef(file)) {
        it->second = sm_.translateFile(*ref);
      }
    }
    return it->second;
  }

  const clang::SourceManager& sm_;
  std::map<std::string, clang::FileID> ids_;
};

}  // namespace

struct shared_tu {
  gen::tu_result result;
  // clang-tidy's header filter (--header-filter, HeaderFilterRegex) is the collector's: a header
  // it does not show is not edited either, and the lints know it (a std::mutex kept there).
  std::optional<llvm::Regex> header_filter;
  std::unique_ptr<gen::collector> collector;
  std::string file;
  std::map<std::string, pass_check*> checks;  // by pass name
  unsigned registered = 0;
  unsigned finished = 0;
  const clang::SourceManager* sm = nullptr;

  void report();
};

namespace {

// The shared_tu of the translation unit `context` is on (clang-tidy runs one at a time; the
// checks of the previous one are gone, or it is a different file).
std::shared_ptr<shared_tu> shared_for(clang::tidy::ClangTidyContext* context) {
  static std::map<const clang::tidy::ClangTidyContext*, std::weak_ptr<shared_tu>> current;
  std::shared_ptr<shared_tu> tu = current[context].lock();
  if (!tu || tu->file != context->getCurrentFile() || tu->finished > 0) {
    tu = std::make_shared<shared_tu>();
    tu->file = context->getCurrentFile().str();
    current[context] = tu;
  }
  return tu;
}

}  // namespace

std::string maps_dir_for_plugin(const std::string& plugin_path) {
  if (!plugin_path.empty()) {
    llvm::SmallString<256> installed(llvm::sys::path::parent_path(plugin_path));
    llvm::sys::path::append(installed, BALROG_TIDY_INSTALLED_MAPS_DIR);
    llvm::sys::path::remove_dots(installed, /*remove_dot_dot=*/true);
    if (llvm::sys::fs::is_directory(installed)) return std::string(installed);
  }
  return BALROG_TIDY_MAPS_DIR;
}

pass_check::pass_check(llvm::StringRef name, clang::tidy::ClangTidyContext* context,
                       const gen::pass_info& info)
    : ClangTidyCheck(name, context), name_(name.str()), info_(info), context_(context) {}

pass_check::~pass_check() = default;

bool pass_check::configure(gen::pass_config& out) {
  gen::config c;
  const std::string main_file = context_->getCurrentFile().str();
  std::string dir = llvm::sys::path::parent_path(main_file).str();
  if (dir.empty()) dir = ".";
  if (const std::optional<std::string> file = gen::find_config_file(dir)) {
    auto buffer = llvm::MemoryBuffer::getFile(*file);
    std::string error;
    std::optional<gen::config> parsed;
    if (!buffer) {
      error = *file + ": " + buffer.getError().message();
    } else {
      parsed = gen::parse_config((*buffer)->getBuffer().str(), *file, error);
    }
    if (!parsed) {
      configurationDiag("%0: %1", DiagnosticIDs::Error) << name_ << error;
      return false;
    }
    c = std::move(*parsed);
  }
  std::string relative_to =
      c.origin.find('/') == std::string::npos ? "." : llvm::sys::path::parent_path(c.origin).str();
  // Check options: balrog-<pass>.maps, else balrog.maps; paths relative to the working directory.
  const auto& check_options = context_->getOptions().CheckOptions;
  std::optional<std::string> maps_option;
  std::string maps_origin = c.origin;
  if (auto local = Options.get("maps")) {
    maps_option = local->str();
    maps_origin = "option " + name_ + ".maps";
  } else if (auto global = check_options.find("balrog.maps"); global != check_options.end()) {
    maps_option = global->getValue().Value;
    maps_origin = "option balrog.maps";
  }
  if (maps_option) {
    c.maps = split_list(*maps_option);
    relative_to = ".";
  }
  const std::string maps_dir = maps_dir_for_plugin(this_plugin());
  for (const std::string& m : c.maps) {
    std::string error;
    if (auto loaded = gen::load_map(m, maps_dir, relative_to, error)) {
      out.maps.push_back(std::move(*loaded));
    } else {
      configurationDiag("%0: %1: %2", DiagnosticIDs::Error) << name_ << maps_origin << error;
      return false;
    }
  }
  if (auto o = c.pass_options.find(info_.name); o != c.pass_options.end()) out.options = o->second;
  const std::string prefix = name_ + ".";
  for (const auto& entry : check_options) {
    const llvm::StringRef key = entry.getKey();
    if (key.startswith(prefix) && key != prefix + "maps") {
      out.options[key.drop_front(prefix.size()).str()] = entry.getValue().Value;
    }
  }
  for (const gen::pass_info& p : gen::all_passes()) {
    if (p.make != nullptr && context_->isCheckEnabled(std::string("balrog-") + p.name)) {
      out.passes.emplace_back(p.name);
    }
  }
  return true;
}

void pass_check::registerMatchers(clang::ast_matchers::MatchFinder* finder) {
  if (!configure(config_)) return;
  tu_ = shared_for(context_);
  if (!tu_->collector) {
    const std::optional<std::string>& filter = context_->getOptions().HeaderFilterRegex;
    if (filter && !filter->empty()) tu_->header_filter.emplace(*filter);
    tu_->collector = std::make_unique<gen::collector>(
        tu_->result, tu_->header_filter ? &*tu_->header_filter : nullptr);
    tu_->collector->set_lang_options(getLangOpts());
  }
  tu_->checks[info_.name] = this;
  ++tu_->registered;
  pass_ = info_.make(config_);
  pass_->register_matchers(*finder, *tu_->collector);
  // One match per TU, for the SourceManager; the report is made once matching is over.
  finder->addMatcher(clang::ast_matchers::translationUnitDecl(), this);
}

void pass_check::check(const clang::ast_matchers::MatchFinder::MatchResult& result) {
  if (tu_) tu_->sm = result.SourceManager;
}

void pass_check::onEndOfTranslationUnit() {
  if (!tu_) return;
  if (++tu_->finished == tu_->registered && tu_->sm != nullptr) tu_->report();
}

void shared_tu::report() {
  // balrog-gen's merge decides what is applied: identical edits once, overlapping ones refused,
  // #includes placed against the file's text, nothing at all after a pass reported an error.
  gen::tu_result r = result;
  r.ran = true;
  r.pass_errors = static_cast<unsigned>(
      std::count_if(r.diagnostics.begin(), r.diagnostics.end(),
                    [](const gen::diagnostic& d) { return d.level == gen::severity::error; }));
  const gen::merged m = gen::merge_edits({r});
  using key = std::tuple<std::string, unsigned, unsigned, std::string>;
  std::set<key> applied;
  std::map<std::string, std::vector<const gen::edit*>> includes;  // per file, unattached yet
  for (const gen::file_change& change : m.changes) {
    for (const gen::edit& e : change.edits) {
      if (e.pass == "include") {
        includes[e.file].push_back(&e);
      } else {
        applied.emplace(e.file, e.offset, e.length, e.text);
      }
    }
  }
  // Each finding is shown by the check of the pass that made it.
  const auto by = [&](const std::string& pass) -> pass_check& {
    const auto it = checks.find(pass);
    return it != checks.end() ? *it->second : *checks.begin()->second;
  };

  locations where(*sm);
  const auto replacement = [&](const gen::edit& e) {
    const clang::SourceLocation begin = where.at_offset(e.file, e.offset);
    return clang::FixItHint::CreateReplacement(
        clang::CharSourceRange::getCharRange(begin,
                                             begin.getLocWithOffset(static_cast<int>(e.length))),
        e.text);
  };
  std::vector<gen::edit> edits = r.edits;
  const auto same = [](const gen::edit& e) { return std::tie(e.file, e.offset, e.length, e.text); };
  std::sort(edits.begin(), edits.end(),
            [&](const gen::edit& a, const gen::edit& b) { return same(a) < same(b); });
  edits.erase(
      std::unique(edits.begin(), edits.end(),
                  [&](const gen::edit& a, const gen::edit& b) { return same(a) == same(b); }),
      edits.end());
  for (const gen::edit& e : edits) {
    const clang::SourceLocation loc = where.at_offset(e.file, e.offset);
    if (loc.isInvalid()) continue;
    auto d = by(e.pass).diag(loc, "%0") << e.why;
    if (applied.count({e.file, e.offset, e.length, e.text}) == 0) continue;
    d << replacement(e);
    // The file's new #includes go with its first rewrite, so --fix applies them together.
    if (auto it = includes.find(e.file); it != includes.end()) {
      for (const gen::edit* include : it->second) d << replacement(*include);
      includes.erase(it);
    }
  }
  const auto show = [&](const gen::diagnostic& d) {
    pass_check& check = by(d.pass);
    const clang::SourceLocation loc = where.at_line(d.file, d.line, d.column);
    if (loc.isValid()) {
      check.diag(loc, "%0", level_of(d.level)) << d.message;
    } else {
      check.diag("%0", level_of(d.level)) << d.message;
    }
  };
  std::for_each(r.diagnostics.begin(), r.diagnostics.end(), show);
  std::for_each(m.diagnostics.begin(), m.diagnostics.end(), show);
}

}  // namespace balrog::tidy
