#include "balrog/http/server/response.hpp"

#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "protocol/field_lookup.hpp"

namespace balrog::http::server {

namespace detail {

owned_fd& owned_fd::operator=(owned_fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

owned_fd::~owned_fd() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace detail

response::response(status code) : message_(code, 11) {}

response::response(status code, std::string body, std::string_view content_type)
    : message_(code, 11, std::move(body)) {
  message_.set(field::content_type, content_type);
}

response response::text(std::string body, status code) {
  return {code, std::move(body), "text/plain; charset=utf-8"};
}

response response::html(std::string body, status code) {
  return {code, std::move(body), "text/html; charset=utf-8"};
}

response response::json(const boost::json::value& body, status code) {
  return {code, boost::json::serialize(body), "application/json"};
}

response response::stream(std::function<void(chunk_writer&)> producer,
                          std::string_view content_type, status code) {
  response r(code);
  r.message_.set(field::content_type, content_type);
  r.special_ = std::move(producer);
  return r;
}

response response::file(int fd, std::uint64_t offset, std::uint64_t length,
                        std::string_view content_type, status code) {
  response r(code);
  if (!content_type.empty()) r.message_.set(field::content_type, content_type);
  r.special_ = detail::file_part{detail::owned_fd(fd), offset, length};
  return r;
}

response response::websocket_upgrade() {
  response r(status::switching_protocols);
  r.special_ = detail::websocket_upgrade{};
  return r;
}

std::string_view response::header(field name) const { return detail::field_value(message_, name); }

std::string_view response::header(std::string_view name) const {
  return detail::field_value(message_, detail::beast_view(name));
}

std::int64_t response::body_size() const noexcept {
  if (const auto* part = std::get_if<detail::file_part>(&special_)) {
    return static_cast<std::int64_t>(part->length);
  }
  if (std::holds_alternative<detail::stream_producer>(special_)) return -1;
  return static_cast<std::int64_t>(message_.body().size());
}

}  // namespace balrog::http::server
