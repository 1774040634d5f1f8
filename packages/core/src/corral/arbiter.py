"""The master process: binds, forks workers, keeps their number, kills the silent ones.

The master runs no threads and never serves a request. Signal handlers only append to a
queue (and the wake-up fd wakes the loop); the main loop does all the work, once a second
at least: handle queued signals, reap dead children, kill workers whose heartbeat is older
than ``--timeout``, and fork or stop workers to match ``--workers``. docs/SIGNALS.md lists
what each signal does.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import __version__, daemon, privileges, reexec, reload, systemd
from .errors import CorralError
from .heartbeat import Heartbeat, HeartbeatTable
from .metrics import exit_cause
from .proctitle import set_title
from .reuseport import PortGroups
from .sockets import Listener, bind_all
from .workers.base import APP_LOAD_ERROR, WORKER_BOOT_ERROR, WorkerContext, remember_early_signal

if TYPE_CHECKING:
    import ssl

    from .cli import Startup
    from .logs import Logs
    from .metrics import Metrics
    from .reload import Reload
    from .wsgi import WSGIApp


def _has_controlling_terminal() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY))
    except OSError:
        return False
    return True


def _no_reload() -> Startup:
    raise CorralError("this master was not started by the corral command: nothing to reload")


class HaltServer(CorralError):
    """The master must stop: a worker cannot boot or load the application."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class _Child:
    worker: Any
    slot: int
    aborted_at: float = 0.0  # when SIGABRT was sent for a timeout
    retiring: bool = False  # sent TERM by the master, or retiring on its own (max-requests)
    generation: int = 0  # the reload (HUP) that started it; 0: the first workers
    index: int = 0  # which of --workers it is (--reuse-port: whose sockets it accepts from)


_SIGNALS: dict[int, str] = {
    signal.SIGHUP: "hup",
    signal.SIGQUIT: "quit",
    signal.SIGINT: "int",
    signal.SIGTERM: "term",
    signal.SIGTTIN: "ttin",
    signal.SIGTTOU: "ttou",
    signal.SIGUSR1: "usr1",
    signal.SIGUSR2: "usr2",
    signal.SIGWINCH: "winch",
    signal.SIGCHLD: "chld",
}


# The exit codes of a worker that could not start, and what the master says of them.
_BOOT_FAILURES = {
    APP_LOAD_ERROR: "App failed to load.",
    WORKER_BOOT_ERROR: "Worker failed to boot.",
}
_KILL_AFTER_ABORT = 2.0  # seconds between SIGABRT and SIGKILL for a timed-out worker


