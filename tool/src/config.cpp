#include "config.hpp"

#include "api_keys.hpp"

#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/YAMLTraits.h>

#include <algorithm>

namespace balrog::gen {
namespace {

// The keys as read: absent keys keep the defaults. (Read straight into a config, a list
// would only overwrite the default's first elements: llvm::yaml never shrinks a vector.)
struct config_yaml {
  std::optional<std::vector<std::string>> passes;
  std::optional<std::vector<std::string>> maps;
  std::optional<std::string> header_filter;
  std::optional<std::map<std::string, std::map<std::string, std::string>>> pass_options;
};

}  // namespace
}  // namespace balrog::gen

namespace llvm::yaml {

using balrog::gen::api_function;
using balrog::gen::api_map;
using balrog::gen::config;

template <>
struct CustomMappingTraits<std::map<std::string, std::string>> {
  static void inputOne(IO& io, StringRef key, std::map<std::string, std::string>& m) {
    io.mapRequired(key.str().c_str(), m[key.str()]);
  }
  static void output(IO& io, std::map<std::string, std::string>& m) {
    for (auto& [k, v] : m) io.mapRequired(k.c_str(), v);
  }
};

template <>
struct CustomMappingTraits<std::map<std::string, std::map<std::string, std::string>>> {
  static void inputOne(IO& io, StringRef key,
                       std::map<std::string, std::map<std::string, std::string>>& m) {
    io.mapRequired(key.str().c_str(), m[key.str()]);
  }
  static void output(IO& io, std::map<std::string, std::map<std::string, std::string>>& m) {
    for (auto& [k, v] : m) io.mapRequired(k.c_str(), v);
  }
};

template <>
struct MappingTraits<balrog::gen::config_yaml> {
  static void mapping(IO& io, balrog::gen::config_yaml& c) {
    io.mapOptional("passes", c.passes);
    io.mapOptional("maps", c.maps);
    io.mapOptional("header-filter", c.header_filter);
    io.mapOptional("pass-options", c.pass_options);
  }
};

template <>
struct MappingTraits<config> {
  static void mapping(IO& io, config& c) {  // output only (--dump-config)
    io.mapOptional("passes", c.passes);
    io.mapOptional("maps", c.maps);
    io.mapOptional("header-filter", c.header_filter);
    io.mapOptional("pass-options", c.pass_options);
  }
};

template <>
struct ScalarEnumerationTraits<api_function::action> {
  static void enumeration(IO& io, api_function::action& a) {
    io.enumCase(a, "rewrite", api_function::action::rewrite);
    io.enumCase(a, "offload", api_function::action::offload);
    io.enumCase(a, "report", api_function::action::report);
  }
};

template <>
struct MappingTraits<api_function> {
  static void mapping(IO& io, api_function& f) {
    // Exactly one of name / method / constructor / macro says what the entry is (validate).
    std::string method;
    std::string constructor;
    std::string macro;
    io.mapOptional("name", f.name);
    io.mapOptional("method", method);
    io.mapOptional("constructor", constructor);
    io.mapOptional("macro", macro);
    int forms = f.name.empty() ? 0 : 1;
    for (const auto& [text, what] : {std::pair{&method, api_function::form::method},
                                     std::pair{&constructor, api_function::form::constructor},
                                     std::pair{&macro, api_function::form::macro}}) {
      if (text->empty()) continue;
      ++forms;
      f.name = *text;
      f.what = what;
    }
    if (forms > 1) f.name.clear();  // validate() reports it
    io.mapOptional("kind", f.kind, api_function::action::rewrite);
    io.mapOptional("params", f.params);
    io.mapOptional("replacement", f.replacement);
    io.mapOptional("advice", f.advice);
    io.mapOptional("header", f.header);
    io.mapOptional("c-replacement", f.c_replacement);
    io.mapOptional("c-header", f.c_header);
    io.mapOptional("coroutine-form", f.coroutine_form);
    io.mapOptional("blocks", f.blocks, true);
  }

  static std::string validate(IO& /*io*/, api_function& f) {
    if (f.name.empty())
      return "an entry needs exactly one of name:, method:, constructor: or macro:";
    using action = api_function::action;
    using form = api_function::form;
    switch (f.kind) {
      case action::rewrite:
        if (f.replacement.empty()) return "entry '" + f.name + "': replacement: is required";
        if (f.what == form::constructor) {
          return "entry '" + f.name + "': constructor entries are report entries (kind: report)";
        }
        break;
      case action::offload:
        if (f.what == form::macro || f.what == form::constructor) {
          return "entry '" + f.name + "': only name: and method: entries can be offloaded";
        }
        if (!f.replacement.empty()) {
          return "entry '" + f.name + "': an offload entry has no replacement: (it becomes " +
                 "balrog::compat::offloaded<&" + f.name + ">)";
        }
        break;
      case action::report:
        if (f.advice.empty()) return "entry '" + f.name + "': a report entry needs advice:";
        if (!f.replacement.empty() || !f.c_replacement.empty()) {
          return "entry '" + f.name + "': a report entry has no replacement: or c-replacement:";
        }
        break;
    }
    if (f.what == form::macro && !f.params.empty()) {
      return "entry '" + f.name + "': params: does not apply to a macro";
    }
    return {};
  }
};

template <>
struct MappingTraits<api_map> {
  static void mapping(IO& io, api_map& m) {
    io.mapRequired("library", m.library);
    io.mapRequired("header", m.header);
    io.mapOptional("c-header", m.c_header);
    io.mapOptional("system-headers-only", m.system_headers_only, true);
    io.mapRequired("functions", m.functions);
  }
};

}  // namespace llvm::yaml

