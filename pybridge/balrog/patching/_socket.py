"""socket, select, selectors and ssl for greenlets (balrog.patch(socket=True)).

A patched socket keeps its file descriptor non-blocking and remembers the timeout its user set;
a call that would block waits for the fd on the hub (suspending only the calling greenlet) and
raises TimeoutError ("timed out", what socket.timeout is) when the timeout passes. A socket in
non-blocking mode (timeout 0) behaves exactly as before. Name resolution (getaddrinfo...) runs
on a helper thread. select.select, select.poll, select.epoll and the selectors wait on the hub.
"""

from __future__ import annotations

import errno
import os
import select as _select
import selectors as _selectors
import socket as _socket_module
import ssl as _ssl
from typing import Any, Callable, Optional

from .._hub import get_hub
from .._threads import run_in_thread
from .._time import monotonic
from ._registry import mark, original, replace

_real_socket: Any = _socket_module.socket
_real_select = _select.select
_real_poll = _select.poll
_real_epoll: Any = _select.epoll
_real_sslsocket: Any = _ssl.SSLSocket
_WOULD_BLOCK = (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EINTR)


def _timed_out() -> TimeoutError:
    return TimeoutError("timed out")


class _Deadline:
    """A socket timeout turned into a deadline: None waits forever."""

    __slots__ = ("end",)

    def __init__(self, timeout: Optional[float]) -> None:
        self.end = None if timeout is None else monotonic() + timeout

    def remaining(self) -> Optional[float]:
        if self.end is None:
            return None
        left = self.end - monotonic()
        if left <= 0:
            raise _timed_out()
        return left


def _wait(fd: int, write: bool, deadline: _Deadline) -> None:
    if not get_hub().wait_fd(fd, write, deadline.remaining()):
        raise _timed_out()


class _Cooperative:
    """What a patched socket and a patched SSL socket share: the user's timeout, kept apart from
    the fd's (always non-blocking), and the loop around a call that would block."""

    _balrog_timeout: Optional[float] = None

    def settimeout(self, value: Optional[float]) -> None:
        _real_socket.settimeout(self, value)  # its checks and errors
        self._balrog_timeout = _real_socket.gettimeout(self)
        _real_socket.setblocking(self, False)

    def gettimeout(self) -> Optional[float]:
        return self._balrog_timeout

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return self._balrog_timeout != 0.0

    @property
    def timeout(self) -> Optional[float]:
        return self._balrog_timeout

    def _cooperate(self, call: Callable[..., Any], write: bool, *args: Any) -> Any:
        if self._balrog_timeout == 0.0:
            return call(*args)
        deadline = _Deadline(self._balrog_timeout)
        while True:
            try:
                return call(*args)
            except (BlockingIOError, InterruptedError):
                pass
            _wait(self.fileno(), write, deadline)  # type: ignore[attr-defined]

    def _connect_cooperatively(self, connect_ex: Callable[[Any], int], address: Any) -> int:
        """connect_ex, waiting on the hub: the error number (0: connected)."""
        err = connect_ex(address)
        if err == 0 or err == errno.EISCONN or self._balrog_timeout == 0.0:
            return err
        if err not in _WOULD_BLOCK:
            return err
        _wait(self.fileno(), True, _Deadline(self._balrog_timeout))  # type: ignore[attr-defined]
        return self.getsockopt(_socket_module.SOL_SOCKET, _socket_module.SO_ERROR)


def _resolved(sock: Any, address: Any) -> Any:
    """An (host, port, ...) address with its host resolved on a helper thread when it is a
    name, so connect() itself never blocks on DNS."""
    if sock.family not in (_socket_module.AF_INET, _socket_module.AF_INET6):
        return address
    if not isinstance(address, tuple) or not isinstance(address[0], str):
        return address
    host = address[0]
    try:
        _socket_module.inet_pton(sock.family, host)
        return address  # numeric already
    except (OSError, ValueError):
        pass
    infos = getaddrinfo(host, address[1], sock.family, sock.type)
    return infos[0][4] if infos else address


