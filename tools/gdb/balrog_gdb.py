# balrog's gdb commands: list the fibers and coroutine tasks of a stopped process or a core file,
# with what each waits on and a backtrace of each suspended fiber.
#
#   (gdb) source /path/to/balrog/tools/gdb/balrog_gdb.py
#   (gdb) balrog-fibers              every fiber and task of every shard, backtraces of 20 frames
#   (gdb) balrog-fibers 42           fiber (or task) #42 only, its whole backtrace and its stack
#   (gdb) balrog-fibers -n 5         at most 5 frames per backtrace
#   (gdb) balrog-fiber 42            gdb's own bt, frame N, info locals see fiber #42's frames
#   (gdb) balrog-fiber off           ... and the threads' own stacks again
#
# gdb also loads it by itself when it sits next to the program as <program>-gdb.py (auto-load);
# see docs/debugging.md.
#
# How it works. Every scheduler (one per shard thread) is on an intrusive list whose head is the
# global balrog::detail::registry_head (runtime/src/debug/registry.cpp; the link is in each
# scheduler's watched_shard base, at offset 0); each scheduler lists its live fibers and tasks
# from all_head_ through joinable_context::all_next. A suspended fiber's
# registers are where the context switch saved them (runtime/src/context/context_switch.hpp: the
# owned x86-64 switch and Boost.Context's jump_fcontext use one layout): its switch_frame's
# `context` is the save area's address, laid out on x86-64 as mxcsr/x87 control words, r12, r13,
# r14, r15, rbx, rbp, return address; the fiber's rsp is context + 0x48. balrog keeps frame pointers, so
# the backtrace is a frame-pointer walk from (return address, rbp) that stays on the fiber's own
# stack: the same walk as runtime/src/debug/backtrace.cpp, done here by reading the inferior's
# memory, and symbolized with gdb's debug info (one frame per inlined function, as gdb's bt
# shows them). The structures are found through DWARF, by member name: the program (balrog's
# runtime, at least) must be built with -g.
#
# Only the standard library and gdb's Python API (gdb 12 or later, x86-64).

import re
import time

import gdb

try:
    import gdb.unwinder as _gdb_unwinder
except ImportError:  # a gdb without Python unwinders: balrog-fiber is not available
    _gdb_unwinder = None

_REGISTRY = "balrog::detail::registry_head"
_DEFAULT_FRAMES = 20
_MAX_FRAMES = 10000  # even "all frames" stops here (a corrupt stack could loop)
_MAX_SCHEDULERS = 4096
_MAX_CONTEXTS = 1000000
_NAME_LIMIT = 256

# execution_context::state_ (balrog/detail/execution_context.hpp) and wake_reason.
_STATE_RUNNING = 0
_STATE_WAITING = 1
_STATE_WOKEN_BASE = 2
_WAKE_REASONS = ["notified", "timeout", "scope_timeout", "cancelled", "misuse"]
# joinable_context::flags.
_FLAG_FINISHED = 1
_FLAG_DETACHED = 2
# runnable::kind.
_KIND_FIBER = 0
_KIND_TASK = 1

# The context switch's save area on x86-64 (offsets from the saved context).
_SAVED_REGISTERS = [("r12", 0x10), ("r13", 0x18), ("r14", 0x20), ("r15", 0x28), ("rbx", 0x30),
                    ("rbp", 0x38), ("rip", 0x40)]
_SAVE_AREA_SIZE = 0x48


class BalrogError(Exception):
    """Something that ends the command with a message (not a Python traceback)."""


class LayoutError(BalrogError):
    pass


class NoScheduler(BalrogError):
    """Not an error: the process has no balrog scheduler to show."""


# --- reading the inferior ---------------------------------------------------------------------


def _inferior():
    return gdb.selected_inferior()


def _read(addr, size):
    return bytes(_inferior().read_memory(addr, size))


def _u64(addr):
    return int.from_bytes(_read(addr, 8), "little")


def _c_string(addr, limit=64):
    """A NUL-terminated string of at most `limit` bytes, read as far as memory allows."""
    if addr == 0:
        return None
    try:
        data = _read(addr, limit)
    except gdb.MemoryError:
        data = b""
        try:
            while len(data) < limit:  # the string may end just before an unmapped page
                data += _read(addr + len(data), 1)
                if data.endswith(b"\0"):
                    break
        except gdb.MemoryError:
            if not data:
                raise
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def _member(value, name, owner):
    try:
        return value[name]
    except gdb.MemoryError:
        raise
    except (gdb.error, KeyError, TypeError):
        raise LayoutError(
            "balrog: %s has no member '%s': this balrog_gdb.py does not match the program's balrog "
            "(use the tools/gdb/balrog_gdb.py of the same source tree)" % (owner, name))


