#include "hub/hub.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

#include "balrog/errors.hpp"
#include "hub/greenlet_api.hpp"

namespace balrog::python {

namespace {

thread_local hub* this_thread_hub = nullptr;
std::atomic<std::uint64_t> next_hub_id{1};

[[noreturn]] void raise_runtime_error(const char* message) {
  PyErr_SetString(PyExc_RuntimeError, message);
  throw py::error_already_set();
}

// Raises `exc` (an exception instance; the reference is stolen).
[[noreturn]] void raise_instance(PyObject* exc) {
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
  throw py::error_already_set();
}

// asyncio keeps "the running loop" per thread; with greenlets it must be per greenlet: a
// greenlet that waits (maybe inside a loop's callback: sync code called from a coroutine) takes
// its running loop with it, and the greenlets that run meanwhile see none (or their own).
class running_loop_slot {
 public:
  running_loop_slot() {
    if (!functions_ready()) return;
    PyObject* loop = PyObject_CallNoArgs(get_);
    if (loop == nullptr) {
      PyErr_Clear();
      return;
    }
    if (loop == Py_None) {
      Py_DECREF(loop);
      return;
    }
    saved_ = loop;
    set(Py_None);
  }
  ~running_loop_slot() {
    if (saved_ == nullptr) return;
    PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
    PyErr_Fetch(&type, &value, &tb);  // the switch may have returned with an exception set
    set(saved_);
    PyErr_Restore(type, value, tb);
    Py_DECREF(saved_);
  }
  running_loop_slot(const running_loop_slot&) = delete;
  running_loop_slot& operator=(const running_loop_slot&) = delete;

 private:
  // _asyncio's C functions, once something imported asyncio (until then no loop can run).
  static bool functions_ready() {
    if (get_ != nullptr) return true;
    PyObject* module = PyImport_GetModule(asyncio_name());  // new reference or null
    if (module == nullptr) {
      if (PyErr_Occurred()) PyErr_Clear();
      return false;
    }
    get_ = PyObject_GetAttrString(module, "_get_running_loop");
    set_ = PyObject_GetAttrString(module, "_set_running_loop");
    Py_DECREF(module);
    if (get_ == nullptr || set_ == nullptr) {
      PyErr_Clear();
      Py_CLEAR(get_);
      Py_CLEAR(set_);
      return false;
    }
    return true;
  }
  static PyObject* asyncio_name() {
    static PyObject* name = PyUnicode_InternFromString("_asyncio");
    return name;
  }
  static void set(PyObject* loop) {
    PyObject* r = PyObject_CallOneArg(set_, loop);
    if (r == nullptr) {
      PyErr_Clear();
    } else {
      Py_DECREF(r);
    }
  }

