#include "balrog/http/server/router.hpp"

#include "balrog/errors.hpp"
#include "balrog/http/server/static_files.hpp"
#include "routing/route_table.hpp"

namespace balrog::http::server {

router::router() : table_(std::make_unique<detail::route_table>()) {}
router::~router() = default;
router::router(router&&) noexcept = default;
router& router::operator=(router&&) noexcept = default;

router& router::add(verb method, std::string_view pattern, handler h) {
  if (!h)
    throw usage_error("balrog::http::server::router: an empty handler for " + std::string(pattern));
  auto r = std::make_unique<detail::route>();
  r->fn = std::move(h);
  table_->add(method, {}, pattern, std::move(r));
  return *this;
}

router& router::websocket(std::string_view pattern, websocket_handler fn,
                          websocket::options options) {
  if (!fn)
    throw usage_error("balrog::http::server::router: an empty WebSocket handler for " +
                      std::string(pattern));
  if (options.max_message_bytes == 0) {
    throw usage_error("balrog::http::server::router: websocket::options::max_message_bytes is 0");
  }
  auto r = std::make_unique<detail::route>();
  r->on_websocket = std::move(fn);
  r->websocket_options = std::move(options);
  table_->add(verb::get, {}, pattern, std::move(r));
  return *this;
}

router& router::static_files(std::string_view prefix, std::filesystem::path root) {
  std::string pattern(prefix);
  while (!pattern.empty() && pattern.back() == '/') pattern.pop_back();
  pattern += "/{path...}";
  return get(pattern, [root = std::move(root)](request& req) {
    return serve_file(req, root, req.param("path"));
  });
}

router& router::use(middleware m) {
  if (!m) throw usage_error("balrog::http::server::router::use: an empty middleware");
  table_->chain.push_back(std::move(m));
  return *this;
}

route_match router::find(verb method, std::string_view method_string, std::string_view path) const {
  return table_->find(method, method_string, path);
}

response router::dispatch(request& req, route_match& match) const {
  req.set_params(std::move(match.params));
  match.params.clear();
  return table_->run_chain(0, req, match);
}

response router::handle(request& req) const {
  route_match match = find(req.method(), req.method_string(), req.path());
  return dispatch(req, match);
}

const websocket_handler& router::websocket_handler_of(const route_match& m) {
  return m.route->on_websocket;
}

const websocket::options& router::websocket_options_of(const route_match& m) {
  return m.route->websocket_options;
}

}  // namespace balrog::http::server