class Arbiter:
    """The master process. Hooks receive it as ``server``."""

    def __init__(
        self,
        cfg: Any,
        logs: Logs,
        worker_class: type[Any],
        app: WSGIApp | None = None,
        tls: ssl.SSLContext | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.cfg = cfg
        self.metrics = metrics  # statsd / --metrics-bind (corral.metrics), else None
        self.tls = tls  # the TLS listeners' context (--certfile), else None
        self.log = logs
        self.worker_class = worker_class
        self.app = app
        self.pid = 0
        self.num_workers = int(cfg.workers)
        self.timeout = float(cfg.timeout)
        self.listeners: list[Listener] = []
        self.ports = PortGroups()  # --reuse-port: the sockets of each worker index
        self.LISTENERS = self.listeners  # Gunicorn's spelling, used by some hooks
        self.children: dict[int, _Child] = {}
        self.worker_age = 0
        self.proc_name = cfg.process_name
        self._queue: deque[int] = deque()
        self._wake_r = self._wake_w = -1
        self._heartbeats: HeartbeatTable | None = None
        self.pidfile_path: str | None = None
        self._stopping = False
        self.systemd = systemd.Notifier()  # takes NOTIFY_SOCKET out of the environment
        self.socket_activated = False
        self._ready = False  # READY=1 sent for the workers now serving
        self.reexec_pid = 0  # the new master started by USR2, while it runs
        self.old_master_pid = 0  # the master whose USR2 started this one
        self._reexeced = False  # a new master shares the sockets: never unlink them
        self._listeners_closed = False
        self.generation = 0  # the workers' now serving; a reload starts a new one
        self.generations = 0  # how many were ever started
        self._reload: Reload | None = None
        # Set by the CLI (or corral.app): how to read the configuration again (HUP), what
        # to re-exec (USR2: the command, else `python -m corral` with argv), and what returns
        # the application in a worker (None: import cfg.app_uri).
        self.reload_config: Callable[[], Startup] = _no_reload
        self.argv: list[str] = []
        self.command: list[str] = []
        self.start_dir = os.getcwd()
        self.loader: Callable[[], WSGIApp] | None = None

    @property
    def heartbeats(self) -> HeartbeatTable:
        assert self._heartbeats is not None, "the master is not running"
        return self._heartbeats

    def owned_files(self) -> list[str]:
        """Files the workers must still write after --user/--group: logs, unix sockets,
        the Prometheus files' directory."""
        sockets = [listener.path for listener in self.listeners if listener.path]
        metrics = self.metrics.owned_paths() if self.metrics is not None else []
        return [*self.log.file_paths(), *sockets, *metrics]

    @property
    def WORKERS(self) -> dict[int, Any]:
        return {pid: child.worker for pid, child in self.children.items()}

    # ----------------------------------------------------------------- start

    def run(self) -> int:
        """Serve until stopped; returns the process exit code."""
        self.pid = os.getpid()
        self.cfg.on_starting(self)
        self.old_master_pid = reexec.old_master()
        inherited, per_index = reexec.inherited()
        activated = systemd.activated_sockets()
        if activated is not None:
            self.socket_activated = True
            self.listeners[:] = activated
            self.log.info("Socket activation: %d socket(s) from systemd", len(activated))
        else:
            self.listeners[:] = bind_all(
                list(self.cfg.bind),
                int(self.cfg.backlog),
                inherited,
                self.cfg.umask,
                reuse_port=bool(self.cfg.reuse_port),
            )
        for bind, socks in per_index.items():
            self.ports.adopt(bind, socks)
        self.ports.configure(self.cfg, self.listeners, self.log)
        privileges.hand_over(self.cfg, self.owned_files())
        if self.cfg.daemon and not self.old_master_pid:  # (a USR2 child is detached already)
            urls = ", ".join(listener.url_for(self.tls is not None) for listener in self.listeners)
            self.log.info("Listening at: %s; detaching (--daemon)", urls)
            daemon.daemonize(inherit_stdio=bool(self.cfg.enable_stdio_inheritance))
            self.pid = os.getpid()
        self.log.capture_stdio()  # (--capture-output; after -D, which replaces stdout)
        self._init_signals()
        self._heartbeats = HeartbeatTable(max(1024, self.num_workers * 2))
        set_title("master", self.proc_name)
        self.log.info("Starting corral %s", __version__)
        for listener in self.listeners:
            self.log.info("Listening at: %s (%s)", listener.url_for(self.tls is not None), self.pid)
        self.log.info("Using worker: %s", self.cfg.worker_class)
        if self.metrics is not None:
            self.metrics.start(self.log, self._leave_for_metrics)
        self._log_config()
        try:
            if self.cfg.pidfile:  # (in the try: a pid file it cannot write still cleans up)
                self._write_pidfile(self.cfg.pidfile)
            self.cfg.when_ready(self)
            self._manage_workers()
            code = self._loop()
        except HaltServer as exc:
            self.log.error("%s", exc.message)
            self._stop(graceful=False)
            code = exc.exit_code
        finally:
            self._cleanup()
        return code

    def _log_config(self) -> None:
        """At debug level, every setting with its value and where it came from."""
        if not self.log.debug_enabled:
            return
        self.log.debug("Current configuration:")
        for name, value in self.cfg.to_dict().items():
            self.log.debug("  %s: %r (%s)", name, value, self.cfg.source(name))

    def _loop(self) -> int:
        while True:
            self._wait(self.systemd.tick())  # (WATCHDOG=1 when systemd asks for it)
            while self._queue:
                name = _SIGNALS[self._queue.popleft()]
                if name == "chld":
                    self._reap()
                elif name in ("term", "int", "quit"):
                    graceful = name == "term"
                    self.log.info(
                        "Handling signal: %s (%s stop)", name, "graceful" if graceful else "fast"
                    )
                    self._stop(graceful)
                    return 0
                else:
                    getattr(self, f"_handle_{name}")()
            self._reap()
            self._murder_silent_workers()
            self._manage_workers()

    def _wait(self, timeout: float) -> None:
        try:
            ready, _, _ = select.select([self._wake_r], [], [], timeout)
        except InterruptedError:
            return
        if ready:
            try:
                while os.read(self._wake_r, 64):
                    pass
            except BlockingIOError:
                pass

    # --------------------------------------------------------------- signals

    def _init_signals(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for sig in _SIGNALS:
            signal.signal(sig, self._enqueue)

    def _enqueue(self, signum: int, frame: FrameType | None) -> None:
        if len(self._queue) < 16:  # a flood of the same signal is not a backlog of work
            self._queue.append(signum)

    def _handle_ttin(self) -> None:
        old = self.num_workers
        self.num_workers += 1
        self.log.info("Handling signal: ttin (workers %d -> %d)", old, self.num_workers)
        self.cfg.nworkers_changed(self, self.num_workers, old)

    def _handle_ttou(self) -> None:
        if self.num_workers <= 1:
            self.log.info("Handling signal: ttou (already at one worker)")
            return
        old = self.num_workers
        self.num_workers -= 1
        self.log.info("Handling signal: ttou (workers %d -> %d)", old, self.num_workers)
        self.cfg.nworkers_changed(self, self.num_workers, old)

    def _handle_usr1(self) -> None:
        self.log.info("Handling signal: usr1 (reopening log files)")
        self.log.reopen()
        try:
            privileges.hand_over(self.cfg, self.log.file_paths())  # the new files, too
        except CorralError as exc:
            self.log.error("%s", exc.message)
        self._kill_workers(signal.SIGUSR1)

    def _handle_hup(self) -> None:
        if self._reload is not None:
            self.log.warning("Handling signal: hup: a reload is already in progress; ignored")
            return
        self.log.info("Handling signal: hup (reloading)")
        self.systemd.reloading()
        self._ready = False  # READY=1 again once the workers then serving have booted
        self._reload = reload.begin(self)

    def _handle_usr2(self) -> None:
        if self.reexec_pid:
            self.log.warning(
                "Handling signal: usr2: a new master (pid:%s) runs already; ignored",
                self.reexec_pid,
            )
            return
        self.reexec_pid = reexec.begin(self)
        self._reexeced = self._reexeced or bool(self.reexec_pid)

    def _handle_winch(self) -> None:
        # A terminal sends WINCH when it is resized: only a master without one obeys it.
        if _has_controlling_terminal():
            self.log.debug("Handling signal: winch (ignored: a terminal may send it)")
            return
        self.log.info("Handling signal: winch (stopping the workers; the master stays)")
        self.num_workers = 0

    # --------------------------------------------------------------- workers

    def _manage_workers(self) -> None:
        """Keep ``--workers`` workers serving. A retiring worker does not count: it still
        finishes what it holds, but its replacement starts at once."""
        if self._stopping:
            return
        self.ports.steer_to(self.num_workers, self.log)  # (--reuse-port; else nothing)
        table = self.heartbeats
        serving = []
        for pid, child in self.children.items():
            if not child.retiring and table.retiring(child.slot):
                child.retiring = True
            if not child.retiring and child.generation == self.generation:
                serving.append((child.worker.age, pid))
        if len(serving) != self.num_workers or len(serving) != len(self.children):
            self.log.debug(
                "%d workers serving, %d retiring, %d wanted",
                len(serving),
                len(self.children) - len(serving),
                self.num_workers,
            )
            self.systemd.status(f"{len(serving)} of {self.num_workers} worker(s) serving")
        for _ in range(self.num_workers - len(serving)):
            self._spawn_worker()
        if len(serving) > self.num_workers:
            # Retire the oldest workers first; with --reuse-port, those whose index goes.
            def victim_order(entry: tuple[int, int]) -> tuple[bool, int]:
                age, pid = entry
                return (self.children[pid].index < self.num_workers, age)

            order = sorted(serving, key=victim_order if self.ports.active else None)
            for _age, pid in order[: len(serving) - self.num_workers]:
                self.retire_worker(pid)
        pids = [pid for _age, pid in serving]
        if self._reload is not None and self.all_booted(pids):  # (never while over --workers)
            self._reload.complete(self)
            self._reload = None
        if not self._ready and self._reload is None and self.all_booted(pids):
            self._ready = True
            self.systemd.ready(len(serving))
        if self.metrics is not None:  # serving once this call's forks are done (as Gunicorn)
            self.metrics.tick(self.num_workers, self.listeners)

    def all_booted(self, pids: list[int]) -> bool:
        """``pids`` are all ``--workers`` wanted, and each has loaded the application."""
        table = self.heartbeats
        return len(pids) == self.num_workers and all(
            table.booted(self.children[pid].slot) for pid in pids
        )

    def retire_worker(self, pid: int) -> None:
        """Ask a worker to finish what it holds and exit (docs/SIGNALS.md, TERM)."""
        child = self.children[pid]
        child.retiring = True
        # --reuse-port: the kernel no longer sends connections to the socket of an index
        # that no longer exists (steer_to); its worker accepts what waits there first.
        drain = self.ports.active and child.index >= self.num_workers
        self.heartbeats.mark_retiring(child.slot, drain=drain)
        self._kill(pid, signal.SIGTERM)

    def _spawn_worker(self) -> None:
        assert self._heartbeats is not None
        self.worker_age += 1
        slot = self._heartbeats.allocate()
        index = self._free_index()
        try:
            listeners = self.ports.listeners_for(index, self.listeners)
        except OSError as exc:
            self.log.error(
                "--reuse-port: cannot open a socket for worker %d (%s); it shares the first one",
                index,
                exc.strerror,
            )
            listeners = list(self.listeners)
        ctx = WorkerContext(
            cfg=self.cfg,
            listeners=listeners,
            logs=self.log,
            heartbeat=Heartbeat(self._heartbeats, slot),
            app=self.app,
            tls=self.tls,
            ppid=self.pid,
            age=self.worker_age,
            server=self,
            loader=self.loader,
            metrics=self.metrics,
        )
        worker = self.worker_class(ctx)
        self.cfg.pre_fork(self, worker)
        pid = os.fork()
        if pid:
            worker.pid = pid
            self.children[pid] = _Child(worker, slot, generation=self.generation, index=index)
            self.log.info("Booting worker with pid: %s", pid)
            return
        self.ports.close_others(index)
        self._run_child(worker)

    def _free_index(self) -> int:
        """The lowest worker index no serving worker of this generation has."""
        taken = {
            c.index
            for c in self.children.values()
            if not c.retiring and c.generation == self.generation
        }
        index = 0
        while index in taken:
            index += 1
        return index

    def _run_child(self, worker: Any) -> None:
        """In the forked child: run the worker, never return."""
        code = 0
        try:
            # Until the worker installs its own handlers, the master's would only queue a
            # signal in this copy of the master, where nothing reads it: remember a stop
            # for the worker to act on once it has booted.
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
                signal.signal(sig, remember_early_signal)
            self._leave_master()
            worker.pid = os.getpid()
            set_title("worker", self.proc_name)
            self.cfg.post_fork(self, worker)
            worker.run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            self.log.exception("Exception in worker process")
            code = 1 if getattr(worker, "booted", False) else WORKER_BOOT_ERROR
        finally:
            try:
                self.cfg.worker_exit(self, worker)
            except BaseException:
                self.log.exception("Exception in worker_exit hook")
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)

    def _leave_master(self) -> None:
        """In a forked child: forget the master's signal wake-up pipe."""
        signal.set_wakeup_fd(-1)  # before closing the master's pipe: never write to a reused fd
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _leave_for_metrics(self) -> None:
        """In the metrics endpoint's process: it holds nothing of the master's but logs."""
        self._leave_master()
        set_title("metrics", self.proc_name)  # not "master": pgrep tells them apart
        kept = self._reload.previous.listeners if self._reload is not None else []
        for listener in [*self.listeners, *kept]:
            listener.sock.close()  # (else a stopped server's port would still queue clients)
        self.ports.close()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                if self.metrics is not None and self.metrics.reaped(pid, self._stopping):
                    continue  # the metrics endpoint's process: started again by the loop
                if pid == self.reexec_pid:
                    reexec.failed(self, pid, status)
                    self.reexec_pid = 0
                    self._reexeced = False  # nobody else serves on the sockets
                continue
            assert self._heartbeats is not None
            if self.metrics is not None:
                own = self._heartbeats.retire_cause(child.slot)
                why = exit_cause(status, child.aborted_at, own, child.retiring, self._stopping)
                self.metrics.worker_exited(pid, why)
            self._heartbeats.release(child.slot)
            self.ports.release(self.num_workers, {c.index for c in self.children.values()})
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                name = signal.Signals(sig).name
                if sig == signal.SIGKILL and not child.aborted_at and not self._stopping:
                    self.log.error("Worker (pid:%s) was sent SIGKILL! Perhaps out of memory?", pid)
                elif not self._stopping:
                    self.log.warning("Worker (pid:%s) was killed by signal %s", pid, name)
            else:
                code = os.WEXITSTATUS(status)
                booting = code in _BOOT_FAILURES and not self._stopping
                if booting and child.generation != self.generation:
                    # A worker of a reload already rolled back: its failure was reported.
                    self.cfg.child_exit(self, child.worker)
                    continue
                if booting and self._reload is not None and child.generation == self.generation:
                    # A new worker of a reload cannot boot: keep the old ones serving.
                    why = _BOOT_FAILURES[code]
                    self._reload.roll_back(self, f"a new worker could not start ({why})")
                    self._reload = None
                    self.cfg.child_exit(self, child.worker)
                    continue
                if booting:
                    raise HaltServer(_BOOT_FAILURES[code], code)
                if code and not self._stopping:
                    self.log.error("Worker (pid:%s) exited with code %s", pid, code)
                else:
                    self.log.debug("Worker (pid:%s) exited with code %s", pid, code)
            self.cfg.child_exit(self, child.worker)

    def _murder_silent_workers(self) -> None:
        if not self.timeout or self._heartbeats is None:
            return
        now = time.monotonic()
        for pid, child in list(self.children.items()):
            if child.aborted_at:
                if now - child.aborted_at >= _KILL_AFTER_ABORT:
                    self._kill(pid, signal.SIGKILL)
                continue
            if self._heartbeats.silent_for(child.slot) > self.timeout:
                self.log.critical("WORKER TIMEOUT (pid:%s)", pid)
                child.aborted_at = now
                self._kill(pid, signal.SIGABRT)

    def _kill(self, pid: int, sig: int) -> None:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        except OSError as exc:  # pragma: no cover - EPERM cannot happen to our children
            if exc.errno != errno.ESRCH:
                raise

    def _kill_workers(self, sig: int) -> None:
        for pid in list(self.children):
            self._kill(pid, sig)

    # ------------------------------------------------------------------ stop

    def _stop(self, graceful: bool) -> None:
        self._stopping = True
        self.systemd.stopping()
        shared = reexec.other_master_serves(self)
        if self._heartbeats is not None and not shared:
            self._heartbeats.mark_stopping()  # workers: drain the backlog, close idle ones
        self._close_listeners(keep_files=shared)  # refused from now on (by this master)
        self._kill_workers(signal.SIGTERM if graceful else signal.SIGQUIT)
        deadline = time.monotonic() + float(self.cfg.graceful_timeout)
        while self.children and time.monotonic() < deadline:
            self._reap()
            if self.children:
                time.sleep(0.05)
        if self.children:
            self.log.warning(
                "Killing %d worker(s) still running after --graceful-timeout", len(self.children)
            )
            self._kill_workers(signal.SIGKILL)
            while self.children:
                self._reap()
                time.sleep(0.01)

    def _close_listeners(self, keep_files: bool = False) -> None:
        """Close this master's listening sockets, once. Unix socket files stay when another
        master serves on them (USR2, in either direction)."""
        if self._listeners_closed:
            return
        self._listeners_closed = True
        for listener in self.listeners:
            listener.close(unlink=not (keep_files or self._reexeced))
        self.ports.close()

    def _cleanup(self) -> None:
        shared = reexec.other_master_serves(self)
        self._close_listeners(keep_files=shared)
        if self.metrics is not None:
            self.metrics.close(unlink=not (shared or self._reexeced))
        if self.pidfile_path:
            try:
                os.unlink(self.pidfile_path)
            except OSError:
                pass
        try:
            self.cfg.on_exit(self)
        except Exception:
            self.log.exception("Exception in on_exit hook")
        self.log.info("Shutting down: Master")

    def _write_pidfile(self, path: str) -> None:
        try:
            with open(path, "w") as f:
                f.write(f"{self.pid}\n")
        except OSError as exc:
            raise CorralError(f"cannot write pid file '{path}': {exc.strerror}") from None
        self.pidfile_path = path
