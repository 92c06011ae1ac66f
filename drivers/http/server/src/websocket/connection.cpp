#include "balrog/http/websocket/connection.hpp"

#include "websocket/core.hpp"

namespace balrog::http::websocket {

namespace {

detail::core& open_core(const std::shared_ptr<detail::core>& core, const char* call) {
  if (!core) {
    throw connection_closed(std::string("balrog::http::websocket::connection::") + call +
                            ": the connection is empty (moved from, or default-made)");
  }
  return *core;
}

}  // namespace

connection::connection() noexcept = default;
connection::connection(std::shared_ptr<detail::core> core) noexcept : core_(std::move(core)) {}
connection::connection(connection&&) noexcept = default;

connection& connection::operator=(connection&& other) noexcept {
  if (this != &other) {
    if (core_) core_->drop();
    core_ = std::move(other.core_);
  }
  return *this;
}

connection::~connection() {
  if (core_) core_->drop();
}

std::optional<message> connection::receive(deadline until) {
  return open_core(core_, "receive").receive(until);
}

void connection::send(std::string_view text) { open_core(core_, "send").send(false, text); }

void connection::send_binary(std::span<const std::byte> data) {
  open_core(core_, "send_binary")
      .send(true, {reinterpret_cast<const char*>(data.data()), data.size()});
}

void connection::send_binary(std::string_view data) {
  open_core(core_, "send_binary").send(true, data);
}

void connection::ping(std::string_view payload) { open_core(core_, "ping").ping(payload); }

void connection::close(std::uint16_t code, std::string_view reason) {
  if (core_) core_->close(code, reason);
}

bool connection::is_open() const noexcept { return core_ && core_->is_open(); }

std::optional<close_reason> connection::peer_close() const {
  return core_ ? core_->peer_close() : std::nullopt;
}

net::endpoint connection::remote_endpoint() const {
  return core_ ? core_->remote_endpoint() : net::endpoint();
}

std::string connection::subprotocol() const { return core_ ? core_->subprotocol() : std::string(); }

bool connection::compressed() const noexcept { return core_ && core_->compressed(); }

}  // namespace balrog::http::websocket
