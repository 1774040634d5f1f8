"""The seam between the arbiter and worker classes (built-in and plug-in).

A worker class is anything that satisfies :class:`Worker`: constructed in the master with a
:class:`WorkerContext` (keep ``__init__`` light: it runs before the fork), then ``run()`` in
the forked child, returning when the worker should exit. :class:`BaseWorker` gives the
common behaviour (signals, heartbeat, parent watch, app loading, hooks) so a worker class
only writes its I/O loop in ``serve()`` and drives :class:`corral.session.Session`.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from .. import privileges
from ..appload import load_application
from ..config import settings as default_hooks
from ..errors import AppImportError
from ..heartbeat import RETIRE_MAX_REQUESTS, RETIRE_RELOAD, Heartbeat
from ..hookobjects import RequestHooks
from ..http import Limits
from ..http.limits import field_line_limit
from ..proxy import ProxyPolicy, RateLimitedLog, load_codec
from ..session import Session
from ..sockets import Listener
from ..trust import TrustSettings
from ..wsgi import ConnInfo, WSGIApp, WSGIRunner

if TYPE_CHECKING:
    import ssl

    from ..logs import Logs
    from ..metrics import Recorder

WORKER_API_VERSION = 1
"""Bumped when the seam changes incompatibly; plug-ins declare the one they speak."""

# Exit codes a worker reports to the master (Gunicorn's values).
WORKER_BOOT_ERROR = 3
APP_LOAD_ERROR = 4


_early_signals: list[int] = []


def remember_early_signal(signum: int, frame: FrameType | None) -> None:
    """The forked worker's handler until it installs its own (see init_signals)."""
    _early_signals.append(signum)


@dataclass
class WorkerContext:
    """Everything the master hands to a worker."""

    cfg: Any  # corral.config.Config
    listeners: list[Listener]
    logs: Logs
    heartbeat: Heartbeat
    app: WSGIApp | None  # loaded in the master with --preload, else None
    tls: ssl.SSLContext | None  # --certfile: every listener speaks TLS with it
    ppid: int
    age: int
    server: Any  # the Arbiter, passed to server hooks
    # An embedding program's (corral.app): what returns the application in the worker,
    # instead of importing cfg.app_uri.
    loader: Callable[[], WSGIApp] | None = None
    metrics: Any = None  # corral.metrics.Metrics when statsd or --metrics-bind is on


@runtime_checkable
class Worker(Protocol):
    """What the arbiter requires of a worker class."""

    CORRAL_WORKER_API: ClassVar[int]
    pid: int

    def __init__(self, ctx: WorkerContext) -> None: ...

    def run(self) -> None: ...


