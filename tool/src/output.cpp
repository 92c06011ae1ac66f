#include "output.hpp"

#include <clang/Tooling/Core/Diagnostic.h>
#include <clang/Tooling/DiagnosticsYaml.h>
#include <fcntl.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/YAMLTraits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace balrog::gen {

std::string atomic_write(const std::string& path, const std::string& content,
                         bool only_if_changed) {
  if (only_if_changed) {
    if (auto existing = llvm::MemoryBuffer::getFile(path);
        existing && (*existing)->getBuffer() == content) {
      return {};
    }
  }
  const llvm::StringRef dir = llvm::sys::path::parent_path(path);
  if (!dir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      return "cannot create " + dir.str() + ": " + ec.message();
    }
  }
  std::string tmp = path + ".balrog-gen.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return "cannot create a temporary file next to " + path + ": " + std::strerror(errno);
  struct stat st {};
  const mode_t mode = ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0644;
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + why;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot finish " + tmp + ": " + why;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot replace " + path + ": " + why;
  }
  return {};
}

std::string mirror_path(const std::string& source, const std::string& out_dir,
                        const std::string& base_dir, std::string& error) {
  llvm::SmallString<256> src(source);
  llvm::sys::fs::make_absolute(src);
  llvm::sys::path::remove_dots(src, true);
  llvm::SmallString<256> base(base_dir);
  llvm::sys::fs::make_absolute(base);
  llvm::sys::path::remove_dots(base, true);
  // Sources come as given or as real paths (headers): try the base as given, then its real path.
  llvm::SmallString<256> real_base;
  if (llvm::sys::fs::real_path(base, real_base)) real_base = base;
  const auto under = [&](llvm::StringRef root, llvm::StringRef& rel) {
    rel = src;
    return rel.consume_front(root) && (rel.empty() || llvm::sys::path::is_separator(rel.front()));
  };
  llvm::StringRef rel;
  if (!under(base, rel) && !under(real_base, rel)) {
    error = source + " is not under --base-dir " + std::string(base) +
            "; -o mirrors files relative to it";
    return {};
  }
  rel = rel.ltrim('/');
  llvm::SmallString<256> out(out_dir);
  llvm::sys::path::append(out, rel);
  return std::string(out);
}

std::string display_path(const std::string& path) {
  llvm::SmallString<256> cwd;
  if (llvm::sys::fs::current_path(cwd)) return path;
  llvm::SmallString<256> real_cwd;
  if (!llvm::sys::fs::real_path(cwd, real_cwd)) cwd = real_cwd;  // paths of files are real paths
  llvm::StringRef rel(path);
  if (!rel.consume_front(cwd) || rel.empty() || !llvm::sys::path::is_separator(rel.front())) {
    return path;
  }
  return rel.drop_front().str();
}

std::string export_fixes_yaml(const std::string& main_file, const merged& m) {
  clang::tooling::TranslationUnitDiagnostics tu;
  tu.MainSourceFile = main_file;
  for (const file_change& c : m.changes) {
    const std::string path = display_path(c.path);
    for (const edit& e : c.edits) {
      clang::tooling::Diagnostic d;
      d.DiagnosticName = "balrog-" + e.pass;
      d.DiagLevel = clang::tooling::Diagnostic::Warning;
      d.Message.Message = e.why;
      d.Message.FilePath = path;
      d.Message.FileOffset = e.offset;
      llvm::consumeError(
          d.Message.Fix[path].add(clang::tooling::Replacement(path, e.offset, e.length, e.text)));
      tu.Diagnostics.push_back(std::move(d));
    }
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::yaml::Output yaml(os);
  yaml << tu;
  os.flush();
  return text;
}

std::string depfile_text(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& rules) {
  const auto escape = [](const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (c == ' ' || c == '#') {
        // Backslashes right before it would escape the escape: double them.
        for (std::size_t j = i; j > 0 && s[j - 1] == '\\'; --j) out += '\\';
        out += '\\';
      } else if (c == '$') {
        out += '$';
      }
      out += c;
    }
    return out;
  };
  std::string text;
  for (const auto& [target, deps] : rules) {
    text += escape(target) + ":";
    for (const std::string& d : deps) text += " \\\n  " + escape(d);
    text += "\n";
  }
  return text;
}

void diagnostic_printer::print(const diagnostic& d) const {
  const char* bold = color_ ? "\033[1m" : "";
  const char* reset = color_ ? "\033[0m" : "";
  const char* level_color = "";
  const char* level = "warning";
  switch (d.level) {
    case severity::note:
      level = "note";
      level_color = color_ ? "\033[1;30m" : "";
      break;
    case severity::warning:
      level = "warning";
      level_color = color_ ? "\033[1;35m" : "";
      break;
    case severity::error:
      level = "error";
      level_color = color_ ? "\033[1;31m" : "";
      break;
  }
  std::string where = d.file.empty() ? "balrog-gen" : d.file;
  if (!d.file.empty() && d.line != 0) {
    where += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  }
  std::fprintf(stderr, "%s%s:%s %s%s:%s %s%s%s%s\n", bold, where.c_str(), reset, level_color, level,
               reset, bold, d.message.c_str(), reset,
               d.pass.empty() ? "" : (" [" + d.pass + "]").c_str());
}

void diagnostic_printer::print_edit(const edit& e) const {
  print({e.file, e.line, e.column, severity::warning, e.why, e.pass});
}

}  // namespace balrog::gen
