"""Listening sockets: parse ``--bind`` addresses, bind them, explain failures."""

from __future__ import annotations

import errno
import os
import socket
import stat
from dataclasses import dataclass
from typing import Any

from .errors import BindError

DEFAULT_PORT = 8000


@dataclass(slots=True)
class Listener:
    """A bound, listening socket and how to describe it."""

    sock: socket.socket
    bind: str  # the --bind text it came from
    kind: str  # "tcp" or "unix"
    path: str | None = None  # unix socket file we created (unlinked at exit)

    def url_for(self, tls: bool) -> str:
        """Where clients connect (``https://`` when the listener speaks TLS)."""
        if self.kind == "unix":
            return f"unix:{self.path or self.bind}"
        host, port = self.sock.getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if tls else "http"
        return f"{scheme}://{host}:{port}"

    def server_name_port(self) -> tuple[str, str]:
        if self.kind == "unix":
            return "localhost", ""
        host, port = self.sock.getsockname()[:2]
        return str(host), str(port)

    def close(self, unlink: bool = True) -> None:
        self.sock.close()
        if unlink and self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def parse_address(text: str) -> tuple[str, object]:
    """``("unix", path)``, ``("fd", n)`` or ``("tcp", (host, port))`` for a --bind value."""
    if text.startswith("unix:"):
        path = text[5:]
        if path.startswith("//"):  # unix://path, as some tools write it
            path = path[2:]
        if not path:
            raise BindError(f"cannot bind to '{text}': empty socket path")
        return "unix", path
    if text.startswith("fd://"):
        number = text[5:]
        if not number.isdigit():
            raise BindError(f"cannot bind to '{text}': expected fd://NUMBER")
        return "fd", int(number)
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            raise BindError(f"cannot bind to '{text}': missing ']' after the IPv6 address")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BindError(f"cannot bind to '{text}': expected [ADDRESS]:PORT")
        port_text = rest[1:] if rest else str(DEFAULT_PORT)
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise BindError(f"cannot bind to '{text}': write IPv6 addresses as [ADDRESS]:PORT")
    else:
        host, port_text = text, str(DEFAULT_PORT)
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise BindError(f"cannot bind to '{text}': port must be a number from 0 to 65535")
    return "tcp", (host or "0.0.0.0", int(port_text))


_REASONS = {
    errno.EADDRINUSE: "address already in use (is another server running there?)",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "this machine has no such address",
}


def _explain(text: str, exc: OSError) -> BindError:
    reason = _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)
    return BindError(f"cannot bind to '{text}': {reason}")


def _bind_tcp(text: str, host: str, port: int, backlog: int, reuse_port: bool) -> Listener:
    try:
        infos = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise BindError(f"cannot bind to '{text}': cannot resolve '{host}' ({exc.strerror})")
    family, _, _, _, sockaddr = infos[0]
    try:
        sock = listen_tcp(family, sockaddr, backlog, reuse_port)
    except OSError as exc:
        raise _explain(text, exc) from None
    return Listener(sock, text, "tcp")


def listen_tcp(family: int, sockaddr: Any, backlog: int, reuse_port: bool) -> socket.socket:
    """A TCP socket listening on ``sockaddr`` (``reuse_port``: one of several, reuseport.py);
    raises OSError, having closed it."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            # [::]:PORT means IPv6 only; bind 0.0.0.0:PORT too for IPv4.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def _bind_unix(text: str, path: str, backlog: int, umask: int | None = None) -> Listener:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _explain(text, exc) from None
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise BindError(f"cannot bind to '{text}': {path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # stale socket file left by a server that is gone
        else:
            raise BindError(f"cannot bind to '{text}': another server is listening on {path}")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(umask) if umask is not None else None  # --umask: the file's mode
    try:
        sock.bind(path)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise _explain(text, exc) from None
    finally:
        if old_umask is not None:
            os.umask(old_umask)
    return Listener(sock, text, "unix", path=path)


def _adopt_fd(text: str, fd: int) -> Listener:
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise BindError(f"cannot use '{text}': {exc.strerror}") from None
    kind = "unix" if sock.family == socket.AF_UNIX else "tcp"
    return Listener(sock, text, kind)


def bind_all(
    addresses: list[str],
    backlog: int,
    inherited: dict[str, Listener] | None = None,
    umask: int | None = None,
    reuse_port: bool = False,
) -> list[Listener]:
    """Bind every address, or none: on failure the ones already bound are closed.

    ``inherited``: sockets a previous master left open (corral.reexec), by bind text; an
    address found there is adopted instead of bound, and the ones not wanted are closed.
    """
    listeners: list[Listener] = []
    inherited = dict(inherited or {})
    try:
        for text in addresses:
            adopted = inherited.pop(text, None)
            if adopted is not None:
                listeners.append(adopted)
                continue
            kind, where = parse_address(text)
            if kind == "unix":
                assert isinstance(where, str)
                listeners.append(_bind_unix(text, where, backlog, umask))
            elif kind == "fd":
                assert isinstance(where, int)
                listeners.append(_adopt_fd(text, where))
            else:
                assert isinstance(where, tuple)
                listeners.append(_bind_tcp(text, where[0], where[1], backlog, reuse_port))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    finally:
        for unwanted in inherited.values():
            unwanted.close(unlink=False)
    for listener in listeners:
        listener.sock.set_inheritable(True)
    return listeners
