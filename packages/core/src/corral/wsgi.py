"""The WSGI adapter (PEP 3333): environ in, application called, response bytes out.

:meth:`WSGIRunner.run` is a generator. It calls the application, then yields what must be
written to the socket: ``bytes``, or a :class:`FileSegment` that a driver may send with
``os.sendfile``. Drivers iterate it at their own pace (a non-blocking driver parks it while
the client is slow to read), so one adapter serves every worker class. Whether a
``wsgi.file_wrapper`` response becomes a :class:`FileSegment` at all is decided here, once
for every worker class: with ``--no-sendfile`` it is read and sent like any other iterable.

If the application fails before the response head is sent, the client gets a 500 and the
traceback goes to the error log; if it fails after, the generator raises
:class:`AbortConnection` and the driver closes the connection (the client sees a truncated
response, the only honest signal left).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_to_bytes

from . import SERVER_SOFTWARE
from .hookobjects import RequestHooks
from .http import Connection, Request
from .logs import AccessRecord
from .memo import remember
from .trust import TrustSettings
from .trust import apply as trust_apply

if TYPE_CHECKING:
    from .metrics import Recorder

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], None]]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ErrorLog(Protocol):
    """What the adapter needs of the error log."""

    def debug(self, msg: str, *args: Any) -> None: ...
    def info(self, msg: str, *args: Any) -> None: ...
    def error(self, msg: str, *args: Any) -> None: ...
    def exception(self, msg: str, *args: Any) -> None: ...
    def warning(self, msg: str, *args: Any) -> None: ...


class AccessLog(Protocol):
    @property
    def access_enabled(self) -> bool: ...

    def access(self, rec: Any) -> None: ...


class AbortConnection(Exception):
    """The response cannot be completed: the driver must close the connection."""


class ClientDisconnected(OSError):
    """Reading the request body failed because of the client (gone, too slow, malformed).

    Raised from ``wsgi.input``; if the application lets it escape, the connection is
    closed without a traceback in the error log: it is not the application's fault.
    """


@dataclass(slots=True)
class FileSegment:
    """``count`` bytes of ``fileno`` from ``offset``, for ``os.sendfile``.

    ``prefix`` and ``suffix`` are framing bytes to write before and after (chunked).
    """

    fileno: int
    offset: int
    count: int
    prefix: bytes = b""
    suffix: bytes = b""


class FileWrapper:
    """``wsgi.file_wrapper``: lets the server send a file with ``os.sendfile``."""

    def __init__(self, filelike: IO[bytes], blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block = read(self.blksize)
            if not block:
                return
            yield block

    def sendfile_span(self) -> tuple[int, int, int] | None:
        """(fd, offset, count) when the file is a regular file the kernel can send."""
        try:
            fd = self.filelike.fileno()
            st = os.fstat(fd)
            offset = self.filelike.tell()
        except (AttributeError, OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return fd, offset, max(0, st.st_size - offset)


@dataclass(slots=True)
class ConnInfo:
    """Facts about one client connection that the environ is built from."""

    remote_addr: str
    remote_port: int | None
    server_name: str
    server_port: str
    url_scheme: str = "http"
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. PROXY protocol details
    is_unix: bool = False  # accepted on a unix socket
    proxy: Any = None  # a corral.proxy.ProxyPolicy when --proxy-protocol is on


class ErrorStream:
    """``wsgi.errors``: text written by the application goes to the error log."""

    def __init__(self, log: ErrorLog) -> None:
        self._log = log
        self._buf = ""

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self._log.error("%s", line)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._buf:
            self._log.error("%s", self._buf)
            self._buf = ""


def _split_host(host: str, default_port: str) -> tuple[str, str]:
    if host.startswith("["):  # [IPv6]:port
        end = host.find("]")
        if end != -1:
            rest = host[end + 1 :]
            return host[: end + 1], rest[1:] if rest.startswith(":") else default_port
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit():
        return name, port
    return host, default_port


_ERROR_BODY = b"Internal Server Error\n"
_ERROR_HEADERS = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(_ERROR_BODY))),
    ("Connection", "close"),  # the application's state is unknown: start afresh
)


_CONTENT_KEYS = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})  # PEP 3333: no HTTP_ prefix
_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}
_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}
# The runner's memos hold at most this many entries each (emptied when full), of keys no
# longer than _CACHED_KEY bytes: a few hundred KiB at worst, whatever the peers send.
_CACHE_SIZE = 1024
_CACHED_KEY = 256
_KNOWN_ENVIRONS = 256
# What a request alone puts in its environ: (url scheme, entries, Host given, forwarding
# fields present).
_RequestEnviron = tuple[str, dict[str, Any], bool, bool]


def _environ_key(name: bytes) -> str:
    """PEP 3333: the environ key of a request field (``HTTP_`` + upper case, ``-`` -> ``_``)."""
    text = name.decode("latin-1").upper()
    key = text.replace("-", "_")
    # Only Content-Type and Content-Length themselves are CGI keys; a "Content_Length"
    # kept by --header-map dangerous is HTTP_CONTENT_LENGTH, as Gunicorn gives it.
    return key if key in _CONTENT_KEYS and "_" not in text else "HTTP_" + key


def _status_parts(status: str) -> tuple[int, str]:
    return int(status[:3]), status[4:]


def _bad_header(item: Any) -> TypeError:
    if type(item) is not tuple or len(item) != 2:
        return TypeError(f"WSGI header must be a (name, value) tuple: {item!r}")
    return TypeError(f"WSGI header name and value must be str: {item!r}")


class _Call:
    """One application call: PEP 3333's ``start_response`` and ``write``, bound to it."""

    __slots__ = ("conn", "headers", "pending", "send_now", "sent", "status")

    def __init__(self, conn: Connection, send_now: Callable[[bytes], None] | None) -> None:
        self.conn = conn
        self.send_now = send_now
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.sent = False
        self.pending: list[bytes] = []  # write() output, when there is no send_now

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice without exc_info")
        if type(status) is not str or len(status) < 4 or not status[:3].isdigit():
            raise TypeError(f"WSGI status must be a str like '200 OK', got {status!r}")
        for item in headers:
            if (
                type(item) is not tuple
                or len(item) != 2
                or type(item[0]) is not str
                or type(item[1]) is not str
            ):
                raise _bad_header(item)
        self.status = status
        self.headers = headers
        return self.write

    def _parts(self) -> tuple[int, str]:
        status = self.status
        if status is None:
            raise AssertionError("the application returned without calling start_response()")
        parts = _statuses.get(status)
        if parts is None:
            parts = _status_parts(status)
            if len(status) <= _CACHED_KEY:
                remember(_statuses, status, parts, _CACHE_SIZE)
        return parts

    def start_bytes(self) -> bytes:
        code, reason = self._parts()
        out = self.conn.send_response(code, reason, self.headers)
        self.sent = True
        return out

    def complete(self, data: bytes) -> bytes:
        """The whole response (head, ``data``, end), when nothing was sent yet."""
        code, reason = self._parts()
        out = self.conn.send_complete(code, reason, self.headers, data)
        self.sent = True
        return out

    def write(self, data: bytes) -> None:
        # PEP 3333 write(): data must be sent (or buffered) before it returns.
        if type(data) is not bytes:
            raise TypeError(f"write() takes bytes, got {type(data).__name__}")
        out = (b"" if self.sent else self.start_bytes()) + self.conn.send_data(data)
        if self.send_now is not None:
            self.send_now(out)
        else:
            self.pending.append(out)


