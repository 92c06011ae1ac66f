// The router's data: a tree of path segments (literal children, one {param} child, one
// {rest...} child per node) whose nodes hold the routes by method, and the middleware chain.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "balrog/http/server/router.hpp"

namespace balrog::http::server::detail {

struct route {
  std::string pattern;              // as registered, for messages
  std::vector<std::string> params;  // the pattern's parameter names, in order
  handler fn;                       // an HTTP route
  websocket_handler on_websocket;   // a WebSocket route (fn is empty)
  websocket::options websocket_options;
};

struct method_route {
  verb method;
  std::string method_string;  // for methods Beast has no verb for (verb::unknown)
  std::unique_ptr<route> target;
};

struct route_node {
  std::map<std::string, std::unique_ptr<route_node>, std::less<>> literals;
  std::unique_ptr<route_node> param;
  std::unique_ptr<route_node> rest;  // a leaf: matches the remaining segments
  std::vector<method_route> methods;
};

struct route_table {
  route_node root;
  std::vector<middleware> chain;

  // Adds a route; throws usage_error for a malformed pattern or a duplicate.
  void add(verb method, std::string_view method_string, std::string_view pattern,
           std::unique_ptr<route> r);
  [[nodiscard]] route_match find(verb method, std::string_view method_string,
                                 std::string_view path) const;
  // Runs middleware `position` onwards, then the final answer of `match`.
  [[nodiscard]] response run_chain(std::size_t position, request& req, route_match& match) const;
};

}  // namespace balrog::http::server::detail
