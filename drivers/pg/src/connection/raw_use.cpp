// connection_state: the raw use of libpq by a section holder (COPY, scripts in the simple
// protocol, row-by-row streams), and finishing what an interrupted raw use left behind.
//
// A raw use leaves pipeline mode; meanwhile pumping_ is set, so nobody else leads or touches
// libpq (review C3, C8). When its holder stops half-way (an exception, a deadline, a dropped
// copy_writer) it cannot wait to clean up (destructors cannot wait), so it records what is left
// and keeps the section: the next leader finishes it — sends the CopyFail still in libpq's
// buffer, drains a COPY OUT or the results of a script — before anything else is sent, then
// ends the section (review C4). Each step records its progress, so a leader interrupted in the
// middle leaves the rest to the next one.
#include "balrog/pg/error.hpp"
#include "connection/connection_state.hpp"
#include "connection/drain.hpp"
#include "wait/queue_awaiter.hpp"
#include "wait/readable_or_writable.hpp"

namespace balrog::pg::detail {

task<void> connection_state::enter_raw(std::uint64_t token, bool stay_in_pipeline) {
  // A notification waiter leading the pipeline stands aside (it would otherwise lead for ever:
  // review C8); leaders of other callers stop when their statement is done.
  want_raw_ = true;
  struct reset {
    connection_state& s;
    ~reset() { s.want_raw_ = false; }
  } guard{*this};
  kick_leader();
  // Nothing in flight, nobody reading, no cancel on its way (it could hit the raw use), nothing
  // left to clean up: the pipeline is already drained, no Sync round trip needed.
  const bool drained_now =
      !pumping_ && in_flight_.empty() && !sends_held() && pending_cleanup_ == leftover::none;
  for (; !drained_now;) {
    auto sync = std::make_shared<request>();
    sync->what = request::kind::sync;
    sync->owner = token;
    co_await run(sync, "copy");
    if (in_flight_.empty() && !pumping_) break;
  }
  if (stay_in_pipeline) {
    raw_ = true;
    pumping_ = true;
    co_return;
  }
  if (PQexitPipelineMode(conn_.get()) != 1) {
    std::exception_ptr why;
    try {
      throw_connection_error(conn_.get(), "leaving pipeline mode");
    } catch (...) {
      why = std::current_exception();
    }
    mark_broken(why);
    std::rethrow_exception(why);
  }
  in_pipeline_ = false;
  raw_ = true;
  pumping_ = true;
}

void connection_state::leave_raw(std::uint64_t token, bool end) noexcept {
  if (!raw_) return;
  raw_ = false;
  pumping_ = false;
  if (conn_ != nullptr && !broken_) {
    if (PQenterPipelineMode(conn_.get()) == 1) {
      in_pipeline_ = true;
    } else {
      mark_broken(std::make_exception_ptr(connection_error(
          {"08006", "FATAL", "could not re-enter pipeline mode: " + last_error(conn_.get()), "",
           ""})));
    }
  }
  if (end) end_section(token);
  hand_over();
  kick_leader();
}

void connection_state::abandon_raw(std::uint64_t token, leftover what, std::string reason, bool end,
                                   bool cancel) noexcept {
  const bool was_raw = raw_;
  raw_ = false;
  pumping_ = false;
  if (!was_raw || exclusive_owner_ != token || conn_ == nullptr || broken_) {
    hand_over();
    return;
  }
  if (what == leftover::copy_in) {
    // Queue the CopyFail now if libpq takes it without waiting; the clean-up flushes it.
    const int r = PQputCopyEnd(conn_.get(), reason.c_str());
    if (r < 0) {
      mark_broken(std::make_exception_ptr(connection_error(
          {"08006", "FATAL", "ending an abandoned COPY: " + last_error(conn_.get()), "", ""})));
      return;
    }
    if (r == 1) what = leftover::output;
  }
  pending_cleanup_ = what;
  cleanup_reason_ = std::move(reason);
  cleanup_section_ = token;
  cleanup_ends_section_ = end;
  if (end) holder_ = nullptr;
  if (cancel) cancel_in_background(nullptr);
  hand_over();
}

task<void> connection_state::clean_up() {
  // Called by a leader (pumping_ is set), with libpq out of pipeline mode.
  // A cancel asked for with the leftover goes first. The drain below waits only when libpq has
  // nothing to read: while the server outruns us (a slow client: ASan), the socket is always
  // readable, the drain never suspends, and the cancel's fiber never gets its turn, so every
  // row of the abandoned statement would be read.
  while (cancel_in_progress_ && !broken_) {
    co_await queue_awaiter(cancel_waiters_, nullptr, "pg-cancel");
  }
  if (broken_) std::rethrow_exception(broken_reason_);
  PGconn* c = conn_.get();
  while (pending_cleanup_ != leftover::none) {
    switch (pending_cleanup_) {
      case leftover::copy_in: {
        const int r = PQputCopyEnd(c, cleanup_reason_.c_str());
        if (r < 0) throw_connection_error(c, "ending an abandoned COPY");
        if (r == 1) {
          pending_cleanup_ = leftover::output;
        } else {
          co_await readable_or_writable(PQsocket(c), deadline::never());
          if (PQconsumeInput(c) == 0) throw_connection_error(c, "reading from the server");
        }
        break;
      }
      case leftover::output:
        co_await flush_out(false);
        pending_cleanup_ = leftover::results;
        break;
      case leftover::copy_out:
        co_await drop_copy_out(c);
        pending_cleanup_ = leftover::results;
        break;
      case leftover::results:
      case leftover::pipeline_results: {
        const drained d =
            co_await drop_results(c, pending_cleanup_ == leftover::pipeline_results, this);
        if (d != drained::done && cleanup_reason_.empty()) {
          cleanup_reason_ = "balrog: the COPY was abandoned";
        }
        // A statement whose start was interrupted may turn out to be a COPY: end it too.
        pending_cleanup_ = d == drained::copy_in    ? leftover::copy_in
                           : d == drained::copy_out ? leftover::copy_out
                                                    : leftover::none;
        break;
      }
      case leftover::none:
        break;
    }
  }
  if (PQenterPipelineMode(c) != 1) throw_connection_error(c, "re-entering pipeline mode");
  in_pipeline_ = true;
  if (cleanup_ends_section_) end_section(cleanup_section_);
}

}  // namespace balrog::pg::detail
