// .balrog.yaml: which passes run, which API maps they use, which headers may be edited, and
// per-pass options. Looked up from each source file's directory upwards (the nearest wins);
// --config-file names one explicitly. Keys (see docs/balrog-gen.md):
//
//   passes: [blocking-calls, sync-types]       # default: every pass that rewrites files
//   maps: [posix-net, posix-time, std-thread, ./maps/mylib.yaml]   # names or paths
//   header-filter: 'src/.*'                    # regex; headers matching it may be edited
//   pass-options:
//     blocking-calls: {rewrite-in-macro-args: true}
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pass.hpp"

namespace balrog::gen {

// Every registered pass that rewrites files (passes/registry.cpp), in registry order, but the
// opt-in ones (run-main).
std::vector<std::string> default_passes();

struct config {
  std::vector<std::string> passes = default_passes();
  std::vector<std::string> maps{"posix-net", "posix-time", "std-thread"};
  std::string header_filter;  // empty: only the main source files are edited
  std::map<std::string, std::map<std::string, std::string>> pass_options;
  std::string origin = "built-in defaults";  // where it was read from
};

// Parses YAML text; on error returns nullopt and sets `error` (with line:column).
std::optional<config> parse_config(const std::string& yaml, const std::string& origin,
                                   std::string& error);
// The nearest .balrog.yaml at or above `dir`, or nullopt.
std::optional<std::string> find_config_file(const std::string& dir);
// YAML for --dump-config.
std::string dump_config(const config& c);

// Loads an API map by built-in name (looked up in `maps_dir`) or by path (relative paths are
// relative to `relative_to`, the config file's directory). On error returns nullopt and sets
// `error`, which names the map, the file tried and, for an unknown name, the built-in maps.
std::optional<api_map> load_map(const std::string& name_or_path, const std::string& maps_dir,
                                const std::string& relative_to, std::string& error);

}  // namespace balrog::gen
