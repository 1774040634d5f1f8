"""Error log and access log.

:class:`Logs` is built once in the master from plain setting values, before any worker is
forked, and is then used unchanged by every worker. Both logs write each line with a single
``os.write`` on a descriptor opened with ``O_APPEND`` (or on the inherited stdout/stderr
descriptor for ``-``), so lines written by several processes never interleave.

The access log understands Gunicorn's ``--access-logformat`` language: a printf-style
template over named atoms such as ``%(h)s`` (remote address) or ``%({user-agent}i)s``
(a request header). The template is parsed and checked once, when :class:`Logs` is built:
a bad template is a start-up :class:`~corral.errors.ConfigError`, never a crash while
serving. Only the atoms a template uses are computed for each request.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from corral.errors import ConfigError

__all__ = [
    "DEFAULT_ACCESS_LOG_FORMAT",
    "LOG_LEVELS",
    "AccessRecord",
    "Logs",
    "validate_access_log_format",
]

#: Gunicorn's default access log format (Apache "combined" style).
DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

#: Accepted ``loglevel`` values, mapped to :mod:`logging` levels.
LOG_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

ERROR_LOGGER_NAME = "corral.error"
_ERROR_LINE_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"
_ERROR_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"


@dataclass(slots=True)
class AccessRecord:
    """Everything the access log may need to know about one finished request."""

    remote_addr: str
    remote_port: int | None
    method: str
    path: str  # raw request path, without the query string
    query: str  # raw query string, without the '?'
    protocol: str  # e.g. "HTTP/1.1"
    status: int
    status_text: str  # e.g. "200 OK"
    response_length: int  # body bytes sent
    request_headers: list[tuple[str, str]]  # names as received
    response_headers: list[tuple[str, str]]
    environ: Mapping[str, Any] | None
    request_time: float  # duration, in seconds
    start_time: float  # time.time() when the request started
    pid: int
    user: str | None = None


# --------------------------------------------------------------------------------------
# Escaping of request-derived text
# --------------------------------------------------------------------------------------

# C0 controls, DEL, C1 controls, the Unicode line/paragraph separators, and the two
# characters that would make an escaped value ambiguous inside a quoted field.
_UNSAFE = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029"\\\\]')


def _escape_char(m: re.Match[str]) -> str:
    c = m.group()
    if c == '"':
        return '\\"'
    if c == "\\":
        return "\\\\"
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def _escape(value: str) -> str:
    """Make ``value`` safe to embed in one log line (no CR/LF/controls, quotes escaped)."""
    if _UNSAFE.search(value) is None:
        return value
    return _UNSAFE.sub(_escape_char, value)


def _text(value: object) -> str:
    """A header/environ value as escaped text; missing or empty values become '-'."""
    if value is None:
        return "-"
    s = value if isinstance(value, str) else str(value)
    if not s:
        return "-"
    return _escape(s)


# --------------------------------------------------------------------------------------
# Atoms
# --------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _RequestClock:
    """Renders ``[10/Oct/2000:13:55:36 -0700]`` in local time, cached per second."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, rec: AccessRecord) -> str:
        second = int(rec.start_time)
        if second != self._second:
            tm = time.localtime(second)
            offset = tm.tm_gmtoff or 0
            sign = "-" if offset < 0 else "+"
            offset_min = abs(offset) // 60
            # English month names whatever the locale, as the format requires.
            self._text = (
                f"[{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} "
                f"{sign}{offset_min // 60:02d}{offset_min % 60:02d}]"
            )
            self._second = second
        return self._text


def _micros(rec: AccessRecord) -> int:
    t = rec.request_time
    return round(t * 1_000_000) if t > 0 else 0


def _request_header(rec: AccessRecord, lname: str) -> str | None:
    for name, value in rec.request_headers:
        if name.lower() == lname:
            return value
    return None


def _basic_auth_user(rec: AccessRecord) -> str | None:
    auth = _request_header(rec, "authorization")
    if auth is None:
        return None
    scheme, _, credentials = auth.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, _ = decoded.decode("utf-8", "replace").partition(":")
    return user if sep else None


