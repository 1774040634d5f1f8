"""``--reuse-port``: one listening socket per worker, so the kernel spreads connections.

Without it every worker accepts from the one socket of each address (``EPOLLEXCLUSIVE``
wakes one waiting worker per connection; an idle worker takes what a busy one cannot).
With it each TCP address gets ``--workers`` sockets bound with ``SO_REUSEPORT``, and the
kernel sends each new connection to one of them: the load is spread evenly however the
workers' wake-ups fall, but a connection waits in its own worker's queue even while
another worker is idle (docs/settings.md, ``reuse_port``).

Theory of operation. A worker has an *index*, from 0 to ``--workers`` - 1, and accepts
only from the sockets of that index (index 0 uses the address's first socket, the one
``--bind`` made). The master opens the sockets and keeps them open for as long as their
index exists, so a worker that exits, crashes or is replaced loses nothing queued there:
its replacement (forked at once, on the lowest free index) finds the queue as it was.
Each forked worker closes the sockets of every other index at once; a socket that nobody
accepts from while the kernel still sends it connections would be a black hole.

The kernel is told which sockets are in use: a classic BPF program attached to each
address's group (``SO_ATTACH_REUSEPORT_CBPF``) picks one of the first ``--workers``
sockets at random for each new connection, so a socket beyond them gets none. When
``--workers`` goes down (TTOU, or a reload to fewer workers) the program changes first,
then the workers of the indexes that go retire: each accepts what was already queued in
its socket before closing it, and the master closes its own copy once no worker uses it
(the last socket first, so the group's order stays the indexes' order, which the program
relies on). So no connection is sent to a socket about to close; and a TTIN that comes
back before the draining worker has gone reuses the socket it is leaving.

USR2 hands every socket to the new master (``CORRAL_FDS``), which serves the same indexes:
both masters' workers accept from the same queues until the old one is stopped.

Only TCP sockets that have ``SO_REUSEPORT`` set get more sockets: ``--bind`` addresses
bound by this corral, and inherited ones opened with it (systemd ``ReusePort=yes``).
Unix sockets and other inherited sockets stay shared by all workers, with a warning.
"""

from __future__ import annotations

import ctypes
import socket
import struct
from typing import Any

from .sockets import Listener, listen_tcp

SO_ATTACH_REUSEPORT_CBPF = 51  # <asm-generic/socket.h>

# A classic BPF program for a SO_REUSEPORT group: A = a random number; A %= count; return
# A, the index of the socket in the group (in the order the sockets started listening).
_LD_RANDOM = (0x20, 0, 0, 0xFFFFF000 + 56)  # BPF_LD|BPF_W|BPF_ABS, SKF_AD_OFF+SKF_AD_RANDOM
_MOD = 0x94  # BPF_ALU|BPF_MOD|BPF_K
_RET_A = (0x16, 0, 0, 0)  # BPF_RET|BPF_A


def steer(sock: socket.socket, count: int) -> None:
    """New connections to ``sock``'s group go to its first ``count`` sockets only."""
    program = [_LD_RANDOM, (_MOD, 0, 0, count), _RET_A]
    code = b"".join(struct.pack("HBBI", *op) for op in program)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))  # struct sock_fprog
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


def has_reuse_port(listener: Listener) -> bool:
    if listener.kind != "tcp":
        return False
    try:
        return bool(listener.sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT))
    except OSError:
        return False


