"""Error log and access log.

:class:`Logs` is built once in the master from plain setting values, before any worker is
forked, and is then used unchanged by every worker. Both logs write each line with a single
``os.write`` on a descriptor opened with ``O_APPEND`` (or on the inherited stdout/stderr
descriptor for ``-``), so lines written by several processes never interleave.

With a logging configuration (``--log-config``, ``logconfig_dict``, ``--log-config-json``)
or access lines for ``--log-syslog``, each access line is instead a record of the logger
``corral.access``, so that the configuration's handlers, formatters and filters see it;
``--access-logfile`` is then one handler of that logger, still writing with one
``os.write`` a line. Without either, no access line meets :mod:`logging` at all. The
error log is always the logger ``corral.error``. ``gunicorn.error`` and ``gunicorn.access``
are the same two loggers (corral.logconfig).

The access log understands Gunicorn's ``--access-logformat`` language: a printf-style
template over named atoms such as ``%(h)s`` (remote address) or ``%({user-agent}i)s``
(a request header). The template is parsed and checked once, when :class:`Logs` is built:
a bad template is a start-up :class:`~corral.errors.ConfigError`, never a crash while
serving. Only the atoms a template uses are computed for each request. With
``--access-log-json`` the same atoms make one JSON object a line, typed, under readable
names (the table ``_JSON_ATOMS``).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import importlib
import json
import logging
import os
import re
import sys
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from corral import logconfig
from corral.errors import ConfigError
from corral.logconfig import LogConfig, corral_loggers
from corral.syslog import SyslogSettings, open_handler

__all__ = [
    "DEFAULT_ACCESS_LOG_FORMAT",
    "LOG_LEVELS",
    "AccessAtoms",
    "AccessRecord",
    "Logs",
    "load_logger_class",
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


def _response_header(rec: AccessRecord, lname: str) -> str | None:
    for name, value in rec.response_headers:
        if name.lower() == lname:
            return value
    return None


def _environ_value(rec: AccessRecord, name: str) -> object:
    """``environ[name]``, else the first key equal to ``name`` ignoring case, else None."""
    environ = rec.environ
    if environ is None:
        return None
    if name in environ:
        return environ[name]
    lname = name.lower()
    for key, value in environ.items():  # case-insensitive fallback
        if isinstance(key, str) and key.lower() == lname:
            return value
    return None


def _response_header_getter(name: str) -> _Getter:
    lname = name.lower()
    return lambda rec: _text(_response_header(rec, lname))


def _environ_getter(name: str) -> _Getter:
    return lambda rec: _text(_environ_value(rec, name))


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

    @property
    def template(self) -> str:
        return self._template

    def atoms(self, rec: AccessRecord) -> AccessAtoms:
        """Every atom of ``rec``, computed when asked for: the arguments of the access
        log record when the access log goes through :mod:`logging`."""
        return AccessAtoms(rec, self._getters)


class AccessAtoms(Mapping[str, object]):
    """The atoms of one request by name (``h``, ``s``, ``{user-agent}i``...), each computed
    on first use; an unknown name is '-'. ``template % atoms`` is the access log line, and
    a logging filter can read ``record.args["U"]``, as with Gunicorn."""

    __slots__ = ("_getters", "_rec", "_values")

    def __init__(self, rec: AccessRecord, getters: tuple[tuple[str, _Getter], ...]) -> None:
        self._rec = rec
        self._getters = dict(getters)
        self._values: dict[str, object] = {}

    def __getitem__(self, key: str) -> object:
        try:
            return self._values[key]
        except KeyError:
            pass
        get = self._getters.get(key)
        if get is None:
            get = _getter_for(key, _CLOCK)
        value = self._values[key] = get(self._rec)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(_ATOM_NAMES)

    def __len__(self) -> int:
        return len(_ATOM_NAMES)


_CLOCK = _RequestClock()  # for atoms a template does not use (read by a logging filter)
_ATOM_NAMES = ("t", *_SIMPLE_ATOMS)


# --------------------------------------------------------------------------------------
# JSON access log lines
# --------------------------------------------------------------------------------------


def _or_none(value: str | None) -> str | None:
    return value if value else None


def _iso_time(rec: AccessRecord) -> str:
    when = datetime.datetime.fromtimestamp(rec.start_time).astimezone()
    return when.isoformat(timespec="milliseconds")


def _target(rec: AccessRecord) -> str:
    return f"{rec.path}?{rec.query}" if rec.query else rec.path


# Atom -> (JSON key, value). Values are the request's own, unescaped (json.dumps escapes),
# numbers as numbers and a missing value as null.
_JSON_ATOMS: dict[str, tuple[str, _Getter]] = {
    "h": ("remote_addr", lambda rec: _or_none(rec.remote_addr)),
    "l": ("ident", lambda rec: None),
    "u": (
        "user",
        lambda rec: _or_none(rec.user if rec.user is not None else _basic_auth_user(rec)),
    ),
    "t": ("time", _iso_time),
    "r": ("request", lambda rec: f"{rec.method} {_target(rec)} {rec.protocol}"),
    "m": ("method", lambda rec: rec.method),
    "U": ("path", lambda rec: rec.path),
    "q": ("query", lambda rec: rec.query),
    "H": ("protocol", lambda rec: rec.protocol),
    "s": ("status", _atom_s),
    "B": ("response_length", _atom_B),
    "b": ("response_length", _atom_B),
    "f": ("referer", lambda rec: _or_none(_request_header(rec, "referer"))),
    "a": ("user_agent", lambda rec: _or_none(_request_header(rec, "user-agent"))),
    "T": ("request_time_s", _atom_T),
    "M": ("request_time_ms", _atom_M),
    "D": ("request_time_us", _atom_D),
    "L": ("request_time", lambda rec: _micros(rec) / 1_000_000),
    "p": ("pid", lambda rec: rec.pid),
}
_JSON_GROUPS = {"i": "request_headers", "o": "response_headers", "e": "environ"}


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _json_braced(kind: str, name: str) -> _Getter:
    lname = name.lower()
    if kind == "i":
        return lambda rec: _request_header(rec, lname)
    if kind == "o":
        return lambda rec: _response_header(rec, lname)
    return lambda rec: _json_value(_environ_value(rec, name))


class _JsonAccessFormatter:
    """``--access-log-json``: the atoms the format uses, as one JSON object per line."""

    __slots__ = ("_fields", "_groups")

    def __init__(self, fmt: str) -> None:
        _AccessFormatter(fmt)  # the same checks as the text format
        fields: dict[str, _Getter] = {}
        groups: dict[str, dict[str, _Getter]] = {}
        for key in _parse_access_log_format(fmt):
            if key in _JSON_ATOMS:
                name, get = _JSON_ATOMS[key]
                fields.setdefault(name, get)
                continue
            m = _BRACED_ATOM.fullmatch(key)
            if m is not None and m.group(1):
                group = groups.setdefault(_JSON_GROUPS[m.group(2)], {})
                group[m.group(1).lower()] = _json_braced(m.group(2), m.group(1))
            else:
                fields.setdefault(key, lambda rec: None)
        self._fields = tuple(fields.items())
        self._groups = tuple((name, tuple(group.items())) for name, group in groups.items())

    def render(self, rec: AccessRecord) -> str:
        line: dict[str, object] = {name: get(rec) for name, get in self._fields}
        for group, getters in self._groups:
            line[group] = {name: get(rec) for name, get in getters}
        return json.dumps(line, ensure_ascii=True, separators=(",", ":"))


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

    @property
    def fd(self) -> int | None:
        return self._fd

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


# Handlers corral put on its two loggers (its own, and a logging configuration's), which
# the next Logs to be activated takes off again.
_OWNED: weakref.WeakSet[logging.Handler] = weakref.WeakSet()


def _own(handler: logging.Handler) -> logging.Handler:
    _OWNED.add(handler)
    return handler


# Handlers that stay on the error log whatever logging configuration is (re)activated: a
# configuration naming the logger would drop them (statsd's log-line counter, metrics/).
_KEPT_ON_ERROR_LOG: list[logging.Handler] = []


def keep_on_error_log(handler: logging.Handler) -> None:
    """Attach ``handler`` to the error log now and after every later activation (a HUP)."""
    if handler not in _KEPT_ON_ERROR_LOG:
        _KEPT_ON_ERROR_LOG.append(handler)
    logger = logging.getLogger(logconfig.ERROR_LOGGER_NAME)
    if handler not in logger.handlers:
        logger.addHandler(handler)


def release_from_error_log(handler: logging.Handler) -> None:
    """Undo :func:`keep_on_error_log`."""
    if handler in _KEPT_ON_ERROR_LOG:
        _KEPT_ON_ERROR_LOG.remove(handler)
    logging.getLogger(logconfig.ERROR_LOGGER_NAME).removeHandler(handler)


def _all_loggers() -> list[logging.Logger]:
    registry = logging.Logger.manager.loggerDict.values()
    return [
        logging.root,
        *{id(lg): lg for lg in registry if isinstance(lg, logging.Logger)}.values(),
    ]


def _file_handlers() -> list[logging.FileHandler]:
    """Every FileHandler of every logger (a logging configuration's, the application's)."""
    found: dict[int, logging.FileHandler] = {}
    for logger in _all_loggers():
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                found[id(handler)] = handler
    return list(found.values())


class Logs:
    """The server's error log and access log, configured from plain setting values.

    ``errorlog``/``accesslog``: ``"-"`` for stderr/stdout, a path for a file opened for
    appending, or ``None`` for no log. Raises :class:`~corral.errors.ConfigError` for a
    bad level, a bad access log format, a file that cannot be opened, a syslog daemon that
    cannot be reached or a logging configuration that cannot be applied.

    The error log is the logger ``corral.error`` (also known as ``gunicorn.error``). The
    access log is written straight to its file (one ``os.write`` a line), unless a logging
    configuration (``logconfig``) or syslog asks for it: then each line is a record of the
    logger ``corral.access`` (``gunicorn.access``), whose arguments are the request's atoms.

    ``--logger-class`` names a subclass of this class; it is built with :meth:`from_config`.
    """

    def __init__(
        self,
        *,
        loglevel: str = "info",
        errorlog: str | None = "-",
        accesslog: str | None = None,
        access_log_format: str = DEFAULT_ACCESS_LOG_FORMAT,
        proc_name: str = "corral",
        access_log_json: bool = False,
        logconfig: LogConfig | None = None,
        syslog: SyslogSettings | None = None,
        capture_output: bool = False,
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
        self.capture_output = capture_output
        self._level = level
        self._logconfig = logconfig

        # Check everything that can fail before opening anything.
        self._text_formatter = _AccessFormatter(access_log_format)
        self._json_formatter = _JsonAccessFormatter(access_log_format) if access_log_json else None

        self._error_sink: _Sink | None = None
        self._access_sink: _Sink | None = None
        self._error_handlers: list[logging.Handler] = []
        self._access_handlers: list[logging.Handler] = []
        self._adopted: list[logging.Handler] = []  # a logging configuration's, on our loggers
        try:
            if errorlog is not None:
                self._error_sink = _Sink(errorlog, sys.stderr, "error log")
            if accesslog is not None:
                self._access_sink = _Sink(accesslog, sys.stdout, "access log")
            if self._error_sink is not None:
                handler = _SinkHandler(self._error_sink)
                handler.setFormatter(logging.Formatter(_ERROR_LINE_FORMAT, _ERROR_DATE_FORMAT))
                self._error_handlers.append(handler)
            # The access log goes through logging only when something but its file wants it.
            self._via_logging = logconfig is not None or (syslog is not None and syslog.access)
            if self._via_logging and self._access_sink is not None:
                handler = _SinkHandler(self._access_sink)
                handler.setFormatter(logging.Formatter("%(message)s"))
                self._access_handlers.append(handler)
            if syslog is not None:
                self._error_handlers.append(open_handler(syslog, "error"))
                if syslog.access:
                    self._access_handlers.append(open_handler(syslog, "access"))
            if not self._error_handlers:
                self._error_handlers.append(logging.NullHandler())
            self._logger, self._access_logger = corral_loggers()
            self._access_on = False
            self._activate(strict=True)
        except BaseException:
            self.close_files()
            raise

    @classmethod
    def from_config(cls, cfg: Any) -> Logs:
        """This class built from a configuration's logging settings."""
        config, warnings = logconfig.load(cfg.logconfig, cfg.logconfig_dict, cfg.logconfig_json)
        syslog = None
        if cfg.syslog:
            prefix = cfg.syslog_prefix or cfg.process_name  # --name, else the APP argument
            syslog = SyslogSettings(
                address=cfg.syslog_addr,
                facility=cfg.syslog_facility,
                prefix=prefix.replace(":", "."),
                access=not cfg.disable_redirect_access_to_syslog,
            )
        logs = cls(
            loglevel=cfg.loglevel,
            errorlog=cfg.errorlog,
            accesslog=cfg.accesslog,
            access_log_format=cfg.access_log_format,
            proc_name=cfg.process_name,
            access_log_json=cfg.access_log_json,
            logconfig=config,
            syslog=syslog,
            capture_output=cfg.capture_output,
        )
        for warning in warnings:
            logs.warning("%s", warning)
        return logs

    def activate(self) -> None:
        """Make this the error and access logs' output. A later Logs (after a configuration
        reload) replaces an earlier one's; a reload that fails activates the earlier one
        again. Never raises: a logging configuration that no longer applies is logged."""
        self._activate(strict=False)

    def _activate(self, strict: bool) -> None:
        loggers = (
            (self._logger, self._error_handlers),
            (self._access_logger, self._access_handlers),
        )
        for logger, _ in loggers:
            for old in list(logger.handlers):
                if old in _OWNED:
                    logger.removeHandler(old)
            logger.setLevel(self._level if logger is self._logger else logging.INFO)
            logger.propagate = False
            logger.disabled = False
        configured: frozenset[str] = frozenset()
        if self._logconfig is not None:
            try:
                logconfig.apply(self._logconfig)
                configured = self._logconfig.configures
            except ConfigError as exc:
                if strict:
                    raise
                self._logger.error("%s", exc.message)
        for logger, handlers in loggers:
            if logger.name in configured:
                for handler in logger.handlers:
                    self._adopted.append(_own(handler))
            else:
                for handler in handlers:
                    logger.addHandler(_own(handler))
        for handler in _KEPT_ON_ERROR_LOG:
            if handler not in self._logger.handlers:
                self._logger.addHandler(handler)
        access = self._access_logger
        if self._via_logging:
            self._access_on = access.isEnabledFor(logging.INFO) and access.hasHandlers()
        else:
            self._access_on = self._access_sink is not None

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
        return self._access_on

    def access(self, rec: AccessRecord) -> None:
        """Write one access log line for ``rec``; does nothing when the access log is off."""
        if not self._access_on:
            return
        try:
            if self._json_formatter is not None:
                line = self._json_formatter.render(rec)
                if self._via_logging:
                    self._access_logger.info(line)
                    return
            elif self._via_logging:
                formatter = self._text_formatter
                self._access_logger.info(formatter.template, formatter.atoms(rec))
                return
            else:
                line = self._text_formatter.render(rec)
        except Exception:
            # A malformed record (a bug elsewhere) must not take the worker down.
            self._logger.exception("cannot format access log line")
            return
        assert self._access_sink is not None
        self._access_sink.write(line + "\n")

    # -- lifecycle ---------------------------------------------------------------------

    def capture_stdio(self) -> None:
        """``--capture-output``: point this process's stdout and stderr (descriptors 1 and
        2, which the workers inherit) at the error log file. Nothing for ``-``."""
        sink = self._error_sink
        if not self.capture_output or sink is None or sink.path is None or sink.fd is None:
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        for fd in (1, 2):
            os.dup2(sink.fd, fd)

    def reopen(self) -> None:
        """Reopen log files at their paths, e.g. after logrotate renamed them (SIGUSR1):
        corral's own, every logging FileHandler's, and the captured stdout/stderr.

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
        self.capture_stdio()
        for handler in _file_handlers():
            handler.acquire()
            try:
                if handler.stream is not None:
                    old = handler.setStream(handler._open())
                    if old is not None:
                        old.close()
            except OSError as exc:
                self._logger.error(
                    "cannot reopen log file %r: %s", handler.baseFilename, exc.strerror or exc
                )
            finally:
                handler.release()

    def file_paths(self) -> list[str]:
        """The log files this process writes (not stderr/stdout): for ``--user`` to own."""
        sinks = (self._error_sink, self._access_sink)
        paths = [sink.path for sink in sinks if sink is not None and sink.path is not None]
        for handler in _file_handlers():  # (open regular files only: not a delayed one's)
            path = handler.baseFilename
            if handler.stream is not None and os.path.isfile(path) and path not in paths:
                paths.append(path)
        return paths

    def close_files(self) -> None:
        """Close this Logs' files without touching the logger (another Logs is active)."""
        for handler in (*self._error_handlers, *self._access_handlers, *self._adopted):
            handler.close()
        for sink in (self._error_sink, self._access_sink):
            if sink is not None:
                sink.close()
        self._access_sink = None
        self._access_on = False

    def close(self) -> None:
        """Close log files. Later messages and access lines are dropped."""
        for logger in (self._logger, self._access_logger):
            for handler in list(logger.handlers):
                if handler in _OWNED:
                    logger.removeHandler(handler)
        self._logger.addHandler(_own(logging.NullHandler()))
        self.close_files()


