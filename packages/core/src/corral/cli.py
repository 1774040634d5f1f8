"""The ``corral`` command: configuration, checks, then the arbiter.

Every mistake a user can make ends here as one line on stderr and a non-zero exit code
(see corral.errors); a traceback means a bug in corral.
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import privileges
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


def prepare(cfg: Any) -> Startup:
    """Everything a configuration needs before the master can use it, every check that
    can fail done first. Used at start and again on HUP (corral.reload)."""
    from .appload import prepare_import_path
    from .logs import Logs
    from .plugins import load_worker_class
    from .sockets import parse_address
    from .tls import server_context

    if not cfg.app_uri:
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
    logs = Logs(
        loglevel=cfg.loglevel,
        errorlog=cfg.errorlog,
        accesslog=cfg.accesslog,
        access_log_format=cfg.access_log_format,
        proc_name=cfg.proc_name or "corral",
    )
    for warning in cfg.warnings:
        logs.warning("%s", warning)
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
    from .appload import load_app
    from .config import load_config

    start_dir = os.getcwd()
    cfg = load_config(argv, os.environ)
    if cfg.print_config:
        for name, value in cfg.to_dict().items():
            sys.stdout.write(f"{name:<28} = {value!r}\n")
        return 0
    startup = prepare(cfg)
    app_uri = cfg.app_uri
    assert app_uri is not None  # prepare() refuses a configuration without one
    if cfg.check_config:
        load_app(app_uri)
        sys.stdout.write(f"configuration OK: {cfg.app_uri} loads, worker '{cfg.worker_class}'\n")
        return 0
    from .metrics import open_metrics

    # Statsd's socket and the metrics endpoint are opened once, at start (not on HUP), and
    # before --preload: the Prometheus directory must exist before the app imports the client.
    metrics = open_metrics(cfg)
    try:
        return _serve(argv, cfg, startup, start_dir, metrics)
    finally:
        if metrics is not None:
            metrics.close()


def _serve(argv: list[str], cfg: Any, startup: Startup, start_dir: str, metrics: Any) -> int:
    from .appload import load_app
    from .arbiter import Arbiter
    from .config import load_config

    app_uri = cfg.app_uri
    assert app_uri is not None
    app = None
    if cfg.preload_app:
        # Gevent and eventlet workers monkey-patch the master before the app is imported.
        getattr(startup.worker_class, "prepare_master", lambda cfg: None)(cfg)
        app = load_app(app_uri)

    def reload_config() -> Startup:
        # The same command line and environment as at start, read afresh, from where
        # corral was started (--chdir may have moved the master since).
        return prepare(load_config(argv, os.environ, cwd=start_dir))

    arbiter = Arbiter(
        cfg, startup.logs, startup.worker_class, app, tls=startup.tls, metrics=metrics
    )
    arbiter.reload_config = reload_config
    arbiter.argv = list(argv)
    arbiter.start_dir = start_dir
    return arbiter.run()
