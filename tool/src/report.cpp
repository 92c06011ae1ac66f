#include "report.hpp"

#include <llvm/Support/JSON.h>
#include <llvm/Support/raw_ostream.h>

#include <llvm/Support/FormatVariadic.h>
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "output.hpp"

namespace balrog::gen {

namespace {

// What each reason means, for the text report's legend and SARIF's rules.
struct reason_info {
  const char* id;
  const char* description;
};

constexpr reason_info reasons[] = {
    {"macro-body", "inside a macro body (only what is spelled in the file is edited)"},
    {"macro-argument", "inside a macro argument (see the option rewrite-in-macro-args)"},
    {"header-filter", "in a header outside the header filter (it may not be edited)"},
    {"system-header",
     "in a system header, reached from user code (system headers are never edited)"},
    {"coroutine", "inside a C++20 coroutine (use the co_await form)"},
    {"address-taken", "taken by address (calls through the pointer cannot be found)"},
    {"dependent", "a call that depends on template arguments (may resolve elsewhere)"},
    {"no-twin", "known to block, with no balrog twin (the map's advice says what to do)"},
    {"held-mutex",
     "lints: suspends the fiber while a kept std mutex is held (deadlocks the shard)"},
    {"signal-handler", "lints: suspends the fiber inside a signal handler"},
    {"fork", "lints: fork in code that runs on fibers (the child has no runtime)"},
    {"eintr-loop",
     "lints: in a loop that a signal ends through EINTR (a fiber's wait never fails with it)"},
    {"refused",
     "in a file whose rewrite was refused (a parse error, or a pass's error such as run-main's)"},
};

// Why a TU's rewrite was refused, for the report's "file refused: ..." messages; empty when
// it was not.
std::string refusal_of(const tu_result& r) {
  if (r.parse_errors > 0) {
    return std::to_string(r.parse_errors) + " error(s) while parsing " + r.main_file;
  }
  if (r.pass_errors == 0) return {};
  for (const diagnostic& d : r.diagnostics) {
    if (d.level != severity::error) continue;
    return "a pass reported an error in " + r.main_file + " (" + d.pass + ": " + d.message + ")";
  }
  return "a pass reported an error in " + r.main_file;
}

std::string uri_of(const std::string& path) {
  std::string uri = path.empty() || path[0] != '/' ? "" : "file://";
  for (const char c : path) {
    const bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' ||
                       c == '_' || c == '.' || c == '~';
    if (plain) {
      uri += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      uri += buf;
    }
  }
  return uri;
}

std::string render_text(const std::vector<left_call>& left) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "balrog-gen report: " << left.size() << " blocking call(s) not rewritten\n";
  for (const left_call& l : left) {
    os << display_path(l.file) << ":" << l.line << ":" << l.column << ": " << l.function << " ["
       << l.library << "] " << l.reason << ": " << l.message << "\n";
    if (!l.from_file.empty()) {
      os << "  reached from " << display_path(l.from_file) << ":" << l.from_line << ":"
         << l.from_column << " (calls '" << l.via << "')\n";
    }
  }
  if (!left.empty()) {
    os << "per file:\n";
    for (const auto& [file, n] : count_per_file(left)) {
      os << "  " << display_path(file) << ": " << n << "\n";
    }
  }
  os.flush();
  return out;
}

std::string render_json(const std::vector<left_call>& left) {
  llvm::json::Array calls;
  for (const left_call& l : left) {
    llvm::json::Object o{{"file", display_path(l.file)}, {"line", l.line},
                         {"column", l.column},           {"function", l.function},
                         {"library", l.library},         {"reason", l.reason},
                         {"message", l.message},         {"pass", l.pass}};
    if (!l.from_file.empty()) {
      o["reached_from"] = llvm::json::Object{{"file", display_path(l.from_file)},
                                             {"line", l.from_line},
                                             {"column", l.from_column},
                                             {"via", l.via}};
    }
    calls.push_back(std::move(o));
  }
  llvm::json::Array files;
  for (const auto& [file, n] : count_per_file(left)) {
    files.push_back(llvm::json::Object{{"file", display_path(file)}, {"calls", n}});
  }
  const llvm::json::Value doc = llvm::json::Object{{"version", 1},
                                                   {"tool", "balrog-gen"},
                                                   {"total", left.size()},
                                                   {"calls", std::move(calls)},
                                                   {"files", std::move(files)}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", doc) << "\n";
  os.flush();
  return out;
}

llvm::json::Object location(const std::string& file, unsigned line, unsigned column) {
  return llvm::json::Object{
      {"physicalLocation",
       llvm::json::Object{
           {"artifactLocation", llvm::json::Object{{"uri", uri_of(file)}}},
           {"region", llvm::json::Object{{"startLine", line}, {"startColumn", column}}}}}};
}

std::string render_sarif(const std::vector<left_call>& left) {
  llvm::json::Array rules;
  for (const reason_info& r : reasons) {
    rules.push_back(llvm::json::Object{
        {"id", std::string("balrog-blocking-call/") + r.id},
        {"shortDescription",
         llvm::json::Object{
             {"text", std::string("blocking call not rewritten: ") + r.description}}}});
  }
  llvm::json::Array results;
  for (const left_call& l : left) {
    std::size_t index = 0;
    for (std::size_t i = 0; i < std::size(reasons); ++i) {
      if (l.reason == reasons[i].id) index = i;
    }
    llvm::json::Object r{
        {"ruleId", "balrog-blocking-call/" + l.reason},
        {"ruleIndex", index},
        {"level", "warning"},
        {"message", llvm::json::Object{{"text", l.message}}},
        {"locations", llvm::json::Array{location(l.file, l.line, l.column)}},
        {"properties", llvm::json::Object{{"function", l.function}, {"library", l.library}}}};
    if (!l.from_file.empty()) {
      llvm::json::Object related = location(l.from_file, l.from_line, l.from_column);
      related["id"] = 0;
      related["message"] =
          llvm::json::Object{{"text", "reached from here (calls '" + l.via + "')"}};
      r["relatedLocations"] = llvm::json::Array{std::move(related)};
    }
    results.push_back(std::move(r));
  }
  const llvm::json::Value doc = llvm::json::Object{
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       llvm::json::Array{llvm::json::Object{
           {"tool",
            llvm::json::Object{{"driver", llvm::json::Object{{"name", "balrog-gen"},
                                                             {"informationUri",
                                                              "https://github.com/balrog/balrog"},
                                                             {"rules", std::move(rules)}}}}},
           {"results", std::move(results)}}}}};
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::formatv("{0:2}", doc) << "\n";
  os.flush();
  return out;
}

}  // namespace