class PortGroups:
    """The master's per-index sockets for each ``--reuse-port`` address, by bind text."""

    def __init__(self) -> None:
        self.enabled = False
        self.backlog = 2048
        self.extra: dict[str, list[socket.socket]] = {}  # the sockets of indexes 1, 2, ...
        self._bases: list[Listener] = []  # the listeners that have per-index sockets
        self._steered: dict[str, int] = {}  # the count each address's program selects from

    def configure(self, cfg: Any, listeners: list[Listener], log: Any) -> None:
        """At start: which listeners get per-index sockets. The setting is read once;
        a reload that changes it is told to restart (see :meth:`reload_warning`)."""
        self.enabled = bool(cfg.reuse_port)
        self.backlog = int(cfg.backlog)
        for listener in listeners:
            self.add(listener, log)
        for bind in [b for b in self.extra if b not in {x.bind for x in self._bases}]:
            for sock in self.extra.pop(bind):  # handed over for an address no longer used
                sock.close()

    def add(self, listener: Listener, log: Any) -> None:
        """A listener of this configuration (at start, or bound by a reload)."""
        if not self.enabled:
            return
        if has_reuse_port(listener):
            self._bases.append(listener)
        else:
            log.warning(
                "--reuse-port: %s was not opened with SO_REUSEPORT (a unix socket, or an "
                "inherited socket); its workers share it",
                listener.bind,
            )

    def forget(self, listener: Listener) -> None:
        """A reload no longer serves this address: close its per-index sockets."""
        if listener in self._bases:
            self._bases.remove(listener)
        self._steered.pop(listener.bind, None)
        for sock in self.extra.pop(listener.bind, []):
            sock.close()

    def reload_warning(self, cfg: Any) -> str | None:
        if bool(cfg.reuse_port) == self.enabled:
            return None
        return "--reuse-port cannot change on a reload: restart corral to change it"

    @property
    def active(self) -> bool:
        return bool(self._bases)

    def adopt(self, bind: str, socks: list[socket.socket]) -> None:
        """Per-index sockets a previous master handed over (USR2), for index 1 onwards."""
        self.extra[bind] = socks

    def listeners_for(self, index: int, listeners: list[Listener]) -> list[Listener]:
        """What the worker of ``index`` accepts from: its own socket of every per-index
        address, the shared socket of the others. Opens missing sockets (an error is
        logged by the caller: the worker then shares the address's first socket)."""
        if index == 0 or not self._bases:
            return list(listeners)
        bases = {listener.bind for listener in self._bases}
        out = []
        for listener in listeners:
            if listener.bind in bases:
                sock = self._socket(listener, index)
                out.append(Listener(sock, listener.bind, "tcp"))
            else:
                out.append(listener)
        return out

    def _socket(self, base: Listener, index: int) -> socket.socket:
        socks = self.extra.setdefault(base.bind, [])
        while len(socks) < index:
            sock = listen_tcp(base.sock.family, base.sock.getsockname(), self.backlog, True)
            sock.set_inheritable(True)
            socks.append(sock)
        return socks[index - 1]

    def close_others(self, index: int) -> None:
        """In a forked worker: close the per-index sockets of every other index."""
        for socks in self.extra.values():
            for i, sock in enumerate(socks, start=1):
                if i != index:
                    sock.close()
        if index != 0:
            for listener in self._bases:
                listener.sock.close()

    def steer_to(self, count: int, log: Any) -> None:
        """``--workers`` is ``count``: open the sockets of every index below it, and have
        the kernel send new connections to those only (a no-op when nothing changed)."""
        for base in self._bases:
            if self._steered.get(base.bind) == count:
                continue
            try:
                if count > 1:
                    self._socket(base, count - 1)  # (and every index below it)
                steer(base.sock, count)
            except OSError as exc:
                log.error(
                    "--reuse-port: cannot set %s up for %d worker(s): %s",
                    base.bind,
                    count,
                    exc.strerror,
                )
                continue
            self._steered[base.bind] = count

    def release(self, count: int, used: set[int]) -> None:
        """Close the master's copies of the last sockets, of indexes ``count`` and up that
        no running worker uses (from the last one: the group's order must stay the
        indexes' order)."""
        for socks in self.extra.values():
            while socks and len(socks) >= count and len(socks) not in used:
                socks.pop().close()

    def exec_fds(self) -> dict[str, list[int]]:
        """The per-index sockets to hand to a new master (USR2), by bind text."""
        return {bind: [s.fileno() for s in socks] for bind, socks in self.extra.items() if socks}

    def close(self) -> None:
        for socks in self.extra.values():
            for sock in socks:
                sock.close()
        self.extra.clear()