def _atom_h(rec: AccessRecord) -> str:
    return _escape(rec.remote_addr) if rec.remote_addr else "-"


def _atom_l(rec: AccessRecord) -> str:
    return "-"


def _atom_u(rec: AccessRecord) -> str:
    user = rec.user if rec.user is not None else _basic_auth_user(rec)
    return _escape(user) if user else "-"


def _atom_r(rec: AccessRecord) -> str:
    target = f"{rec.path}?{rec.query}" if rec.query else rec.path
    return _escape(f"{rec.method} {target} {rec.protocol}")


def _atom_m(rec: AccessRecord) -> str:
    return _escape(rec.method)


def _atom_U(rec: AccessRecord) -> str:
    return _escape(rec.path)


def _atom_q(rec: AccessRecord) -> str:
    return _escape(rec.query)


def _atom_H(rec: AccessRecord) -> str:
    return _escape(rec.protocol)


def _atom_s(rec: AccessRecord) -> int:
    return rec.status


def _atom_B(rec: AccessRecord) -> int:
    return rec.response_length


def _atom_b(rec: AccessRecord) -> str:
    # Gunicorn prints the number even when it is 0 ('-' only when nothing was sent at
    # all, which cannot happen for a logged response); log parsers rely on that.
    return str(rec.response_length)


def _atom_f(rec: AccessRecord) -> str:
    return _text(_request_header(rec, "referer"))


def _atom_a(rec: AccessRecord) -> str:
    return _text(_request_header(rec, "user-agent"))


def _atom_T(rec: AccessRecord) -> int:
    return _micros(rec) // 1_000_000


def _atom_D(rec: AccessRecord) -> int:
    return _micros(rec)


def _atom_M(rec: AccessRecord) -> int:
    return _micros(rec) // 1000


def _atom_L(rec: AccessRecord) -> str:
    us = _micros(rec)
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _atom_p(rec: AccessRecord) -> str:
    return f"<{rec.pid}>"


def _atom_unknown(rec: AccessRecord) -> str:
    return "-"


_Getter = Callable[[AccessRecord], object]

_SIMPLE_ATOMS: dict[str, _Getter] = {
    "h": _atom_h,
    "l": _atom_l,
    "u": _atom_u,
    "r": _atom_r,
    "m": _atom_m,
    "U": _atom_U,
    "q": _atom_q,
    "H": _atom_H,
    "s": _atom_s,
    "B": _atom_B,
    "b": _atom_b,
    "f": _atom_f,
    "a": _atom_a,
    "T": _atom_T,
    "D": _atom_D,
    "M": _atom_M,
    "L": _atom_L,
    "p": _atom_p,
}
# Atoms whose value is an int, and so may also use %d-style conversions.
_NUMERIC_ATOMS = frozenset({"s", "B", "T", "D", "M"})


def _request_header_getter(name: str) -> _Getter:
    lname = name.lower()

    def get(rec: AccessRecord) -> str:
        return _text(_request_header(rec, lname))

    return get


def _response_header_getter(name: str) -> _Getter:
    lname = name.lower()

    def get(rec: AccessRecord) -> str:
        for hname, value in rec.response_headers:
            if hname.lower() == lname:
                return _text(value)
        return "-"

    return get


def _environ_getter(name: str) -> _Getter:
    lname = name.lower()

    def get(rec: AccessRecord) -> str:
        environ = rec.environ
        if environ is None:
            return "-"
        if name in environ:
            return _text(environ[name])
        for key, value in environ.items():  # case-insensitive fallback
            if isinstance(key, str) and key.lower() == lname:
                return _text(value)
        return "-"

    return get


_BRACED_ATOM = re.compile(r"\{([^{}]*)\}([ioe])")


