"""systemd's side of the notify protocol and of socket activation, played by a test: a
real AF_UNIX datagram socket that corral's ``NOTIFY_SOCKET`` points at, and a command
prefix that hands a listening socket over as descriptor 3 as systemd does."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from os import PathLike
from typing import Any

from .process import CorralProcess


class NotifySocket:
    """The socket systemd reads ``READY=1``, ``RELOADING=1``, ``STOPPING=1``... from."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.path = str(path)
        self.messages: list[dict[str, str]] = []

    def wait_for(self, key: str, timeout: float = 30.0) -> dict[str, str]:
        """The next message (after those already read) that carries ``key``."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {key} in {self.messages}"
            self.sock.settimeout(remaining)
            data = self.sock.recv(4096).decode()
            message = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
            self.messages.append(message)
            if key in message:
                return message

    def order(self, *keys: str) -> list[str]:
        """Which of ``keys`` the messages read so far carried, in order."""
        return [key for message in self.messages for key in keys if key in message]

    def close(self) -> None:
        self.sock.close()


def as_systemd(fd: int, count: int) -> tuple[str, ...]:
    """A prefix that hands descriptor ``fd`` over as 3 and sets LISTEN_FDS and LISTEN_PID
    as systemd does (bash's $$ is the pid that its exec keeps)."""
    script = f'exec 3<&{fd}; export LISTEN_FDS={count} LISTEN_PID=$$; exec "$@"'
    return ("bash", "-c", script, "bash")


def socket_activated(
    start: Callable[..., CorralProcess],
    *args: str,
    host: str = "127.0.0.1",
    backlog: int = 64,
    **kwargs: Any,
) -> tuple[CorralProcess, int]:
    """``start(ARGS)`` (the ``corral`` fixture) with a socket listening on ``host`` (a free
    port) handed over as systemd does, and no ``--bind``; the server and the port."""
    listener = socket.socket()
    listener.bind((host, 0))
    listener.listen(backlog)
    fd, port = listener.fileno(), listener.getsockname()[1]
    try:
        server = start(*args, bind=None, pass_fds=(fd,), prefix=as_systemd(fd, 1), **kwargs)
    finally:
        listener.close()  # only corral holds it now, as after systemd's hand-over
    return server, port