  static inline PyObject* get_ = nullptr;  // never released: they live as long as _asyncio
  static inline PyObject* set_ = nullptr;
  PyObject* saved_ = nullptr;
};

PyObject* checked_current_greenlet() {
  PyObject* g = greenlets::current();
  if (g == nullptr) throw py::error_already_set();
  return g;
}

}  // namespace

hub::hub() : id_(next_hub_id.fetch_add(1, std::memory_order_relaxed)) {
  if (this_thread_hub != nullptr) raise_runtime_error("balrog: this thread already has a hub");
  if (!greenlets::import_api()) throw py::error_already_set();
  try {
    loop_ = std::make_unique<event_loop>();
  } catch (const usage_error&) {
    raise_runtime_error(
        "balrog: this thread already runs a balrog scheduler (balrog::run or an event_loop in "
        "C++), so it cannot have a Python hub");
  }
  main_greenlet_ = greenlets::root();
  run_function_ = py::cpp_function([this] { run(); });
  hub_greenlet_ = greenlets::create(run_function_.ptr(), main_greenlet_);
  if (hub_greenlet_ == nullptr) throw py::error_already_set();
  thread_ = std::this_thread::get_id();
  install_wakeup_fd();
  this_thread_hub = this;
}

// The race this closes: the hub runs Python's signal handlers after every turn
// (deliver_signals), and a turn that waits ends early when a signal interrupts its epoll_wait
// (EINTR). A signal that CPython's C handler takes after the hub's PyErr_CheckSignals and
// before the wait begins interrupts nothing: without a wakeup fd, its Python handler runs only
// when something else wakes the loop, maybe never (balrog-wsgi's graceful stop on SIGTERM).
// CPython writes the signal's number to the wakeup fd from its C handler; this one is the
// loop's wake-up pipe (event_loop::wakeup_fd), which ends the wait (asyncio's loops do the
// same with their self-pipe). Only the main thread of the main interpreter runs Python's
// signal handlers, and only it may set the fd. A wakeup fd someone installed before (an
// asyncio loop's, for add_signal_handler) is chained, not stolen: what the loop reads from its
// pipe it writes on to that fd, and close() puts it back.
void hub::install_wakeup_fd() {
  if (PyInterpreterState_Get() != PyInterpreterState_Main()) return;
  py::module_ threading = py::module_::import("threading");
  if (threading.attr("main_thread")().attr("ident").cast<unsigned long>() !=
      PyThread_get_thread_ident()) {
    return;
  }
  py::object set = py::module_::import("signal").attr("set_wakeup_fd");
  const int ours = loop_->wakeup_fd();
  const int previous = set(ours).cast<int>();
  wakeup_fd_ = ours;
  previous_wakeup_fd_ = previous;
  set_wakeup_fd_ = std::move(set);
  if (previous >= 0) loop_->forward_wakeups(previous);
}

void hub::restore_wakeup_fd() noexcept {
  if (wakeup_fd_ < 0) return;
  const int ours = std::exchange(wakeup_fd_, -1);
  try {
    const int current = set_wakeup_fd_(previous_wakeup_fd_).cast<int>();
    // Someone replaced ours since (their loop's own fd, or -1): theirs stays.
    if (current != ours) (void)set_wakeup_fd_(current);
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("balrog hub: restoring the signal wakeup fd");
  } catch (const std::exception&) {  // a cast that failed: nothing to restore
  }
  set_wakeup_fd_ = py::object();
}

hub::~hub() {
  if (!closed_ && !abandoned_ && std::this_thread::get_id() == thread_) {
    try {
      close();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("balrog hub teardown");
    }
  }
  if (!closed_) {
    // Abandoned in a forked child, or dropped on another thread: nothing of it may run here.
    // The tasks' handles, the loop and the references are leaked with it.
    new std::vector<task_handle<void>>(std::move(orphans_));
    (void)loop_.release();
  }
}

void hub::check_open() const {
  if (closed_ || abandoned_) raise_runtime_error("balrog: this hub is closed");
}

void hub::close() {
  if (closed_ || abandoned_) return;
  if (std::this_thread::get_id() != thread_) {
    raise_runtime_error("balrog: a hub is closed by the thread it serves");
  }
  closed_ = true;
  dying_ = true;
  if (this_thread_hub == this) this_thread_hub = nullptr;
  restore_wakeup_fd();  // before the loop and its pipe go
  // Waits that can never be resumed now forget this hub (their greenlets may still be
  // collected later; their waiters must not point here).
  for (auto& [g, w] : waiting_) {
    w->owner = nullptr;
    w->st = waiter::state::idle;
  }
  while (waiter* w = pop_ready()) {
    w->owner = nullptr;
    w->st = waiter::state::idle;
    if (w->hub_owned) {
      Py_XDECREF(w->greenlet);
      delete w;
    }
  }
  for (auto& [when, t] : timers_) t->armed = false;
  timers_.clear();
  for (auto& [g, exc] : pending_throws_) {
    greenlets::release(g);
    Py_DECREF(exc);
  }
  pending_throws_.clear();
  {
    std::lock_guard lk(remote_mutex_);
    for (auto& r : remote_) {
      Py_DECREF(r.keep_alive);
      Py_XDECREF(r.error);
    }
    remote_.clear();
  }
  // The loop cancels every task still running (native calls of greenlets that will never
  // resume) and drains them; their completions find `dying_` and queue nothing.
  {
    py::gil_scoped_release nogil;
    loop_.reset();
  }
  orphans_.clear();
  calls_.clear();  // never run: the thread's Python is ending
  // A suspended hub greenlet is killed when its last reference goes (GreenletExit, which
  // run() lets through because dying_ is set).
  greenlets::release(std::exchange(interrupt_target_, nullptr));
  greenlets::release(std::exchange(hub_greenlet_, nullptr));
}

hub* hub::current() noexcept { return this_thread_hub; }

void hub::abandon_after_fork() noexcept {
  if (abandoned_ || closed_) return;
  abandoned_ = true;
  dying_ = true;  // claims and switches stop here
  if (this_thread_hub == this) this_thread_hub = nullptr;
  restore_wakeup_fd();  // the child's copy of the pipe closes with the loop
  loop_->abandon_after_fork();
  (void)loop_.release();
  // hub_greenlet_, the waiters, timers and pending throws keep their references: leaked.
}

bool hub::still_current(std::uint64_t id) noexcept {
  return this_thread_hub != nullptr && this_thread_hub->id_ == id;
}

// --- the ready queue -------------------------------------------------------------------------

void hub::push_ready(waiter& w) noexcept {
  w.prev = ready_tail_;
  w.next = nullptr;
  (ready_tail_ != nullptr ? ready_tail_->next : ready_head_) = &w;
  ready_tail_ = &w;
  w.queued = true;
  ++ready_count_;
}

waiter* hub::pop_ready() noexcept {
  waiter* w = ready_head_;
  if (w != nullptr) unlink_ready(*w);
  return w;
}

void hub::unlink_ready(waiter& w) noexcept {
  if (!w.queued) return;
  (w.prev != nullptr ? w.prev->next : ready_head_) = w.next;
  (w.next != nullptr ? w.next->prev : ready_tail_) = w.prev;
  w.prev = w.next = nullptr;
  w.queued = false;
  --ready_count_;
}

// --- waiting ---------------------------------------------------------------------------------

void hub::prepare(waiter& w) {
  check_open();
  PyObject* g = checked_current_greenlet();
  if (g == hub_greenlet_) {
    Py_DECREF(g);
    raise_runtime_error(
        "balrog: cannot wait inside the hub (a signal handler or a hub callback); spawn a "
        "greenlet for it");
  }
  Py_XDECREF(w.greenlet);
  w.greenlet = g;  // the reference from current()
  w.owner = this;
  w.timed_out = false;
  w.take_error(nullptr);
  w.take_value(nullptr);
  w.st = waiter::state::waiting;
}

bool hub::take_pending_throw(PyObject* greenlet) {
  if (pending_throws_.empty()) return false;
  auto it = pending_throws_.find(greenlet);
  if (it == pending_throws_.end()) return false;
  PyObject* exc = it->second;
  Py_DECREF(it->first);
  pending_throws_.erase(it);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc)), exc);
  Py_DECREF(exc);
  return true;
}

