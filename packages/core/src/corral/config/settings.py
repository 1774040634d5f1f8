"""The settings table: every setting corral knows, declared once, as data.

The command-line parser, ``corral --help``, the config-file loader, the environment-variable
arguments and ``docs/settings.md`` are all generated from :data:`SETTINGS`. To add a setting,
append a :class:`Setting` row (and regenerate the docs with ``python -m corral.config.docs``).

Names and flags are the same as Gunicorn's, so existing command lines and config files work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from corral import syslog as _syslog
from corral import trust as _trust
from corral.config import validators as v

Action = Literal["store", "store_true", "store_false", "store_const", "append"]

# Sections, in the order they appear in --help and in the docs.
SECTIONS: tuple[str, ...] = (
    "Config File",
    "Server Socket",
    "Worker Processes",
    "Security",
    "SSL",
    "Logging",
    "Process Naming",
    "Server Mechanics",
    "Server Hooks",
    "Debugging",
)


@dataclass(frozen=True)
class Setting:
    """One setting.

    ``flags`` empty means the setting can only be given in a config file. ``action``,
    ``nargs``, ``const`` and ``metavar`` mean what they mean to :mod:`argparse`; with
    ``nargs="?"`` a bare flag stores ``const``. ``validator`` converts and checks a raw value
    (a string from the command line or any object from a config file). For ``append`` the
    validator receives a list. ``default`` is the raw default (validated like any value);
    ``env_default``, if set, may compute it from the environment instead and returns
    ``(variable name, raw value)`` or ``None``. ``hook_args`` names the positional arguments
    of a server hook. ``type_doc`` and ``default_doc`` are only for the documentation.
    """

    name: str
    section: str
    doc: str
    validator: Callable[[object], Any]
    type_doc: str
    default: Any = None
    flags: tuple[str, ...] = ()
    metavar: str | None = None
    action: Action = "store"
    nargs: Literal["?"] | None = None
    const: Any = None
    choices: tuple[str, ...] = ()
    default_doc: str | None = None
    env_default: Callable[[Mapping[str, str]], tuple[str, object] | None] | None = None
    hook_args: tuple[str, ...] | None = None
    cli_only: bool = False

    @property
    def short(self) -> str:
        """The first line of the doc: used as the ``--help`` text."""
        return self.doc.strip().splitlines()[0]

    @property
    def is_hook(self) -> bool:
        return self.hook_args is not None

    @property
    def takes_value(self) -> bool:
        """Whether the flag is followed by a value on the command line."""
        return self.action in ("store", "append")

    @property
    def long_flag(self) -> str | None:
        """The long (``--``) flag, used to name the setting in error messages."""
        longs = [f for f in self.flags if f.startswith("--")]
        return longs[0] if longs else (self.flags[0] if self.flags else None)


def _inactive(value: object) -> bool:
    """A value that asks for nothing (Gunicorn's "off" for most settings)."""
    return value is None or value is False or value in ("", 0, (), [])


@dataclass(frozen=True)
class UnsupportedSetting:
    """A Gunicorn setting corral does not implement (yet).

    Either harmless to ignore (``refuse`` empty): accepted, warned about, ignored, and
    ``why`` says what is lost; or a hazard if ignored (``refuse`` says what would go
    wrong): corral refuses to start while it asks for something (``inactive(value)`` is
    false), so that no one believes they have TLS, dropped privileges or a daemon when
    they have not.
    """

    name: str
    flags: tuple[str, ...] = ()
    takes_value: bool = True
    why: str = ""
    refuse: str = ""
    inactive: Callable[[object], bool] = _inactive


# ---------------------------------------------------------------------------------------------
# Defaults that depend on the environment


def _bind_from_port(environ: Mapping[str, str]) -> tuple[str, object] | None:
    port = environ.get("PORT")
    if port is None:
        return None
    return ("PORT", [f"0.0.0.0:{port.strip()}"])


def _workers_from_env(environ: Mapping[str, str]) -> tuple[str, object] | None:
    value = environ.get("WEB_CONCURRENCY")
    if value is None:
        return None
    return ("WEB_CONCURRENCY", value)


def _sendfile_from_env(environ: Mapping[str, str]) -> tuple[str, object] | None:
    """Gunicorn's ``SENDFILE``: only y, 1, yes, true keep sendfile on."""
    value = environ.get("SENDFILE")
    if value is None:
        return None
    return ("SENDFILE", value.strip().lower() in ("y", "1", "yes", "true"))


# ---------------------------------------------------------------------------------------------
# Default server hooks: they do nothing. Kept at module level so they have stable names.


def on_starting(server: object) -> None:
    """Default ``on_starting`` hook: does nothing."""


def on_reload(server: object) -> None:
    """Default ``on_reload`` hook: does nothing."""


def when_ready(server: object) -> None:
    """Default ``when_ready`` hook: does nothing."""


def pre_fork(server: object, worker: object) -> None:
    """Default ``pre_fork`` hook: does nothing."""


def post_fork(server: object, worker: object) -> None:
    """Default ``post_fork`` hook: does nothing."""


def post_worker_init(worker: object) -> None:
    """Default ``post_worker_init`` hook: does nothing."""


def worker_int(worker: object) -> None:
    """Default ``worker_int`` hook: does nothing."""


def worker_abort(worker: object) -> None:
    """Default ``worker_abort`` hook: does nothing."""


def pre_exec(server: object) -> None:
    """Default ``pre_exec`` hook: does nothing."""


def pre_request(worker: object, req: object) -> None:
    """Default ``pre_request`` hook: does nothing."""


def post_request(worker: object, req: object, environ: object, resp: object) -> None:
    """Default ``post_request`` hook: does nothing."""


def child_exit(server: object, worker: object) -> None:
    """Default ``child_exit`` hook: does nothing."""


def worker_exit(server: object, worker: object) -> None:
    """Default ``worker_exit`` hook: does nothing."""


def nworkers_changed(server: object, new_value: object, old_value: object) -> None:
    """Default ``nworkers_changed`` hook: does nothing."""


def on_exit(server: object) -> None:
    """Default ``on_exit`` hook: does nothing."""


def default_ssl_context(config: Any, default_ssl_context_factory: Callable[[], Any]) -> Any:
    return default_ssl_context_factory()


def _hook(name: str, args: tuple[str, ...], default: Callable[..., None], doc: str) -> Setting:
    validator = v.post_request_hook if name == "post_request" else v.hook(args)
    return Setting(
        name=name,
        section="Server Hooks",
        doc=doc,
        validator=validator,
        type_doc=f"callable({', '.join(args)})",
        default=default,
        default_doc="a function that does nothing",
        hook_args=args,
    )


DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

# ---------------------------------------------------------------------------------------------
# The table

SETTINGS: tuple[Setting, ...] = (
    # -- Config File ---------------------------------------------------------------------------
    Setting(
        name="config",
        section="Config File",
        flags=("-c", "--config"),
        metavar="CONFIG",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="`./corral.conf.py` if it exists, else `./gunicorn.conf.py` if it exists",
        cli_only=True,
        doc="""
The Python configuration file to load.

Give a path (`PATH` or `file:PATH`) or an importable module (`python:MODULE_NAME`). Without
this option corral looks in the current directory for `corral.conf.py`, then for
`gunicorn.conf.py`, and loads the first one it finds. Only the command line and the
environment arguments can choose the config file; setting `config` inside a config file has
no effect.
""",
    ),
    Setting(
        name="wsgi_app",
        section="Config File",
        validator=v.app_uri,
        type_doc="str",
        default=None,
        doc="""
The WSGI application to serve, as `MODULE:VARIABLE`.

Lets a config file name the application. An `APP` argument on the command line wins over it.
""",
    ),
    # -- Server Socket -------------------------------------------------------------------------
    Setting(
        name="bind",
        section="Server Socket",
        flags=("-b", "--bind"),
        metavar="ADDRESS",
        action="append",
        validator=v.bind_addresses,
        type_doc="list[str]",
        default=["127.0.0.1:8000"],
        default_doc="`['127.0.0.1:8000']`, or `['0.0.0.0:$PORT']` when `PORT` is set",
        env_default=_bind_from_port,
        doc="""
The address(es) to listen on.

Each address is `HOST:PORT`, `[IPv6]:PORT`, `HOST` (port 8000), `unix:PATH` for a Unix
domain socket, or `fd://N` for an already-open socket inherited as file descriptor `N`.
Repeat the flag to listen on several addresses, e.g. `-b 127.0.0.1:8000 -b [::1]:8000`.
When the `PORT` environment variable is set (as on many hosting platforms) the default
listens on all interfaces on that port.
""",
    ),
    Setting(
        name="backlog",
        section="Server Socket",
        flags=("--backlog",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=2048,
        doc="""
The size of the queue of connections waiting to be accepted.

Clients arriving when the queue is full get an error. This only matters under heavy load;
values between 64 and 2048 are usual.
""",
    ),
    # -- Worker Processes ----------------------------------------------------------------------
    Setting(
        name="workers",
        section="Worker Processes",
        flags=("-w", "--workers"),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=1,
        default_doc="`$WEB_CONCURRENCY` if set, else `1`",
        env_default=_workers_from_env,
        doc="""
How many worker processes handle requests.

A common starting point is two to four workers per CPU core; measure with your own
application. If the `WEB_CONCURRENCY` environment variable is set, it is the default.
""",
    ),
    Setting(
        name="worker_class",
        section="Worker Processes",
        flags=("-k", "--worker-class"),
        metavar="STRING",
        validator=v.worker_class,
        type_doc="str",
        default="sync",
        doc="""
The kind of worker process to run.

`sync` (the default) handles one request at a time per worker. Other worker classes are
found by name among installed corral worker plugins (the `corral.workers` entry-point
group: `gthread`, `gevent`, `eventlet`, ...), as `egg:DIST#NAME` (the entry point `NAME`
that the distribution `DIST` registers, as Gunicorn spells it), or as a Python path to a
worker class (`package.module.Class` or `package.module:Class`). Gunicorn's own class
paths and `egg:gunicorn#...` names mean corral's worker of the same kind. A config file
may also assign the class itself.
""",
    ),
    Setting(
        name="threads",
        section="Worker Processes",
        flags=("--threads",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=1,
        doc="""
How many threads each worker uses to handle requests.

Only threaded worker classes use this setting.
""",
    ),
    Setting(
        name="worker_connections",
        section="Worker Processes",
        flags=("--worker-connections",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=1000,
        doc="""
The most clients one worker serves at the same time.

Every worker class counts against it: sync and gthread workers multiplex their clients'
connections in one event loop (the sync worker runs one application call at a time),
gevent and eventlet workers run one green thread per connection. Gunicorn's sync worker
ignores it; corral's holds idle keep-alive and slow clients in the loop, so it applies.
""",
    ),
    Setting(
        name="max_requests",
        section="Worker Processes",
        flags=("--max-requests",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=0,
        doc="""
Restart a worker after it has handled this many requests (0 = never).

Recycling workers now and then bounds the harm done by memory leaks in the application. A
recycled worker costs no client a request: its replacement starts at once, and it serves
every connection it holds to the end of its current request (docs/SIGNALS.md, "When a
worker ends").
""",
    ),
    Setting(
        name="max_requests_jitter",
        section="Worker Processes",
        flags=("--max-requests-jitter",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=0,
        doc="""
A random extra amount, up to this many requests, added to `max_requests` per worker.

Each worker draws its own number so that workers do not all restart at the same moment.
""",
    ),
    Setting(
        name="timeout",
        section="Worker Processes",
        flags=("-t", "--timeout"),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=30,
        doc="""
Kill and replace a worker that has shown no sign of life for this many seconds (0 = never).

For the `sync` worker this bounds how long a single request may take: it is aborted no
earlier than this many seconds after it reached the application, and answered with a 500.
For gthread, gevent and eventlet it only catches a worker whose loop or hub is blocked, as
in Gunicorn. Raise it only if you know your requests legitimately run longer.
""",
    ),
    Setting(
        name="graceful_timeout",
        section="Worker Processes",
        flags=("--graceful-timeout",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=30,
        doc="""
Seconds a retiring worker may take to finish the connections it holds (after `TERM`,
`TTOU` or `--max-requests`).

Workers still running when this time is up are killed.
""",
    ),
    Setting(
        name="keepalive",
        section="Worker Processes",
        flags=("--keep-alive",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=2,
        doc="""
Seconds to wait for the next request on a keep-alive connection.

A few seconds suit clients that connect directly; behind a load balancer that reuses
connections a larger value is often better.
""",
    ),
    # -- Security ------------------------------------------------------------------------------
    Setting(
        name="limit_request_line",
        section="Security",
        flags=("--limit-request-line",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=4094,
        doc="""
The longest request line (method, target and version) accepted, in bytes.

Requests with a longer line are refused with 414. 0 removes the limit. Gunicorn documents
values up to 8190 and accepts larger ones (its own corpus serves an 8,192-byte line under
`limit_request_line = 8200`); corral applies any value as given, and the whole head stays
bounded by `--limit-request-header-bytes`. Keeping a limit protects against clients
sending huge request lines.
""",
    ),
    Setting(
        name="limit_request_fields",
        section="Security",
        flags=("--limit-request-fields",),
        metavar="INT",
        validator=v.integer(0, 32768),
        type_doc="int",
        default=100,
        doc="""
The most header fields accepted in one request.

Requests with more header fields are refused. The value may not exceed 32768.
""",
    ),
    Setting(
        name="limit_request_field_size",
        section="Security",
        flags=("--limit-request-field_size",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=8190,
        doc="""
The longest header field line accepted, in bytes, its CRLF included (431 beyond).

Counted as Gunicorn counts it: `Name: value` plus the two bytes of its line end, so the
default 8190 admits a line of 8188 bytes. 0 means Gunicorn's default, 8190, which is what
Gunicorn 27.0.1 applies for 0 (its help text says "unlimited"; its own corpus refuses an
8,190-byte line with 0). The flag is spelled with an underscore at the end, exactly as in
Gunicorn. The whole head stays bounded by `--limit-request-header-bytes`.
""",
    ),
    Setting(
        name="strip_header_spaces",
        section="Security",
        flags=("--strip-header-spaces",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Serve a field line with whitespace before its colon (`Name : value`) as `Name: value`.

RFC 9112 §5.1 requires a 400 for it, and corral gives one by default: a proxy in front
that reads the name with the space, or that strips it differently, sees another request
than corral. Gunicorn's opt-in for clients that send it, with the same warning; corral
logs one at start-up. Use it only behind nothing, or behind a proxy known to refuse such
lines itself.
""",
    ),
    # -- SSL -----------------------------------------------------------------------------------
    Setting(
        name="certfile",
        section="SSL",
        flags=("--certfile",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        doc="""
The TLS certificate file (PEM): with it every `--bind` address speaks HTTPS.

The file may hold the certificate chain and the private key; otherwise give `--keyfile`
too. Both are read once by the master, before the workers start or drop privileges
(`--user`), so the key may be readable by root only; HUP reads them again, which is how
a renewed certificate is taken into use without a restart. Every worker class serves TLS;
the handshake runs under `--header-timeout`, and `wsgi.url_scheme` is `https`. A missing
or unreadable file stops corral at start-up with one line.
""",
    ),
    Setting(
        name="keyfile",
        section="SSL",
        flags=("--keyfile",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        doc="""
The private key of `--certfile` (PEM), when that file does not hold it.
""",
    ),
    Setting(
        name="ca_certs",
        section="SSL",
        flags=("--ca-certs",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        doc="""
The CA certificates (PEM) that client certificates are verified against.

Used with `--cert-reqs 1` or `2`.
""",
    ),
    Setting(
        name="cert_reqs",
        section="SSL",
        flags=("--cert-reqs",),
        metavar="INT",
        validator=v.integer(0, 2),
        type_doc="int",
        default=0,
        doc="""
Whether clients must present a certificate: 0 no, 1 optional, 2 required.

The values are the `ssl` module's `CERT_NONE`, `CERT_OPTIONAL` and `CERT_REQUIRED`. With 2
a client without a certificate signed by `--ca-certs` fails the handshake and is not
served.
""",
    ),
    Setting(
        name="ciphers",
        section="SSL",
        flags=("--ciphers",),
        metavar="CIPHERS",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        doc="""
The TLS 1.2 cipher suites to offer, as an OpenSSL cipher list.

By default, the `ssl` module's list for servers, which keeps to strong ciphers. An invalid
list stops corral at start-up. (TLS 1.3 suites are not chosen by this list.)
""",
    ),
    Setting(
        name="ssl_context",
        section="SSL",
        validator=v.hook(("config", "default_ssl_context_factory")),
        type_doc="callable(config, default_ssl_context_factory)",
        default=default_ssl_context,
        default_doc="returns `default_ssl_context_factory()`",
        hook_args=("config", "default_ssl_context_factory"),
        doc="""
A hook returning the `ssl.SSLContext` the TLS listeners use.

Called in the master at start and on HUP, when `--certfile` is set, with the configuration
and a function that builds the context the settings describe (certificate, key,
`--ca-certs`, `--cert-reqs`, `--ciphers`). Change what that context lacks and return it,
for example `context.minimum_version = ssl.TLSVersion.TLSv1_3`. A hook that raises, or
returns something else than a context, stops corral at start-up (or fails the reload) with
one line.
""",
    ),
    # -- Logging -------------------------------------------------------------------------------
    Setting(
        name="accesslog",
        section="Logging",
        flags=("--access-logfile",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none (no access log)",
        doc="""
Where to write the access log: a file path, or `-` for standard output.

Without this setting no access log is written.
""",
    ),
    Setting(
        name="access_log_format",
        section="Logging",
        flags=("--access-logformat",),
        metavar="STRING",
        validator=v.raw_string,
        type_doc="str",
        default=DEFAULT_ACCESS_LOG_FORMAT,
        doc="""
The format of access log lines.

The format uses `%(NAME)s` placeholders: `h` client address, `l` always `-`, `u` user name,
`t` time of the request, `r` request line, `m` method, `U` path without query, `q` query
string, `H` protocol, `s` status, `B` response length, `b` response length or `-`, `f`
referrer, `a` user agent, `T`/`M`/`D` request duration in seconds/milliseconds/microseconds,
`L` duration as a decimal number of seconds, `p` process id, `{NAME}i` a request header,
`{NAME}o` a response header and `{NAME}e` an environment variable (write header and variable
names in lower case, e.g. `%({x-forwarded-for}i)s`).
""",
    ),
    Setting(
        name="errorlog",
        section="Logging",
        flags=("--error-logfile", "--log-file"),
        metavar="FILE",
        validator=v.string,
        type_doc="str",
        default="-",
        doc="""
Where to write the error log: a file path, or `-` for standard error.
""",
    ),
    Setting(
        name="loglevel",
        section="Logging",
        flags=("--log-level",),
        metavar="LEVEL",
        validator=v.choice(LOG_LEVELS),
        choices=LOG_LEVELS,
        type_doc="str",
        default="info",
        doc="""
How much the error log says: `debug`, `info`, `warning`, `error` or `critical`.

The level name is not case-sensitive.
""",
    ),
    Setting(
        name="access_log_json",
        section="Logging",
        flags=("--access-log-json",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Write each access log line as one JSON object instead of `--access-logformat` text.

The object holds the atoms `--access-logformat` uses (its other text is ignored), in the
order they first appear, under readable names and with typed values: `h` remote_addr, `l`
ident (always null), `u` user, `t` time (ISO 8601, local time with its offset, to the
millisecond), `r` request, `m` method, `U` path, `q` query, `H` protocol, `s` status
(number), `b` and `B` response_length (number), `f` referer, `a` user_agent, `T`
request_time_s, `M` request_time_ms, `D` request_time_us (whole numbers), `L` request_time
(seconds, a decimal number), `p` pid (number). `{NAME}i`, `{NAME}o` and `{NAME}e` go into
the objects `request_headers`, `response_headers` and `environ`, keyed by NAME in lower
case. A missing value is null, never `-`. So `--access-logformat '%(h)s %(s)s %(M)s
%({x-request-id}i)s' --access-log-json` writes
`{"remote_addr":"10.0.0.1","status":200,"request_time_ms":3,"request_headers":{"x-request-id":"ab12"}}`.
Text is escaped as JSON (non-ASCII as `\\uXXXX`), so a line is always one line.
""",
    ),
    Setting(
        name="capture_output",
        section="Logging",
        flags=("--capture-output",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Send the standard output and error of the server and its application to `--error-logfile`.

Whatever the application prints, and what libraries write to descriptors 1 and 2, lands in
the error log file (reopened on `USR1` like it). Nothing changes when the error log is `-`.
Python buffers `print()` output that does not go to a terminal: set `PYTHONUNBUFFERED=1`
to see each line at once.
""",
    ),
    Setting(
        name="logger_class",
        section="Logging",
        flags=("--logger-class",),
        metavar="STRING",
        validator=v.logger_class,
        type_doc="str",
        default="gunicorn.glogging.Logger",
        default_doc="`'gunicorn.glogging.Logger'` (corral's own, `corral.logs.Logs`)",
        doc="""
The class that writes the error and access logs: `package.module.Class` (or `:Class`).

It must be a subclass of `corral.logs.Logs`, which it is built like
(`Logs.from_config(cfg)`), so it can change, for example, what `access(record)` or
`info(msg)` do. Gunicorn's spelling of the default, `gunicorn.glogging.Logger`, means
corral's own class; Gunicorn's logger classes themselves do not fit corral. A class that
cannot be imported, or is not such a subclass, stops corral at start-up with one line.
""",
    ),
    Setting(
        name="logconfig",
        section="Logging",
        flags=("--log-config",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none",
        doc="""
A logging configuration file in the standard library's `fileConfig` (ini) format.

Applied in the master after corral's own logs are set up: the loggers it names get exactly
what it says. corral's error log is the logger `corral.error` and its access log
`corral.access`; `gunicorn.error` and `gunicorn.access` are the same two loggers, so a
file written for Gunicorn works unchanged. Loggers the file does not name keep what the
other logging settings gave them. `%(here)s` is the file's folder. A missing file or one
that does not apply stops corral at start-up with one line.
""",
    ),
    Setting(
        name="logconfig_dict",
        section="Logging",
        validator=v.dictionary,
        type_doc="dict",
        default={},
        default_doc="`{}` (none)",
        doc="""
A logging configuration as a dict in the standard library's `dictConfig` format.

Like `--log-config` (the same logger names; `gunicorn.error` is `corral.error`). As in
Gunicorn, the dict is laid over defaults, each top-level key it gives replacing the
default's: `version: 1`, `disable_existing_loggers: False`, a formatter `generic` (the
error log's format), handlers `console` (stdout) and `error_console` (stderr), and, when
the dict names no `root` and a `console` handler exists, the root logger at INFO on
`console` (so the application's own log records reach stdout). Unlike Gunicorn's, the
defaults do not name `gunicorn.error` or `gunicorn.access`: a dict that names neither
leaves them on `--error-logfile` and `--access-logfile`. corral's two loggers are never
disabled by `disable_existing_loggers`. When the access log is configured here, each of
its records carries the request's atoms as `record.args` (`record.args["s"]`,
`record.args["{user-agent}i"]`), for filters. Takes precedence over `--log-config-json`,
which takes precedence over `--log-config` (a warning says which is ignored). An unknown
handler class, a bad level or any other error stops corral at start-up with one line.
""",
    ),
    Setting(
        name="logconfig_json",
        section="Logging",
        flags=("--log-config-json",),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none",
        doc="""
A JSON file holding a logging configuration in the `dictConfig` format.

Read and applied as `logconfig_dict`. A file that is missing, unreadable or not JSON stops
corral at start-up with one line (Gunicorn ignores a missing one).
""",
    ),
    Setting(
        name="syslog_addr",
        section="Logging",
        flags=("--log-syslog-to",),
        metavar="SYSLOG_ADDR",
        validator=_syslog.validate_address,
        type_doc="str",
        default=_syslog.DEFAULT_ADDRESS,
        default_doc="`'udp://localhost:514'` (macOS `unix:///var/run/syslog`, FreeBSD "
        "`unix:///var/run/log`, OpenBSD `unix:///dev/log`)",
        doc="""
Where `--log-syslog` sends messages: `udp://HOST:PORT`, `tcp://HOST:PORT` or `unix://PATH`.

A missing port is 514. `unix://PATH#dgram` or `unix://PATH#stream` picks the socket type;
without it a datagram socket is tried, then a stream one. A unix socket that cannot be
connected to or a TCP address that refuses stops corral at start-up with one line; for
UDP only the host name can be checked.
""",
    ),
    Setting(
        name="syslog",
        section="Logging",
        flags=("--log-syslog",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Also send the error log, and the access log, to syslog (`--log-syslog-to`).

Each message is `<PRI>corral.PREFIX.error: [PID] MESSAGE` (`.access` for access lines),
the priority made of `--log-syslog-facility` and the message's level (access lines are
`info`). Gunicorn's tag begins with `gunicorn.` instead. The log files are still written.
""",
    ),
    Setting(
        name="syslog_prefix",
        section="Logging",
        flags=("--log-syslog-prefix",),
        metavar="SYSLOG_PREFIX",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none (`--name`, else the application, `:` written `.`)",
        doc="""
The middle of the syslog tag, `corral.PREFIX.error`: the program name syslog shows.
""",
    ),
    Setting(
        name="syslog_facility",
        section="Logging",
        flags=("--log-syslog-facility",),
        metavar="SYSLOG_FACILITY",
        validator=v.choice(tuple(_syslog.FACILITIES)),
        choices=tuple(_syslog.FACILITIES),
        type_doc="str",
        default="user",
        doc="""
The syslog facility of the messages, e.g. `user`, `daemon` or `local0` to `local7`.
""",
    ),
    Setting(
        name="disable_redirect_access_to_syslog",
        section="Logging",
        flags=("--disable-redirect-access-to-syslog",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
With `--log-syslog`, send only the error log to syslog, not the access log.
""",
    ),
    Setting(
        name="enable_stdio_inheritance",
        section="Logging",
        flags=("-R", "--enable-stdio-inheritance"),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
With `--daemon`, keep the standard output and error the command was started with.

Without it a daemon's standard streams go to `/dev/null`; with it, output redirected by
the shell (`corral -D -R app:app >> out.log 2>&1`) still reaches that file. Standard input
is `/dev/null` either way.
""",
    ),
    # -- Process Naming ------------------------------------------------------------------------
    Setting(
        name="proc_name",
        section="Process Naming",
        flags=("-n", "--name"),
        metavar="STRING",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none: `default_proc_name` names the processes",
        doc="""
A name to show for the server's processes in `ps` and `top`.

Useful to tell several servers apart. With the optional `setproctitle` package installed
(`pip install 'corral[setproctitle]'`) the master's title, as `ps` shows it and
`/proc/PID/cmdline` reads, becomes `corral: master [NAME]` and each worker's
`corral: worker [NAME]` (Gunicorn's `gunicorn: master [NAME]`, with corral's name in front);
a HUP that changes the name renames the master at once and the new workers as they start.
Without the package the titles stay the command line, and corral warns at start-up when
`--name` was given.
""",
    ),
    Setting(
        name="default_proc_name",
        section="Process Naming",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="the APP argument of the command line, else `corral`",
        doc="""
The name in the process titles when `proc_name` (`--name`) is not given.

Gunicorn sets it to the application given on the command line (`gunicorn app:app` shows
`gunicorn: master [app:app]`), unless the config file sets it; corral does the same:
`corral app:app` shows `corral: master [app:app]` and `corral: worker [app:app]`. When the
application comes from the `wsgi_app` setting instead, the name is `corral`. Only a config
file sets it; it has no flag, as in Gunicorn.
""",
    ),
    # -- Server Mechanics ----------------------------------------------------------------------
    Setting(
        name="preload_app",
        section="Server Mechanics",
        flags=("--preload",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Import the application once in the master process, before forking the workers.

Preloading saves memory and start-up time, because the workers share the loaded code. The
price is that restarting workers no longer picks up code changes.
""",
    ),
    Setting(
        name="chdir",
        section="Server Mechanics",
        flags=("--chdir",),
        metavar="DIR",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none (stay in the current directory)",
        doc="""
Change to this directory before loading the application.

A relative path is taken from the directory corral was started in; the directory must exist.
The stored value is the absolute path.
""",
    ),
    Setting(
        name="raw_env",
        section="Server Mechanics",
        flags=("-e", "--env"),
        metavar="ENV",
        action="append",
        validator=v.env_pairs,
        type_doc="list[str]",
        default=[],
        doc="""
Environment variables to set for the application, as `KEY=VALUE`.

Repeat the flag for several variables, e.g. `--env FOO=1 --env BAR=2`, or in a config file
write `raw_env = ["FOO=1", "BAR=2"]`.
""",
    ),
    Setting(
        name="user",
        section="Server Mechanics",
        flags=("-u", "--user"),
        metavar="USER",
        validator=v.user,
        type_doc="str or int",
        default=None,
        default_doc="none (the user corral is started as)",
        doc="""
Switch worker processes to run as this user (a name or a uid).

The master keeps the identity it was started with (it binds the sockets, often on a port
below 1024, as root); each worker switches after the fork, before it imports the
application. Log files and unix socket files corral creates are handed to this user, so
workers can still reopen the logs on USR1. An unknown user stops corral at start.
""",
    ),
    Setting(
        name="group",
        section="Server Mechanics",
        flags=("-g", "--group"),
        metavar="GROUP",
        validator=v.group,
        type_doc="str or int",
        default=None,
        default_doc="none (the group corral is started with)",
        doc="""
Switch worker processes to run as this group (a name or a gid), as `user` does.
""",
    ),
    Setting(
        name="initgroups",
        section="Server Mechanics",
        flags=("--initgroups",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
With `user`: give the workers that user's supplementary groups (`initgroups(3)`); without
it they keep none (the master's are dropped).
""",
    ),
    Setting(
        name="umask",
        section="Server Mechanics",
        flags=("-m", "--umask"),
        metavar="INT",
        validator=v.umask,
        type_doc="int",
        default=None,
        default_doc="none (the umask corral is started with)",
        doc="""
The umask for the unix socket files corral creates (`--bind unix:PATH`), as in Gunicorn:
an int or a string in octal (`0o07`, `007`) or hex.
""",
    ),
    Setting(
        name="reload",
        section="Debugging",
        flags=("--reload",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Restart workers when a source file they loaded changes (for development).

Each worker watches the files of the modules it imported and `reload_extra_files`; on a
change it retires (nothing in flight is cut) and its replacement imports the new code.
With `--preload` the code was imported in the master, so a reload cannot change it.
""",
    ),
    Setting(
        name="reload_engine",
        section="Debugging",
        flags=("--reload-engine",),
        metavar="STRING",
        choices=("auto", "poll", "inotify"),
        validator=v.choice(("auto", "poll", "inotify")),
        type_doc="auto | poll | inotify",
        default="auto",
        doc="""
How `reload` watches: `inotify` (Linux, `pip install 'corral[reload]'`), `poll` (a `stat`
of every file once a second), or `auto`: inotify when it is installed, else poll.
""",
    ),
    Setting(
        name="reload_extra_files",
        section="Debugging",
        flags=("--reload-extra-file",),
        metavar="FILES",
        action="append",
        validator=v.string_list,
        type_doc="list[str]",
        default=[],
        doc="""
More files to watch with `reload` (templates, configuration), beside the modules.
""",
    ),
    Setting(
        name="daemon",
        section="Server Mechanics",
        flags=("-D", "--daemon"),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Detach from the terminal once the sockets are bound: the command returns 0 at once and the
master runs in the background, its standard streams on `/dev/null` (give
`--error-logfile` to keep its log). Start-up errors (a port in use, a bad setting) are
still reported before it detaches. Under systemd, Supervisor, Docker or Kubernetes, leave
this off: they want the process in the foreground.
""",
    ),
    Setting(
        name="pidfile",
        section="Server Mechanics",
        flags=("-p", "--pid"),
        metavar="FILE",
        validator=v.optional_string,
        type_doc="str",
        default=None,
        default_doc="none (no PID file)",
        doc="""
A file to write the master process id to.
""",
    ),
    Setting(
        name="pythonpath",
        section="Server Mechanics",
        flags=("--pythonpath",),
        metavar="STRING",
        validator=v.comma_list,
        type_doc="list[str]",
        default=[],
        doc="""
Directories to add to the Python import path, separated by commas.

For example `--pythonpath /srv/app,/srv/lib`. A config file may give a comma-separated string
or a list.
""",
    ),
    Setting(
        name="sendfile",
        section="Server Mechanics",
        flags=("--no-sendfile",),
        action="store_const",
        const=False,
        validator=v.boolean,
        type_doc="bool",
        default=True,
        default_doc="true, or what the `SENDFILE` environment variable says",
        env_default=_sendfile_from_env,
        doc="""
Send `wsgi.file_wrapper` responses with `sendfile(2)`; `--no-sendfile` turns it off.

With it on, a response the application returns as `environ["wsgi.file_wrapper"](file)`
over a regular file goes from the file to the socket in the kernel, with `sendfile(2)`, in
every worker class (a gevent or eventlet worker waits cooperatively while the socket is
full); over TLS the file is read in blocks with `pread(2)` and encrypted. With it off,
corral never asks the file for its descriptor: it reads the wrapper's blocks with the
file's own `read()` and sends them like any other response body, in every worker class.
Turn it off when the file system's
`sendfile(2)` is broken or slow (some network or virtual file systems), or when the file
object's `read()` does more than its descriptor shows.

As in Gunicorn, when the flag is not given the environment variable `SENDFILE` decides:
`y`, `1`, `yes` or `true` (any case) leave it on, any other value turns it off.
""",
    ),
    Setting(
        name="reuse_port",
        section="Server Mechanics",
        flags=("--reuse-port",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Give each worker listening sockets of its own (`SO_REUSEPORT`): the kernel spreads
connections over the workers.

Without it the workers share one socket per address and an idle worker takes what a busy
one cannot (each connection wakes one waiting worker). With it each TCP address gets one
socket per worker and the kernel sends every new connection to one of them: the load is
spread evenly even when one worker would otherwise win most wake-ups (long keep-alive
connections with `-k gevent`, or many short ones on a loaded machine), but a connection
waits in its own worker's queue even while another worker is idle, so it suits
applications whose requests take similar times. The master keeps every worker's sockets
open, so a worker that exits or is replaced loses nothing queued; when `--workers` goes
down (TTOU, a reload), the kernel is told first (a BPF program on the sockets) to send the
sockets that go no new connection, and their worker accepts what already waits there
before it exits. USR2 hands every socket to the new master.
Unix sockets and inherited sockets without `SO_REUSEPORT` stay shared (with a warning).
Changing it needs a restart: a reload keeps the running value and says so.
""",
    ),
    # -- Server Hooks --------------------------------------------------------------------------
    _hook(
        "on_starting",
        ("server",),
        on_starting,
        "Called once in the master process, just before it initialises.",
    ),
    _hook(
        "on_reload",
        ("server",),
        on_reload,
        "Called in the master process when a reload (SIGHUP) replaces the workers.",
    ),
    _hook(
        "when_ready",
        ("server",),
        when_ready,
        "Called in the master process once the server is listening.",
    ),
    _hook(
        "pre_fork",
        ("server", "worker"),
        pre_fork,
        "Called in the master process just before a worker is forked.",
    ),
    _hook(
        "post_fork",
        ("server", "worker"),
        post_fork,
        "Called in the new worker process just after it is forked.",
    ),
    _hook(
        "post_worker_init",
        ("worker",),
        post_worker_init,
        "Called in a worker once it has loaded the application.",
    ),
    _hook(
        "worker_int",
        ("worker",),
        worker_int,
        "Called in a worker that is stopping because of SIGINT or SIGQUIT.",
    ),
    _hook(
        "worker_abort",
        ("worker",),
        worker_abort,
        "Called in a worker that received SIGABRT, which normally means it timed out.",
    ),
    _hook(
        "pre_exec",
        ("server",),
        pre_exec,
        "Called in the master process just before it re-executes itself (SIGUSR2 upgrade).",
    ),
    _hook(
        "pre_request",
        ("worker", "req"),
        pre_request,
        "Called in a worker just before it handles a request.",
    ),
    _hook(
        "post_request",
        ("worker", "req", "environ", "resp"),
        post_request,
        "Called in a worker just after it has handled a request.\n\n"
        "As with Gunicorn, a function taking only `(worker, req)` or `(worker, req, environ)`"
        "\nis accepted too.",
    ),
    _hook(
        "child_exit",
        ("server", "worker"),
        child_exit,
        "Called in the master process after a worker has exited.",
    ),
    _hook(
        "worker_exit",
        ("server", "worker"),
        worker_exit,
        "Called in a worker process just before it exits.",
    ),
    _hook(
        "nworkers_changed",
        ("server", "new_value", "old_value"),
        nworkers_changed,
        "Called in the master process when the number of workers changes.\n\n"
        "`old_value` is `None` the first time the number is set.",
    ),
    _hook(
        "on_exit",
        ("server",),
        on_exit,
        "Called in the master process just before the server exits.",
    ),
    # -- Debugging -----------------------------------------------------------------------------
    Setting(
        name="check_config",
        section="Debugging",
        flags=("--check-config",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Check the configuration (and that the application loads), then exit.

The exit status is 0 when everything is in order and non-zero otherwise.
""",
    ),
    Setting(
        name="print_config",
        section="Debugging",
        flags=("--print-config",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Print every setting with its final value, then exit. Implies `--check-config`.
""",
    ),
    # -- Connection deadlines (appended) -------------------------------------------------------
    Setting(
        name="header_timeout",
        section="Worker Processes",
        flags=("--header-timeout",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=10,
        doc="""
Seconds a client has to send a complete request head, counted from its first byte.

The deadline does not move when more bytes arrive, so a client that sends its head a byte
at a time (slowloris) is closed when it expires. A new connection's deadline counts from
its accept. Applies to every worker class.
""",
    ),
    Setting(
        name="body_timeout",
        section="Worker Processes",
        flags=("--body-timeout",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=30,
        doc="""
Seconds a request body may go without a single byte arriving before the connection is closed.

With `sync` and `gthread` the application is only called once the body is complete, so a
client that stops sending costs a buffer and a file descriptor until this deadline, never
an application call. With the green workers (`gevent`, `eventlet`), which stream the body
to the application as it reads, the application's read fails when the deadline passes.
""",
    ),
    Setting(
        name="send_timeout",
        section="Worker Processes",
        flags=("--send-timeout",),
        metavar="INT",
        validator=v.integer(1),
        type_doc="int",
        default=30,
        doc="""
Seconds a client may go without accepting a single byte of its response before it is closed.

A client that reads slowly is parked while other connections are served (with the green
workers: its green thread waits); this bounds how long it may hold its response. Applies
to every worker class.
""",
    ),
    # -- PROXY protocol (appended) -------------------------------------------------------------
    Setting(
        name="proxy_protocol",
        section="Server Mechanics",
        flags=("--proxy-protocol",),
        metavar="MODE",
        nargs="?",
        const="auto",
        choices=("off", "v1", "v2", "auto"),
        validator=v.proxy_protocol_mode,
        type_doc="off | v1 | v2 | auto",
        default="off",
        doc="""
Expect a PROXY protocol header (HAProxy's, v1 text or v2 binary) on every connection.

With `v1` or `v2` only that version is accepted; `auto` (the meaning of the bare flag)
accepts either. Every connection from a peer in `--proxy-allow-from` must then begin with a
header, as the protocol requires (the server must not guess): the client address it gives
becomes `REMOTE_ADDR` / `REMOTE_PORT` for every request of the connection, and the parsed
header is in the environ under `corral.proxy_protocol` (Gunicorn's `PROXY_PROTOCOL`,
`PROXY_ADDR` and `PROXY_PORT` keys are set too). A v2 header whose SSL TLV says the client
connected over TLS sets `wsgi.url_scheme` to `https`. A missing or invalid header closes the
connection; a peer outside `--proxy-allow-from` is refused (closed on its first bytes, with
no response). Both are logged, at most a few lines a minute. Needs the codec:
`pip install 'corral[proxy]'`. A config file may also say `proxy_protocol = True` (auto).
""",
    ),
    Setting(
        name="proxy_allow_ips",
        section="Server Mechanics",
        flags=("--proxy-allow-from",),
        metavar="CIDRS",
        validator=v.ip_networks,
        type_doc="comma-separated IP addresses or networks, or '*'",
        default="127.0.0.1,::1",
        doc="""
Peers allowed to send a PROXY protocol header (addresses or CIDR networks).

Only connections from these peers are served when `--proxy-protocol` is on; others are
refused. Unix-socket peers are always allowed. `*` allows any peer: only do that when
nothing but your proxies can reach the port (corral warns at start-up).
""",
    ),
    # -- HTTP strictness and trust (appended) ---------------------------------------------------
    Setting(
        name="permit_obsolete_folding",
        section="Security",
        flags=("--permit-obsolete-folding",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Accept obsolete line folding (a field line continued on the next line) and unfold it.

By default such a request is refused with 400, as RFC 9112 §5.2 allows; with this setting
each fold is replaced by a space before the application sees the value. See docs/HTTP.md.
""",
    ),
    Setting(
        name="casefold_http_method",
        section="Security",
        flags=("--casefold-http-method",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Upper-case the request method before the application sees it.

Methods are case-sensitive (RFC 9110 §9.1). Only useful together with
`--permit-unconventional-http-method`, which lets lower case methods through at all.
""",
    ),
    Setting(
        name="permit_unconventional_http_method",
        section="Security",
        flags=("--permit-unconventional-http-method",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Accept any token as a request method, not only conventional ones.

By default a method must be 3 to 20 characters with no lower case letter and no `#`, as
in Gunicorn. Methods must always be RFC 9110 tokens, and llhttp must know them (else 501).
""",
    ),
    Setting(
        name="permit_unconventional_http_version",
        section="Security",
        flags=("--permit-unconventional-http-version",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Serve requests claiming HTTP/1.2 to HTTP/1.9 as HTTP/1.1.

By default only HTTP/1.0 and HTTP/1.1 are served and other versions get 505 (RFC 9110
§15.6.6); a malformed version is always a 400.
""",
    ),
    Setting(
        name="header_map",
        section="Security",
        flags=("--header-map",),
        metavar="MODE",
        choices=("drop", "refuse", "dangerous"),
        validator=v.choice(("drop", "refuse", "dangerous")),
        type_doc="drop | refuse | dangerous",
        default="drop",
        doc="""
What to do with request header names that contain an underscore.

`X_Forwarded_For` and `X-Forwarded-For` become the same WSGI environ key, so the
application could not tell one from the other. `drop` (the default) removes them, `refuse`
answers 400, `dangerous` passes them on. A `SCRIPT_NAME` header is only ever honoured from
a peer in `--forwarded-allow-ips`.
""",
    ),
    Setting(
        name="forwarded_allow_ips",
        section="Server Mechanics",
        flags=("--forwarded-allow-ips",),
        metavar="CIDRS",
        validator=v.ip_networks,
        type_doc="comma-separated IP addresses or networks, or '*'",
        default="127.0.0.1,::1",
        env_default=lambda environ: (
            ("FORWARDED_ALLOW_IPS", environ["FORWARDED_ALLOW_IPS"])
            if "FORWARDED_ALLOW_IPS" in environ
            else None
        ),
        doc="""
Front-end proxies trusted to set forwarding headers (addresses or CIDR networks).

Only from these peers are `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Forwarded-Port`,
`X-Forwarded-Host`, `Forwarded` (RFC 7239), the `--secure-scheme-headers` and a
`SCRIPT_NAME` header applied to the environ; from any other peer they are ignored. Unix
socket peers are trusted. `*` trusts every peer: corral warns loudly at start-up. The
`FORWARDED_ALLOW_IPS` environment variable sets the default, as in Gunicorn.
""",
    ),
    Setting(
        name="secure_scheme_headers",
        section="Server Mechanics",
        validator=_trust.scheme_headers,
        type_doc="dict",
        default={
            "X-FORWARDED-PROTOCOL": "ssl",
            "X-FORWARDED-PROTO": "https",
            "X-FORWARDED-SSL": "on",
        },
        doc="""
Headers, and their values, by which a trusted front-end says the request came over HTTPS.

A config-file setting (a dict), as in Gunicorn. From a peer in `--forwarded-allow-ips`,
a listed header with its value makes `wsgi.url_scheme` `https`, with another value `http`.
Headers that disagree are all ignored (and logged).
""",
    ),
    Setting(
        name="limit_request_header_bytes",
        section="Security",
        flags=("--limit-request-header-bytes",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=65536,
        doc="""
The largest request head accepted (request line and all field lines), in bytes.

Larger heads get 431, and a connection never buffers more than this while a head is
incomplete. The same bound applies to a chunked body's trailer section. 0 means no limit.
""",
    ),
    Setting(
        name="limit_request_chunk_extension",
        section="Security",
        flags=("--limit-request-chunk-extension",),
        metavar="INT",
        validator=v.integer(0),
        type_doc="int",
        default=1024,
        doc="""
The longest chunk extension accepted on one chunk-size line, in bytes.

Chunk extensions carry nothing an application sees; longer ones get 400. 0 means no limit.
""",
    ),
    # -- Metrics (Gunicorn's statsd settings are in its Logging section) -----------------------
    Setting(
        name="statsd_host",
        section="Logging",
        flags=("--statsd-host",),
        metavar="STATSD_ADDR",
        validator=v.statsd_address,
        type_doc="str",
        default=None,
        default_doc="none (no statsd metrics)",
        doc="""
The address of the StatsD server to send metrics to.

`HOST:PORT` (UDP; `HOST` alone means port 8125) or `unix:PATH` (`unix://PATH`) for a unix
datagram socket. Each request sends `gunicorn.requests` (counter),
`gunicorn.request.duration` (timer, milliseconds) and `gunicorn.request.status.CODE`
(counter); the master sends `gunicorn.workers` (gauge) when the number of workers changes;
every warning, error, exception and critical line of the error log counts in
`gunicorn.log.warning`, `.error`, `.exception`, `.critical`. The names are Gunicorn's, so
its dashboards keep working. A host that does not resolve, or a unix socket that cannot be
reached, stops corral at start; a metric that cannot be sent later is dropped.
""",
    ),
    Setting(
        name="statsd_prefix",
        section="Logging",
        flags=("--statsd-prefix",),
        metavar="STATSD_PREFIX",
        validator=v.ascii_string,
        type_doc="str",
        default="",
        doc="""
A prefix for the statsd metric names (a `.` is added after it if it has none).
""",
    ),
    Setting(
        name="dogstatsd_tags",
        section="Logging",
        flags=("--dogstatsd-tags",),
        metavar="DOGSTATSD_TAGS",
        validator=v.ascii_string,
        type_doc="str",
        default="",
        doc="""
DogStatsD tags added to every statsd metric, comma-separated: `tag1:value1,tag2:value2`.
""",
    ),
    Setting(
        name="enable_backlog_metric",
        section="Logging",
        flags=("--enable-backlog-metric",),
        action="store_true",
        validator=v.boolean,
        type_doc="bool",
        default=False,
        doc="""
Send the number of connections waiting in the listening sockets' queues to statsd.

Once per loop of the master (about once a second), `gunicorn.backlog` (histogram): the sum
over the TCP listening sockets of the connections accepted by the kernel but not yet by a
worker (Linux). With `--metrics-bind`, `corral_listen_backlog` has it too.
""",
    ),
    Setting(
        name="metrics_bind",
        section="Logging",
        flags=("--metrics-bind",),
        metavar="ADDRESS",
        validator=v.listen_address,
        type_doc="str",
        default=None,
        default_doc="none (no metrics endpoint)",
        doc="""
Serve Prometheus metrics of the whole server at `http://ADDRESS/metrics`.

`HOST:PORT` (or `unix:PATH`), for example `127.0.0.1:9100`. A small process of the master's
serves it, not a worker, so it answers while the workers are busy, and adds up every
process's numbers: `corral_requests_total{status="2xx",method="GET"}`,
`corral_request_duration_seconds` (histogram), `corral_requests_in_flight`, `corral_workers`,
`corral_worker_restarts_total{cause}` (`timeout`, `max-requests`, `reload`, `crash`) and
`corral_keepalive_connections`. Needs the `prometheus-client` package
(`pip install 'corral[metrics]'`). corral's own setting: Gunicorn has none.
""",
    ),
)


# Gunicorn settings corral does not implement yet. In a config file they produce a warning
# and are ignored; on the command line their flags are accepted, warned about and ignored, so
# that a Gunicorn command line still starts. When a row above implements one, remove it here.
UNSUPPORTED_SETTINGS: tuple[UnsupportedSetting, ...] = (
    UnsupportedSetting(
        "spew", ("--spew",), takes_value=False, why="a debugging trace; nothing else changes"
    ),
    UnsupportedSetting(
        "worker_tmp_dir",
        ("--worker-tmp-dir",),
        why="the heartbeat is in shared memory and needs no file",
    ),
    UnsupportedSetting("tmp_upload_dir", why="Gunicorn does not use it either"),
    UnsupportedSetting(
        "forwarder_headers",
        ("--forwarder-headers",),
        why="corral takes no WSGI variable but SCRIPT_NAME from a forwarder, and only from "
        "--forwarded-allow-ips peers",
    ),
    UnsupportedSetting(
        "paste",
        ("--paste", "--paster"),
        refuse="the application to serve would not be the one the PasteDeploy file names; "
        "give it as MODULE:VARIABLE instead",
    ),
    UnsupportedSetting("raw_paste_global_conf", ("--paste-global",), why="goes with `paste`"),
    UnsupportedSetting(
        "ssl_version",
        ("--ssl-version",),
        why="deprecated since Gunicorn 21.0, which ignores it too; set "
        "`context.minimum_version` in an `ssl_context` hook instead",
    ),
    UnsupportedSetting(
        "suppress_ragged_eofs",
        ("--suppress-ragged-eofs",),
        takes_value=False,
        why="a TLS client that closes without close_notify ends its connection like any "
        "other closed connection",
        inactive=lambda value: value is True or _inactive(value),
    ),
    UnsupportedSetting(
        "do_handshake_on_connect",
        ("--do-handshake-on-connect",),
        takes_value=False,
        why="the handshake always runs as the client's first bytes arrive, under "
        "--header-timeout, and never blocks the worker",
    ),
    UnsupportedSetting(
        "tolerate_dangerous_framing",
        ("--tolerate-dangerous-framing",),
        takes_value=False,
        why="ambiguous framing stays refused (400): stricter, never looser",
    ),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
UNSUPPORTED_BY_NAME: dict[str, UnsupportedSetting] = {u.name: u for u in UNSUPPORTED_SETTINGS}
