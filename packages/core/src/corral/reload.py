"""HUP: reload the configuration and the application, and replace every worker without
refusing or cutting a request (docs/SIGNALS.md, HUP).

A reload reads the configuration again (the same command line, environment variables and
config file as at start), then starts a new *generation* of ``--workers`` workers with it
beside the old one. The old workers go on serving until every new worker has loaded the
application; only then are they retired (the rule of :meth:`corral.session.Session.retire`:
each finishes what it holds). So a slow application import never leaves the port without
a worker, and an application that no longer imports costs nothing:

* a configuration that does not load (syntax error, bad value, unknown worker class, an
  address that cannot be bound) is logged, and the old workers go on as if no HUP came;
* a new worker that cannot boot or import the application ends the reload: the new
  generation is stopped, the previous configuration restored, the old workers go on.

Without ``--preload`` each new worker imports the application afresh, so new code is
served. With ``--preload`` the application was imported once, in the master, and workers
are forked from it: a reload applies the new configuration (workers, timeouts, logging,
addresses, hooks) but serves the same code; restart (or USR2) to load new code.

A socket-activated master keeps the sockets systemd passed: the configuration's ``--bind``
has no say at a reload, as at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import privileges
from .errors import CorralError
from .metrics import reload_warning as metrics_reload_warning
from .proctitle import set_title
from .sockets import Listener, bind_all

if TYPE_CHECKING:
    import ssl

    from .arbiter import Arbiter


@dataclass
class _State:
    """What a reload changes in the master, so a failed one can put it back."""

    cfg: Any
    log: Any
    worker_class: type[Any]
    num_workers: int
    listeners: list[Listener]
    tls: ssl.SSLContext | None

    @classmethod
    def of(cls, arbiter: Arbiter) -> _State:
        return cls(
            arbiter.cfg,
            arbiter.log,
            arbiter.worker_class,
            arbiter.num_workers,
            list(arbiter.listeners),
            arbiter.tls,
        )

    def apply(self, arbiter: Arbiter) -> None:
        arbiter.cfg = self.cfg
        arbiter.log = self.log
        arbiter.worker_class = self.worker_class
        arbiter.num_workers = self.num_workers
        arbiter.timeout = float(self.cfg.timeout)
        arbiter.proc_name = self.cfg.process_name
        set_title("master", arbiter.proc_name)  # a new --name shows at once, as in Gunicorn
        arbiter.listeners[:] = self.listeners
        arbiter.tls = self.tls
        self.log.capture_stdio()  # --capture-output: stdout/stderr to this error log file


@dataclass
class Reload:
    """A reload in progress: the new generation is booting, the old one serves."""

    generation: int  # the new workers' (never reused: a rolled-back one stays taken)
    previous_generation: int
    previous: _State
    bound: list[Listener] = field(default_factory=list)  # listeners this reload bound

    def complete(self, arbiter: Arbiter) -> None:
        """Every new worker serves: retire the old generation, close unused listeners."""
        old = [pid for pid, c in arbiter.children.items() if c.generation != self.generation]
        for pid in old:
            arbiter.retire_worker(pid)
        for listener in self.previous.listeners:
            if listener not in arbiter.listeners:
                arbiter.ports.forget(listener)
                listener.close()
        if self.previous.log is not arbiter.log:
            self.previous.log.close_files()  # the new Logs has its own
        arbiter.log.info("Reload complete: %d new worker(s) serving", arbiter.num_workers)

    def roll_back(self, arbiter: Arbiter, why: str) -> None:
        """A new worker cannot boot: stop the new generation, keep the old one."""
        arbiter.log.error("Reload failed, the running workers go on serving: %s", why)
        for pid, child in list(arbiter.children.items()):
            if child.generation == self.generation:
                arbiter.retire_worker(pid)
        failed_log = arbiter.log
        self.previous.apply(arbiter)
        if failed_log is not arbiter.log:
            arbiter.log.activate()
            failed_log.close_files()
        for listener in self.bound:
            arbiter.ports.forget(listener)
            listener.close(unlink=False)
        arbiter.generation = self.previous_generation


def begin(arbiter: Arbiter) -> Reload | None:
    """Read the configuration again and start the new generation (returns the reload in
    progress), or log why it cannot and change nothing (None)."""
    previous = _State.of(arbiter)
    try:
        startup = arbiter.reload_config()
    except CorralError as exc:
        previous.log.activate()  # in case the new configuration's logs were opened
        arbiter.log.error("Reload failed, the running workers go on serving: %s", exc.message)
        return None
    cfg = startup.cfg
    # Keep the listening sockets of addresses that stay; bind the new ones.
    kept = {listener.bind: listener for listener in previous.listeners}
    wanted = list(cfg.bind)
    if arbiter.socket_activated:  # systemd's sockets, as at start: --bind is not bound
        wanted = list(kept)
    try:
        bound = bind_all(
            [a for a in wanted if a not in kept],
            int(cfg.backlog),
            umask=cfg.umask,
            reuse_port=arbiter.ports.enabled,
        )
    except CorralError as exc:
        startup.logs.close_files()
        previous.log.activate()
        arbiter.log.error("Reload failed, the running workers go on serving: %s", exc.message)
        return None
    fresh = {listener.bind: listener for listener in bound}
    listeners = [kept.get(a) or fresh[a] for a in wanted]
    arbiter.generations += 1
    reload = Reload(arbiter.generations, arbiter.generation, previous, bound)
    new = _State(cfg, startup.logs, startup.worker_class, int(cfg.workers), listeners, startup.tls)
    new.apply(arbiter)
    arbiter.generation = reload.generation
    try:
        privileges.hand_over(cfg, arbiter.owned_files())
    except CorralError as exc:
        reload.roll_back(arbiter, exc.message)
        return None
    for warning in (arbiter.ports.reload_warning(cfg), metrics_reload_warning(previous.cfg, cfg)):
        if warning:
            arbiter.log.warning("%s", warning)
    for listener in bound:
        arbiter.ports.add(listener, arbiter.log)
        url = listener.url_for(arbiter.tls is not None)
        arbiter.log.info("Listening at: %s (%s)", url, arbiter.pid)
    try:
        cfg.on_reload(arbiter)
    except Exception:
        arbiter.log.exception("Exception in on_reload hook")
    arbiter.log.info(
        "Reloaded the configuration: starting %d new worker(s) (%s)",
        arbiter.num_workers,
        cfg.worker_class,
    )
    return reload