bool hub::wait(waiter& w, std::optional<clock::time_point> until) {
  PyObject* const self = w.greenlet;  // prepare() bound it; the waiter holds the reference
  auto settle = [&w] {
    w.st = waiter::state::idle;
    w.owner = nullptr;
    PyObject* g = std::exchange(w.greenlet, nullptr);
    Py_XDECREF(g);
  };
  if (w.owner != this || self == nullptr) raise_runtime_error("balrog: wait() without prepare()");
  if (take_pending_throw(self)) {
    unlink_ready(w);
    settle();
    throw py::error_already_set();
  }
  if (w.st == waiter::state::ready) {  // claimed before we got here: no need to leave
    unlink_ready(w);
    settle();
  } else {
    waiting_[self] = &w;
    if (until) {
      w.deadline.slot = timers_.emplace(*until, &w.deadline);
      w.deadline.armed = true;
    }
    const std::uint64_t my_id = id_;
    PyObject* r = nullptr;
    {
      running_loop_slot keep_loop;
      r = greenlets::switch_to(hub_greenlet_);
    }
    if (!still_current(my_id)) {  // the hub is gone (the thread or the interpreter is ending)
      if (r == nullptr) throw py::error_already_set();
      Py_DECREF(r);
      raise_runtime_error("balrog: the hub this greenlet waited in is gone");
    }
    waiting_.erase(self);
    if (w.deadline.armed) {
      timers_.erase(w.deadline.slot);
      w.deadline.armed = false;
    }
    unlink_ready(w);
    const bool claimed = w.st == waiter::state::ready;
    settle();
    if (r == nullptr) throw py::error_already_set();  // thrown into us from outside the hub
    Py_DECREF(r);
    if (!claimed) {
      raise_runtime_error(
          "balrog: a waiting greenlet was switched to from outside the hub (use balrog's "
          "primitives, not greenlet.switch, to wake greenlets that wait in balrog)");
    }
  }
  if (w.error != nullptr) raise_instance(std::exchange(w.error, nullptr));
  return !w.timed_out;
}

