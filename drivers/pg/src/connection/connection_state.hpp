// The engine behind pg::connection: the request queue, automatic pipelining, exclusive
// sections (transactions, COPY, scripts) and notifications. See the connection.hpp header for
// the behaviour it promises; this file says how.
//
// Who talks to libpq. There is no background task: the first caller that finds nobody pumping
// becomes the leader. It sends every sendable queued request (each followed by a Sync), flushes,
// and reads results in order, completing each request and waking its caller, until its own
// request is done; then it hands leadership to a caller still waiting, if any. So the
// connection needs no task of its own and costs nothing when idle, and whoever waits is the one
// who works.
//
// Requests are shared_ptrs: a caller that gives up (cancelled, deadline) leaves, but its request
// stays in the pipeline, because its results must still be read to keep the protocol in step.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "balrog/detail/execution_context.hpp"
#include "balrog/detail/wait_queue.hpp"
#include "balrog/pg/connection.hpp"
#include "protocol/libpq_steps.hpp"

namespace balrog::pg::detail {

struct request {
  // query: PQsendQueryParams; prepare: PQsendPrepare; query_prepared: PQsendQueryPrepared;
  // sync: a bare Sync (completes when everything sent before it has its results).
  enum class kind { query, prepare, query_prepared, sync };
  kind what = kind::query;
  std::string sql;
  std::string name;  // prepare / query_prepared: the statement's name
  std::vector<param> params;
  int result_format = 0;
  std::uint64_t owner = 0;  // the exclusive section it belongs to, 0: none
  bool internal = false;    // the connection's own (DEALLOCATE, ROLLBACK on drop): nobody waits,
                            // and it is sent even while an exclusive section is open
  std::shared_ptr<request> depends_on;  // an auto-prepare: its error is this request's error
  bool from_cache = false;              // query_prepared made by the statement cache

  // Outcome, set by whoever pumps.
  result_ptr result;
  std::exception_ptr error;
  bool results_ended = false;  // PQgetResult returned null; the Sync is next
  bool done = false;
  bool abandoned = false;  // its caller left; drop the outcome
  bool lead = false;       // asked to take over pumping
  balrog::detail::execution_context* waiter = nullptr;
};

class connection_state : public std::enable_shared_from_this<connection_state> {
 public:
  connection_state(connection_ptr c, connect_options o);

  PGconn* raw() const noexcept { return conn_.get(); }
  const connect_options& options() const noexcept { return options_; }
  bool open() const noexcept { return conn_ != nullptr && !broken_; }

  // Runs one request to completion and returns its result; throws its error. The statement
  // cache applies to kind::query requests with parameters.
  task<result_ptr> run(std::shared_ptr<request> req);

  // Exclusive sections. acquire waits until no other section is open; the token tags the
  // section's requests. release ends it and lets waiting callers go on.
  task<std::uint64_t> acquire_exclusive();
  void release_exclusive(std::uint64_t token) noexcept;
  // Queues `sql` to run before anything else (a dropped transaction's ROLLBACK) and releases
  // the section; the next caller sends it first.
  void release_with(std::uint64_t token, std::string sql) noexcept;

  // Inside an exclusive section: waits until every request sent so far has its results, then
  // leaves pipeline mode (COPY and the simple protocol need that); re-enter when done.
  task<void> drain_and_leave_pipeline(std::uint64_t token);
  void enter_pipeline() noexcept;

  // Notifications: the next one queued, waiting up to `until`.
  task<std::optional<notification>> next_notification(deadline until);

  void mark_broken(std::exception_ptr why) noexcept;
  void check_usable(const char* call) const;
  void close() noexcept;

 private:
  // Leads the pipeline: sends what is sendable, reads results, completes requests, until `mine`
  // is done; or, with mine == nullptr, until a notification is queued or `until` passes.
  task<void> pump(request* mine, deadline until);
  // pump() as the leader (pumping_ set meanwhile). A caller giving up (cancelled, deadline)
  // only ends its lead; any other failure breaks the connection.
  task<void> lead(request* mine, deadline until);
  // Sends every sendable queued request (pipeline off: at most one in flight).
  void send_ready();
  void send_one(request& r);
  // Reads every result libpq has without waiting, completing requests. False: stop pumping
  // (the connection broke; everyone was failed).
  void read_available();
  // A caller queued work while the leader waits for the server: wake it to send the work now.
  void kick_leader() noexcept;
  bool sendable(const request& r) const noexcept;
  // Drops whatever an abandoned COPY or script left behind before anything else runs.
  task<void> clean_up();
  void complete(request& r) noexcept;
  void fail_everything(std::exception_ptr why) noexcept;
  void hand_over() noexcept;
  void collect_notifications();
  std::shared_ptr<request> through_cache(std::shared_ptr<request> req);
  void cache_unusable() noexcept;

  class request_awaiter;

  connection_ptr conn_;
  connect_options options_;
  std::uint64_t shard_;  // the serial of the scheduler that owns the connection
  bool broken_ = false;
  std::exception_ptr broken_reason_;
  bool pumping_ = false;
  bool in_pipeline_ = false;
  balrog::detail::execution_context* waiting_leader_ = nullptr;  // leader parked on the socket

 public:
  // A COPY or script that was dropped mid-way: the next user must finish it first.
  enum class leftover { none, copy_in, copy_out };
  leftover pending_cleanup = leftover::none;
  // Ends an exclusive section left in the middle of a COPY (`what`) without waiting: a COPY IN
  // gets a CopyFail with `why` (queued non-blocking); the next caller finishes the rest
  // (clean_up) before anything else runs.
  void abandon_copy(std::uint64_t token, leftover what, const char* why) noexcept;

 private:
  std::deque<std::shared_ptr<request>> queued_;
  std::deque<std::shared_ptr<request>> in_flight_;

  std::uint64_t exclusive_owner_ = 0;
  std::uint64_t next_token_ = 1;
  balrog::detail::wait_queue exclusive_waiters_;  // payload: std::uint64_t* (the token given)

  std::deque<notification> notifications_;
  balrog::detail::wait_queue notification_waiters_;

  // Statement cache: text -> name, in LRU order; texts seen once (prepared on their second use).
  struct cached {
    std::string name;
    std::list<std::string>::iterator lru;
  };
  std::unordered_map<std::string, cached> prepared_;
  std::list<std::string> lru_;  // front: most recent
  std::unordered_map<std::string, int> seen_;
  std::string cache_key_;  // through_cache's scratch buffer
  std::uint64_t next_statement_ = 1;
  bool cache_enabled_;
};

}  // namespace balrog::pg::detail
