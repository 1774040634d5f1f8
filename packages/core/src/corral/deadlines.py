"""How long a connection may wait at each point of a request cycle, and who enforces it.

The four deadlines are the same for every worker class (``--keep-alive``,
``--header-timeout``, ``--body-timeout``, ``--send-timeout``). The event-loop workers keep a
deadline per connection and sweep them; the green workers' request loop
(:func:`corral.blocking.serve_connection`) writes its current one into a :class:`Watch`
before each wait, and the worker sweeps the watches.
"""

from __future__ import annotations

from typing import Any, NamedTuple

NEVER = float("inf")


class Deadlines(NamedTuple):
    """Seconds; ``keepalive <= 0`` closes a connection after its response."""

    keepalive: float
    header: float  # a request head must be complete this long after its first byte
    body: float  # a request body may go this long without a byte arriving
    send: float  # a response may go this long without the client taking a byte

    @classmethod
    def from_cfg(cls, cfg: Any) -> Deadlines:
        return cls(
            float(cfg.keepalive),
            float(cfg.header_timeout),
            float(cfg.body_timeout),
            float(cfg.send_timeout),
        )

    def sweep_interval(self, per_deadline: int = 4, floor: float = 0.05) -> float:
        """How often to sweep so no deadline is enforced more than a fraction of it late
        (at most a second apart)."""
        shortest = min(d for d in self if d > 0)  # header, body and send are >= 1
        return max(floor, min(1.0, shortest / per_deadline))


class Watch:
    """When the connection's current read and write must end (``time.monotonic()``
    seconds; two, because an application may read its body in one green thread while its
    response is written in another), and whether the worker has cut it."""

    __slots__ = ("cut", "reading", "writing")

    def __init__(self) -> None:
        self.reading = NEVER
        self.writing = NEVER
        self.cut = False

    def expired(self, now: float) -> bool:
        """True once, when a wait it watches has passed its deadline at ``now``: the
        caller then cuts the connection, and the request loop, seeing ``cut``, serves
        nothing more on it (not even bytes that were already buffered)."""
        if not self.cut and (self.reading < now or self.writing < now):
            self.cut = True
            return True
        return False
