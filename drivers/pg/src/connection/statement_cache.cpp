// connection_state's automatic statement cache: a parameterized text used a second time is
// prepared under a name and executed by name afterwards.
//
// Names. A statement's name is derived from its text and parameter types (and a per-process
// nonce), as pgx does: a name can only ever mean one statement. Behind a pooler in
// transaction mode (PgBouncer < 1.21), client connections share server connections, so a
// statement prepared by one client can be found by another; with counter names ("s1") a
// client would run another client's statement with its own parameters (review C6 d). With
// derived names, finding a statement of that name (42P05 on PREPARE) means it is this very
// statement, and the PREPARE's failure is harmless.
//
// Invalidation. A failed PREPARE forgets its entry. 26000 (the statement is missing: the
// server connection changed under a pooler) turns the cache off and runs the statement again,
// unprepared. 0A000 (a schema change altered the plan's result type) prepares it again and
// retries once, outside a transaction (inside one the transaction is already aborted).
// DEALLOCATE ALL and DISCARD ALL run by the application clear the cache (note_command).
#include <random>

#include "balrog/pg/error.hpp"
#include "connection/connection_state.hpp"
#include "connection/failure_kind.hpp"

namespace balrog::pg::detail {

namespace {

// FNV-1a, 64 bits: stable across processes and builds (std::hash is not promised to be).
std::uint64_t fnv1a(std::string_view s, std::uint64_t h) noexcept {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(std::uint64_t v, int digits) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = d[v & 15];
  return s;
}

// This process's part of every name: two processes never share names, even for one text.
const std::string& process_nonce() {
  static const std::string nonce = [] {
    std::random_device rd;
    return hex((static_cast<std::uint64_t>(rd()) << 32) ^ rd(), 8);
  }();
  return nonce;
}

// "balrog_<nonce>_<hash of key, 128 bits>": 48 characters, under NAMEDATALEN (63).
std::string name_for(const std::string& key) {
  return "balrog_" + process_nonce() + "_" + hex(fnv1a(key, 0xcbf29ce484222325ULL), 16) +
         hex(fnv1a(key, 0x84222325cbf29ce4ULL ^ key.size()), 16);
}

// The cache's key: the text plus each parameter's type and format.
void build_key(std::string& key, const std::string& sql, const std::vector<param>& params) {
  key.assign(sql);
  for (const param& p : params) {
    key += '\0';
    key.append(reinterpret_cast<const char*>(&p.oid), sizeof p.oid);
    key += p.binary ? 'b' : 't';
  }
}

}  // namespace

std::shared_ptr<request> connection_state::through_cache(std::shared_ptr<request> req) {
  if (!cache_enabled_ || req->what != request::kind::query || req->params.empty()) return req;
  // A statement is prepared with its parameters' types: the same text sent with other types
  // (an int here, a string there) is another statement.
  // The key is built in a reused buffer: a cache hit allocates nothing.
  std::string& key = cache_key_;
  build_key(key, req->sql, req->params);
  if (auto it = prepared_.find(key); it != prepared_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    req->what = request::kind::query_prepared;
    req->name = it->second.name;
    req->from_cache = true;
    req->cache_generation = cache_generation_;
    return req;
  }
  // Texts seen once are remembered in a bounded set: an application that inlines literals
  // would otherwise grow it without end.
  if (seen_.size() >= 4 * options_.statement_cache) seen_.clear();
  if (++seen_[key] < 2) return req;  // prepare what is used at least twice
  seen_.erase(key);
  auto prep = std::make_shared<request>();
  prep->what = request::kind::prepare;
  prep->name = name_for(key);
  prep->sql = req->sql;
  prep->params = req->params;  // the types; values are not sent with Parse
  for (param& p : prep->params) p.value.reset();
  prep->internal = true;
  prep->owner = req->owner;  // it runs where its statement runs (never in another's section)
  prep->cache_key = key;
  queued_.push_back(prep);
  lru_.push_front(key);
  prepared_[key] = {prep->name, lru_.begin()};
  if (prepared_.size() > options_.statement_cache) {
    const std::string victim = lru_.back();
    lru_.pop_back();
    auto dealloc = std::make_shared<request>();
    dealloc->sql = "DEALLOCATE " + prepared_[victim].name;
    dealloc->internal = true;  // owner 0: after any open section, after its queued users
    queued_.push_back(dealloc);
    prepared_.erase(victim);
  }
  req->what = request::kind::query_prepared;
  req->name = prep->name;
  req->depends_on = prep;
  req->from_cache = true;
  req->cache_generation = cache_generation_;
  return req;
}

void connection_state::forget_cached(const std::string& key, const std::string& name) noexcept {
  const auto it = prepared_.find(key);
  if (it == prepared_.end() || it->second.name != name) return;
  lru_.erase(it->second.lru);
  prepared_.erase(it);
}

void connection_state::clear_cache() noexcept {
  prepared_.clear();
  lru_.clear();
  ++cache_generation_;  // statements made from it before now may find theirs gone
}

void connection_state::cache_unusable() noexcept {
  cache_enabled_ = false;
  prepared_.clear();
  lru_.clear();
  seen_.clear();
  ++cache_generation_;
}

bool connection_state::retry_after_cache_error(request& req) {
  if (!req.from_cache || req.abandoned || req.params.empty()) return false;
  const std::string state = sqlstate_of(req.error);
  if (state == "26000") {
    if (req.cache_generation == cache_generation_) {
      // Not a DEALLOCATE ALL of the application's (that clears the cache and moves on the
      // generation): the server does not keep our statements. A pooler in transaction mode.
      cache_unusable();
    }
    return req.owner == 0;  // inside a transaction the error has aborted it: no retry
  }
  if (state == "0A000" && req.owner == 0) {
    // "cached plan must not return a different result type": prepare it again, once.
    std::string key;
    build_key(key, req.sql, req.params);
    if (auto it = prepared_.find(key); it != prepared_.end() && it->second.name == req.name) {
      auto dealloc = std::make_shared<request>();
      dealloc->sql = "DEALLOCATE " + req.name;
      dealloc->internal = true;
      queued_.push_back(dealloc);
      lru_.erase(it->second.lru);
      prepared_.erase(it);
      seen_[key] = 1;  // the retry is its second use: prepared again
    }
    return true;
  }
  return false;
}

}  // namespace balrog::pg::detail
