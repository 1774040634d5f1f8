"""The ``corral`` command: configuration, checks, then the arbiter.

Every mistake a user can make ends here as one line on stderr and a non-zero exit code
(see corral.errors); a traceback means a bug in corral.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import privileges, proctitle
from .errors import CorralError, InfoExit, UsageError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except InfoExit as exc:
        sys.stdout.write(exc.message.rstrip("\n") + "\n")
        return 0
    except CorralError as exc:
        sys.stderr.write(f"corral: error: {exc.message}\n")
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C before the arbiter took over the signals
        return 130


@dataclass
class Startup:
    """What the master needs from a configuration: checked, with its logs open."""

    cfg: Any
    logs: Any
    worker_class: type[Any]
    tls: ssl.SSLContext | None = None  # --certfile: the listeners' context


def prepare(cfg: Any, *, embedded: bool = False) -> Startup:
    """Everything a configuration needs before the master can use it, every check that
    can fail done first. Used at start and again on HUP (corral.reload). ``embedded``: the
    application comes from a program embedding corral (corral.app), not from cfg.app_uri."""
    from .appload import prepare_import_path
    from .logs import load_logger_class
    from .plugins import load_worker_class
    from .sockets import parse_address
    from .tls import server_context

    if not cfg.app_uri and not embedded:
        raise UsageError(
            "no application given: corral [OPTIONS] MODULE:VARIABLE "
            "(for example: corral myapp:app, or corral corral.demo:app)"
        )
    for address in cfg.bind:
        parse_address(address)
    worker_class = load_worker_class(cfg.worker_class)
    privileges.check(cfg)
    tls = server_context(cfg)  # before --user: the key may be readable by root only
    if cfg.reload and cfg.reload_engine == "inotify":
        from .reloader import inotify_available

        if not inotify_available():
            raise UsageError(
                "--reload-engine inotify needs the inotify_simple package: "
                "pip install 'corral[reload]' (or use --reload-engine poll)"
            )
    if cfg.proxy_protocol != "off":
        from .proxy import load_codec

        load_codec()  # a missing codec is a start-up error, not a worker crash
    from .metrics import check as check_metrics

    check_metrics(cfg)  # (--metrics-bind without prometheus-client)
    logs = load_logger_class(cfg.logger_class).from_config(cfg)
    for warning in cfg.warnings:
        logs.warning("%s", warning)
    if cfg.proc_name is not None and not proctitle.AVAILABLE:
        logs.warning(
            "--name %s: the processes keep their command line as title: setproctitle is not "
            "installed (pip install 'corral[setproctitle]')",
            cfg.proc_name,
        )
    if cfg.proxy_protocol != "off" and "*" in cfg.proxy_allow_ips:
        logs.warning(
            "--proxy-allow-from '*': any peer may claim any client address with a PROXY "
            "header; only use it when nothing but your proxies can reach the port"
        )
    if cfg.strip_header_spaces:
        logs.warning(
            "--strip-header-spaces: 'Name : value' is served as 'Name: value' (RFC 9112 §5.1 "
            "wants a 400); a proxy in front that reads such lines differently can smuggle "
            "requests past it"
        )
    for item in cfg.raw_env or ():
        key, _, value = item.partition("=")
        os.environ[key] = value
    prepare_import_path(cfg.chdir, cfg.pythonpath)
    return Startup(cfg, logs, worker_class, tls)


def run(argv: list[str]) -> int:
    from .config import load_config

    start_dir = os.getcwd()
    cfg = load_config(argv, os.environ)

    def reload_config() -> Startup:
        # The same command line and environment as at start, read afresh, from where
        # corral was started (--chdir may have moved the master since).
        return prepare(load_config(argv, os.environ, cwd=start_dir))

    return serve(
        cfg,
        reload_config,
        argv=argv,
        command=[sys.executable, "-m", "corral", *argv],
        start_dir=start_dir,
    )


def serve(
    cfg: Any,
    reload_config: Callable[[], Startup],
    *,
    argv: list[str],
    command: list[str],
    start_dir: str,
    loader: Callable[[], Any] | None = None,
    label: str | None = None,
) -> int:
    """What the ``corral`` command does with a configuration, and corral.app's
    ``Application.run()`` with its own: --print-config, --check-config, --preload, then the
    arbiter until it stops (its exit code). ``loader`` returns the application (None:
    import cfg.app_uri); ``label`` names it in --check-config's line."""
    from .appload import load_application
    from .arbiter import Arbiter

    # --print-config goes on to --check-config's checks, as Gunicorn's does.
    if cfg.print_config and not _print_settings(cfg):
        return 1
    startup = prepare(cfg, embedded=loader is not None)

    if cfg.check_config or cfg.print_config:
        load_application(cfg.app_uri, loader)
        if cfg.print_config:
            return 0
        what = label or cfg.app_uri
        sys.stdout.write(f"configuration OK: {what} loads, worker '{cfg.worker_class}'\n")
        return 0
    from .metrics import open_metrics

    # Statsd's socket and the metrics endpoint are opened once, at start (not on HUP), and
    # before --preload: the Prometheus directory must exist before the app imports the client.
    metrics = open_metrics(cfg)
    try:
        app = None
        if cfg.preload_app:
            # Gevent and eventlet workers monkey-patch the master before the app is imported.
            getattr(startup.worker_class, "prepare_master", lambda cfg: None)(cfg)
            app = load_application(cfg.app_uri, loader)
        arbiter = Arbiter(
            cfg, startup.logs, startup.worker_class, app, tls=startup.tls, metrics=metrics
        )
        arbiter.reload_config = reload_config
        arbiter.argv = list(argv)
        arbiter.command = list(command)
        arbiter.start_dir = start_dir
        arbiter.loader = loader
        return arbiter.run()
    finally:
        if metrics is not None:
            metrics.close()


def _print_settings(cfg: Any) -> bool:
    """Write every setting and its value; False if the reader went away (``| head``)."""
    try:
        for name, value in cfg.to_dict().items():
            sys.stdout.write(f"{name:<28} = {value!r}\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Nothing more can be written; keep Python from failing again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False
    return True