std::vector<left_call> collect_left(const std::vector<tu_result>& results) {
  const auto where = [](const left_call& l) {
    return std::tie(l.file, l.line, l.column, l.function);
  };
  using place = std::tuple<std::string, unsigned, unsigned, std::string>;
  // A header a refused TU would have rewritten may be rewritten by another TU that includes it.
  std::set<place> rewritten_elsewhere;
  for (const tu_result& r : results) {
    if (!r.ran || !refusal_of(r).empty()) continue;
    for (const left_call& l : r.rewritten) rewritten_elsewhere.insert(where(l));
  }
  std::vector<left_call> left;
  for (const tu_result& r : results) {
    if (!r.ran) continue;
    const std::string refusal = refusal_of(r);
    if (refusal.empty()) {
      left.insert(left.end(), r.left.begin(), r.left.end());
      continue;
    }
    // Refused: nothing of it was rewritten, and its error says so (hence `shown`: no count
    // per file on top). What it would have rewritten is left after all.
    for (left_call l : r.left) {
      l.shown = true;
      left.push_back(std::move(l));
    }
    for (const left_call& l : r.rewritten) {
      if (rewritten_elsewhere.count(where(l)) != 0) continue;
      left_call refused = l;
      refused.reason = "refused";
      refused.message = "file refused: " + refusal + "; " + l.message + " (not applied)";
      refused.shown = true;
      left.push_back(std::move(refused));
    }
  }
  const auto key = [](const left_call& l) {
    return std::tie(l.file, l.line, l.column, l.function, l.reason);
  };
  std::stable_sort(left.begin(), left.end(),
                   [&](const left_call& a, const left_call& b) { return key(a) < key(b); });
  // One entry per call; printed if any TU printed it.
  std::vector<left_call> unique;
  for (left_call& l : left) {
    if (!unique.empty() && key(unique.back()) == key(l)) {
      unique.back().shown = unique.back().shown || l.shown;
    } else {
      unique.push_back(std::move(l));
    }
  }
  left = std::move(unique);
  return left;
}

std::vector<std::pair<std::string, std::size_t>> count_per_file(
    const std::vector<left_call>& left) {
  std::map<std::string, std::size_t> n;
  for (const left_call& l : left) ++n[l.file];
  return {n.begin(), n.end()};
}

std::string render_report(const std::vector<left_call>& left, report_format format) {
  switch (format) {
    case report_format::json:
      return render_json(left);
    case report_format::sarif:
      return render_sarif(left);
    case report_format::text:
      break;
  }
  return render_text(left);
}

}  // namespace balrog::gen
