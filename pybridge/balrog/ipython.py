"""IPython support: ``%load_ext balrog``.

Each cell runs in a greenlet on the main thread's hub (Ctrl-C interrupts that cell), and while
the prompt waits for input the hub keeps running (a prompt_toolkit input hook, IPython's
``%gui balrog``), so greenlets spawned by one cell keep working between cells.
"""

from __future__ import annotations

from typing import Any

from . import _hub
from ._greenlet import Greenlet

_original_run_code: Any = None


def _inputhook(context: Any) -> None:
    """prompt_toolkit input hook: run the hub until the terminal has input."""
    try:
        _hub.get_hub().wait_fd(context.fileno(), False)
    except KeyboardInterrupt:
        pass  # prompt_toolkit sees Ctrl-C as a key on its own


def load_ipython_extension(ip: Any) -> None:
    global _original_run_code
    from IPython.terminal.pt_inputhooks import register

    register("balrog", _inputhook)
    if hasattr(ip, "enable_gui") and getattr(ip, "pt_app", None) is not None:
        ip.enable_gui("balrog")
    if _original_run_code is not None:
        return
    _original_run_code = ip.run_code
    hub = _hub.get_hub()

    async def run_code(code_obj: Any, result: Any = None, *, async_: bool = False) -> Any:
        if async_:  # an `await` cell runs on IPython's own loop runner
            return await _original_run_code(code_obj, result, async_=True)

        def run_cell_code() -> Any:
            coro = _original_run_code(code_obj, result, async_=False)
            try:
                coro.send(None)
            except StopIteration as done:
                return done.value
            coro.close()
            raise RuntimeError("balrog: a synchronous cell awaited")

        cell = Greenlet(run_cell_code)
        hub.interrupt_target = cell
        try:
            hub.spawn(cell)
            return cell.join()
        finally:
            hub.interrupt_target = None

    ip.run_code = run_code


def unload_ipython_extension(ip: Any) -> None:
    global _original_run_code
    if _original_run_code is not None:
        ip.run_code = _original_run_code
        _original_run_code = None
    if hasattr(ip, "enable_gui") and getattr(ip, "pt_app", None) is not None:
        ip.enable_gui(None)
