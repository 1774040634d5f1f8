"""``--log-syslog``: the error log, and unless told otherwise the access log, sent to syslog.

An address is ``udp://HOST:PORT``, ``tcp://HOST:PORT`` or ``unix://PATH`` (``#dgram`` or
``#stream`` after the path picks the socket type; without it a datagram socket is tried
first, then a stream one), as in Gunicorn; a missing port is 514, a missing host localhost.
The socket is opened in the master, before the fork, and shared by every worker: a datagram
is one message, so lines never mix. Each message is ``<PRI>TAG: [PID] MESSAGE`` where the
tag is ``corral.PREFIX.error`` or ``corral.PREFIX.access``.

A unix socket that cannot be connected and a TCP peer that refuses are start-up errors; a
UDP address can only be checked for a host name that resolves (nothing answers a datagram).
Once serving, a message that cannot be sent is dropped: a syslog daemon that restarts must
not stop the server or fill its stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import socket
import sys
from dataclasses import dataclass

from .errors import ConfigError

#: Facility names and their numbers (RFC 5424 §6.2.1), as Gunicorn accepts them.
FACILITIES: dict[str, int] = {
    "kern": 0,
    "user": 1,
    "mail": 2,
    "daemon": 3,
    "auth": 4,
    "security": 4,  # an old name of auth
    "syslog": 5,
    "lpr": 6,
    "news": 7,
    "uucp": 8,
    "cron": 9,
    "authpriv": 10,
    "ftp": 11,
    **{f"local{n}": 16 + n for n in range(8)},
}

if sys.platform == "darwin":
    DEFAULT_ADDRESS = "unix:///var/run/syslog"
elif sys.platform.startswith(("freebsd", "dragonfly")):
    DEFAULT_ADDRESS = "unix:///var/run/log"
elif sys.platform.startswith("openbsd"):
    DEFAULT_ADDRESS = "unix:///dev/log"
else:
    DEFAULT_ADDRESS = "udp://localhost:514"

_DEFAULT_PORT = 514
_LINE_FORMAT = "[%(process)d] %(message)s"


@dataclass(frozen=True)
class Address:
    """A parsed syslog address: ``target`` is a path (unix) or ``(host, port)``."""

    target: str | tuple[str, int]
    socktype: socket.SocketKind | None  # None: a unix socket of either type

    @property
    def is_unix(self) -> bool:
        return isinstance(self.target, str)


def parse_address(text: str) -> Address:
    """Parse ``udp://``, ``tcp://`` or ``unix://`` addresses; ValueError if it is none."""
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("udp", "tcp", "unix"):
        raise ValueError(f"expected udp://HOST:PORT, tcp://HOST:PORT or unix://PATH, got {text!r}")
    if scheme == "unix":
        path, _, kind = rest.partition("#")
        types = {"": None, "dgram": socket.SOCK_DGRAM, "stream": socket.SOCK_STREAM}
        if not path or kind not in types:
            raise ValueError(f"expected unix://PATH, unix://PATH#dgram or #stream, got {text!r}")
        return Address(path, types[kind])
    if rest.startswith("["):  # [IPv6]:PORT
        host, bracket, port_text = rest[1:].partition("]")
        if not bracket or (port_text and not port_text.startswith(":")):
            raise ValueError(f"expected {scheme}://[IPV6]:PORT, got {text!r}")
        port_text = port_text[1:]
    else:
        host, _, port_text = rest.partition(":")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"expected a port from 1 to 65535 in {text!r}, got {port_text!r}")
    port = int(port_text) if port_text else _DEFAULT_PORT
    socktype = socket.SOCK_DGRAM if scheme == "udp" else socket.SOCK_STREAM
    return Address((host.lower() or "localhost", port), socktype)


def validate_address(value: object) -> str:
    """Validator of ``syslog_addr``: a string :func:`parse_address` accepts."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a syslog address such as {DEFAULT_ADDRESS}, got {value!r}")
    parse_address(value.strip())
    return value.strip()


@dataclass(frozen=True)
class SyslogSettings:
    """What ``--log-syslog`` and its companions ask for."""

    address: str
    facility: str
    prefix: str  # the tag's middle part: --log-syslog-prefix, else the process name
    access: bool  # also the access log (not --disable-redirect-access-to-syslog)


class _SyslogHandler(logging.handlers.SysLogHandler):
    """A SysLogHandler that drops a message it cannot send, silently."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def _unix_error(address: Address) -> OSError:
    """Why a unix syslog socket cannot be connected (each socket type tried, in turn)."""
    assert isinstance(address.target, str)
    types = [address.socktype] if address.socktype else [socket.SOCK_DGRAM, socket.SOCK_STREAM]
    error = OSError("cannot connect")
    for socktype in types:
        with socket.socket(socket.AF_UNIX, socktype) as sock:
            try:
                sock.connect(address.target)
            except OSError as exc:
                error = exc if socktype == types[0] else error
    return error


def open_handler(settings: SyslogSettings, kind: str) -> logging.Handler:
    """A connected handler for the ``kind`` ("error" or "access") log; ConfigError if the
    address cannot be reached."""
    address = parse_address(settings.address)
    try:
        handler = _SyslogHandler(
            address.target, facility=FACILITIES[settings.facility], socktype=address.socktype
        )
        sock = getattr(handler, "socket", None)
        if sock is None or sock.fileno() < 0:  # (a unix socket's failure is kept quiet)
            handler.close()
            raise _unix_error(address)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"--log-syslog-to {settings.address!r}: cannot reach the syslog daemon: {reason}"
        ) from None
    tag = f"corral.{settings.prefix}.{kind}".replace("%", "%%")
    handler.setFormatter(logging.Formatter(f"{tag}: {_LINE_FORMAT}"))
    return handler