def _getter_for(key: str, clock: _RequestClock) -> _Getter:
    if key == "t":
        return clock
    simple = _SIMPLE_ATOMS.get(key)
    if simple is not None:
        return simple
    m = _BRACED_ATOM.fullmatch(key)
    if m is None or not m.group(1):
        return _atom_unknown
    name, kind = m.group(1), m.group(2)
    if kind == "i":
        return _request_header_getter(name)
    if kind == "o":
        return _response_header_getter(name)
    return _environ_getter(name)


# --------------------------------------------------------------------------------------
# Format parsing and validation
# --------------------------------------------------------------------------------------

# After a '%': either '%' or '(key)' + flags + width + precision + length + conversion.
_SPEC = re.compile(
    r"""
    \( (?P<key>[^()]*) \)
    (?P<flags>[-#0 +]*)
    (?P<width>\d*)
    (?:\.(?P<precision>\d*))?
    [hlL]?
    (?P<conv>[a-zA-Z])
    """,
    re.VERBOSE,
)
_TEXT_CONVERSIONS = frozenset("sra")
_NUMERIC_CONVERSIONS = frozenset("diouxXeEfFgG")
_MAX_WIDTH = 1024


def _format_error(detail: str) -> ConfigError:
    return ConfigError(f"--access-logformat: {detail}")


def _parse_access_log_format(fmt: object) -> list[str]:
    """Check ``fmt`` and return the atom keys it uses, in order of first use."""
    if not isinstance(fmt, str):
        raise _format_error(f"must be a string, not {type(fmt).__name__}")
    for i, ch in enumerate(fmt):
        if (ch < " " and ch != "\t") or ch == "\x7f":
            raise _format_error(
                f"control character {ch!r} at position {i}; a format must fit on one line"
            )
    keys: list[str] = []
    pos = fmt.find("%")
    while pos != -1:
        if fmt.startswith("%%", pos):
            pos = fmt.find("%", pos + 2)
            continue
        m = _SPEC.match(fmt, pos + 1)
        if m is None:
            snippet = fmt[pos : pos + 8]
            if fmt.startswith("(", pos + 1):
                raise _format_error(
                    f"malformed atom {snippet!r} at position {pos}; "
                    "write atoms as %(name)s, e.g. %(h)s or %({user-agent}i)s"
                )
            raise _format_error(
                f"stray '%' at position {pos} ({snippet!r}); write a literal percent as '%%' "
                "and atoms as %(name)s"
            )
        key, conv = m.group("key"), m.group("conv")
        atom = fmt[pos : m.end()]
        if conv in _NUMERIC_CONVERSIONS:
            if key not in _NUMERIC_ATOMS:
                raise _format_error(
                    f"{atom} at position {pos}: numeric conversion '%{conv}' needs a numeric "
                    f"atom ({', '.join(sorted(_NUMERIC_ATOMS))}); use %({key})s"
                )
        elif conv not in _TEXT_CONVERSIONS:
            raise _format_error(f"{atom} at position {pos}: unsupported conversion '{conv}'")
        for part in ("width", "precision"):
            digits = m.group(part)
            if digits and int(digits) > _MAX_WIDTH:
                raise _format_error(f"{atom} at position {pos}: {part} above {_MAX_WIDTH}")
        if key not in keys:
            keys.append(key)
        pos = fmt.find("%", m.end())
    return keys


class _AccessFormatter:
    """A parsed, checked access log format: ``render(rec)`` returns one line (no newline)."""

    __slots__ = ("_getters", "_template")

    def __init__(self, fmt: str) -> None:
        keys = _parse_access_log_format(fmt)
        clock = _RequestClock()
        self._template = fmt
        self._getters: tuple[tuple[str, _Getter], ...] = tuple(
            (key, _getter_for(key, clock)) for key in keys
        )
        # Prove the template renders (every conversion applied to a value of its kind).
        try:
            self.render(_SAMPLE_RECORD)
        except Exception as exc:  # anything at all: never let it surface per request
            raise _format_error(f"cannot render {fmt!r}: {exc}") from None

    def render(self, rec: AccessRecord) -> str:
        return self._template % {key: get(rec) for key, get in self._getters}