def _scalar(value):
    """An integer member, read as raw little-endian bytes (works for std::atomic<T>, enums)."""
    size = value.type.sizeof
    addr = value.address
    if addr is None:
        return int(value)
    return int.from_bytes(_read(int(addr), size), "little", signed=False)


def _time_point_ns(value, owner):
    """std::chrono::steady_clock::time_point -> nanoseconds since the clock's epoch."""
    rep = _member(_member(value, "__d", owner), "__r", owner)
    return int(rep)


def _std_string(value, owner):
    """The text of a std::string (libstdc++'s layout), at most _NAME_LIMIT bytes."""
    plus = _member(value, "_M_dataplus", owner)
    data = int(_member(plus, "_M_p", owner))
    length = int(_member(value, "_M_string_length", owner))
    if length == 0:
        return ""
    if length < 0 or length > 1 << 32:
        return "<corrupt name: length %d>" % length
    text = _read(data, min(length, _NAME_LIMIT)).decode("utf-8", "replace")
    return text if length <= _NAME_LIMIT else text + "..."


class _Types:
    """balrog's types, looked up once per command (the program may have been reloaded)."""

    def __init__(self):
        def find(name):
            try:
                return gdb.lookup_type(name)
            except gdb.error:
                raise BalrogError(
                    "balrog: no debug information for %s: the command needs balrog built with -g "
                    "(a Debug or RelWithDebInfo build)" % name)

        self.scheduler = find("balrog::detail::scheduler")
        self.joinable = find("balrog::detail::joinable_context")
        self.fiber = find("balrog::detail::fiber_context")
        self.task = find("balrog::detail::task_context")


def _at(addr, type_):
    return gdb.Value(addr).cast(type_.pointer()).dereference()


# --- what the process holds -------------------------------------------------------------------


class Context:
    """One fiber or coroutine task, as read from the inferior."""

    def __init__(self, addr):
        self.addr = addr
        self.id = None
        self.kind = None
        self.name = None
        self.state = None
        self.waiting_on = None
        self.waiting_since = None
        self.flags = 0
        self.cancel_requested = False
        self.fctx = 0  # fibers: the saved context, 0 while it runs
        self.stack_low = 0
        self.stack_size = 0
        self.coroutine_frame = 0  # tasks: where the coroutine chain is suspended
        self.error = None  # why reading it stopped short
        self.shard = None

    @property
    def is_task(self):
        return self.kind == _KIND_TASK

    @property
    def label(self):
        return "task" if self.is_task else "fiber"

    @property
    def display_name(self):
        if self.name:
            return self.name
        if self.id is None:
            return "?"
        return "%s-%d" % (self.label, self.id)


class Shard:
    def __init__(self, addr):
        self.addr = addr
        self.index = None
        self.thread = None  # pthread_t
        self.running = 0
        self.running_task = 0
        self.loop_now = None
        self.turn_started_ns = 0
        self.contexts = []
        self.error = None  # why its list of fibers stops short
        self.gdb_thread = None


def _read_context(addr, types):
    c = Context(addr)
    j = _at(addr, types.joinable)
    owner = "balrog::detail::joinable_context"
    c.id = int(_member(j, "id", owner))
    c.kind = _scalar(_member(j, "what", owner))
    c.flags = _scalar(_member(j, "flags", owner))
    c.state = _scalar(_member(j, "state_", owner))
    c.cancel_requested = _scalar(_member(j, "cancel_requested_", owner)) != 0
    try:
        c.name = _std_string(_member(j, "name_", owner), owner)
    except gdb.MemoryError:
        c.name = "<unreadable name>"
    try:
        c.waiting_on = _c_string(int(_member(j, "waiting_on", owner)))
    except gdb.MemoryError:
        c.waiting_on = "<unreadable>"
    c.waiting_since = _time_point_ns(_member(j, "waiting_since", owner), owner)
    if c.kind == _KIND_FIBER:
        f = _at(addr, types.fiber)
        owner = "balrog::detail::fiber_context"
        c.fctx = int(_member(_member(f, "frame", owner), "context", owner))
        stack = _member(f, "stack", owner)
        c.stack_low = int(_member(stack, "lowest", "balrog::detail::stack_facts"))
        c.stack_size = int(_member(stack, "size", "balrog::detail::stack_facts"))
    elif c.kind == _KIND_TASK:
        t = _at(addr, types.task)
        handle = _member(t, "next_", "balrog::detail::task_context")
        c.coroutine_frame = int(_member(handle, "_M_fr_ptr", "std::coroutine_handle<>"))
    return c


