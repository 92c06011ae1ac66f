// balrog-gen: moves existing synchronous C++ onto balrog's runtime at the source level.
//
//   balrog-gen [options] <files...> [-- <compiler args>]
//
// Exit status: 0 nothing to do or done; 1 --check found something to rewrite (or a blocking
// call it cannot rewrite); 2 a file failed to parse, a pass reported an error (run-main: a
// main() it cannot wrap), a configuration or usage error, or a file could not be written. Every
// option is described in docs/balrog-gen.md.
#include <clang/Tooling/CommonOptionsParser.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Process.h>
#include <llvm/Support/Regex.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "compile_flags.hpp"
#include "config.hpp"
#include "format.hpp"
#include "line_directives.hpp"
#include "merge.hpp"
#include "output.hpp"
#include "pass.hpp"
#include "pybind/emit_py_bindings.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "shims/emit_shims.hpp"
#include "unified_diff.hpp"

#ifndef BALROG_GEN_MAPS_DIR
#define BALROG_GEN_MAPS_DIR ""
#endif

namespace {

namespace cl = llvm::cl;
using namespace balrog::gen;

cl::OptionCategory category("balrog-gen options");

cl::opt<bool> in_place("in-place", cl::desc("Rewrite the files in place (atomically)"),
                       cl::cat(category));
cl::alias in_place_short("i", cl::desc("Alias for --in-place"), cl::aliasopt(in_place));
cl::opt<std::string> output_dir("o", cl::value_desc("dir"),
                                cl::desc("Mirror the sources (rewritten or not) and the rewritten "
                                         "headers into <dir>, relative to --base-dir"),
                                cl::cat(category));
cl::opt<bool> no_line_directives(
    "no-line-directives",
    cl::desc("-o: write the mirrored files without the #line directives that make compiler "
             "errors, __FILE__ and debuggers name the original files"),
    cl::cat(category));
cl::opt<std::string> base_dir(
    "base-dir", cl::value_desc("dir"),
    cl::desc("Root of the paths -o mirrors (default: the current directory)"), cl::cat(category));
cl::opt<bool> check("check",
                    cl::desc("Change nothing; list every rewrite that would happen and every "
                             "blocking call that cannot be rewritten; exit 1 if there is any"),
                    cl::cat(category));
cl::opt<std::string> report_opt(
    "report", cl::ValueOptional, cl::value_desc("text|json|sarif"),
    cl::desc("Print every call of a known blocking function that is not rewritten, wherever it "
             "is, with why and a count per file (default format: text); replaces the diff"),
    cl::cat(category));
cl::opt<std::string> report_file("report-file", cl::value_desc("file"),
                                 cl::desc("Write the --report to <file> instead of stdout"),
                                 cl::cat(category));
cl::opt<std::string> export_fixes("export-fixes", cl::value_desc("file"),
                                  cl::desc("Write the edits as clang-tidy-style YAML "
                                           "(clang-apply-replacements reads it)"),
                                  cl::cat(category));
cl::opt<bool> format_opt(
    "format",
    cl::desc("Reformat the changed lines (only those) in the style of the .clang-format found "
             "from each file upwards (none found: left as they are); diff, -i and -o"),
    cl::cat(category));
cl::opt<bool> list_passes("list-passes", cl::desc("List the passes and exit"), cl::cat(category));
cl::opt<std::string> depfile("depfile", cl::value_desc("file"),
                             cl::desc("Write a Make-style depfile for the -o outputs"),
                             cl::cat(category));
cl::opt<unsigned> jobs("j", cl::value_desc("N"), cl::init(1),
                       cl::desc("Translation units to process in parallel"), cl::cat(category));
cl::opt<std::string> config_file("config-file", cl::value_desc("file"),
                                 cl::desc("Use this .balrog.yaml instead of looking one up"),
                                 cl::cat(category));
cl::opt<bool> dump_config_opt("dump-config",
                              cl::desc("Print the configuration that applies (to the first file, "
                                       "or to the current directory) and exit"),
                              cl::cat(category));
cl::list<std::string> passes_opt("passes", cl::CommaSeparated, cl::value_desc("a,b"),
                                 cl::desc("Run these passes instead of the configured ones"),
                                 cl::cat(category));
cl::opt<bool> run_main_opt("run-main",
                           cl::desc("Also run the run-main pass: the program's main() runs on a "
                                    "fiber of the runtime (docs/passes/run-main.md)"),
                           cl::cat(category));
cl::opt<std::string> header_filter("header-filter", cl::value_desc("regex"),
                                   cl::desc("Headers whose path matches may be edited (overrides "
                                            "the configuration)"),
                                   cl::cat(category));
cl::opt<std::string> emit_shims("emit-shims", cl::value_desc("out.hpp"),
                                cl::desc("coro-shims: write blocking-style wrappers of the "
                                         "awaitable-returning functions declared in the input "
                                         "headers to <out.hpp>"),
                                cl::cat(category));
cl::opt<std::string> shims_namespace("shims-namespace", cl::value_desc("ns"),
                                     cl::desc("coro-shims: put the wrappers in this namespace "
                                              "(default: the functions' own namespaces)"),
                                     cl::cat(category));
cl::opt<std::string> emit_py_bindings(
    "emit-py-bindings", cl::value_desc("out.cpp"),
    cl::desc("py-bindings: write a pybind11 module of the declarations marked BALROG_EXPORT in "
             "the input headers to <out.cpp> (needs --py-module)"),
    cl::cat(category));
cl::opt<std::string> emit_pyi("emit-pyi", cl::value_desc("out.pyi"),
                              cl::desc("py-bindings: also write the module's stub to <out.pyi>"),
                              cl::cat(category));
cl::opt<std::string> py_module("py-module", cl::value_desc("name"),
                               cl::desc("py-bindings: the Python module's name"),
                               cl::cat(category));
enum class color_mode { auto_, always, never };
cl::opt<color_mode> color("use-color", cl::desc("Colour diagnostics (like clang-tidy's)"),
                          cl::init(color_mode::auto_),
                          cl::values(clEnumValN(color_mode::auto_, "auto", "on a terminal"),
                                     clEnumValN(color_mode::always, "always", "always"),
                                     clEnumValN(color_mode::never, "never", "never")),
                          cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("Print no progress line or summary"), cl::cat(category));

std::string executable_path(const char* argv0) {
  return llvm::sys::fs::getMainExecutable(argv0, reinterpret_cast<void*>(&executable_path));
}

std::string maps_dir_for(const std::string& exe) {
  // Installed: <prefix>/bin/balrog-gen -> <prefix>/share/balrog/maps; else the source tree.
  llvm::SmallString<256> installed(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(installed, "share", "balrog", "maps");
  if (llvm::sys::fs::is_directory(installed)) return std::string(installed);
  return BALROG_GEN_MAPS_DIR;
}

std::string absolute(const std::string& path) {
  llvm::SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  llvm::sys::path::remove_dots(abs, true);
  return std::string(abs);
}

// Configuration per directory, maps per configuration: looked up once, shared by workers.
class configuration_cache {
 public:
  configuration_cache(std::string maps_dir, std::string& first_error)
      : maps_dir_(std::move(maps_dir)), first_error_(first_error) {}

  const config& for_file(const std::string& file) {
    std::lock_guard lk(mutex_);
    std::string dir = llvm::sys::path::parent_path(file).str();
    if (dir.empty()) dir = ".";
    auto it = by_dir_.find(dir);
    if (it != by_dir_.end()) return *it->second;
    std::optional<std::string> path;
    if (!config_file.empty()) {
      path = config_file;
    } else {
      path = find_config_file(dir);
    }
    const config* c = load(path);
    by_dir_[dir] = c;
    return *c;
  }

  const pass_config& for_pass(const config& c, const std::string& pass) {
    std::lock_guard lk(mutex_);
    auto key = std::make_pair(&c, pass);
    auto it = pass_configs_.find(key);
    if (it != pass_configs_.end()) return *it->second;
    auto pc = std::make_unique<pass_config>();
    const std::string relative_to = c.origin.find('/') == std::string::npos
                                        ? "."
                                        : llvm::sys::path::parent_path(c.origin).str();
    for (const std::string& m : c.maps) {
      std::string error;
      if (auto loaded = load_map(m, maps_dir_, relative_to, error)) {
        pc->maps.push_back(std::move(*loaded));
      } else if (first_error_.empty()) {
        first_error_ = c.origin + ": " + error;
      }
    }
    if (auto o = c.pass_options.find(pass); o != c.pass_options.end()) pc->options = o->second;
    pc->passes = c.passes;
    return *(pass_configs_[key] = std::move(pc));
  }

  // The files a source's rewrite depends on besides what it includes: its .balrog.yaml and
  // the API maps its passes use (for --depfile).
  std::vector<std::string> inputs_for(const std::string& file) {
    const config& c = for_file(file);
    std::vector<std::string> inputs;
    if (llvm::sys::fs::is_regular_file(c.origin)) inputs.push_back(absolute(c.origin));
    for (const std::string& p : c.passes) {
      for (const api_map& m : for_pass(c, p).maps) inputs.push_back(absolute(m.source));
    }
    std::sort(inputs.begin(), inputs.end());
    inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
    return inputs;
  }

 private:
  const config* load(const std::optional<std::string>& path) {
    const std::string key = path ? *path : "";
    if (auto it = loaded_.find(key); it != loaded_.end()) return it->second.get();
    config c;
    if (path) {
      auto buffer = llvm::MemoryBuffer::getFile(*path);
      std::string error;
      std::optional<config> parsed;
      if (!buffer) {
        error = *path + ": " + buffer.getError().message();
      } else {
        parsed = parse_config((*buffer)->getBuffer().str(), *path, error);
      }
      if (parsed) {
        c = std::move(*parsed);
      } else if (first_error_.empty()) {
        first_error_ = error;
      }
    }
    // Command-line overrides; errors name where the value came from.
    std::string passes_origin = c.origin;
    std::string filter_origin = c.origin;
    if (!passes_opt.empty()) {
      c.passes.assign(passes_opt.begin(), passes_opt.end());
      passes_origin = "--passes";
    }
    if (run_main_opt && std::find(c.passes.begin(), c.passes.end(), "run-main") == c.passes.end()) {
      c.passes.emplace_back("run-main");
    }
    if (!header_filter.empty()) {
      c.header_filter = header_filter;
      filter_origin = "--header-filter";
    }
    for (const std::string& p : c.passes) {
      const pass_info* info = find_pass(p);
      if (!first_error_.empty()) break;
      if (info == nullptr) {
        first_error_ = passes_origin + ": unknown pass '" + p + "' (see --list-passes)";
      } else if (info->make == nullptr) {
        first_error_ = passes_origin + ": pass '" + p + "' does not rewrite files; run it with " +
                       (p == "py-bindings" ? "--emit-py-bindings" : "--emit-shims");
      }
    }
    if (!c.header_filter.empty()) {
      std::string regex_error;
      if (!llvm::Regex(c.header_filter).isValid(regex_error) && first_error_.empty()) {
        first_error_ = filter_origin + ": header-filter '" + c.header_filter +
                       "' is not a valid regex: " + regex_error;
      }
    }
    return (loaded_[key] = std::make_unique<config>(std::move(c))).get();
  }

  std::string maps_dir_;
  std::string& first_error_;
  std::mutex mutex_;
  std::map<std::string, const config*> by_dir_;
  std::map<std::string, std::unique_ptr<config>> loaded_;
  std::map<std::pair<const config*, std::string>, std::unique_ptr<pass_config>> pass_configs_;
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "balrog-gen: error: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, const char** argv) {
  const std::string exe = executable_path(argv[0]);
  std::vector<std::string> shell_pieces;  // owns the pieces of SHELL: arguments; args points in
  std::vector<const char*> args = expand_shell_options(argc, argv, shell_pieces);
  int args_count = static_cast<int>(args.size());
  auto parser = clang::tooling::CommonOptionsParser::create(
      args_count, args.data(), category, cl::ZeroOrMore,
      "Rewrites blocking calls in synchronous C++ to balrog's runtime.\n");
  if (!parser) {
    llvm::errs() << llvm::toString(parser.takeError()) << "\n";
    return 2;
  }
  const bool use_color =
      color == color_mode::always || (color == color_mode::auto_ && ::isatty(STDERR_FILENO) != 0);
  const diagnostic_printer printer(use_color);

  if (list_passes) {
    for (const pass_info& p : all_passes()) std::printf("%-16s %s\n", p.name, p.summary);
    return 0;
  }

  std::string config_error;
  configuration_cache configs(maps_dir_for(exe), config_error);
  const std::vector<std::string>& sources = parser->getSourcePathList();
  if (dump_config_opt) {
    const config& c = configs.for_file(sources.empty() ? "./x" : sources.front());
    if (!config_error.empty()) return usage_error(config_error);
    std::fputs(dump_config(c).c_str(), stdout);
    return 0;
  }
  if (sources.empty()) return usage_error("no input files (see --help)");
  const bool want_report = report_opt.getNumOccurrences() > 0 || !report_file.empty();
  report_format format = report_format::text;
  if (report_opt == "json") {
    format = report_format::json;
  } else if (report_opt == "sarif") {
    format = report_format::sarif;
  } else if (!report_opt.empty() && report_opt != "text") {
    return usage_error("--report=" + report_opt + ": the formats are text, json and sarif");
  }
  if (in_place && !output_dir.empty()) return usage_error("-i and -o cannot be combined");
  if (no_line_directives && output_dir.empty()) {
    return usage_error("--no-line-directives goes with -o (only the mirror has #line directives)");
  }
  if (!depfile.empty() && output_dir.empty()) {
    return usage_error("--depfile names the dependencies of -o outputs; give -o <dir>");
  }
  for (const std::string& s : sources) {
    if (!llvm::sys::fs::is_regular_file(s)) return usage_error(s + ": no such file");
  }
  if (!emit_py_bindings.empty()) {
    if (!emit_shims.empty())
      return usage_error("--emit-shims and --emit-py-bindings cannot be combined");
    return run_emit_py_bindings(parser->getCompilations(), sources,
                                {py_module, emit_py_bindings, emit_pyi},
                                parser->getArgumentsAdjuster(), find_resource_dir(exe), printer);
  }
  if (!emit_pyi.empty() || !py_module.empty()) {
    return usage_error("--emit-pyi and --py-module go with --emit-py-bindings");
  }
  if (!emit_shims.empty()) {
    return run_emit_shims(parser->getCompilations(), sources, emit_shims, shims_namespace,
                          parser->getArgumentsAdjuster(), find_resource_dir(exe), printer);
  }

  // Fail early on configuration errors (maps included), before any parsing.
  for (const std::string& s : sources) {
    const config& c = configs.for_file(s);
    if (!config_error.empty()) break;
    for (const std::string& p : c.passes) configs.for_pass(c, p);
  }
  if (!config_error.empty()) return usage_error(config_error);

  dropped_flags dropped;
  run_settings settings;
  settings.database = &parser->getCompilations();
  settings.extra_args = parser->getArgumentsAdjuster();
  settings.resource_dir = find_resource_dir(exe);
  settings.dropped = &dropped;
  settings.jobs = std::max(1U, jobs.getValue());
  settings.progress = !quiet && ::isatty(STDERR_FILENO) != 0 && sources.size() > 1;
  settings.color = use_color;
  settings.config_for = [&](const std::string& f) -> const config& { return configs.for_file(f); };
  settings.pass_config_for = [&](const config& c, const std::string& p) -> const pass_config& {
    return configs.for_pass(c, p);
  };
  if (settings.resource_dir.empty()) {
    printer.print({"", 0, 0, severity::warning,
                   "clang's resource directory was not found; builtin headers such as <stddef.h> "
                   "may not resolve (pass --extra-arg=-resource-dir=<dir>)",
                   ""});
  }

  std::vector<tu_result> results = run_passes(sources, settings);
  if (!config_error.empty()) return usage_error(config_error);  // a map failed to load
  print_dropped(dropped, printer);

  int status = 0;
  std::vector<diagnostic> diagnostics;
  for (const tu_result& r : results) {
    std::fputs(r.clang_output.c_str(), stderr);
    if (!r.ran) {
      printer.print({absolute(r.main_file), 0, 0, severity::error,
                     "no compile command for this file (give -p <build dir> or -- <flags>)", ""});
      status = 2;
    } else if (r.parse_errors > 0) {
      printer.print({absolute(r.main_file), 0, 0, severity::error,
                     std::to_string(r.parse_errors) +
                         " error(s) while parsing: this translation unit was not rewritten",
                     ""});
      status = 2;
      continue;  // the passes saw clang's error recovery, not the code: nothing to report
    }
    for (const diagnostic& d : r.diagnostics) diagnostics.push_back(d);
  }
  // A pass that reports an error (run-main: a main() defined by a macro...) refuses the whole
  // translation unit: none of its edits is applied and the run fails, as for a parse error
  // (never half a rewrite: threads turned into fibers with no runtime to run them).
  for (tu_result& r : results) {
    if (!r.ran || r.parse_errors > 0) continue;
    for (const diagnostic& d : r.diagnostics) r.pass_errors += d.level == severity::error ? 1 : 0;
    if (r.pass_errors == 0) continue;
    diagnostics.push_back({absolute(r.main_file), 0, 0, severity::error,
                           "a pass reported an error: this translation unit was not rewritten",
                           ""});
    status = 2;
  }
  merged m = merge_edits(results);
  for (const diagnostic& d : m.diagnostics) {
    // A file the merge could not rewrite whole (unreadable, overlapping edits) is left as it
    // was; the run fails rather than pass with part of its edits.
    if (d.level == severity::error) status = 2;
    diagnostics.push_back(d);
  }
  if (format_opt && !check) {
    for (file_change& c : m.changes) {
      if (std::string error = format_changed_lines(c); !error.empty()) {
        diagnostics.push_back({c.path, 0, 0, severity::error, error, ""});
        status = 2;
      }
    }
  }
  // Headers seen by several TUs report the same problem once.
  std::sort(diagnostics.begin(), diagnostics.end(), [](const diagnostic& a, const diagnostic& b) {
    return std::tie(a.file, a.line, a.column, a.message) <
           std::tie(b.file, b.line, b.column, b.message);
  });
  diagnostics.erase(std::unique(diagnostics.begin(), diagnostics.end(),
                                [](const diagnostic& a, const diagnostic& b) {
                                  return a.file == b.file && a.line == b.line &&
                                         a.column == b.column && a.message == b.message;
                                }),
                    diagnostics.end());
  bool unrewritable = false;
  for (const diagnostic& d : diagnostics) {
    printer.print(d);
    if (d.level != severity::note) unrewritable = true;
  }
  // Blocking calls left where no diagnostic names them (headers outside the filter, system
  // headers reached from code outside it): one warning per file with the count.
  const std::vector<left_call> left = collect_left(results);
  {
    std::map<std::string, std::pair<std::size_t, std::set<std::string>>> unshown;
    for (const left_call& l : left) {
      if (l.shown) continue;
      auto& [n, why] = unshown[l.file];
      ++n;
      why.insert(l.reason);
    }
    for (const auto& [file, counted] : unshown) {
      std::string reasons;
      for (const std::string& r : counted.second) reasons += (reasons.empty() ? "" : ", ") + r;
      printer.print({file, 0, 0, severity::warning,
                     std::to_string(counted.first) +
                         " blocking call(s) in this file are not rewritten (" + reasons +
                         "); --report lists them",
                     "blocking-calls"});
    }
  }
  if (!left.empty()) unrewritable = true;
  if (want_report) {
    const std::string text = render_report(left, format);
    if (report_file.empty()) {
      std::fputs(text.c_str(), stdout);
    } else if (std::string error = atomic_write(report_file, text, false); !error.empty()) {
      printer.print({report_file, 0, 0, severity::error, error, ""});
      status = 2;
    }
  }

  if (check) {
    for (const file_change& c : m.changes) {
      for (const edit& e : c.edits) {
        if (e.pass != "include") printer.print_edit(e);
      }
    }
    if (status == 0 && (!m.changes.empty() || unrewritable)) status = 1;
  } else if (in_place) {
    for (const file_change& c : m.changes) {
      if (std::string error = atomic_write(c.path, c.rewritten, false); !error.empty()) {
        printer.print({c.path, 0, 0, severity::error, error, ""});
        status = 2;
      }
    }
  } else if (!output_dir.empty()) {
    const std::string base = base_dir.empty() ? "." : base_dir.getValue();
    std::map<std::string, const file_change*> changed;
    for (const file_change& c : m.changes) changed[c.path] = &c;
    std::map<std::string, const file_change*> changed_by_path;  // by the path mirror() gets
    std::vector<std::pair<std::string, std::vector<std::string>>> rules;
    auto mirror = [&](const std::string& path, const std::string* content,
                      const std::vector<std::string>& deps) {
      std::string error;
      const std::string target = mirror_path(path, output_dir, base, error);
      std::string text;
      if (error.empty() && content == nullptr) {
        auto buffer = llvm::MemoryBuffer::getFile(path);
        if (buffer) {
          text = (*buffer)->getBuffer().str();
        } else {
          error = "cannot read " + path + ": " + buffer.getError().message();
        }
      }
      if (error.empty()) {
        if (content == nullptr) content = &text;
        // The original's text: the file as read, or as merge_edits read it when it changed.
        const auto change = changed_by_path.find(path);
        const std::string& original =
            change != changed_by_path.end() ? change->second->original : *content;
        error = atomic_write(
            target, no_line_directives ? *content : with_line_directives(original, *content, path),
            true);
      }
      if (!error.empty()) {
        printer.print({path, 0, 0, severity::error, error, ""});
        status = 2;
        return;
      }
      rules.emplace_back(target, deps);
    };
    for (const tu_result& r : results) {
      if (!r.ran || r.parse_errors > 0 || r.pass_errors > 0) continue;  // nor what a pass refused
      llvm::SmallString<256> abs(r.main_file);
      llvm::sys::fs::make_absolute(abs);
      llvm::sys::path::remove_dots(abs, true);
      std::string real = std::string(abs);
      llvm::SmallString<256> resolved;
      if (!llvm::sys::fs::real_path(abs, resolved)) real = std::string(resolved);
      const auto it = changed.find(real);
      std::vector<std::string> deps = r.dependencies;
      for (std::string& input : configs.inputs_for(r.main_file)) deps.push_back(std::move(input));
      if (it != changed.end()) changed_by_path[std::string(abs)] = it->second;
      mirror(std::string(abs), it != changed.end() ? &it->second->rewritten : nullptr, deps);
      if (it != changed.end()) changed.erase(it);
    }
    for (const auto& [path, change] : changed) {
      changed_by_path[path] = change;
      mirror(path, &change->rewritten, {path});
    }
    if (!depfile.empty() && status != 2) {
      if (std::string error = atomic_write(depfile, depfile_text(rules), true); !error.empty()) {
        printer.print({depfile, 0, 0, severity::error, error, ""});
        status = 2;
      }
    }
  } else if (export_fixes.empty() && (!want_report || !report_file.empty())) {
    for (const file_change& c : m.changes) {
      // a/<path> b/<path>, as git prints them: `patch -p1` applies it from the current directory.
      const std::string shown = display_path(c.path);
      const std::string sep = llvm::sys::path::is_absolute(shown) ? "" : "/";
      std::fputs(
          unified_diff(c.original, c.rewritten, "a" + sep + shown, "b" + sep + shown).c_str(),
          stdout);
    }
  }
  if (!export_fixes.empty()) {
    const std::string yaml = export_fixes_yaml(display_path(absolute(sources.front())), m);
    if (std::string error = atomic_write(export_fixes, yaml, false); !error.empty()) {
      printer.print({export_fixes, 0, 0, severity::error, error, ""});
      status = 2;
    }
  }
  if (!quiet && ::isatty(STDERR_FILENO) != 0) {
    std::size_t edits = 0;
    for (const file_change& c : m.changes) edits += c.edits.size();
    std::fprintf(stderr, "balrog-gen: %zu edit(s) in %zu file(s)%s\n", edits, m.changes.size(),
                 check      ? " would be made"
                 : in_place ? ""
                            : " proposed");
  }
  return status;
}