void hub::yield_now() {
  auto w = std::make_unique<waiter>();
  prepare(*w);
  claim(*w);  // queued behind everything ready now
  waiting_[w->greenlet] = w.get();
  PyObject* const self = w->greenlet;
  const std::uint64_t my_id = id_;
  PyObject* r = nullptr;
  {
    running_loop_slot keep_loop;
    r = greenlets::switch_to(hub_greenlet_);
  }
  if (!still_current(my_id)) {
    if (r == nullptr) throw py::error_already_set();
    Py_DECREF(r);
    raise_runtime_error("balrog: the hub this greenlet waited in is gone");
  }
  waiting_.erase(self);
  unlink_ready(*w);
  w->st = waiter::state::idle;
  Py_CLEAR(w->greenlet);
  if (r == nullptr) throw py::error_already_set();
  Py_DECREF(r);
  if (w->error != nullptr) raise_instance(std::exchange(w->error, nullptr));
}

void hub::forget(waiter& w) noexcept {
  unlink_ready(w);
  w.st = waiter::state::idle;
  w.owner = nullptr;
  Py_CLEAR(w.greenlet);
}

// --- waking ----------------------------------------------------------------------------------

bool hub::claim(waiter& w) noexcept {
  if (w.st != waiter::state::waiting || dying_) return false;
  w.st = waiter::state::ready;
  push_ready(w);
  return true;
}

bool hub::wake(waiter& w, PyObject* keep_alive, PyObject* error) {
  hub* owner = w.owner;
  if (owner == nullptr || w.st != waiter::state::waiting) return false;
  if (owner == this_thread_hub) {
    if (!owner->claim(w)) return false;
    if (error != nullptr) {
      Py_INCREF(error);
      w.take_error(error);
    }
    return true;
  }
  owner->post_remote(w, keep_alive, error);
  return true;  // delivered unless the wait ends first
}

void hub::post_remote(waiter& w, PyObject* keep_alive, PyObject* error) {
  Py_INCREF(keep_alive);
  Py_XINCREF(error);
  {
    std::lock_guard lk(remote_mutex_);
    remote_.push_back({keep_alive, &w, error});
    remote_pending_.store(true, std::memory_order_release);
  }
  loop_->wake();
}

void hub::take_remote_wakes() {
  std::vector<remote_wake> batch;
  {
    std::lock_guard lk(remote_mutex_);
    remote_pending_.store(false, std::memory_order_relaxed);
    if (remote_.empty()) return;
    batch.swap(remote_);
  }
  for (auto& r : batch) {
    if (r.w->owner == this && claim(*r.w)) {
      r.w->take_error(r.error);  // the reference moves to the waiter
    } else {
      Py_XDECREF(r.error);
    }
    Py_DECREF(r.keep_alive);
  }
}

void hub::spawn(PyObject* greenlet) {
  check_open();
  auto* w = new waiter();
  Py_INCREF(greenlet);
  w->greenlet = greenlet;  // moves to run_ready() when it starts the greenlet
  w->owner = this;
  w->hub_owned = true;
  w->st = waiter::state::ready;
  push_ready(*w);
}

void hub::throw_into(PyObject* greenlet, PyObject* exc) {
  PyObject* self = checked_current_greenlet();
  Py_DECREF(self);  // only compared
  if (greenlet == self) {
    Py_INCREF(exc);
    raise_instance(exc);
  }
  auto it = waiting_.find(greenlet);
  if (it != waiting_.end() && it->second->st == waiter::state::waiting) {
    Py_INCREF(exc);
    it->second->take_error(exc);
    claim(*it->second);
    return;
  }
  // Not waiting, or its wait already won (a lock was handed over, a result arrived): the
  // next wait raises it.
  Py_INCREF(exc);
  auto [slot, inserted] = pending_throws_.try_emplace(greenlet, exc);
  if (inserted) {
    Py_INCREF(greenlet);
  } else {
    Py_DECREF(slot->second);
    slot->second = exc;
  }
}

void hub::cancel_throw(PyObject* greenlet, PyObject* exc) noexcept {
  auto it = pending_throws_.find(greenlet);
  if (it == pending_throws_.end() || (exc != nullptr && it->second != exc)) return;
  PyObject* g = it->first;
  Py_DECREF(it->second);
  pending_throws_.erase(it);
  greenlets::release(g);
}

// --- timers ----------------------------------------------------------------------------------

void hub::arm(timer& t, clock::time_point when) {
  check_open();
  disarm(t);
  t.slot = timers_.emplace(when, &t);
  t.armed = true;
}

void hub::disarm(timer& t) noexcept {
  if (!t.armed) return;
  timers_.erase(t.slot);
  t.armed = false;
}

