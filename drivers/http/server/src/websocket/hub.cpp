#include "balrog/http/websocket/hub.hpp"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "balrog/errors.hpp"
#include "balrog/sync/mutex.hpp"
#include "websocket/core.hpp"

namespace balrog::http::websocket {

namespace detail {

struct hub_state {
  struct member {
    std::uint64_t id;
    std::shared_ptr<core> connection;
  };

  mutable mutex lock;  // held for map updates only, never across a send
  std::multimap<std::string, member, std::less<>> members;
  std::uint64_t next_id = 1;

  // The open connections under `key` (all when key is null), dropping closed ones.
  std::vector<std::shared_ptr<core>> open_members(const std::string_view* key) {
    std::vector<std::shared_ptr<core>> out;
    std::lock_guard guard(lock);
    auto [first, last] =
        key != nullptr ? members.equal_range(*key) : std::pair(members.begin(), members.end());
    for (auto it = first; it != last;) {
      if (it->second.connection->is_open()) {
        out.push_back(it->second.connection);
        ++it;
      } else {
        it = members.erase(it);
      }
    }
    return out;
  }

  void remove(const std::string& key, std::uint64_t id) {
    std::lock_guard guard(lock);
    auto [first, last] = members.equal_range(key);
    for (auto it = first; it != last; ++it) {
      if (it->second.id == id) {
        members.erase(it);
        return;
      }
    }
  }
};

}  // namespace detail

namespace {

// Sends to each connection; counts those that got it. A failed or closed connection is
// skipped (it is forgotten by the next lookup); cancellation and deadlines propagate.
template <class Send>
std::size_t deliver(const std::vector<std::shared_ptr<detail::core>>& to, const Send& send) {
  std::size_t delivered = 0;
  for (const auto& c : to) {
    try {
      send(*c);
      ++delivered;
    } catch (const cancelled&) {
      throw;
    } catch (const usage_error&) {
      throw;
    } catch (const balrog::error&) {
      // closed, timed out (the connection's own write_timeout), reset: skip it
    }
  }
  return delivered;
}

}  // namespace

hub::hub() : state_(std::make_shared<detail::hub_state>()) {}
hub::~hub() = default;

hub::registration::registration(registration&& other) noexcept
    : hub_(std::move(other.hub_)), key_(std::move(other.key_)), id_(std::exchange(other.id_, 0)) {}

hub::registration& hub::registration::operator=(registration&& other) noexcept {
  if (this != &other) {
    reset();
    hub_ = std::move(other.hub_);
    key_ = std::move(other.key_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void hub::registration::reset() noexcept {
  if (!hub_) return;
  try {
    hub_->remove(key_, id_);
  } catch (...) {
    // the lock's wait was cancelled: the entry goes at the next lookup (it is closed by then)
  }
  hub_.reset();
}

hub::registration hub::add(std::string key, const connection& ws) {
  if (!ws.core() || !ws.core()->is_open()) {
    throw connection_closed("balrog::http::websocket::hub::add: the connection is not open");
  }
  std::uint64_t id = 0;
  {
    std::lock_guard guard(state_->lock);
    id = state_->next_id++;
    state_->members.emplace(key, detail::hub_state::member{id, ws.core()});
  }
  return registration(state_, std::move(key), id);
}

std::size_t hub::send(std::string_view key, std::string_view text) {
  return deliver(state_->open_members(&key), [text](detail::core& c) { c.send(false, text); });
}

std::size_t hub::send_binary(std::string_view key, std::span<const std::byte> data) {
  const std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
  return deliver(state_->open_members(&key), [bytes](detail::core& c) { c.send(true, bytes); });
}

std::size_t hub::broadcast(std::string_view text) {
  return deliver(state_->open_members(nullptr), [text](detail::core& c) { c.send(false, text); });
}

std::size_t hub::close(std::string_view key, std::uint16_t code, std::string_view reason) {
  return deliver(state_->open_members(&key),
                 [code, reason](detail::core& c) { c.close(code, reason); });
}

std::size_t hub::count(std::string_view key) const { return state_->open_members(&key).size(); }

std::size_t hub::size() const { return state_->open_members(nullptr).size(); }

}  // namespace balrog::http::websocket
