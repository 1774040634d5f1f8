"""PROXY protocol support, reached only through the ``corral.proxy_protocol`` entry point.

corral never imports a PROXY codec by name. The codec package (``corral-proxyproto``,
installed by ``pip install 'corral[proxy]'``) registers a factory in the entry-point group
``corral.proxy_protocol``; this module loads it and turns its plain-data results into what
the environ needs. The codec knows nothing of corral.

A codec is anything with:

* ``API_VERSION = 1``
* ``ERRORS``: a tuple of the exception types it raises for bad input
* ``new_reader(versions: str) -> reader`` where ``versions`` is ``"v1"``, ``"v2"`` or
  ``"auto"`` and ``reader.feed(data: bytes)`` returns ``None`` (need more bytes) or
  ``(info, remaining)``: ``info`` a dict (see :func:`environ_from`) and ``remaining`` the
  bytes after the header, untouched.

The session asks for the header before any HTTP byte, from every peer allowed by
``--proxy-allow-from`` (unix-socket peers always are). A peer outside that list is refused:
the connection is closed on its first bytes, with no response. A missing or invalid header
closes the connection too. Both are logged at most a few times a minute per worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .errors import CorralError
from .trust import TrustSettings

GROUP = "corral.proxy_protocol"
CODEC_API_VERSION = 1
ENVIRON_KEY = "corral.proxy_protocol"
INSTALL_HINT = "pip install 'corral[proxy]'"


def load_codec() -> Any:
    """The installed codec, or a start-up error saying how to install one."""
    found = list(entry_points(group=GROUP))
    if not found:
        raise CorralError(
            f"--proxy-protocol needs a PROXY protocol codec, and none is installed: {INSTALL_HINT}"
        )
    try:
        codec = found[0].load()
    except ImportError as exc:
        raise CorralError(f"the PROXY protocol codec fails to import: {exc}") from None
    version = getattr(codec, "API_VERSION", None)
    if version != CODEC_API_VERSION:
        raise CorralError(
            f"the installed PROXY protocol codec speaks API {version}, this corral speaks "
            f"{CODEC_API_VERSION}: pip install --upgrade corral corral-proxyproto"
        )
    return codec


class RateLimitedLog:
    """At most ``burst`` messages per ``period`` seconds; counts what it suppressed."""

    def __init__(self, log: Any, burst: int = 5, period: float = 60.0) -> None:
        self.log = log
        self.burst = burst
        self.period = period
        self._window = 0.0
        self._count = 0
        self._suppressed = 0

    def warning(self, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._window >= self.period:
            if self._suppressed:
                self.log.warning("(%d similar messages suppressed)", self._suppressed)
            self._window, self._count, self._suppressed = now, 0, 0
        if self._count < self.burst:
            self._count += 1
            self.log.warning(msg, *args)
        else:
            self._suppressed += 1


@dataclass
class ProxyPolicy:
    """Per-worker PROXY settings handed to each connection's session."""

    codec: Any
    versions: str  # "v1", "v2" or "auto"
    allowed: TrustSettings  # --proxy-allow-from, judged like --forwarded-allow-ips
    log: RateLimitedLog

    def admits(self, remote_addr: str, is_unix: bool) -> bool:
        return self.allowed.trusts(remote_addr, is_unix)


def environ_from(info: dict[str, Any]) -> tuple[tuple[str, int] | None, dict[str, Any], bool]:
    """(client address or None for LOCAL/UNKNOWN, extra environ, client used TLS)."""
    source = info.get("source")
    destination = info.get("destination")
    extra: dict[str, Any] = {ENVIRON_KEY: info}
    client = None
    if info.get("command") == "PROXY" and isinstance(source, tuple):
        client = (str(source[0]), int(source[1]))
    # Gunicorn's keys, for applications written against it.
    extra["PROXY_PROTOCOL"] = info.get("protocol", "UNKNOWN")
    if isinstance(destination, tuple):
        extra["PROXY_ADDR"] = str(destination[0])
        extra["PROXY_PORT"] = str(destination[1])
    return client, extra, bool(info.get("ssl"))