class BaseWorker:
    """Common worker behaviour; subclasses implement :meth:`serve`."""

    CORRAL_WORKER_API: ClassVar[int] = WORKER_API_VERSION
    multithread: ClassVar[bool] = False

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self._beat = ctx.heartbeat.beat
        self.cfg = ctx.cfg
        self.log = ctx.logs
        self.sockets = ctx.listeners
        self.age = ctx.age
        self.ppid = ctx.ppid
        self.pid = 0  # set in the child
        self.alive = True
        self.booted = False
        self.nr = 0  # requests handled
        self.wsgi: WSGIApp | None = ctx.app
        self.tls = ctx.tls
        self.runner: WSGIRunner | None = None
        self.metrics: Recorder | None = None  # made in the child (see load_wsgi)
        self.wakeup_r = -1
        self._wakeup_w = -1
        max_requests = int(self.cfg.max_requests or 0)
        jitter = int(self.cfg.max_requests_jitter or 0)
        if max_requests > 0 and jitter > 0:
            max_requests += random.randint(0, jitter)
        self.max_requests = max_requests or sys.maxsize
        self.proxy_policy: ProxyPolicy | None = None
        if self.cfg.proxy_protocol != "off":
            self.proxy_policy = ProxyPolicy(
                load_codec(),
                self.cfg.proxy_protocol,
                TrustSettings.from_settings(self.cfg.proxy_allow_ips, {}),
                RateLimitedLog(self.log),
            )
        self.limits = Limits(
            max_request_line=self.cfg.limit_request_line,
            max_fields=self.cfg.limit_request_fields,
            max_field_size=field_line_limit(self.cfg.limit_request_field_size),
            max_head_bytes=self.cfg.limit_request_header_bytes,
            max_chunk_ext=self.cfg.limit_request_chunk_extension,
            permit_obsolete_folding=self.cfg.permit_obsolete_folding,
            casefold_http_method=self.cfg.casefold_http_method,
            permit_unconventional_http_method=self.cfg.permit_unconventional_http_method,
            permit_unconventional_http_version=self.cfg.permit_unconventional_http_version,
            header_map=self.cfg.header_map,
            strip_header_spaces=self.cfg.strip_header_spaces,
        )
        self.trust = TrustSettings.from_settings(
            self.cfg.forwarded_allow_ips, self.cfg.secure_scheme_headers
        )
        if self.trust.allow_all:
            self.log.warning(
                "--forwarded-allow-ips is '*': ANY client can set X-Forwarded-*, Forwarded "
                "and SCRIPT_NAME. Only do this when nothing but your proxies reach corral."
            )

    def __str__(self) -> str:
        return f"<Worker {self.pid}>"

    @classmethod
    def prepare_master(cls, cfg: Any) -> None:
        """Runs in the master before ``--preload`` imports the application.

        A worker class whose library must monkey-patch the standard library before the
        application is imported (gevent, eventlet) patches the master here too.
        """

    # ---------------------------------------------------------- life cycle

    def run(self) -> None:
        """Runs in the forked child. Returns when the worker should exit."""
        self.pid = os.getpid()
        privileges.drop(self.cfg)  # --user/--group: before any application code runs
        self.init_signals()
        self.load_wsgi()
        self.cfg.post_worker_init(self)
        self.booted = True
        self.ctx.heartbeat.booted()
        if self.cfg.reload:
            self.start_reloader()
        self.log.debug(
            "Worker booted (pid:%s, class %s, max requests %s)",
            self.pid,
            type(self).__name__,
            self.max_requests if self.max_requests != sys.maxsize else "unlimited",
        )
        self.notify()
        self.serve()

    def serve(self) -> None:
        raise NotImplementedError

    def load_wsgi(self) -> None:
        if self.wsgi is None:
            try:
                self.wsgi = load_application(self.ctx.cfg.app_uri, self.ctx.loader)
            except AppImportError as exc:
                self.log.error("%s", exc)
                sys.exit(APP_LOAD_ERROR)
        if self.ctx.metrics is not None:
            self.metrics = self.ctx.metrics.recorder()
        self.runner = WSGIRunner(
            self.wsgi,
            self.log,
            self.log,
            multithread=self.multithread,
            multiprocess=self.cfg.workers > 1,
            script_name=os.environ.get("SCRIPT_NAME", ""),
            trust=self.trust,
            hooks=self.request_hooks(),
            sendfile=self.cfg.sendfile,
            metrics=self.metrics,
        )

    def request_hooks(self) -> RequestHooks | None:
        """The configured pre_request / post_request hooks (None when both are the
        defaults, which do nothing: the request path then skips them)."""
        pre = self.cfg.pre_request
        post = self.cfg.post_request
        pre = None if pre is default_hooks.pre_request else pre
        post = None if post is default_hooks.post_request else post
        if pre is None and post is None:
            return None
        return RequestHooks(self, pre, post, self.log)

    def conn_info(self, listener: Listener, peer: Any) -> ConnInfo:
        """The environ facts of a connection accepted on ``listener`` from ``peer``."""
        name, port = listener.server_name_port()
        if isinstance(peer, tuple):
            info = ConnInfo(str(peer[0]), int(peer[1]), name, port)
        else:
            addr = peer.decode() if isinstance(peer, bytes) else str(peer)
            info = ConnInfo(addr, None, name, port, is_unix=True)
        info.proxy = self.proxy_policy
        if self.tls is not None:
            info.url_scheme = "https"
        return info

    def notify(self) -> None:
        """Heartbeat; also notices a dead master."""
        self.ctx.heartbeat.beat()
        if os.getppid() != self.ppid:
            self.log.info("Parent changed, shutting down: %s", self)
            self.alive = False
        if self.metrics is not None:
            try:
                idle = sum(1 for _fd, s in self.sessions() if s.requests and s.idle)
            except RuntimeError:  # (gthread: an application thread beats while it waits on
                return  # write(), and the loop may be changing its connections)
            self.metrics.connections(idle)

    def count_request(self) -> None:
        """A request is about to be handed to the application."""
        # A beat now, so --timeout counts from the start of this request at the earliest.
        self._beat()
        self.nr += 1
        if self.nr >= self.max_requests and self.alive:
            self._retire_on_own(RETIRE_MAX_REQUESTS)  # first: logging may switch green threads
            self.retire_sessions()  # (the response about to be made says close)
            self.log.info("Autorestarting worker after current request.")

    # ------------------------------------------------------------ --reload

    def start_reloader(self) -> None:
        from ..reloader import Reloader

        watcher = Reloader(
            self.cfg.reload_engine,
            self.cfg.reload_extra_files or (),
            self._source_changed,
            self.wait_readable,
            self.sleep,
        )
        watcher.prepare()
        self.log.debug("Watching source files for changes (%s)", watcher.engine)
        self.in_background(watcher.run)

    def _source_changed(self, path: str) -> None:
        self.log.info("Worker reloading: %s modified", path)
        self._retire_on_own(RETIRE_RELOAD)  # the loop retires the connections it holds

    def in_background(self, func: Callable[[], None]) -> None:
        """Run ``func`` beside the worker's loop: an OS thread (green workers: a green one)."""
        import threading

        threading.Thread(target=func, name="corral-reloader", daemon=True).start()

    def wait_readable(self, fd: int, timeout: float) -> bool:
        import select

        return bool(select.select([fd], [], [], timeout)[0])

    def sleep(self, seconds: float) -> None:
        import time

        time.sleep(seconds)

    # ------------------------------------------------------------ retiring

    def sessions(self) -> Iterable[tuple[int, Session]]:
        """Each open connection's descriptor and session (the worker class's own)."""
        return ()

    def retire_sessions(self) -> None:
        """Apply :meth:`Session.retire` to every open connection; the driver also retires
        each one it opens from now on (see Session.retire for the whole rule)."""
        held = list(self.sessions())
        for _fd, session in held:
            session.retire()
        self.log.debug(
            "Worker retiring (pid:%s): %d connection(s) held, %d request(s) served",
            self.pid,
            len(held),
            self.nr,
        )

    @property
    def server_stopping(self) -> bool:
        """The whole server stops (the master's TERM, or the master is gone), as opposed
        to this worker alone retiring (max-requests, TTOU, a reload)."""
        return self.ctx.heartbeat.server_stopping or os.getppid() != self.ppid

    @property
    def drains_backlog(self) -> bool:
        """Retiring, this worker first accepts what waits in its listening sockets: the
        server stops, or (``--reuse-port``) the master closes a socket of this worker's
        alone. Otherwise the other workers take it."""
        return self.server_stopping or self.ctx.heartbeat.must_drain

    def _retire_on_own(self, cause: float) -> None:
        """This worker decided to retire (max-requests, --reload): stop taking requests,
        and tell the master, which starts the replacement now, and the worker's loop."""
        self.alive = False
        self.ctx.heartbeat.retiring(cause)
        self._nudge_master()
        self._wake_loop()

    def _wake_loop(self) -> None:
        # The worker's loop (a green worker's main green thread) sees it is retiring now.
        try:
            os.write(self._wakeup_w, b"\0")
        except OSError:
            pass

    def _nudge_master(self) -> None:
        # SIGCHLD makes the master look at its children now rather than within a second.
        try:
            os.kill(self.ppid, signal.SIGCHLD)
        except OSError:
            pass

    # -------------------------------------------------------------- signals

    def init_signals(self) -> None:
        # Forget the master's handlers and wake-up fd; master-only signals are ignored.
        for sig in (signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGUSR2, signal.SIGWINCH):
            signal.signal(sig, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, self.handle_term)
        signal.signal(signal.SIGINT, self.handle_quit)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGABRT, self.handle_abort)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        # A pipe the event loop watches, so a signal wakes it at once.
        self.wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        # Let a blocked system call see the signal rather than being restarted silently.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.siginterrupt(sig, True)
        # A stop that came while the worker was booting: a graceful one is honoured
        # once it serves (so a server stopping now still answers its backlog).
        for early in _early_signals:
            if early == signal.SIGTERM:
                self.alive = False
            else:
                sys.exit(0)

    def handle_term(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False  # graceful: the loop finishes what is in flight

    def handle_quit(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.cfg.worker_int(self)
        sys.exit(0)

    def handle_abort(self, signum: int, frame: FrameType | None) -> None:
        self.alive = False
        self.answer_aborted_requests()
        self.cfg.worker_abort(self)
        sys.exit(1)

    def answer_aborted_requests(self) -> None:
        """The master aborts this worker (``--timeout``): every request still running
        gets a 500 with ``Connection: close`` if its response has not begun, and is
        logged with its method, target and age."""
        for fd, session in list(self.sessions()):
            if not session.in_request:
                continue
            self.log.error("Worker timeout (pid:%s): aborting %s", self.pid, session.describe())
            data = session.abort_response()
            if data:
                try:
                    os.write(fd, data)  # small: fits the socket buffer, so never blocks long
                except OSError:
                    pass

    def handle_usr1(self, signum: int, frame: FrameType | None) -> None:
        self.log.reopen()

    def drain_wakeup(self) -> None:
        try:
            while os.read(self.wakeup_r, 512):
                pass
        except (BlockingIOError, OSError):
            pass
