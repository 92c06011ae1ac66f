// The engine behind pg::connection: the request queue, automatic pipelining, exclusive
// sections (transactions, COPY, scripts, streams), cancellation and notifications. See the
// connection.hpp header for the behaviour it promises; this file says how.
//
// Who talks to libpq. There is no background task: the first caller that finds nobody pumping
// becomes the leader. It sends every sendable queued request (each followed by a Sync), flushes
// (reading meanwhile), and reads results in order, completing each request and waking its
// caller, until its own request is done; then it hands leadership to a caller still waiting,
// if any. So the connection needs no task of its own and costs nothing when idle, and whoever
// waits is the one who works.
//
// Requests are shared_ptrs: a caller that gives up (cancelled, deadline) leaves. A request not
// yet sent is withdrawn; one already sent stays in the pipeline, because its results must still
// be read to keep the protocol in step (they are dropped).
//
// Exclusive sections are requests too (kind::section), granted in queue order: statements
// queued before a begin() go out before it, statements queued after it wait until the section
// ends. A section ends when the statement that ends it on the server (COMMIT, ROLLBACK) is
// *sent* — from that point everything else sent runs after it — or, for sections with no
// server-side state (COPY, scripts), when its holder gives it back. Nothing but the section's
// own requests is sent while it is open; nothing of a section is dropped unsent once it may
// have changed the server's transaction state.
#pragma once

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
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
  // sync: a bare Sync (completes when everything sent before it has its results);
  // section: asks for an exclusive section (granted in queue order, nothing is sent).
  enum class kind { query, prepare, query_prepared, sync, section };
  kind what = kind::query;
  std::string sql;
  std::string name;  // prepare / query_prepared: the statement's name
  std::vector<param> params;
  int result_format = 0;
  std::uint64_t owner = 0;    // the exclusive section it belongs to, 0: none
  std::uint64_t token = 0;    // kind::section: the section asked for
  bool internal = false;      // the connection's own (a cache PREPARE, DEALLOCATE, the ROLLBACK of
                              // a dropped transaction): nobody waits for it
  bool ends_section = false;  // COMMIT / ROLLBACK of section `owner`: sending it ends the
                              // section; it is sent even when its caller gave up
  bool control = false;       // BEGIN / COMMIT / ROLLBACK: never wrapped, never retried
  // > 0: sent after a statement that lowers statement_timeout to this many ms for it (the
  // caller's deadline), in the same pipeline segment.
  int statement_timeout_ms = 0;
  deadline caller_deadline;
  std::shared_ptr<request> depends_on;  // an auto-prepare: its error is this request's error
  bool from_cache = false;              // query_prepared made by the statement cache
  std::string cache_key;                // a cache prepare: the key it fills
  std::uint64_t cache_generation = 0;   // from_cache: the cache's generation when it was made
  // For the compat layer's multiplexer (compat/libpq_mux.cpp), which hands libpq's results to
  // its callers as they are: an error result is the outcome too (kept in `result`, not turned
  // into `error`), and `on_answer` runs as the request's Sync is read, before any later
  // request's reply is parsed, so PQtransactionStatus and PQparameterStatus then describe the
  // session exactly as this request left it. It must not throw or use the connection.
  bool keep_error_result = false;
  std::function<void(const request&, PGconn*)> on_answer;

  // Progress and outcome, set by whoever pumps.
  bool sent = false;              // handed to libpq (PQsend*)
  std::uint64_t send_serial = 0;  // its place in the order of sending
  int queries = 1;                // statements sent for it before its Sync (2-3 with the timeout)
  int main_query = 0;             // which of them is the caller's
  int queries_ended = 0;          // PQgetResult returned null this many times
  result_ptr result;
  std::exception_ptr error;
  std::exception_ptr wrapper_error;  // from the statements around it (statement_timeout)
  bool done = false;
  bool answered = false;   // the server's reply completed it (not a lost connection)
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

  // Runs one request to completion and returns its result; throws its error. `call` names the
  // public function in error messages. The statement cache applies to kind::query requests
  // with parameters; a caller's deadline becomes the statement's statement_timeout where that
  // is safe (connect_options::deadline_statement_timeout).
  task<result_ptr> run(std::shared_ptr<request> req, const char* call);

  // Refuses what no server would take, for this caller alone (usage_error, or
  // character_not_in_repertoire for a text parameter holding a NUL byte): too many parameters,
  // COPY ... STDIN / STDOUT in the pipeline.
  void check_statement(const request& r, const char* call) const;

  // Exclusive sections. acquire waits its turn in the queue (throws usage_error when the caller
  // already holds a section of this connection: it would wait for itself). The token tags the
  // section's requests.
  task<std::uint64_t> acquire_exclusive(const char* call);
  // Ends a section that left no state on the server (nothing was sent, or it was a COPY or a
  // script that ended): statements held back go on.
  void release_exclusive(std::uint64_t token) noexcept;
  // Ends a section by queueing `sql` (a dropped transaction's ROLLBACK), sent before anything
  // the section held back, and at once if nobody else is talking to the server.
  void close_section(std::uint64_t token, std::string sql) noexcept;
  // The fiber (or thread) now using the section: a direct use of the connection from it would
  // wait for itself (usage_error instead).
  void note_holder(std::uint64_t token) noexcept;

  // Raw use: inside section `token`, waits until every request sent so far has its results,
  // then gives the caller libpq to itself: out of pipeline mode (COPY, the simple protocol) or,
  // with stay_in_pipeline, in it (a stream: single-row mode, which libpq leaves set for the
  // next query when a query ends outside pipeline mode). leave_raw goes back to the pipeline
  // and, with end_section, ends the section.
  task<void> enter_raw(std::uint64_t token, bool stay_in_pipeline = false);
  void leave_raw(std::uint64_t token, bool end_section) noexcept;
  // A raw use stopped half-way (its holder was interrupted or dropped): whoever leads next
  // finishes it, then ends the section when end_section. `what`: a COPY IN to abort with
  // `reason`; output still in libpq's buffer to send (a COPY's end, a script), then results to
  // read; a COPY OUT to drain; results to read. With cancel, the server is asked to stop what
  // it runs (nothing else can be hit: the section holds until the clean-up is done).
  // pipeline_results: the results of a statement sent in pipeline mode, up to its Sync.
  enum class leftover { none, copy_in, output, copy_out, results, pipeline_results };
  void abandon_raw(std::uint64_t token, leftover what, std::string reason, bool end_section,
                   bool cancel) noexcept;

  // Notifications: the next one queued, waiting up to `until`.
  task<std::optional<notification>> next_notification(deadline until);

  // For the pool: brings the connection back to a known idle session — pumps what is still
  // queued or in flight (a dropped transaction's ROLLBACK, an abandoned COPY), rolls back a
  // transaction block left open, UNLISTENs — within `until`. False when it cannot (broken, a
  // section still held by a live object, not idle afterwards): then discard it.
  task<bool> settle(deadline until);
  // Nothing to settle: no work pending, no section, an idle session, nothing LISTENed.
  [[nodiscard]] bool settled() const noexcept;
  // Some of `r`'s bytes may have reached the server: a flush that did not fail ran after it
  // was handed to libpq. (A COMMIT that never got that far cannot have committed.)
  [[nodiscard]] bool may_have_reached_server(const request& r) const noexcept {
    return r.sent && r.send_serial <= flushed_upto_;
  }

  // What a statement's command tag says about the session (DEALLOCATE ALL, DISCARD ALL,
  // LISTEN...). Results read outside the pipeline (scripts) come here too.
  void note_command(const PGresult* res) noexcept;

  void mark_broken(std::exception_ptr why) noexcept;
  void check_usable(const char* call) const;
  void close() noexcept;

 private:
  class request_awaiter;

  // libpq's notice receiver: forwards to connect_options::on_notice (the PGconn lives and dies
  // with this state, so `self` outlives it).
  static void receive_notice(void* self, const PGresult* res) noexcept;
  // Waits until `r` is done, leading when nobody else does. When the caller gives up, withdraws
  // or abandons the request (see abandon) and rethrows.
  task<void> wait_for(const std::shared_ptr<request>& r);
  void abandon(const std::shared_ptr<request>& r) noexcept;
  // Leads the pipeline: sends what is sendable, reads results, completes requests, until `mine`
  // is done; or, with mine == nullptr, until a notification is queued, a section wants the
  // connection raw, or `until` passes.
  task<void> pump(request* mine, deadline until);
  // pump() as the leader (pumping_ set meanwhile), after finishing what an abandoned raw use
  // left. A caller giving up (cancelled, deadline) only ends its lead; any other failure breaks
  // the connection.
  task<void> lead(request* mine, deadline until);
  task<void> clean_up();
  // Flushes libpq's output, waiting for the socket to be readable or writable and reading
  // whatever arrives meanwhile (the server may wait for us to read before it reads on).
  task<void> flush_out(bool pipeline);
  // Sends every sendable queued request (pipeline off: at most one in flight).
  void send_ready();
  void send_one(request& r);
  // Throws connection_error when the socket shows the server gone (reset, or closed its side).
  void check_peer_alive();
  // Sends what is sendable now, without waiting (a ROLLBACK that should not wait for the next
  // caller). Breaks the connection on failure.
  void push_out_now() noexcept;
  // Reads every result libpq has without waiting, completing requests.
  void read_available();
  void complete_head();
  // A caller queued work while the leader waits for the server: wake it to send the work now.
  void kick_leader() noexcept;
  [[nodiscard]] bool sendable(const request& r) const noexcept;
  [[nodiscard]] bool sends_held() const noexcept;
  void end_section(std::uint64_t token) noexcept;
  void complete(request& r) noexcept;
  void fail_everything(std::exception_ptr why) noexcept;
  void hand_over() noexcept;
  void collect_notifications();
  // Asks the server to cancel what it runs for this connection (PQcancel on the offload pool,
  // on a fiber of its own). New statements are held back until the cancel has been delivered
  // and `target` (if any) has its results, so that the cancel can only hit `target`.
  void cancel_in_background(std::shared_ptr<request> target) noexcept;
  void check_not_holder(const char* call) const;
  void apply_deadline(request& r) const;

  // The statement cache.
  std::shared_ptr<request> through_cache(std::shared_ptr<request> req);
  void forget_cached(const std::string& key, const std::string& name) noexcept;
  void clear_cache() noexcept;  // the server's statements are gone (DEALLOCATE ALL...)
  void cache_unusable() noexcept;
  // After a cached statement failed: true when running it again, unprepared, is right.
  bool retry_after_cache_error(request& req);

  connection_ptr conn_;
  connect_options options_;
  std::uint64_t shard_;  // the serial of the scheduler that owns the connection
  bool broken_ = false;
  bool closed_ = false;
  std::exception_ptr broken_reason_;
  // A leader drives libpq, or (raw_) a section holder uses it directly: nobody else may.
  bool pumping_ = false;
  bool raw_ = false;
  bool want_raw_ = false;  // a section drains the pipeline to go raw: other leaders stand aside
  bool in_pipeline_ = false;
  balrog::detail::execution_context* waiting_leader_ = nullptr;  // leader parked on the socket

  std::deque<std::shared_ptr<request>> queued_;
  std::deque<std::shared_ptr<request>> in_flight_;
  std::uint64_t sent_count_ = 0;    // requests handed to libpq so far
  std::uint64_t flushed_upto_ = 0;  // sent_count_ at the last flush that did not fail

  std::uint64_t exclusive_owner_ = 0;
  std::uint64_t next_token_ = 1;
  balrog::detail::execution_context* holder_ = nullptr;  // who uses the open section
  bool section_closing_ = false;  // its COMMIT/ROLLBACK is queued: it ends without its holder

  leftover pending_cleanup_ = leftover::none;
  std::string cleanup_reason_;
  std::uint64_t cleanup_section_ = 0;
  bool cleanup_ends_section_ = false;

  std::shared_ptr<request> cancel_target_;
  bool cancel_in_progress_ = false;
  balrog::detail::wait_queue cancel_waiters_;  // a leader's clean-up, until the cancel is sent

  std::deque<notification> notifications_;
  balrog::detail::wait_queue notification_waiters_;
  bool listening_ = false;  // a LISTEN ran on this session

  // Statement cache: key (text + parameter types) -> name, in LRU order; keys seen once.
  struct cached {
    std::string name;
    std::list<std::string>::iterator lru;
  };
  std::unordered_map<std::string, cached> prepared_;
  std::list<std::string> lru_;  // front: most recent
  std::unordered_map<std::string, int> seen_;
  std::string cache_key_;  // through_cache's scratch buffer
  std::uint64_t cache_generation_ = 1;
  bool cache_enabled_;
};

}  // namespace balrog::pg::detail