class socket(_Cooperative, _real_socket):  # noqa: N801 - the module's name for it
    """socket.socket for greenlets (see the module's docstring)."""

    def __init__(self, family: int = -1, type: int = -1, proto: int = -1,  # noqa: A002
                 fileno: Optional[int] = None) -> None:
        _real_socket.__init__(self, family, type, proto, fileno)
        self._balrog_timeout = _real_socket.gettimeout(self)
        _real_socket.setblocking(self, False)

    def connect(self, address: Any) -> None:
        address = _resolved(self, address)
        err = self._connect_cooperatively(lambda a: _real_socket.connect_ex(self, a), address)
        if err not in (0, errno.EISCONN):
            if self._balrog_timeout == 0.0 and err in _WOULD_BLOCK:
                raise BlockingIOError(err, "Operation now in progress")
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any) -> int:
        return self._connect_cooperatively(lambda a: _real_socket.connect_ex(self, a),
                                           _resolved(self, address))

    def _accept(self) -> Any:
        return self._cooperate(lambda: _real_socket._accept(self), False)

    def recv(self, *args: Any) -> bytes:
        return self._cooperate(lambda: _real_socket.recv(self, *args), False)

    def recv_into(self, *args: Any) -> int:
        return self._cooperate(lambda: _real_socket.recv_into(self, *args), False)

    def recvfrom(self, *args: Any) -> Any:
        return self._cooperate(lambda: _real_socket.recvfrom(self, *args), False)

    def recvfrom_into(self, *args: Any) -> Any:
        return self._cooperate(lambda: _real_socket.recvfrom_into(self, *args), False)

    def recvmsg(self, *args: Any) -> Any:
        return self._cooperate(lambda: _real_socket.recvmsg(self, *args), False)

    def send(self, *args: Any) -> int:
        return self._cooperate(lambda: _real_socket.send(self, *args), True)

    def sendto(self, *args: Any) -> int:
        return self._cooperate(lambda: _real_socket.sendto(self, *args), True)

    def sendmsg(self, *args: Any) -> int:
        return self._cooperate(lambda: _real_socket.sendmsg(self, *args), True)

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        if self._balrog_timeout == 0.0:
            _real_socket.sendall(self, view, flags)
            return
        deadline = _Deadline(self._balrog_timeout)
        sent = 0
        while sent < len(view):
            try:
                sent += _real_socket.send(self, view[sent:], flags)
            except (BlockingIOError, InterruptedError):
                _wait(self.fileno(), True, deadline)


def _cooperative_ssl_call(sock: Any, call: Callable[[], Any]) -> Any:
    if sock._balrog_timeout == 0.0:
        return call()
    deadline = _Deadline(sock._balrog_timeout)
    while True:
        try:
            return call()
        except _ssl.SSLWantReadError:
            _wait(sock.fileno(), False, deadline)
        except _ssl.SSLWantWriteError:
            _wait(sock.fileno(), True, deadline)
        except (BlockingIOError, InterruptedError):
            _wait(sock.fileno(), False, deadline)


class SSLSocket(_Cooperative, _real_sslsocket):  # type: ignore[misc]
    """ssl.SSLSocket for greenlets: the handshake, reads and writes wait on the hub."""

    def do_handshake(self, block: bool = False) -> None:
        _cooperative_ssl_call(self, lambda: _real_sslsocket.do_handshake(self, block))

    def read(self, len: int = 1024, buffer: Any = None) -> Any:  # noqa: A002 - ssl's names
        return _cooperative_ssl_call(self, lambda: _real_sslsocket.read(self, len, buffer))

    def write(self, data: Any) -> int:
        return _cooperative_ssl_call(self, lambda: _real_sslsocket.write(self, data))

    def send(self, data: Any, flags: int = 0) -> int:
        if self._sslobj is not None:
            if flags != 0:
                raise ValueError("non-zero flags not allowed in calls to send() on %s"
                                 % self.__class__)
            return self.write(data)
        return _cooperative_ssl_call(self, lambda: _real_socket.send(self, data, flags))

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if self._sslobj is not None:
            return _real_sslsocket.recv(self, buflen, flags)
        return _cooperative_ssl_call(self, lambda: _real_socket.recv(self, buflen, flags))

    def recv_into(self, buffer: Any, nbytes: Optional[int] = None, flags: int = 0) -> int:
        if self._sslobj is not None:
            return _real_sslsocket.recv_into(self, buffer, nbytes, flags)
        return _cooperative_ssl_call(
            self, lambda: _real_socket.recv_into(self, buffer, nbytes or 0, flags))

    def unwrap(self) -> Any:
        return _cooperative_ssl_call(self, lambda: _real_sslsocket.unwrap(self))

    def _accept(self) -> Any:
        return _cooperative_ssl_call(self, lambda: _real_socket._accept(self))

    def _real_connect(self, addr: Any, connect_ex: bool) -> Optional[int]:
        # ssl's own, with the TCP connect made cooperative (it calls the socket's connect).
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._sslobj = self.context._wrap_socket(self, False, self.server_hostname, owner=self,
                                                 session=self._session)
        try:
            rc = self._connect_cooperatively(lambda a: _real_socket.connect_ex(self, a),
                                             _resolved(self, addr))
            if rc and not connect_ex:
                raise OSError(rc, os.strerror(rc))
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc if connect_ex else None
        except (OSError, ValueError):
            self._sslobj = None
            raise


# --- name resolution on a helper thread ------------------------------------------------------

def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
    return run_in_thread(lambda: original(_socket_module, "getaddrinfo")(*args, **kwargs))


def gethostbyname(name: str) -> str:
    return run_in_thread(original(_socket_module, "gethostbyname"), name)


def gethostbyname_ex(name: str) -> Any:
    return run_in_thread(original(_socket_module, "gethostbyname_ex"), name)


def gethostbyaddr(address: str) -> Any:
    return run_in_thread(original(_socket_module, "gethostbyaddr"), address)


def getnameinfo(sockaddr: Any, flags: int) -> Any:
    return run_in_thread(original(_socket_module, "getnameinfo"), sockaddr, flags)


# --- select ----------------------------------------------------------------------------------

