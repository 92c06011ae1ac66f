#include "routing/route_table.hpp"

#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/container/small_vector.hpp>
#include <set>

#include "balrog/errors.hpp"

namespace balrog::http::server::detail {

namespace {

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. Views into `path`, which starts with '/'. Paths of
// up to 8 segments need no allocation.
using segment_list = boost::container::small_vector<std::string_view, 8>;
segment_list split_segments(std::string_view path) {
  segment_list out;
  std::string_view rest = path.substr(1);
  for (;;) {
    const std::size_t slash = rest.find('/');
    out.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return out;
}

[[noreturn]] void bad_pattern(std::string_view pattern, const std::string& why) {
  throw usage_error("balrog::http::server::router: bad route pattern \"" + std::string(pattern) +
                    "\": " + why);
}

bool same_method(const method_route& m, verb method, std::string_view method_string) {
  if (m.method != method) return false;
  return method != verb::unknown || m.method_string == method_string;
}

const method_route* method_of(const route_node& node, verb method, std::string_view method_string) {
  for (const auto& m : node.methods) {
    if (same_method(m, method, method_string)) return &m;
  }
  return nullptr;
}

// The Allow header of a node: its methods, HEAD where GET is, OPTIONS always.
std::string allow_of(const route_node& node) {
  std::set<std::string> names;
  for (const auto& m : node.methods) {
    const auto s = m.method == verb::unknown ? std::string(m.method_string)
                                             : std::string(boost::beast::http::to_string(m.method));
    names.insert(s);
    if (m.method == verb::get) names.insert("HEAD");
  }
  names.insert("OPTIONS");
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Depth-first search in precedence order (literal, {param}, {rest...}). Stops at the first
// node that has a route for the method; remembers the first node that matched the path at all
// (for 405 and OPTIONS).
struct matcher {
  verb method;
  std::string_view method_string;
  const segment_list& segments;
  std::vector<std::string> values;
  const route_node* first_path_match = nullptr;
  const method_route* found = nullptr;

  const method_route* pick(const route_node& node) const {
    if (const auto* m = method_of(node, method, method_string)) return m;
    if (method == verb::head) return method_of(node, verb::get, {});
    return nullptr;
  }

  bool at_leaf(const route_node& node) {
    if (node.methods.empty()) return false;
    if (first_path_match == nullptr) first_path_match = &node;
    found = pick(node);
    return found != nullptr;
  }

  bool walk(const route_node& node, std::size_t index) {
    // "/a/{rest...}" matches "/a/" (rest empty) but not "/a": the segment after "a" must exist.
    if (index == segments.size()) return at_leaf(node);
    const std::string decoded = percent_decode(segments[index]);
    if (const auto it = node.literals.find(decoded); it != node.literals.end()) {
      if (walk(*it->second, index + 1)) return true;
    }
    if (node.param && !decoded.empty()) {
      values.push_back(decoded);
      if (walk(*node.param, index + 1)) return true;
      values.pop_back();
    }
    if (node.rest) {
      std::string remainder;
      for (std::size_t i = index; i < segments.size(); ++i) {
        if (i > index) remainder += '/';
        remainder += segments[i];
      }
      values.push_back(percent_decode(remainder));
      if (at_leaf(*node.rest)) return true;
      values.pop_back();
    }
    return false;
  }
};

}  // namespace

void route_table::add(verb method, std::string_view method_string, std::string_view pattern,
                      std::unique_ptr<route> r) {
  if (pattern.empty() || pattern.front() != '/') bad_pattern(pattern, "it must start with '/'");
  route_node* node = &root;
  const segment_list segments = split_segments(pattern);
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view seg = segments[i];
    const bool braced = !seg.empty() && seg.front() == '{';
    if (!braced) {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        bad_pattern(pattern, "a parameter must be a whole segment, like /{id}/");
      }
      auto& child = node->literals[std::string(seg)];
      if (!child) child = std::make_unique<route_node>();
      node = child.get();
      continue;
    }
    if (seg.back() != '}' || seg.size() < 3) bad_pattern(pattern, "unbalanced braces");
    std::string_view name = seg.substr(1, seg.size() - 2);
    const bool is_rest = name.ends_with("...");
    if (is_rest) name.remove_suffix(3);
    if (name.empty() || name.find_first_of("{}/") != std::string_view::npos) {
      bad_pattern(pattern, "a parameter needs a name, like {id}");
    }
    for (const auto& existing : r->params) {
      if (existing == name) bad_pattern(pattern, "parameter '" + std::string(name) + "' twice");
    }
    r->params.emplace_back(name);
    auto& child = is_rest ? node->rest : node->param;
    if (!child) child = std::make_unique<route_node>();
    node = child.get();
    if (is_rest && i + 1 != segments.size()) {
      bad_pattern(pattern, "{" + std::string(name) + "...} must be the last segment");
    }
  }
  if (method_of(*node, method, method_string) != nullptr) {
    throw usage_error("balrog::http::server::router: " +
                      std::string(method == verb::unknown
                                      ? method_string
                                      : std::string_view(boost::beast::http::to_string(method))) +
                      " " + std::string(pattern) + " is registered twice");
  }
  r->pattern = std::string(pattern);
  node->methods.push_back({method, std::string(method_string), std::move(r)});
}

route_match route_table::find(verb method, std::string_view method_string,
                              std::string_view path) const {
  route_match result;
  if (path.empty() || path.front() != '/') return result;  // "*": no route
  const segment_list segments = split_segments(path);
  matcher m{method, method_string, segments, {}, nullptr, nullptr};
  if (m.walk(root, 0)) {
    const route& r = *m.found->target;
    result.what = r.fn ? route_match::kind::http : route_match::kind::websocket;
    result.route = &r;
    for (std::size_t i = 0; i < r.params.size() && i < m.values.size(); ++i) {
      result.params.emplace_back(r.params[i], std::move(m.values[i]));
    }
    return result;
  }
  if (m.first_path_match != nullptr) {
    result.what = method == verb::options ? route_match::kind::options
                                          : route_match::kind::method_not_allowed;
    result.allow = allow_of(*m.first_path_match);
  }
  return result;
}

response route_table::run_chain(std::size_t position, request& req, route_match& match) const {
  if (position < chain.size()) return chain[position](req, next(*this, position + 1, match));
  switch (match.what) {
    case route_match::kind::http:
      try {
        return match.route->fn(req);
      } catch (const http_error& e) {
        return response::text(e.message() + "\n", e.code());
      } catch (const cancelled&) {
        throw;
      } catch (...) {
        match.failure = std::current_exception();
        return response::text("internal server error\n", status::internal_server_error);
      }
    case route_match::kind::websocket:
      if (boost::beast::websocket::is_upgrade(req.message())) return response::websocket_upgrade();
      {
        response r = response::text("this is a WebSocket endpoint\n", status::upgrade_required);
        r.set(field::upgrade, "websocket");
        r.set(field::connection, "Upgrade");
        return r;
      }
    case route_match::kind::method_not_allowed: {
      response r = response::text("method not allowed\n", status::method_not_allowed);
      r.set(field::allow, match.allow);
      return r;
    }
    case route_match::kind::options: {
      response r(status::no_content);
      r.set(field::allow, match.allow);
      return r;
    }
    case route_match::kind::not_found:
      break;
  }
  return response::text("not found\n", status::not_found);
}

}  // namespace balrog::http::server::detail

namespace balrog::http::server {

response next::operator()(request& req) const { return table_.run_chain(position_, req, match_); }

}  // namespace balrog::http::server