_SAMPLE_RECORD = AccessRecord(
    remote_addr="127.0.0.1",
    remote_port=50000,
    method="GET",
    path="/",
    query="a=1",
    protocol="HTTP/1.1",
    status=200,
    status_text="200 OK",
    response_length=2,
    request_headers=[("Host", "localhost"), ("User-Agent", "check")],
    response_headers=[("Content-Length", "2")],
    environ={"REQUEST_METHOD": "GET"},
    request_time=0.001,
    start_time=0.0,
    pid=1,
)


def validate_access_log_format(fmt: str) -> None:
    """Raise :class:`~corral.errors.ConfigError` if ``fmt`` is not a usable access log format.

    Accepted: literal text (a tab is allowed; other control characters are not), ``%%``, and
    named atoms ``%(name)<conversion>`` with optional printf flags/width/precision. Text
    conversions ``s``, ``r`` and ``a`` work on any atom; numeric ones (``d``, ``x``, ``f``...)
    only on the numeric atoms ``s B T D M``. Unknown atom names are accepted and render as '-'.
    """
    _AccessFormatter(fmt)


# --------------------------------------------------------------------------------------
# Output: one os.write per line
# --------------------------------------------------------------------------------------


def _open_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)


class _Sink:
    """A line-atomic destination: a file path we own, or an inherited standard stream."""

    __slots__ = ("_fd", "_path", "_stream")

    def __init__(self, target: str, stream: TextIO, what: str) -> None:
        self._path: str | None = None
        self._stream: TextIO | None = None
        self._fd: int | None = None
        if target == "-":
            try:
                self._fd = stream.fileno()
            except (AttributeError, OSError, ValueError):
                # A replaced stream without a descriptor: fall back to write + flush.
                self._stream = stream
            return
        try:
            self._fd = _open_append(target)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConfigError(f"cannot open {what} file {target!r}: {reason}") from None
        self._path = target

    @property
    def path(self) -> str | None:
        return self._path

    def write(self, line: str) -> None:
        """Write ``line`` (which ends with a newline) in one call; errors are dropped."""
        fd = self._fd
        try:
            if fd is not None:
                data = line.encode("utf-8", "backslashreplace")
                written = os.write(fd, data)
                while written < len(data):  # only for huge lines on pipes
                    data = data[written:]
                    written = os.write(fd, data)
            elif self._stream is not None:
                self._stream.write(line)
                self._stream.flush()
        except (OSError, ValueError):
            pass  # disk full, closed pipe...: losing a log line must not kill a worker

    def reopen(self) -> None:
        """Reopen an owned file at its path (after rotation); raises OSError on failure."""
        if self._path is None or self._fd is None:
            return
        new_fd = _open_append(self._path)
        try:
            # Swap in place: the descriptor number stays the same, so a concurrent
            # write lands either in the old file or in the new one, never nowhere.
            os.dup2(new_fd, self._fd, inheritable=False)
        finally:
            os.close(new_fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        self._stream = None
        if fd is not None and self._path is not None:
            try:
                os.close(fd)
            except OSError:
                pass


class _SinkHandler(logging.Handler):
    """A logging handler writing each formatted record as one line to a :class:`_Sink`."""

    def __init__(self, sink: _Sink) -> None:
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.sink.write(line + "\n")


# --------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------


class Logs:
    """The server's error log and access log, configured from plain setting values.

    ``errorlog``/``accesslog``: ``"-"`` for stderr/stdout, a path for a file opened for
    appending, or ``None`` for no log. Raises :class:`~corral.errors.ConfigError` for a
    bad level, a bad access log format or a file that cannot be opened.
    """

    def __init__(
        self,
        *,
        loglevel: str = "info",
        errorlog: str | None = "-",
        accesslog: str | None = None,
        access_log_format: str = DEFAULT_ACCESS_LOG_FORMAT,
        proc_name: str = "corral",
    ) -> None:
        level = LOG_LEVELS.get(str(loglevel).lower())
        if level is None:
            raise ConfigError(
                f"--log-level: invalid level {loglevel!r} (choose from {', '.join(LOG_LEVELS)})"
            )
        self.loglevel = loglevel.lower()
        self.errorlog = errorlog
        self.accesslog = accesslog
        self.access_log_format = access_log_format
        self.proc_name = proc_name

        # Check everything that can fail before opening anything.
        self._access_formatter = _AccessFormatter(access_log_format)

        self._error_sink: _Sink | None = (
            _Sink(errorlog, sys.stderr, "error log") if errorlog is not None else None
        )
        try:
            self._access_sink: _Sink | None = (
                _Sink(accesslog, sys.stdout, "access log") if accesslog is not None else None
            )
        except ConfigError:
            if self._error_sink is not None:
                self._error_sink.close()
            raise

        handler: logging.Handler
        if self._error_sink is not None:
            handler = _SinkHandler(self._error_sink)
            handler.setFormatter(logging.Formatter(_ERROR_LINE_FORMAT, _ERROR_DATE_FORMAT))
        else:
            handler = logging.NullHandler()
        self._handler = handler

        self._level = level
        self._logger = logging.getLogger(ERROR_LOGGER_NAME)
        self.activate()

    def activate(self) -> None:
        """Make this the error log's output. A later Logs (after a configuration reload)
        replaces an earlier one's; a reload that fails activates the earlier one again."""
        logger = self._logger
        for old in list(logger.handlers):
            if isinstance(old, (_SinkHandler, logging.NullHandler)):
                logger.removeHandler(old)
        logger.addHandler(self._handler)
        logger.setLevel(self._level)
        logger.propagate = False

    # -- error log ---------------------------------------------------------------------

    @property
    def error_logger(self) -> logging.Logger:
        return self._logger

    @property
    def debug_enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.DEBUG)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.debug(msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.info(msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.warning(msg, *args, **kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.error(msg, *args, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.critical(msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.exception(msg, *args, **kwargs)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        self._logger.log(level, msg, *args, **kwargs)

    # -- access log --------------------------------------------------------------------

    @property
    def access_enabled(self) -> bool:
        return self._access_sink is not None

    def access(self, rec: AccessRecord) -> None:
        """Write one access log line for ``rec``; does nothing when the access log is off."""
        sink = self._access_sink
        if sink is None:
            return
        try:
            line = self._access_formatter.render(rec)
        except Exception:
            # A malformed record (a bug elsewhere) must not take the worker down.
            self._logger.exception("cannot format access log line")
            return
        sink.write(line + "\n")

    # -- lifecycle ---------------------------------------------------------------------

    def reopen(self) -> None:
        """Reopen log files at their paths, e.g. after logrotate renamed them (SIGUSR1).

        A file that cannot be reopened keeps receiving lines and the failure is reported
        on the error log; this never raises.
        """
        for sink, what in ((self._error_sink, "error log"), (self._access_sink, "access log")):
            if sink is None:
                continue
            try:
                sink.reopen()
            except OSError as exc:
                self._logger.error(
                    "cannot reopen %s file %r: %s", what, sink.path, exc.strerror or exc
                )

    def file_paths(self) -> list[str]:
        """The log files this Logs writes (not stderr/stdout)."""
        sinks = (self._error_sink, self._access_sink)
        return [sink.path for sink in sinks if sink is not None and sink.path is not None]

    def close_files(self) -> None:
        """Close this Logs' files without touching the logger (another Logs is active)."""
        self._handler.close()
        for sink in (self._error_sink, self._access_sink):
            if sink is not None:
                sink.close()
        self._access_sink = None

    def close(self) -> None:
        """Close log files. Later messages and access lines are dropped."""
        if self._handler in self._logger.handlers:
            self._logger.removeHandler(self._handler)
            self._logger.addHandler(logging.NullHandler())
        self._handler.close()
        for sink in (self._error_sink, self._access_sink):
            if sink is not None:
                sink.close()
        self._access_sink = None