def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


def _wait_on_epoll(interest: dict[int, int], timeout: Optional[float]) -> None:
    """Waits (on the hub) until one of the fds has one of its events, or `timeout`."""
    ep = _real_epoll()
    try:
        for fd, events in interest.items():
            try:
                ep.register(fd, events)
            except PermissionError:
                return  # a regular file: always ready, let the caller look
        get_hub().wait_fd(ep.fileno(), False, timeout)
    finally:
        ep.close()


def select(rlist: Any, wlist: Any, xlist: Any, timeout: Optional[float] = None) -> Any:
    """select.select for greenlets: same arguments, result and errors."""
    ready = _real_select(rlist, wlist, xlist, 0)  # also validates everything
    if any(ready) or timeout == 0:
        return ready
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    interest: dict[int, int] = {}
    for objs, events in ((rlist, _select.EPOLLIN), (wlist, _select.EPOLLOUT),
                         (xlist, _select.EPOLLPRI)):
        for o in objs:
            fd = _fileno(o)
            interest[fd] = interest.get(fd, 0) | events
    _wait_on_epoll(interest, timeout)
    return _real_select(rlist, wlist, xlist, 0)


class poll:  # noqa: N801 - select's name
    """select.poll for greenlets (the same methods; poll() waits on the hub)."""

    def __init__(self) -> None:
        self._poll = _real_poll()
        self._interest: dict[int, int] = {}

    def register(self, fd: Any,
                 eventmask: int = _select.POLLIN | _select.POLLPRI | _select.POLLOUT) -> None:
        self._poll.register(fd, eventmask)
        self._interest[_fileno(fd)] = eventmask

    def modify(self, fd: Any, eventmask: int) -> None:
        self._poll.modify(fd, eventmask)
        self._interest[_fileno(fd)] = eventmask

    def unregister(self, fd: Any) -> None:
        self._poll.unregister(fd)
        del self._interest[_fileno(fd)]

    def poll(self, timeout: Optional[float] = None) -> list[tuple[int, int]]:
        ready: list[tuple[int, int]] = self._poll.poll(0)
        if ready or timeout == 0:
            return ready
        seconds = None if timeout is None or timeout < 0 else timeout / 1000.0
        _wait_on_epoll(self._interest, seconds)
        return self._poll.poll(0)


class epoll:  # noqa: N801 - select's name
    """select.epoll for greenlets: poll() waits for the epoll fd on the hub first. (The real
    type cannot be subclassed; this one holds it.)"""

    def __init__(self, sizehint: int = -1, flags: int = 0, *, _ep: Any = None) -> None:
        self._ep = _ep if _ep is not None else _real_epoll(sizehint, flags)

    @classmethod
    def fromfd(cls, fd: int) -> "epoll":
        return cls(_ep=_real_epoll.fromfd(fd))

    def poll(self, timeout: Optional[float] = None, maxevents: int = -1) -> list[tuple[int, int]]:
        ready: list[tuple[int, int]] = self._ep.poll(0, maxevents)
        if ready or timeout == 0:
            return ready
        wait = None if timeout is None or timeout < 0 else timeout
        get_hub().wait_fd(self._ep.fileno(), False, wait)
        return self._ep.poll(0, maxevents)

    def register(self, fd: Any,
                 eventmask: int = _select.EPOLLIN | _select.EPOLLPRI | _select.EPOLLOUT) -> None:
        self._ep.register(fd, eventmask)

    def modify(self, fd: Any, eventmask: int) -> None:
        self._ep.modify(fd, eventmask)

    def unregister(self, fd: Any) -> None:
        self._ep.unregister(fd)

    def fileno(self) -> int:
        return self._ep.fileno()

    def close(self) -> None:
        self._ep.close()

    @property
    def closed(self) -> bool:
        return self._ep.closed

    def __enter__(self) -> "epoll":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class DefaultSelector(_selectors.EpollSelector):
    """selectors.DefaultSelector for greenlets: select() waits on the hub."""

    def select(self, timeout: Optional[float] = None) -> list[Any]:
        ready = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        get_hub().wait_fd(self.fileno(), False, timeout)
        return super().select(0)


def patch() -> None:
    if not mark("socket"):
        return
    replace(_socket_module, "socket", socket)
    replace(_socket_module, "SocketType", socket)
    for name, fn in (("getaddrinfo", getaddrinfo), ("gethostbyname", gethostbyname),
                     ("gethostbyname_ex", gethostbyname_ex), ("gethostbyaddr", gethostbyaddr),
                     ("getnameinfo", getnameinfo)):
        replace(_socket_module, name, fn)
    replace(_select, "select", select)
    replace(_select, "poll", poll)
    replace(_select, "epoll", epoll)
    for name in ("DefaultSelector", "EpollSelector", "PollSelector", "SelectSelector"):
        replace(_selectors, name, DefaultSelector)
    # Only the class contexts make (ssl.SSLSocket itself stays: ssl's own code names it in
    # super() calls; isinstance checks still hold, ours derives from it).
    replace(_ssl.SSLContext, "sslsocket_class", SSLSocket)