# --------------------------------------------------------------------------------------
# --logger-class
# --------------------------------------------------------------------------------------

#: Spellings of the default logger class: Gunicorn's, and corral's own.
DEFAULT_LOGGER_CLASSES = frozenset({"gunicorn.glogging.Logger", "corral.logs.Logs"})


def load_logger_class(value: str | type) -> type[Logs]:
    """The class ``--logger-class`` names: a subclass of :class:`Logs`, given as a class
    (config file), ``package.module.Class`` or ``package.module:Class``."""
    if isinstance(value, str):
        label = value
        if value in DEFAULT_LOGGER_CLASSES:
            return Logs
        module_name, _, attr = value.rpartition(":" if ":" in value else ".")
        if not module_name or not attr:
            raise ConfigError(
                f"--logger-class {value!r}: expected package.module.Class or package.module:Class"
            )
        try:
            found: object = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"--logger-class {value!r}: cannot load it: {exc}") from None
        except Exception as exc:
            raise ConfigError(
                f"--logger-class {value!r}: importing {module_name!r} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    else:
        label, found = getattr(value, "__qualname__", repr(value)), value
    if not (isinstance(found, type) and issubclass(found, Logs)):
        raise ConfigError(
            f"--logger-class {label!r}: not a corral logger class "
            "(a subclass of corral.logs.Logs; Gunicorn's logger classes do not fit corral)"
        )
    return found