LLVM_YAML_IS_SEQUENCE_VECTOR(balrog::gen::api_function)

namespace balrog::gen {

namespace {

// Collects llvm::yaml's error messages instead of printing them.
void capture_yaml_error(const llvm::SMDiagnostic& d, void* ctx) {
  auto* out = static_cast<std::string*>(ctx);
  if (!out->empty()) return;
  *out = std::to_string(d.getLineNo()) + ":" + std::to_string(d.getColumnNo() + 1) + ": " +
         d.getMessage().str();
}

}  // namespace

std::vector<std::string> default_passes() {
  std::vector<std::string> names;
  for (const pass_info& p : all_passes()) {
    if (p.make != nullptr && !p.opt_in) names.emplace_back(p.name);
  }
  return names;
}

std::optional<config> parse_config(const std::string& yaml, const std::string& origin,
                                   std::string& error) {
  config_yaml read;
  std::string yaml_error;
  llvm::yaml::Input in(yaml, nullptr, capture_yaml_error, &yaml_error);
  in >> read;
  if (in.error()) {
    error = origin + ":" + (yaml_error.empty() ? std::string("invalid YAML") : yaml_error);
    return std::nullopt;
  }
  config c;
  c.origin = origin;
  if (read.passes) c.passes = std::move(*read.passes);
  if (read.maps) c.maps = std::move(*read.maps);
  if (read.header_filter) c.header_filter = std::move(*read.header_filter);
  if (read.pass_options) c.pass_options = std::move(*read.pass_options);
  return c;
}

std::optional<std::string> find_config_file(const std::string& dir) {
  llvm::SmallString<256> d(dir);
  llvm::sys::fs::make_absolute(d);
  llvm::sys::path::remove_dots(d, /*remove_dot_dot=*/true);
  for (;;) {
    llvm::SmallString<256> candidate(d);
    llvm::sys::path::append(candidate, ".balrog.yaml");
    if (llvm::sys::fs::is_regular_file(candidate)) return std::string(candidate);
    const std::string parent = llvm::sys::path::parent_path(d).str();  // a copy: d changes
    if (parent.empty() || parent == d.str()) return std::nullopt;
    d = parent;
  }
}

std::string dump_config(const config& c) {
  std::string text;
  llvm::raw_string_ostream os(text);
  config copy = c;
  llvm::yaml::Output out(os);
  out << copy;
  os.flush();
  return "# from " + c.origin + "\n" + text;
}

std::optional<api_map> load_map(const std::string& name_or_path, const std::string& maps_dir,
                                const std::string& relative_to, std::string& error) {
  llvm::SmallString<256> path;
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       llvm::StringRef(name_or_path).endswith(".yaml");
  if (is_path) {
    path = name_or_path;
    if (llvm::sys::path::is_relative(path)) {
      path = relative_to;
      llvm::sys::path::append(path, name_or_path);
    }
  } else {
    path = maps_dir;
    llvm::sys::path::append(path, name_or_path + ".yaml");
  }
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    error = "cannot read API map '" + name_or_path + "' (" + std::string(path) +
            "): " + buffer.getError().message();
    if (!is_path) {
      // Name the maps that do exist, in a stable order.
      std::vector<std::string> known;
      std::error_code ec;
      for (llvm::sys::fs::directory_iterator it(maps_dir, ec), end; it != end && !ec;
           it.increment(ec)) {
        if (llvm::sys::path::extension(it->path()) == ".yaml") {
          known.push_back(llvm::sys::path::stem(it->path()).str());
        }
      }
      std::sort(known.begin(), known.end());
      error += "; built-in maps:";
      for (const std::string& k : known) error += " " + k;
      error += "; a map of your own is named by its path (./maps/mylib.yaml)";
    }
    return std::nullopt;
  }
  api_map m;
  std::string yaml_error;
  llvm::yaml::Input in((*buffer)->getBuffer(), nullptr, capture_yaml_error, &yaml_error);
  in >> m;
  if (in.error()) {
    error = std::string(path) + ":" +
            (yaml_error.empty() ? std::string("invalid API map") : yaml_error);
    return std::nullopt;
  }
  m.source = std::string(path);
  for (auto& f : m.functions) {
    if (f.kind == api_function::action::offload) {
      // `&::fsync`: the function itself, whatever the call site's lookup would find.
      f.replacement = "balrog::compat::offloaded<&" + normalized_key(f.name) + ">";
      if (f.header.empty()) f.header = "<balrog/compat/offloaded.hpp>";
    }
    if (f.header.empty()) f.header = m.header;
    if (f.c_header.empty()) f.c_header = m.c_header;
    if (!f.c_replacement.empty() && f.c_header.empty()) {
      error = std::string(path) + ": entry '" + f.name +
              "': c-replacement: needs a c-header: (on the entry or the map)";
      return std::nullopt;
    }
  }
  return m;
}

}  // namespace balrog::gen