def _read_shard(addr, types):
    s = Shard(addr)
    v = _at(addr, types.scheduler)
    owner = "balrog::detail::scheduler"
    s.index = int(_member(v, "shard_index", owner))
    s.thread = int(_member(v, "thread", owner))
    s.running = int(_member(v, "running_", owner))
    s.running_task = int(_member(v, "running_task_", owner))
    s.loop_now = _time_point_ns(_member(v, "loop_now_", owner), owner)
    watch = _member(v, "watch", owner)
    s.turn_started_ns = _scalar(_member(watch, "turn_started_ns", "balrog::detail::watch_state"))
    seen = set()
    try:
        p = int(_member(v, "all_head_", owner))
        while p != 0:
            if p in seen or len(seen) >= _MAX_CONTEXTS:
                s.error = "the list of fibers loops back to 0x%x (corrupt memory?)" % p
                break
            seen.add(p)
            try:
                c = _read_context(p, types)
            except gdb.MemoryError as e:
                bad = Context(p)
                bad.error = str(e)
                s.contexts.append(bad)
                s.error = "the rest of the list cannot be read"
                break
            c.shard = s.index
            s.contexts.append(c)
            p = int(_member(_at(p, types.joinable), "all_next", "balrog::detail::joinable_context"))
    except gdb.MemoryError as e:
        s.error = "cannot read its list of fibers: %s" % e
    # Oldest first (the list is newest first); one that could not be read stays last.
    s.contexts.sort(key=lambda c: (c.error is not None, c.id if c.id is not None else 0))
    return s


def _registry_head():
    """The first scheduler's address; BalrogError when there is none or gdb cannot tell."""
    if _inferior().pid == 0:
        raise BalrogError("balrog: no process (run or attach to the program, or load a core file)")
    sym = gdb.lookup_global_symbol(_REGISTRY) or gdb.lookup_static_symbol(_REGISTRY)
    if sym is None:
        # A symbol table entry without debug info, or no balrog at all?
        try:
            where = gdb.execute("info address " + _REGISTRY, to_string=True)
        except gdb.error:
            where = ""
        if where:
            raise BalrogError(
                "balrog: %s has no debug information: the command needs balrog built with -g "
                "(a Debug or RelWithDebInfo build)" % _REGISTRY)
        raise NoScheduler("no balrog scheduler in this process (the program does not link "
                          "balrog::runtime: %s is not defined)" % _REGISTRY)
    try:
        head = int(sym.value())
    except gdb.MemoryError as e:
        raise BalrogError("balrog: cannot read %s: %s" % (_REGISTRY, e))
    if head == 0:
        raise NoScheduler("no balrog scheduler in this process (no runtime has started yet, or "
                          "every one has ended)")
    return head


def _read_shards(head, types):
    shards = []
    seen = set()
    p = head
    while p != 0:
        if p in seen or len(seen) >= _MAX_SCHEDULERS:
            print("balrog-fibers: the list of schedulers loops back to 0x%x (corrupt memory?)" % p)
            break
        seen.add(p)
        try:
            shard = _read_shard(p, types)
            shards.append(shard)
            p = int(_member(_at(p, types.scheduler), "registry_next", "balrog::detail::scheduler"))
        except gdb.MemoryError as e:
            print("balrog-fibers: cannot read the scheduler at 0x%x: %s; schedulers after it are "
                  "not shown" % (p, e))
            break
    shards.sort(key=lambda s: s.index if s.index is not None else 1 << 62)
    _map_threads(shards)
    return shards


def _map_threads(shards):
    """Finds the gdb thread of each shard: the one whose pthread_t is the scheduler's thread."""
    by_handle = {}
    threads = []
    try:
        threads = list(_inferior().threads())
    except gdb.error:
        pass
    for t in threads:
        try:
            by_handle[int.from_bytes(t.handle(), "little")] = t
        except (gdb.error, RuntimeError, TypeError, ValueError):  # no libthread_db
            pass
    if not by_handle and threads:
        # Without libthread_db: on x86-64 glibc, pthread_t is the thread pointer, i.e. $fs_base.
        selected = gdb.selected_thread()
        try:
            frame = gdb.selected_frame()
        except gdb.error:
            frame = None
        try:
            for t in threads:
                try:
                    t.switch()
                    by_handle[int(gdb.parse_and_eval("$fs_base"))] = t
                except gdb.error:
                    pass
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()
                if frame is not None and frame.is_valid():
                    frame.select()
    for s in shards:
        s.gdb_thread = by_handle.get(s.thread)


# --- time -------------------------------------------------------------------------------------


class _Now:
    """What "now" is on the program's steady clock (CLOCK_MONOTONIC), and how we know."""

    def __init__(self, shards):
        self.ns = None
        self.how = None
        self.lower_bound = False
        conn = getattr(_inferior(), "connection", None)
        kind = getattr(conn, "type", None) if conn is not None else None
        if kind == "native":
            self.ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            self.how = ("live process: waits are measured to now on this host's monotonic clock "
                        "(time stopped in gdb counts)")
            return
        readings = [(s.loop_now, s.index) for s in shards if s.loop_now]
        if readings:
            self.ns, shard = max(readings)
            what = "core file" if kind == "core" else "%s target" % (kind or "unknown")
            self.how = ("%s: waits are measured to the latest loop clock reading in the process "
                        "(shard %s's), so they are lower bounds" % (what, shard))
            self.lower_bound = True

    def since(self, ns):
        if self.ns is None or not ns:
            return None
        return self.ns - ns