void hub::fire_timers() {
  if (timers_.empty()) return;
  const auto now = clock::now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    timer* t = timers_.begin()->second;
    timers_.erase(timers_.begin());
    t->armed = false;
    if (t->w != nullptr) {
      if (claim(*t->w)) t->w->timed_out = true;
    } else {
      throw_into(t->greenlet, t->exc);
    }
  }
}

// --- native calls ----------------------------------------------------------------------------

void hub::adopt(task_handle<void>&& orphan) { orphans_.push_back(std::move(orphan)); }

void hub::reap_orphans() noexcept {
  if (orphans_.empty()) return;
  std::erase_if(orphans_, [](const task_handle<void>& h) { return h.done(); });
}

// --- the hub greenlet ------------------------------------------------------------------------

void hub::run() {
  while (!dying_) {
    run_ready();
    if (dying_) break;
    turn();
  }
}

void hub::run_ready() {
  std::size_t n = ready_count_;
  while (n-- > 0) {
    waiter* w = pop_ready();
    if (w == nullptr) break;
    PyObject* g = w->greenlet;
    if (w->hub_owned) {  // a spawn: the entry ends here (its reference moves to g)
      delete w;
    } else {
      // Only a greenlet that really waits on this waiter is resumed by it.
      auto it = waiting_.find(g);
      if (it == waiting_.end() || it->second != w) continue;
      Py_INCREF(g);
    }
    PyObject* r = greenlets::switch_to(g);
    if (r != nullptr) {
      Py_DECREF(r);
    } else if (dying_) {
      greenlets::release(g);
      throw py::error_already_set();  // GreenletExit: the hub is being destroyed
    } else {
      handle_escaped(g);
    }
    greenlets::release(g);
  }
}

void hub::handle_escaped(PyObject* greenlet) {
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr) PyException_SetTraceback(value, tb);
  py::object exc = py::reinterpret_steal<py::object>(value);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  // Ctrl-C and sys.exit() belong to the main greenlet, as they would without greenlets.
  if (PyErr_GivenExceptionMatches(exc.ptr(), PyExc_KeyboardInterrupt) ||
      PyErr_GivenExceptionMatches(exc.ptr(), PyExc_SystemExit)) {
    throw_into(main_greenlet_, exc.ptr());
    return;
  }
  if (PyErr_GivenExceptionMatches(exc.ptr(), greenlets::exit_type())) return;  // a kill
  if (!error_handler.is_none()) {
    try {
      error_handler(py::handle(greenlet), exc);
      return;
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("balrog hub error handler");
      return;
    }
  }
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  PyErr_WriteUnraisable(greenlet);
}

void hub::turn() {
  clock::duration max_wait = clock::duration::zero();
  if (ready_head_ == nullptr) {
    max_wait = timers_.empty()
                   ? clock::duration(-1)
                   : std::max(clock::duration::zero(), timers_.begin()->first - clock::now());
  }
  if (max_wait == clock::duration::zero()) {
    // A turn that cannot block keeps the GIL: its C++ work never touches Python, and handing
    // the GIL over twice per round would cost more than the turn.
    loop_->run_once(max_wait);
  } else {
    py::gil_scoped_release nogil;
    loop_->run_once(max_wait);
  }
  reap_orphans();
  if (remote_pending_.load(std::memory_order_acquire)) take_remote_wakes();
  if (!calls_.empty()) run_calls();
  fire_timers();
  deliver_signals();
}

void hub::call_soon(std::function<void()> fn) {
  if (!closed_ && !abandoned_) calls_.push_back(std::move(fn));
}

void hub::run_calls() {
  std::vector<std::function<void()>> batch;
  batch.swap(calls_);
  for (auto& fn : batch) {
    try {
      fn();
    } catch (py::error_already_set& e) {
      e.restore();
      handle_escaped(hub_greenlet_);
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      handle_escaped(hub_greenlet_);
    }
    fn = nullptr;  // its captures go here, with the GIL
  }
}

void hub::deliver_signals() {
  if (PyErr_CheckSignals() == 0) return;
  // A handler raised (KeyboardInterrupt from Ctrl-C): it belongs to the main greenlet, which
  // is the one a script, the REPL or pdb waits in.
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  if (tb != nullptr) PyException_SetTraceback(value, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  throw_into(interrupt_target(), value);
  Py_DECREF(value);
}

void hub::set_interrupt_target(PyObject* g) noexcept {
  Py_XINCREF(g);
  greenlets::release(std::exchange(interrupt_target_, g));
}

}  // namespace balrog::python
