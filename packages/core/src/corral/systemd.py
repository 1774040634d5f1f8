"""systemd: the notify protocol (``Type=notify``) and socket activation, without libsystemd.

Notify. When ``NOTIFY_SOCKET`` is set the master sends, as datagrams on that AF_UNIX socket
(a path, or ``@name`` in the abstract namespace): ``READY=1`` once every worker has booted,
with ``STATUS=`` the worker count and ``MAINPID=`` its pid (so a master started by USR2
tells systemd it is the main process now); ``RELOADING=1`` with ``MONOTONIC_USEC=`` on HUP
and ``READY=1`` when the reload is over; ``STOPPING=1`` when it stops; ``STATUS=`` as the
worker count changes; and ``WATCHDOG=1`` every half ``WATCHDOG_USEC`` when systemd asks for
a watchdog (``WatchdogSec=``). Gunicorn sends ``READY=1`` only. The variables are removed
from the environment, so neither workers nor the application send anything; a master
started by USR2 is given them again.

Socket activation. With ``LISTEN_FDS`` (and ``LISTEN_PID`` equal to this process's pid, as
systemd sets them; ``corral.socket`` in deploy/systemd), the master serves on descriptors
3, 4, ... instead of binding ``--bind``; systemd owns those sockets, so corral never
unlinks their files. Descriptors that are not listening stream sockets are refused at
start with one line.
"""

from __future__ import annotations

import os
import socket
import stat
import time

from .errors import CorralError
from .sockets import Listener

LISTEN_FDS_START = 3


class Notifier:
    """Talks to systemd's notify socket, if there is one (else every call is a no-op)."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.pop("NOTIFY_SOCKET", "")
        watchdog_usec = env.pop("WATCHDOG_USEC", "")
        watchdog_pid = env.pop("WATCHDOG_PID", "")
        self.watchdog = 0.0  # seconds between WATCHDOG=1 (0: none)
        if watchdog_usec.isdigit() and (not watchdog_pid or watchdog_pid == str(os.getpid())):
            self.watchdog = int(watchdog_usec) / 2e6
        self._next_watchdog = 0.0
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *fields: str) -> None:
        if not self.address:
            return
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(fields).encode(), target)
        except OSError:
            pass  # systemd gone or not listening: nothing to tell

    def ready(self, workers: int) -> None:
        self.send("READY=1", f"STATUS=serving with {workers} worker(s)", f"MAINPID={os.getpid()}")

    def reloading(self) -> None:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", "STATUS=reloading")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def tick(self) -> float:
        """From the master's loop: send WATCHDOG=1 when due; how long it may wait."""
        if not self.watchdog or not self.address:
            return 1.0
        now = time.monotonic()
        if now >= self._next_watchdog:
            self.send("WATCHDOG=1")
            self._next_watchdog = now + self.watchdog
        return max(0.01, min(1.0, self._next_watchdog - now))

    def environ_for_exec(self) -> dict[str, str]:
        """What a master started by USR2 needs to go on talking to systemd."""
        if not self.address:
            return {}
        env = {"NOTIFY_SOCKET": self.address}
        if self.watchdog:
            env["WATCHDOG_USEC"] = str(int(self.watchdog * 2e6))
        return env


def activated_sockets(environ: dict[str, str] | None = None) -> list[Listener] | None:
    """The listening sockets systemd passed (None: not socket-activated)."""
    env = os.environ if environ is None else environ
    count = env.pop("LISTEN_FDS", None)
    pid = env.pop("LISTEN_PID", None)
    env.pop("LISTEN_FDNAMES", None)
    if count is None or (pid is not None and pid != str(os.getpid())):
        return None
    if not count.isdigit() or int(count) < 1:
        raise CorralError(f"LISTEN_FDS={count!r}: expected the number of sockets systemd passed")
    listeners = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            raise CorralError(f"LISTEN_FDS={count}: descriptor {fd} is not open") from None
        if not stat.S_ISSOCK(mode):
            raise CorralError(f"LISTEN_FDS={count}: descriptor {fd} is not a socket")
        sock = socket.socket(fileno=fd)
        if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_ACCEPTCONN
        ):
            sock.detach()
            raise CorralError(f"LISTEN_FDS={count}: descriptor {fd} is not a listening socket")
        kind = "unix" if sock.family == socket.AF_UNIX else "tcp"
        sock.set_inheritable(True)
        listeners.append(Listener(sock, f"fd://{fd}", kind))  # no path: never unlinked
    return listeners