def _duration(ns):
    if ns < 0:
        return "0 ms"
    ms = ns // 1000000
    if ms < 10000:
        return "%d ms" % ms
    s = ns / 1e9
    if s < 600:
        return "%.1f s" % s
    return "%dm%02ds" % (s // 60, s % 60)


# --- backtraces -------------------------------------------------------------------------------


def _walk_frames(pc, fp, low, high, limit):
    """runtime/src/debug/backtrace.cpp's walk_frames over the inferior's memory. Returns the
    addresses read (pc first) and why the walk stopped early, if it did for a bad read."""

    def contains(a, n):
        return a >= low and a + n <= high

    pcs = [pc] if pc else []
    problem = None
    try:
        while pcs and len(pcs) < limit and fp % 8 == 0 and contains(fp, 16):
            next_fp = _u64(fp)
            ret = _u64(fp + 8)
            if ret == 0:
                break
            pcs.append(ret)
            if next_fp <= fp:  # stacks grow down: callers' frames are higher
                break
            fp = next_fp
    except gdb.MemoryError as e:
        problem = str(e)
    return pcs, problem


def _saved_registers(fctx):
    regs = {name: _u64(fctx + off) for name, off in _SAVED_REGISTERS}
    regs["rsp"] = fctx + _SAVE_AREA_SIZE
    return regs


def _fiber_frames(c, limit):
    """(pcs, problem) for a suspended fiber; pcs are all return addresses."""
    low, high = c.stack_low, c.stack_low + c.stack_size
    if not (low <= c.fctx and c.fctx + _SAVE_AREA_SIZE <= high):
        return [], ("its saved context 0x%x is outside its stack [0x%x, 0x%x)" %
                    (c.fctx, low, high))
    try:
        regs = _saved_registers(c.fctx)
    except gdb.MemoryError as e:
        return [], "cannot read its saved registers: %s" % e
    return _walk_frames(regs["rip"], regs["rbp"], low, high, limit)


def _minimal_symbol(pc, with_offset):
    """The ELF symbol table's (demangled) name for pc, e.g. for code without debug info."""
    try:
        text = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    except gdb.error:
        return None
    if not text or text.startswith("No symbol matches"):
        return None
    name = text.split(" in section ", 1)[0]
    if " + " in name:
        name, offset = name.rsplit(" + ", 1)
        if with_offset:
            name += "+" + offset
    return name


def _function_blocks(look):
    """The blocks of the functions around address `look`, innermost first: inlined instances,
    then the real function, then (for a lambda or a local class) the functions it is lexically
    nested in."""
    try:
        block = gdb.block_for_pc(look)
    except RuntimeError:
        return []
    blocks = []
    while block is not None and not block.is_global and not block.is_static:
        if block.function is not None:
            blocks.append(block)
        block = block.superblock
    return blocks


def _lexically_nested(function_block, look):
    """True for the function of a lambda or a local class: its block sits inside another
    function's block whose code does not cover `look`."""
    b = function_block.superblock
    while b is not None and not b.is_global and not b.is_static:
        if b.function is not None:
            return not (b.start <= look < b.end)
        b = b.superblock
    return False


def _call_site(inlined_block):
    """Where an inlined function was called: gdb gives an inlined instance's symbol the call's
    file and line (DW_AT_call_file, DW_AT_call_line)."""
    sym = inlined_block.function
    if sym.symtab is None or not sym.line:
        return None
    return "%s:%d" % (sym.symtab.filename, sym.line)


_pc_cache = {}  # (pc, is_return_address) -> _frames_at's answer; cleared by each command


def _frames_at(pc, is_return_address):
    """The frames one code address stands for, innermost first, as gdb's bt shows them: one per
    inlined function, then the real function. Each is (function, 'file:line' or None, library or
    None, inlined)."""
    key = (pc, is_return_address)
    if key not in _pc_cache:
        _pc_cache[key] = _frames_at_uncached(pc, is_return_address)
    return _pc_cache[key]


def _frames_at_uncached(pc, is_return_address):
    # A return address is looked up one byte back: the line shown is the call, not what follows.
    look = pc - 1 if is_return_address and pc > 0 else pc
    where = None
    try:
        sal = gdb.find_pc_line(look)
        if sal.symtab is not None and sal.line:
            where = "%s:%d" % (sal.symtab.filename, sal.line)
    except (gdb.error, RuntimeError):
        pass
    library = None
    try:
        library = gdb.current_progspace().solib_name(pc)
    except (gdb.error, RuntimeError):
        pass
    blocks = _function_blocks(look)
    if not blocks:
        return [(_minimal_symbol(look, True), where, library, False)]
    # Enclosing function blocks that cover `look` are the ones the code was inlined into; the
    # first that does not is a lexically enclosing function (the code is a lambda's, say).
    real = 0
    while real + 1 < len(blocks) and blocks[real + 1].start <= look < blocks[real + 1].end:
        real += 1
    frames = []
    for b in blocks[:real]:
        frames.append((b.function.print_name, where, library, True))
        where = _call_site(b)
    name = blocks[real].function.print_name
    if real + 1 < len(blocks) or _is_lambda(name):
        name = _linker_name(look) or name
    frames.append((name, where, library, False))
    return frames


def _is_lambda(print_name):
    # Debug info names a lambda's call operator just "operator()() const"; the linker symbol
    # says whose lambda it is ("main::{lambda()#1}::operator()() const").
    return print_name.startswith("operator()")


def _linker_name(look):
    """The demangled symbol-table name of the function at `look`, without GCC's clone suffixes
    ("[clone .constprop.0] [clone .cold]")."""
    name = _minimal_symbol(look, False)
    return re.sub(r"( \[clone [^]]+\])+$", "", name) if name else None


def _format_frame(i, pc, function, where, library, inlined):
    text = "#%-2d 0x%016x in %s" % (i, pc, function or "??")
    if where:
        text += " at " + where
    elif library:
        text += " from " + library
    return text + (" [inlined]" if inlined else "")


def _function_name(look):
    """The innermost function at `look` (an inlined one, if the code there was inlined)."""
    return _frames_at(look, False)[0][0]


def _coroutine_frame_type(resume):
    """The type GCC's debug info gives a coroutine frame: the actor's (resume function's) one
    parameter points to it. None without debug info."""
    try:
        block = gdb.block_for_pc(resume)
    except RuntimeError:
        return None
    while block is not None and block.function is None and not block.is_static:
        block = block.superblock
    if block is None or block.function is None:
        return None
    params = block.function.type.fields()
    if len(params) != 1 or params[0].type.code != gdb.TYPE_CODE_PTR:
        return None
    return params[0].type.target()


def _awaiter_of(frame_addr, resume):
    """The coroutine that awaits this one (its promise's `continuation`, as balrog::task's
    promise keeps it), or 0 when there is none or it cannot be told."""
    frame_type = _coroutine_frame_type(resume)
    if frame_type is None:
        return 0
    frame = _at(frame_addr, frame_type)
    for promise_name in ("_Coro_promise", "__promise"):  # GCC, Clang
        try:
            promise = frame[promise_name]
            handle = promise["continuation"]
            return int(handle["_M_fr_ptr"])
        except (gdb.error, KeyError, TypeError):
            continue
    return 0


_ACTOR = re.compile(r"^[^(]*\((.*)::_Z\w*\.Frame ?\*\) \[clone \.actor\]$")


def _coroutine_name(symbol):
    """GCC names a coroutine's resume function "f(f()::_Z1fv.Frame*) [clone .actor]": the
    coroutine is f()."""
    if symbol is None:
        return None
    m = _ACTOR.match(symbol)
    return m.group(1) if m else symbol


def _coroutine_frames(frame_addr, limit):
    """A suspended coroutine chain, innermost first: (text lines, problem). Each coroutine frame
    starts with its resume function (GCC's "[clone .actor]"), whose symbol names the coroutine;
    balrog::task's promise names the coroutine awaiting it."""
    lines = []
    seen = set()
    try:
        while frame_addr and len(lines) < limit and frame_addr not in seen:
            seen.add(frame_addr)
            resume = _u64(frame_addr)
            symbol = _minimal_symbol(resume, False)
            if lines and (symbol is None or "__dummy_resume_destroy" in symbol):
                break  # std::noop_coroutine(), or not a coroutine: nobody awaits the last one
            function = _coroutine_name(symbol) or _function_name(resume)
            _, where, library, _ = _frames_at(resume, False)[-1]
            text = "#%-2d coroutine %s" % (len(lines), function or "0x%x" % resume)
            if where:
                text += " at " + where
            elif library:
                text += " from " + library
            lines.append(text + " (frame 0x%x)" % frame_addr)
            frame_addr = _awaiter_of(frame_addr, resume)
    except gdb.MemoryError as e:
        return lines, "cannot read the coroutine frame at 0x%x: %s" % (frame_addr, e)
    return lines, None


# --- output -----------------------------------------------------------------------------------


def _thread_text(shard):
    t = shard.gdb_thread
    if t is None:
        return "pthread 0x%x (no matching gdb thread)" % shard.thread
    return "gdb thread %d, LWP %d" % (t.num, t.ptid[1])


def _state_text(c, shard, now):
    if c.addr in (shard.running, shard.running_task):
        where = "its shard's thread"
        if shard.gdb_thread is not None:
            where = "gdb thread %d" % shard.gdb_thread.num
        text = "running (see `thread apply all bt`: it is on %s)" % where
        ran = now.since(shard.turn_started_ns)
        if shard.turn_started_ns and ran is not None and not now.lower_bound:
            text += ", this loop turn began %s ago" % _duration(ran)
        return text
    if c.flags & _FLAG_FINISHED:
        return "finished"
    if c.state == _STATE_WAITING:
        text = "waiting on %s" % (c.waiting_on or "?")
        waited = now.since(c.waiting_since)
        if waited is not None:
            text += " for %s%s" % (">= " if now.lower_bound else "", _duration(waited))
        return text
    if c.state is not None and c.state >= _STATE_WOKEN_BASE:
        reason = c.state - _STATE_WOKEN_BASE
        why = _WAKE_REASONS[reason] if reason < len(_WAKE_REASONS) else "reason %d" % reason
        return "ready (woken: %s)" % why
    return "ready"


def _print_backtrace(c, shard, limit, indent):
    if c.addr in (shard.running, shard.running_task):
        return
    if c.is_task:
        if not c.coroutine_frame:
            print(indent + "(not started yet)")
            return
        lines, problem = _coroutine_frames(c.coroutine_frame, limit)
        for line in lines:
            print(indent + line)
        if problem:
            print(indent + "<backtrace stops: %s>" % problem)
        return
    if c.fctx == 0:
        print(indent + "(no saved context: not started yet)")
        return
    # Every address stands for at least one frame: limit + 1 addresses tell whether there are
    # more frames than shown.
    pcs, problem = _fiber_frames(c, limit + 1)
    shown = 0
    more = False
    for pc in pcs:
        for frame in _frames_at(pc, True):  # every one is a return address (see _fiber_frames)
            if shown == limit:
                more = True
                break
            print(indent + _format_frame(shown, pc, *frame))
            shown += 1
        if more:
            break
    if more:
        print(indent + "(more frames: `balrog-fibers %d` shows them all)" % c.id)
    if problem:
        print(indent + "<backtrace stops: %s>" % problem)


def _print_context(c, shard, now, limit):
    if c.error is not None:
        print("  ? at 0x%x: cannot read it: %s" % (c.addr, c.error))
        return
    tags = []
    if c.flags & _FLAG_DETACHED:
        tags.append("detached")
    if c.cancel_requested:
        tags.append("cancel requested")
    print("  %s #%d '%s': %s%s" % (c.label, c.id, c.display_name, _state_text(c, shard, now),
                                   "".join(" [%s]" % t for t in tags)))
    _print_backtrace(c, shard, limit, "      ")


def _count(n):
    return "1 fiber or task" if n == 1 else "%d fibers and tasks" % n


def _print_shard_header(shard):
    print("shard %s (%s): %s" % (shard.index, _thread_text(shard), _count(len(shard.contexts))))


def _list_all(shards, now, limit):
    total = sum(len(s.contexts) for s in shards)
    print("balrog: %d shard%s, %s" % (len(shards), "" if len(shards) == 1 else "s", _count(total)))
    if now.how:
        print("(%s)" % now.how)
    for shard in shards:
        _print_shard_header(shard)
        for c in shard.contexts:
            _print_context(c, shard, now, limit)
        if shard.error:
            print("  <%s>" % shard.error)


def _print_thread_stack(thread, limit, indent):
    """The running fiber's frames are the thread's: unwound by gdb itself."""
    selected = gdb.selected_thread()
    try:
        frame0 = gdb.selected_frame()
    except gdb.error:
        frame0 = None
    try:
        thread.switch()
        frame = gdb.newest_frame()
        i = 0
        while frame is not None and i < limit and frame.pc() != 0:
            pc = frame.pc()
            inlined = frame.type() == gdb.INLINE_FRAME
            look = frame.pc() if i == 0 else frame.pc() - 1
            _, _, library, _ = _frames_at(look, False)[-1]
            func = frame.function()
            function = func.print_name if func is not None else (
                _minimal_symbol(look, True) or frame.name())
            if func is not None and not inlined:
                try:
                    block = frame.block()
                except RuntimeError:
                    block = None
                while block is not None and block.function is None and not block.is_static:
                    block = block.superblock
                if _is_lambda(function) or (block is not None and block.function is not None
                                            and _lexically_nested(block, look)):
                    function = _linker_name(look) or function
            sal = frame.find_sal()
            where = None
            if sal.symtab is not None and sal.line:
                where = "%s:%d" % (sal.symtab.filename, sal.line)
            print(indent + _format_frame(i, pc, function, where, library, inlined))
            frame = frame.older()
            i += 1
        if frame is not None and frame.pc() != 0:
            print(indent + "(more frames)")
    except gdb.error as e:
        print(indent + "<backtrace stops: %s>" % e)
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
            if frame0 is not None and frame0.is_valid():
                frame0.select()


def _show_one(shards, now, wanted, limit):
    for shard in shards:
        for c in shard.contexts:
            if c.id != wanted or c.error is not None:
                continue
            print("%s #%d '%s' on shard %s (%s)" % (c.label, c.id, c.display_name, shard.index,
                                                     _thread_text(shard)))
            print("  state: %s" % _state_text(c, shard, now))
            if c.state == _STATE_WAITING and now.how:
                print("  (%s)" % now.how)
            kind = "balrog::detail::task_context" if c.is_task else "balrog::detail::fiber_context"
            print("  context: (%s *) 0x%x" % (kind, c.addr))
            flags = [n for bit, n in ((_FLAG_FINISHED, "finished"), (_FLAG_DETACHED, "detached"))
                     if c.flags & bit]
            if c.cancel_requested:
                flags.append("cancel requested")
            if flags:
                print("  flags: " + ", ".join(flags))
            running = c.addr in (shard.running, shard.running_task)
            if not c.is_task:
                print("  stack: [0x%x, 0x%x), %d KiB" % (c.stack_low, c.stack_low + c.stack_size,
                                                         c.stack_size // 1024))
                if not running and c.fctx:
                    try:
                        regs = _saved_registers(c.fctx)
                        print("  saved context: 0x%x (rip 0x%x, rsp 0x%x, rbp 0x%x)" %
                              (c.fctx, regs["rip"], regs["rsp"], regs["rbp"]))
                    except gdb.MemoryError as e:
                        print("  saved context: 0x%x (unreadable: %s)" % (c.fctx, e))
            if running:
                if shard.gdb_thread is not None:
                    print("  backtrace (gdb thread %d's, unwound by gdb):" % shard.gdb_thread.num)
                    _print_thread_stack(shard.gdb_thread, limit, "    ")
                return
            print("  backtrace:")
            _print_backtrace(c, shard, limit, "    ")
            if not c.is_task and _gdb_unwinder is not None:
                print("  (balrog-fiber %d lets bt, frame N and info locals see these frames)" %
                      c.id)
            return
    raise BalrogError("balrog-fibers: no fiber or task #%d (balrog-fibers lists them)" % wanted)


def _find_fiber(shards, wanted):
    for shard in shards:
        for c in shard.contexts:
            if c.id == wanted and c.error is None:
                return c, shard
    return None, None


# --- the commands -----------------------------------------------------------------------------


def _parse_args(arg, command):
    argv = gdb.string_to_argv(arg)
    limit = None
    wanted = None
    i = 0
    usage = "usage: %s [-n FRAMES] [ID]" % command
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise BalrogError(usage)
        if a == "-n" or (a.startswith("-n") and a[2:].isdigit()):
            value = a[2:] if a != "-n" else (argv[i + 1] if i + 1 < len(argv) else "")
            if a == "-n":
                i += 1
            if not value.isdigit() or int(value) == 0:
                raise BalrogError("%s: -n takes a positive number of frames\n%s" % (command, usage))
            limit = int(value)
        elif a.lstrip("#").isdigit() and wanted is None:
            wanted = int(a.lstrip("#"))
        else:
            raise BalrogError("%s: unexpected argument '%s'\n%s" % (command, a, usage))
        i += 1
    return limit, wanted


class BalrogFibers(gdb.Command):
    """List balrog's fibers and coroutine tasks, with what each waits on and its backtrace.

Usage: balrog-fibers [-n FRAMES] [ID]

Without ID: every fiber and task of every shard (scheduler thread) in the process or core file:
id, name, shard, state (running / waiting on X for how long / ready), and a backtrace of each
suspended fiber (at most FRAMES frames, default 20). A coroutine task shows the coroutine it is
suspended in. The fiber running on a shard's thread is on that thread's own stack: see
`thread apply all bt` (the output names the gdb thread).
With ID: that fiber or task alone, with its whole backtrace, its stack and its saved context.

In a core file "now" is the latest loop clock reading in the process, so waits are lower
bounds. Needs balrog built with -g (the command reads its structures through debug info)."""

    def __init__(self):
        super().__init__("balrog-fibers", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        _pc_cache.clear()  # the program's modules may have changed since the last command
        try:
            limit, wanted = _parse_args(arg, "balrog-fibers")
            head = _registry_head()
            shards = _read_shards(head, _Types())
            now = _Now(shards)
            if wanted is None:
                _list_all(shards, now, limit or _DEFAULT_FRAMES)
            else:
                _show_one(shards, now, wanted, limit or _MAX_FRAMES)
        except NoScheduler as e:
            print(str(e))
        except BalrogError as e:
            raise gdb.GdbError(str(e))
        except gdb.MemoryError as e:
            raise gdb.GdbError("balrog-fibers: cannot read the process's memory: %s" % e)


# --- balrog-fiber: gdb's own unwinder on a suspended fiber's frames ---------------------------

_selected_fiber = None  # (id, {register: value}) while balrog-fiber is on


if _gdb_unwinder is not None:

    class _FiberUnwinder(_gdb_unwinder.Unwinder):
        """While a fiber is selected, the selected thread's innermost frame "returns" into the
        fiber's saved context, so frames #1 and up are the fiber's, unwound by gdb (DWARF CFI,
        arguments, locals)."""

        def __init__(self):
            super().__init__("balrog-fiber")

        def __call__(self, pending_frame):
            if _selected_fiber is None or pending_frame.level() != 0:
                return None
            regs = _selected_fiber[1]
            pc = pending_frame.read_register("rip")
            # The frame id's stack address: the fiber's save area, below the fiber's frames, so
            # gdb's "inner frame" check is satisfied whichever stack the thread runs on.
            word = gdb.lookup_type("unsigned long")
            frame_id = _FrameId(gdb.Value(regs["rsp"] - _SAVE_AREA_SIZE).cast(word), pc)
            info = pending_frame.create_unwind_info(frame_id)
            for name, value in regs.items():
                info.add_saved_register(name, gdb.Value(value).cast(word))
            return info

    class _FrameId:
        """What gdb identifies a frame by (gdb.Values)."""

        def __init__(self, sp, pc):
            self.sp = sp
            self.pc = pc

    _unwinder = _FiberUnwinder()
    _registered = [False]

    class BalrogFiber(gdb.Command):
        """Show a suspended balrog fiber's frames to gdb's own commands.

Usage: balrog-fiber ID | balrog-fiber off

After `balrog-fiber ID`, frame #0 of the selected thread stays the thread's real innermost frame
and frames #1 and up are fiber ID's, unwound by gdb: `bt`, `frame N`, `info locals`, `up`, `p`
work on them. `balrog-fiber off` (or running the program) goes back to the threads' own stacks.
Select the thread first if you care which one lends its frame #0."""

        def __init__(self):
            super().__init__("balrog-fiber", gdb.COMMAND_STACK)

        def invoke(self, arg, from_tty):
            global _selected_fiber
            argv = gdb.string_to_argv(arg)
            if len(argv) != 1:
                raise gdb.GdbError("usage: balrog-fiber ID | balrog-fiber off")
            if argv[0] == "off":
                _selected_fiber = None
                gdb.invalidate_cached_frames()
                print("balrog-fiber: off; frames are the threads' own again")
                return
            try:
                if not argv[0].lstrip("#").isdigit():
                    raise BalrogError("usage: balrog-fiber ID | balrog-fiber off")
                wanted = int(argv[0].lstrip("#"))
                shards = _read_shards(_registry_head(), _Types())
                c, shard = _find_fiber(shards, wanted)
                if c is None:
                    raise BalrogError("balrog-fiber: no fiber #%d (balrog-fibers lists them)" %
                                      wanted)
                if c.is_task:
                    raise BalrogError("balrog-fiber: #%d is a coroutine task: it has no stack of "
                                      "its own (balrog-fibers %d shows where it is suspended)" %
                                      (wanted, wanted))
                if c.addr == shard.running:
                    raise BalrogError("balrog-fiber: fiber #%d is running: its frames are its "
                                      "thread's (%s)" % (wanted, _thread_text(shard)))
                if c.fctx == 0:
                    raise BalrogError("balrog-fiber: fiber #%d has no saved context" % wanted)
                regs = _saved_registers(c.fctx)
            except NoScheduler as e:
                print(str(e))
                return
            except BalrogError as e:
                raise gdb.GdbError(str(e))
            except gdb.MemoryError as e:
                raise gdb.GdbError("balrog-fiber: cannot read fiber #%s's saved context: %s" %
                                   (argv[0], e))
            if not _registered[0]:
                _gdb_unwinder.register_unwinder(None, _unwinder, replace=True)
                _registered[0] = True
            _selected_fiber = (wanted, regs)
            gdb.invalidate_cached_frames()
            print("balrog-fiber: frames #1 and up are now fiber #%d '%s' (frame #0 is the "
                  "selected thread's own); `balrog-fiber off` to undo" % (wanted, c.display_name))

    def _forget_fiber(_event):
        global _selected_fiber
        _selected_fiber = None

    # A resumed program moves on, an exited one is gone: the saved context is stale either way.
    gdb.events.cont.connect(_forget_fiber)
    gdb.events.exited.connect(_forget_fiber)
    BalrogFiber()

BalrogFibers()