_statuses: dict[str, tuple[int, str]] = {}  # status strings already split


class WSGIRunner:
    """Calls one WSGI application for the requests of one worker."""

    def __init__(
        self,
        app: WSGIApp,
        log: ErrorLog,
        access: AccessLog | None = None,
        *,
        multithread: bool = False,
        multiprocess: bool = False,
        script_name: str = "",
        trust: TrustSettings | None = None,
        hooks: RequestHooks | None = None,
        sendfile: bool = True,
        metrics: Recorder | None = None,
    ) -> None:
        self.sendfile = sendfile  # False (--no-sendfile): file_wrapper output is read()
        self.hooks = hooks  # pre_request / post_request, when configured
        self.metrics = metrics  # corral.metrics, when statsd or --metrics-bind is on
        self.trust = trust if trust is not None else TrustSettings()
        self.app = app
        self.log = log
        self.access = access if access is not None and access.access_enabled else None
        self._timed = self.access is not None or metrics is not None
        self.script_name = script_name.rstrip("/")
        self.pid = os.getpid()
        self._constant = {
            "wsgi.version": (1, 0),
            "wsgi.errors": ErrorStream(log),
            "wsgi.multithread": multithread,
            "wsgi.multiprocess": multiprocess,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
            "SERVER_SOFTWARE": SERVER_SOFTWARE,
            "SCRIPT_NAME": self.script_name,
        }
        # Memos: field name -> environ key; (Host, default port) -> SERVER_NAME, _PORT.
        self._keys: dict[bytes, str] = {}
        # Environ entries of requests whose head the connection memoised (Request.raw_head).
        self._known: dict[bytes, _RequestEnviron] = {}
        self._targets: dict[bytes, tuple[str, str, str]] = {}  # request target -> its parts
        # Environ keys of the fields corral.trust reads (forwarding, secure scheme).
        self._forwarding = frozenset(self.trust.environ_keys())

    # ----------------------------------------------------------------- environ

    def _target_parts(self, target: bytes) -> tuple[str, str, str]:
        """PATH_INFO, QUERY_STRING and RAW_URI of a request target. A fragment (which a
        client should not send, RFC 9112 §3.2) is dropped from the first two."""
        if target[:1] == b"/":
            path, _, query = target.partition(b"#")[0].partition(b"?")
        elif b"://" in target:  # absolute-form (RFC 9112 §3.2.2): what follows the authority
            rest = target.partition(b"#")[0].split(b"://", 1)[1]
            cut = min((i for i in (rest.find(b"/"), rest.find(b"?")) if i != -1), default=-1)
            after = rest[cut:] if cut != -1 else b""
            path, _, query = after.partition(b"?")
            path = path or b"/"
        else:  # asterisk-form, or CONNECT's authority-form
            path, query = target, b""
        path_info = (unquote_to_bytes(path) if b"%" in path else path).decode("latin-1")
        script_name = self.script_name
        if script_name and (path_info == script_name or path_info.startswith(script_name + "/")):
            path_info = path_info[len(script_name) :]
        return path_info, query.decode("latin-1"), target.decode("latin-1")

    def _request_environ(self, request: Request, url_scheme: str) -> _RequestEnviron:
        """The environ entries that depend on the request (and the scheme) alone."""
        env: dict[str, Any] = {}
        target = request.target
        targets = self._targets
        parts = targets.get(target)
        if parts is None:
            parts = self._target_parts(target)
            if len(target) <= _CACHED_KEY:
                remember(targets, target, parts, _CACHE_SIZE)
        env["PATH_INFO"], env["QUERY_STRING"], env["RAW_URI"] = parts
        method = request.method
        env["REQUEST_METHOD"] = _METHODS.get(method) or method.decode("latin-1")
        version = request.http_version
        env["SERVER_PROTOCOL"] = _PROTOCOLS.get(version) or "HTTP/" + version
        host = None
        keys = self._keys
        forwarding = self._forwarding
        forwarded = False
        for name, value in request.headers:
            key = keys.get(name)
            if key is None:
                key = _environ_key(name)
                if len(name) <= _CACHED_KEY:
                    remember(keys, name, key, _CACHE_SIZE)
            text = value.decode("latin-1")
            if key in _CONTENT_KEYS:
                env[key] = text
                continue
            if key == "HTTP_HOST" and host is None:
                host = text
            elif key in forwarding:
                forwarded = True
            if key in env:
                # RFC 9110 §5.3: repeated fields combine into one comma-separated list.
                sep = "; " if key == "HTTP_COOKIE" else ","
                env[key] = env[key] + sep + text
            else:
                env[key] = text
        if request.chunked:
            env.pop("CONTENT_LENGTH", None)
        elif request.content_length is not None:
            env["CONTENT_LENGTH"] = str(request.content_length)
        if host:
            env["SERVER_NAME"], env["SERVER_PORT"] = _split_host(
                host, "443" if url_scheme == "https" else "80"
            )
        return url_scheme, env, bool(host), forwarded

    def environ(self, info: ConnInfo, request: Request, body: IO[bytes]) -> dict[str, Any]:
        env: dict[str, Any] = self._constant.copy()
        url_scheme = info.url_scheme
        raw_head = request.raw_head
        known = self._known.get(raw_head) if raw_head else None
        if known is None or known[0] != url_scheme:
            known = self._request_environ(request, url_scheme)
            if raw_head:
                remember(self._known, raw_head, known, _KNOWN_ENVIRONS)
        _, entries, has_host, forwarded = known
        env.update(entries)
        env["REMOTE_ADDR"] = info.remote_addr
        if info.remote_port is not None:
            env["REMOTE_PORT"] = str(info.remote_port)
        env["wsgi.url_scheme"] = url_scheme
        env["wsgi.input"] = body
        if not has_host:
            env["SERVER_NAME"], env["SERVER_PORT"] = info.server_name, info.server_port
        if info.extra:
            env.update(info.extra)
            forwarded = forwarded or self.trust.mentioned_in(env)
        # Forwarding fields, only from trusted peers (corral.trust; --forwarded-allow-ips).
        if not forwarded and not request.dropped_headers:
            return env
        for warning in trust_apply(
            env,
            request.headers,
            request.dropped_headers,
            info.remote_addr,
            info.is_unix or info.remote_port is None,
            self.trust,
        ):
            self.log.warning("%s: %s", info.remote_addr, warning)
        return env

    # --------------------------------------------------------------- the call

    def run(
        self,
        conn: Connection,
        info: ConnInfo,
        request: Request,
        body: IO[bytes],
        send_now: Callable[[bytes], None] | None = None,
    ) -> Iterator[bytes | FileSegment]:
        """Call the application for ``request``; yield the bytes of its response."""
        hooks = self.hooks
        metrics = self.metrics
        started = time.time() if self._timed else 0.0
        environ = self.environ(info, request, body)
        if metrics is not None:
            metrics.request_begun()
        call = _Call(conn, send_now)
        pending = call.pending
        result: Iterable[bytes] | None = None
        hook_req = None
        try:
            if hooks is not None:
                hook_req = hooks.before(request, environ)
            result = self.app(environ, call.start_response)
            if pending:
                yield b"".join(pending)
                pending.clear()
            if type(result) is list and len(result) == 1 and not call.sent:
                # The common case, written with a single send.
                chunk = result[0]
                if type(chunk) is not bytes:
                    raise TypeError(f"the application yielded {type(chunk).__name__}, not bytes")
                yield call.complete(chunk)
            elif (
                self.sendfile
                and isinstance(result, FileWrapper)
                and (span := result.sendfile_span())
            ):
                yield from self._send_file(conn, call.start_bytes() if not call.sent else b"", span)
            else:
                for chunk in result:
                    if type(chunk) is not bytes:
                        raise TypeError(
                            f"the application yielded {type(chunk).__name__}, not bytes"
                        )
                    if pending:
                        yield b"".join(pending)
                        pending.clear()
                    if not chunk:
                        continue  # PEP 3333: the head waits for the first non-empty chunk
                    if call.sent:
                        yield conn.send_data(chunk)
                    else:
                        yield call.start_bytes() + conn.send_data(chunk)
                if pending:
                    yield b"".join(pending)
                    pending.clear()
                yield (b"" if call.sent else call.start_bytes()) + conn.send_eom()
        except AbortConnection:
            raise
        except ClientDisconnected as exc:
            self.log.debug("Client error while reading the request body: %s", exc)
            raise AbortConnection(str(exc)) from None
        except Exception:
            self.log.exception(
                "Error handling request %s", request.target.decode("latin-1", "replace")
            )
            if call.sent:
                raise AbortConnection("application failed after the response began") from None
            call.status, call.headers = "500 Internal Server Error", list(_ERROR_HEADERS)
            yield call.start_bytes() + conn.send_data(_ERROR_BODY) + conn.send_eom()
        finally:
            if result is not None:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        self.log.exception("Error closing the application's iterable")
            resp = conn.response
            if resp is not None and resp.overrun:
                self.log.warning(
                    "%s: the application sent more bytes than its Content-Length; truncated",
                    request.target.decode("latin-1", "replace"),
                )
            if self.access is not None:
                self._log_access(info, request, environ, [call.status, call.headers], resp, started)
            if metrics is not None:
                status = call.status
                try:
                    metrics.request_done(
                        environ["REQUEST_METHOD"],
                        int(status[:3]) if status else 500,
                        time.time() - started,
                    )
                except Exception:  # (a full disk under the Prometheus files...)
                    self.log.exception("Error recording the request's metrics")
            if hook_req is not None:
                assert hooks is not None
                hooks.after(
                    hook_req,
                    environ,
                    call.status or "500 Internal Server Error",
                    list(call.headers or []),
                    resp.body_bytes if resp is not None else 0,
                )

    def _send_file(
        self, conn: Connection, head: bytes, span: tuple[int, int, int]
    ) -> Iterator[bytes | FileSegment]:
        fd, offset, count = span
        resp = conn.response
        assert resp is not None
        count = resp.account(count)
        if head:
            yield head
        if count:
            yield FileSegment(fd, offset, count, resp.chunk_prefix(count), resp.chunk_suffix())
        yield conn.send_eom()

    def _log_access(
        self,
        info: ConnInfo,
        request: Request,
        environ: dict[str, Any],
        head: list[Any],
        resp: Any,
        started: float,
    ) -> None:
        assert self.access is not None
        status = head[0] or "500 Internal Server Error"
        try:
            self.access.access(
                AccessRecord(
                    remote_addr=info.remote_addr,
                    remote_port=info.remote_port,
                    method=environ["REQUEST_METHOD"],
                    path=environ["RAW_URI"].partition("?")[0],
                    query=environ["QUERY_STRING"],
                    protocol=environ["SERVER_PROTOCOL"],
                    status=int(status[:3]),
                    status_text=status,
                    response_length=resp.body_bytes if resp is not None else 0,
                    request_headers=[
                        (n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers
                    ],
                    response_headers=list(head[1] or []),
                    environ=environ,
                    request_time=time.time() - started,
                    start_time=started,
                    pid=self.pid,
                )
            )
        except Exception:
            self.log.exception("Error writing the access log")
