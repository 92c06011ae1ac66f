"""The plain REPL and pdb on a pseudo-terminal: balrog calls at the prompt, greenlets running
while the prompt is idle (PyOS_InputHook), Ctrl-C."""

import os
import socket
import textwrap
import time

import pytest

from ptyterm import Terminal

PYTHON = "/usr/bin/python3"


@pytest.fixture
def repl():
    t = Terminal([PYTHON, "-q", "-i"], env={"PYTHONPATH": os.environ["PYTHONPATH"]})
    t.expect(">>> ")
    yield t
    t.close()


def run(t, code, expect=">>> "):
    t.line(code)
    return t.expect(expect)


def test_a_greenlet_serves_while_the_prompt_is_idle(repl):
    run(repl, "import balrog, socket; balrog.patch(socket=True)")
    run(repl, "srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()")
    run(repl, "def echo():\r    while True:\r        c, _ = srv.accept()\r"
              "        c.sendall(c.recv(100).upper()); c.close()\r", r"\.\.\. ")
    run(repl, "")
    run(repl, "g = balrog.spawn(echo)")
    port = int(run(repl, "srv.getsockname()[1]", r"(\d+)\n").group(1))
    repl.expect(">>> ")
    # Nobody types: the REPL waits in its input hook, and the greenlet answers.
    for word in (b"one", b"two"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(word)
            assert c.recv(100) == word.upper()
    run(repl, "print('still here', g.ready)", "still here False")


def test_balrog_calls_and_ctrl_c_at_the_prompt(repl):
    run(repl, "import balrog")
    run(repl, "print(balrog.run(lambda: 6 * 7))", "42")
    repl.expect(">>> ")
    repl.line("balrog.sleep(30)")
    time.sleep(0.3)
    started = time.monotonic()
    repl.interrupt()
    repl.expect("KeyboardInterrupt")
    repl.expect(">>> ")
    assert time.monotonic() - started < 10
    run(repl, "print('after', balrog.run(lambda: 5))", "after 5")


def test_ctrl_c_at_an_idle_prompt_cancels_the_line(repl):
    run(repl, "import balrog; ticks = []")
    run(repl, "g = balrog.spawn(lambda: [ticks.append(balrog.sleep(0.01)) for _ in range(10**9)])")
    repl.send("half typed")
    time.sleep(0.3)
    repl.interrupt()
    repl.expect("KeyboardInterrupt")
    repl.expect(">>> ")
    run(repl, "print('ticking', len(ticks) > 5)", "ticking True")


def test_pdb_stopped_in_a_greenlet_runs_balrog_queries(tmp_path, pg_dsn):
    script = tmp_path / "debug_me.py"
    script.write_text(textwrap.dedent(f"""
        import balrog
        from balrog import pg

        conn = pg.connect({pg_dsn!r}, autocommit=True)
        ticks = []
        ticker = balrog.spawn(lambda: [ticks.append(balrog.sleep(0.01)) for _ in range(10**9)])

        def handler():
            x = 41
            breakpoint()
            return x

        print("result", balrog.run(handler))
    """))
    t = Terminal([PYTHON, str(script)], env={"PYTHONPATH": os.environ["PYTHONPATH"]})
    try:
        t.expect(r"\(Pdb\) ")
        t.line("print('current', balrog.getcurrent().__class__.__name__)")
        t.expect("current Greenlet")
        t.expect(r"\(Pdb\) ")
        t.line("conn.execute('select %s + 1', (x,)).fetchone()")
        t.expect(r"\(42,\)")
        t.expect(r"\(Pdb\) ")
        t.line("n1 = len(ticks)")
        t.expect(r"\(Pdb\) ")
        time.sleep(0.3)  # idle at the pdb prompt: the ticker keeps going
        t.line("print('ticked', len(ticks) - n1 > 5)")
        t.expect("ticked True")
        t.expect(r"\(Pdb\) ")
        t.line("x = 99")
        t.expect(r"\(Pdb\) ")
        t.line("c")
        t.expect("result 99")
    finally:
        t.close()


@pytest.mark.skipif(not os.path.exists("/usr/bin/ipython3"), reason="ipython3 is not installed")
def test_ipython_cells_run_in_greenlets_and_the_hub_runs_during_the_prompt():
    t = Terminal(["/usr/bin/ipython3", "--no-banner", "--colors=NoColor", "--no-confirm-exit",
                  "--HistoryManager.enabled=False"],
                 env={"PYTHONPATH": os.environ["PYTHONPATH"], "PROMPT_TOOLKIT_NO_CPR": "1"})
    try:
        t.expect(r"In \[1\]")
        t.line("%load_ext balrog")
        t.expect(r"In \[2\]")
        t.line("import balrog; ticks = []")
        t.expect(r"In \[3\]")
        t.line("g = balrog.spawn(lambda: [ticks.append(balrog.sleep(0.01)) for _ in range(10**9)])")
        t.expect(r"In \[4\]")
        t.line("n1 = len(ticks)")
        t.expect(r"In \[5\]")
        time.sleep(0.5)  # idle at the prompt
        t.line("print('ticked', len(ticks) - n1 > 10)")
        t.expect("ticked True")
        t.line("print('cell in', type(balrog.getcurrent()).__name__)")
        t.expect("cell in Greenlet")
        t.line("balrog.sleep(30)")
        time.sleep(0.5)
        t.interrupt()
        t.expect("KeyboardInterrupt")
        t.line("print('alive', balrog.run(lambda: 7))")
        t.expect("alive 7")
    finally:
        t.close()
