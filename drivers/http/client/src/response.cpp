#include "balrog/http/response.hpp"

#include <boost/json/stream_parser.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "balrog/errors.hpp"
#include "balrog/http/error.hpp"
#include "request/errors.hpp"
#include "request/header_names.hpp"
#include "transfer/transfer.hpp"

namespace balrog::http {

namespace {

const char* status_class(int status) noexcept {
  return status < 500 ? "Client Error" : "Server Error";
}

}  // namespace

namespace {

// A streaming transfer lives in its thread's multi handle, which other threads must not touch:
// dropping it elsewhere is a bug that would corrupt that thread's state, so it ends here.
void check_drop_on_owner(const std::unique_ptr<detail::transfer>& t) noexcept {
  if (t && !t->on_owner_thread()) {
    std::fputs(
        "balrog::http::response: a streaming response dropped on another thread than the one "
        "that made the request\n",
        stderr);
    std::abort();
  }
}

}  // namespace

response::response() noexcept = default;
response::response(response&&) noexcept = default;

response& response::operator=(response&& other) noexcept {
  if (this != &other) {
    check_drop_on_owner(transfer_);
    status_ = other.status_;
    reason_ = std::move(other.reason_);
    headers_ = std::move(other.headers_);
    body_ = std::move(other.body_);
    url_ = std::move(other.url_);
    redirects_ = other.redirects_;
    version_ = other.version_;
    elapsed_ = other.elapsed_;
    body_given_ = other.body_given_;
    transfer_ = std::move(other.transfer_);
  }
  return *this;
}

response::~response() { check_drop_on_owner(transfer_); }

void response::raise_for_status() const {
  if (status_ < 400) return;
  std::string what = "balrog::http: " + std::to_string(status_) + " " + status_class(status_);
  if (!reason_.empty()) what += ": " + reason_;
  what += " for url: " + url_;
  throw status_error(what, status_, url_);
}

std::optional<std::string_view> response::header(std::string_view name) const {
  for (const auto& [n, v] : headers_) {
    if (detail::equal_names(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string_view> response::header_values(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const auto& [n, v] : headers_) {
    if (detail::equal_names(n, name)) values.emplace_back(v);
  }
  return values;
}

boost::json::value response::json() const {
  boost::json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t used = parser.write(body_.data(), body_.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    throw decode_error("balrog::http: the body of " + url_ + " is not JSON (at byte " +
                       std::to_string(used) + " of " + std::to_string(body_.size()) +
                       "): " + ec.message());
  }
  return parser.release();
}

task<std::optional<std::string>> response::next_chunk(deadline until) {
  if (!transfer_) {
    if (body_given_ || body_.empty()) co_return std::nullopt;
    body_given_ = true;
    co_return body_;
  }
  if (!transfer_->on_owner_thread()) {
    throw usage_error(
        "balrog::http::response::next_chunk: a streaming response is read on the thread that "
        "made the request");
  }
  for (;;) {
    if (std::optional<std::string> piece = transfer_->take_chunk()) co_return piece;
    if (transfer_->done()) {
      std::unique_ptr<detail::transfer> finished = std::move(transfer_);
      body_given_ = true;
      detail::throw_if_failed(*finished);
      co_return std::nullopt;
    }
    if (!co_await transfer_->wait(until)) {
      throw timeout_error("balrog::http::response::next_chunk: deadline exceeded");
    }
  }
}

task<void> response::read_all(deadline until) {
  while (std::optional<std::string> piece = co_await next_chunk(until)) body_ += *piece;
}

}  // namespace balrog::http
