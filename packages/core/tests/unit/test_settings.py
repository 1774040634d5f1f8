"""The settings table, its defaults, its flags and the validators."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from corral.config import SETTINGS, Config, Setting, load_config
from corral.config import settings as settings_module
from corral.config import validators as v
from corral.config.settings import SETTINGS_BY_NAME, UNSUPPORTED_SETTINGS
from corral.config.sources import build_parser
from corral.errors import InfoExit, UsageError

GUNICORN_ACCESS_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'

EXPECTED_DEFAULTS: dict[str, Any] = {
    "config": None,
    "wsgi_app": None,
    "bind": ["127.0.0.1:8000"],
    "backlog": 2048,
    "workers": 1,
    "worker_class": "sync",
    "threads": 1,
    "worker_connections": 1000,
    "max_requests": 0,
    "max_requests_jitter": 0,
    "timeout": 30,
    "graceful_timeout": 30,
    "keepalive": 2,
    "limit_request_line": 4094,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
    "accesslog": None,
    "access_log_format": GUNICORN_ACCESS_FORMAT,
    "errorlog": "-",
    "loglevel": "info",
    "access_log_json": False,
    "capture_output": False,
    "logger_class": "gunicorn.glogging.Logger",
    "logconfig": None,
    "logconfig_dict": {},
    "logconfig_json": None,
    "syslog_addr": "udp://localhost:514",
    "syslog": False,
    "syslog_prefix": None,
    "syslog_facility": "user",
    "disable_redirect_access_to_syslog": False,
    "enable_stdio_inheritance": False,
    "proc_name": None,
    "default_proc_name": None,
    "preload_app": False,
    "chdir": None,
    "raw_env": [],
    "pidfile": None,
    "reload": False,
    "reload_engine": "auto",
    "reload_extra_files": [],
    "daemon": False,
    "user": None,
    "group": None,
    "initgroups": False,
    "umask": None,
    "reuse_port": False,
    "sendfile": True,
    "strip_header_spaces": False,
    "pythonpath": [],
    "check_config": False,
    "print_config": False,
    # corral's connection deadlines (no Gunicorn equivalent)
    "header_timeout": 10,
    "body_timeout": 30,
    "send_timeout": 30,
    # PROXY protocol (Gunicorn's names)
    "proxy_protocol": "off",
    "proxy_allow_ips": ["127.0.0.1/32", "::1/128"],
    # HTTP strictness and trust (Gunicorn's names), and corral's two extra limits
    "permit_obsolete_folding": False,
    "casefold_http_method": False,
    "permit_unconventional_http_method": False,
    "permit_unconventional_http_version": False,
    "header_map": "drop",
    "forwarded_allow_ips": ["127.0.0.1/32", "::1/128"],
    "secure_scheme_headers": {
        "X-FORWARDED-PROTOCOL": "ssl",
        "X-FORWARDED-PROTO": "https",
        "X-FORWARDED-SSL": "on",
    },
    "limit_request_header_bytes": 65536,
    "limit_request_chunk_extension": 1024,
    # TLS (Gunicorn's names)
    "certfile": None,
    "keyfile": None,
    "ca_certs": None,
    "cert_reqs": 0,
    "ciphers": None,
    # Metrics
    "statsd_host": None,
    "statsd_prefix": "",
    "dogstatsd_tags": "",
    "metrics_bind": None,
    "enable_backlog_metric": False,
}

# Gunicorn's hooks and how many positional arguments each is called with.
HOOK_ARITY = {
    "on_starting": 1,
    "on_reload": 1,
    "when_ready": 1,
    "pre_fork": 2,
    "post_fork": 2,
    "post_worker_init": 1,
    "worker_int": 1,
    "worker_abort": 1,
    "pre_exec": 1,
    "pre_request": 2,
    "post_request": 4,
    "child_exit": 2,
    "worker_exit": 2,
    "nworkers_changed": 3,
    "on_exit": 1,
}

# Hooks whose default does something: called with the same arguments as Gunicorn's.
VALUE_HOOK_ARITY = {"ssl_context": 2}

# Gunicorn's flags for each implemented setting, exactly.
EXPECTED_FLAGS = {
    "config": ("-c", "--config"),
    "bind": ("-b", "--bind"),
    "backlog": ("--backlog",),
    "workers": ("-w", "--workers"),
    "worker_class": ("-k", "--worker-class"),
    "threads": ("--threads",),
    "worker_connections": ("--worker-connections",),
    "max_requests": ("--max-requests",),
    "max_requests_jitter": ("--max-requests-jitter",),
    "timeout": ("-t", "--timeout"),
    "graceful_timeout": ("--graceful-timeout",),
    "keepalive": ("--keep-alive",),
    "limit_request_line": ("--limit-request-line",),
    "limit_request_fields": ("--limit-request-fields",),
    "limit_request_field_size": ("--limit-request-field_size",),
    "chdir": ("--chdir",),
    "pythonpath": ("--pythonpath",),
    "raw_env": ("-e", "--env"),
    "preload_app": ("--preload",),
    "pidfile": ("-p", "--pid"),
    "reload": ("--reload",),
    "reload_engine": ("--reload-engine",),
    "reload_extra_files": ("--reload-extra-file",),
    "daemon": ("-D", "--daemon"),
    "user": ("-u", "--user"),
    "group": ("-g", "--group"),
    "initgroups": ("--initgroups",),
    "umask": ("-m", "--umask"),
    "reuse_port": ("--reuse-port",),
    "sendfile": ("--no-sendfile",),
    "strip_header_spaces": ("--strip-header-spaces",),
    "certfile": ("--certfile",),
    "keyfile": ("--keyfile",),
    "ca_certs": ("--ca-certs",),
    "cert_reqs": ("--cert-reqs",),
    "ciphers": ("--ciphers",),
    "proc_name": ("-n", "--name"),
    "loglevel": ("--log-level",),
    "accesslog": ("--access-logfile",),
    "errorlog": ("--error-logfile", "--log-file"),
    "access_log_format": ("--access-logformat",),
    "access_log_json": ("--access-log-json",),
    "capture_output": ("--capture-output",),
    "logger_class": ("--logger-class",),
    "logconfig": ("--log-config",),
    "logconfig_json": ("--log-config-json",),
    "syslog_addr": ("--log-syslog-to",),
    "syslog": ("--log-syslog",),
    "syslog_prefix": ("--log-syslog-prefix",),
    "syslog_facility": ("--log-syslog-facility",),
    "disable_redirect_access_to_syslog": ("--disable-redirect-access-to-syslog",),
    "enable_stdio_inheritance": ("-R", "--enable-stdio-inheritance"),
    "check_config": ("--check-config",),
    "print_config": ("--print-config",),
    "header_timeout": ("--header-timeout",),
    "body_timeout": ("--body-timeout",),
    "send_timeout": ("--send-timeout",),
    "proxy_protocol": ("--proxy-protocol",),
    "proxy_allow_ips": ("--proxy-allow-from",),
    "permit_obsolete_folding": ("--permit-obsolete-folding",),
    "casefold_http_method": ("--casefold-http-method",),
    "permit_unconventional_http_method": ("--permit-unconventional-http-method",),
    "permit_unconventional_http_version": ("--permit-unconventional-http-version",),
    "header_map": ("--header-map",),
    "forwarded_allow_ips": ("--forwarded-allow-ips",),
    "limit_request_header_bytes": ("--limit-request-header-bytes",),
    "limit_request_chunk_extension": ("--limit-request-chunk-extension",),
    "statsd_host": ("--statsd-host",),
    "statsd_prefix": ("--statsd-prefix",),
    "dogstatsd_tags": ("--dogstatsd-tags",),
    "metrics_bind": ("--metrics-bind",),
    "enable_backlog_metric": ("--enable-backlog-metric",),
}


def defaults(environ: dict[str, str] | None = None) -> Config:
    return load_config([], environ or {}, cwd="/")


# ---------------------------------------------------------------------------------------------
# The table


def test_table_has_exactly_the_expected_settings() -> None:
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    assert set(names) == set(EXPECTED_DEFAULTS) | set(HOOK_ARITY) | set(VALUE_HOOK_ARITY)


def test_flags_match_gunicorn() -> None:
    for setting in SETTINGS:
        assert setting.flags == EXPECTED_FLAGS.get(setting.name, ()), setting.name


def test_flags_are_unique_across_settings_and_unsupported() -> None:
    flags = [f for s in SETTINGS for f in s.flags] + [
        f for u in UNSUPPORTED_SETTINGS for f in u.flags
    ]
    assert len(flags) == len(set(flags))


def test_unsupported_names_do_not_overlap_the_table() -> None:
    unsupported = {u.name for u in UNSUPPORTED_SETTINGS}
    assert not unsupported & set(SETTINGS_BY_NAME)
    assert {
        "worker_tmp_dir",
        "ssl_version",
        "paste",
    } <= unsupported


def test_setting_rows_are_frozen() -> None:
    setting = SETTINGS_BY_NAME["workers"]
    with pytest.raises(AttributeError):
        setting.name = "other"  # type: ignore[misc]


def test_every_row_has_a_doc_and_a_known_section() -> None:
    for setting in SETTINGS:
        assert setting.short and not setting.short.startswith(" "), setting.name
        assert setting.section in settings_module.SECTIONS, setting.name


def test_row_format_can_express_optional_value_flag() -> None:
    # A future row like Gunicorn's --proxy-protocol [MODE]: bare flag = const.
    row = Setting(
        name="demo_mode",
        section="Server Mechanics",
        doc="Demo.",
        validator=v.choice(("off", "auto", "v1")),
        type_doc="str",
        default="off",
        flags=("--demo-mode",),
        metavar="MODE",
        nargs="?",
        const="auto",
        choices=("off", "auto", "v1"),
    )
    assert row.takes_value and row.nargs == "?" and row.const == "auto"


# ---------------------------------------------------------------------------------------------
# Defaults


@pytest.mark.parametrize("name", sorted(EXPECTED_DEFAULTS))
def test_default(name: str) -> None:
    cfg = defaults()
    assert getattr(cfg, name) == EXPECTED_DEFAULTS[name]
    assert cfg.source(name) == "default"


@pytest.mark.parametrize("name", sorted(HOOK_ARITY))
def test_default_hooks_are_no_ops_with_gunicorn_arity(name: str) -> None:
    hook = getattr(defaults(), name)
    assert hook(*([object()] * HOOK_ARITY[name])) is None
    assert SETTINGS_BY_NAME[name].hook_args is not None
    assert len(SETTINGS_BY_NAME[name].hook_args or ()) == HOOK_ARITY[name]


def test_the_default_ssl_context_hook_returns_the_factorys_context() -> None:
    made = object()
    hook = defaults().ssl_context
    assert hook(object(), lambda: made) is made
    assert len(SETTINGS_BY_NAME["ssl_context"].hook_args or ()) == VALUE_HOOK_ARITY["ssl_context"]


def test_bind_default_uses_port_env() -> None:
    assert defaults({"PORT": "5000"}).bind == ["0.0.0.0:5000"]


def test_bind_default_rejects_bad_port_env() -> None:
    with pytest.raises(UsageError, match=r"PORT.*expected a port number"):
        defaults({"PORT": "http"})


def test_workers_default_uses_web_concurrency() -> None:
    cfg = defaults({"WEB_CONCURRENCY": "5"})
    assert cfg.workers == 5


def test_workers_default_rejects_bad_web_concurrency() -> None:
    with pytest.raises(UsageError, match=r"WEB_CONCURRENCY.*expected an integer >= 1, got '0'"):
        defaults({"WEB_CONCURRENCY": "0"})


def test_app_uri_defaults_to_none() -> None:
    cfg = defaults()
    assert cfg.app_uri is None
    assert cfg.config_file is None
    assert cfg.warnings == []


# ---------------------------------------------------------------------------------------------
# Each flag parses


FLAG_CASES: list[tuple[list[str], str, Any]] = [
    (["-b", "0.0.0.0:80"], "bind", ["0.0.0.0:80"]),
    (["--bind", "unix:/tmp/s", "--bind", "[::1]:9"], "bind", ["unix:/tmp/s", "[::1]:9"]),
    (["--backlog", "64"], "backlog", 64),
    (["-w", "4"], "workers", 4),
    (["--workers=3"], "workers", 3),
    (["-k", "gthread"], "worker_class", "gthread"),
    (["--worker-class", "pkg.mod.MyWorker"], "worker_class", "pkg.mod.MyWorker"),
    (["--threads", "8"], "threads", 8),
    (["--worker-connections", "50"], "worker_connections", 50),
    (["--max-requests", "1000"], "max_requests", 1000),
    (["--max-requests-jitter", "50"], "max_requests_jitter", 50),
    (["-t", "0"], "timeout", 0),
    (["--timeout", "120"], "timeout", 120),
    (["--graceful-timeout", "5"], "graceful_timeout", 5),
    (["--keep-alive", "10"], "keepalive", 10),
    (["--limit-request-line", "0"], "limit_request_line", 0),
    (["--limit-request-line", "8190"], "limit_request_line", 8190),
    (["--limit-request-line", "8200"], "limit_request_line", 8200),
    (["--limit-request-fields", "32768"], "limit_request_fields", 32768),
    (["--limit-request-field_size", "0"], "limit_request_field_size", 0),
    (["--pythonpath", "/a, /b"], "pythonpath", ["/a", "/b"]),
    (["-e", "A=1", "--env", "B=x=y", "-e", "C="], "raw_env", ["A=1", "B=x=y", "C="]),
    (["--preload"], "preload_app", True),
    (["-p", "/run/corral.pid"], "pidfile", "/run/corral.pid"),
    (["--pid", "x.pid"], "pidfile", "x.pid"),
    (["--reload"], "reload", True),
    (["--reload-engine", "poll"], "reload_engine", "poll"),
    (
        ["--reload-extra-file", "a.html", "--reload-extra-file", "b"],
        "reload_extra_files",
        ["a.html", "b"],
    ),
    (["-D"], "daemon", True),
    (["--daemon"], "daemon", True),
    (["-u", "0"], "user", 0),
    (["--user", "root"], "user", 0),
    (["-g", "0"], "group", 0),
    (["--group", "root"], "group", 0),
    (["--initgroups"], "initgroups", True),
    (["-m", "0o22"], "umask", 0o22),
    (["--umask", "0x12"], "umask", 0x12),
    (["--reuse-port"], "reuse_port", True),
    (["--no-sendfile"], "sendfile", False),
    (["--strip-header-spaces"], "strip_header_spaces", True),
    (["--certfile", "site.pem"], "certfile", "site.pem"),
    (["--keyfile", "site.key"], "keyfile", "site.key"),
    (["--ca-certs", "ca.pem"], "ca_certs", "ca.pem"),
    (["--cert-reqs", "2"], "cert_reqs", 2),
    (["--ciphers", "ECDHE+AESGCM"], "ciphers", "ECDHE+AESGCM"),
    (["-n", "shop"], "proc_name", "shop"),
    (["--name", "shop"], "proc_name", "shop"),
    (["--log-level", "DEBUG"], "loglevel", "debug"),
    (["--access-logfile", "-"], "accesslog", "-"),
    (["--error-logfile", "/var/log/e.log"], "errorlog", "/var/log/e.log"),
    (["--log-file", "-"], "errorlog", "-"),
    (["--access-logformat", "%(h)s %(r)s"], "access_log_format", "%(h)s %(r)s"),
    (["--access-log-json"], "access_log_json", True),
    (["--capture-output"], "capture_output", True),
    (["--logger-class", "myapp.logs.Tagged"], "logger_class", "myapp.logs.Tagged"),
    (["--log-config", "logging.ini"], "logconfig", "logging.ini"),
    (["--log-config-json", "logging.json"], "logconfig_json", "logging.json"),
    (["--log-syslog-to", "unix:///dev/log#dgram"], "syslog_addr", "unix:///dev/log#dgram"),
    (["--log-syslog-to", "tcp://[::1]:6514"], "syslog_addr", "tcp://[::1]:6514"),
    (["--log-syslog"], "syslog", True),
    (["--log-syslog-prefix", "shop"], "syslog_prefix", "shop"),
    (["--log-syslog-facility", "LOCAL3"], "syslog_facility", "local3"),
    (["--disable-redirect-access-to-syslog"], "disable_redirect_access_to_syslog", True),
    (["-R"], "enable_stdio_inheritance", True),
    (["--enable-stdio-inheritance"], "enable_stdio_inheritance", True),
    (["--check-config"], "check_config", True),
    (["--print-config"], "print_config", True),
    (["--header-timeout", "3"], "header_timeout", 3),
    (["--body-timeout", "4"], "body_timeout", 4),
    (["--send-timeout", "5"], "send_timeout", 5),
    (["--permit-obsolete-folding"], "permit_obsolete_folding", True),
    (["--casefold-http-method"], "casefold_http_method", True),
    (["--permit-unconventional-http-method"], "permit_unconventional_http_method", True),
    (["--permit-unconventional-http-version"], "permit_unconventional_http_version", True),
    (["--header-map", "refuse"], "header_map", "refuse"),
    (["--forwarded-allow-ips", "10.1.0.0/16"], "forwarded_allow_ips", ["10.1.0.0/16"]),
    (["--limit-request-header-bytes", "32768"], "limit_request_header_bytes", 32768),
    (["--limit-request-chunk-extension", "64"], "limit_request_chunk_extension", 64),
    (["--proxy-protocol"], "proxy_protocol", "auto"),
    (["--proxy-protocol", "v2"], "proxy_protocol", "v2"),
    (
        ["--proxy-allow-from", "10.0.0.0/8,192.0.2.7"],
        "proxy_allow_ips",
        ["10.0.0.0/8", "192.0.2.7/32"],
    ),
    (["--statsd-host", "localhost:9125"], "statsd_host", "localhost:9125"),
    (["--statsd-prefix", "shop"], "statsd_prefix", "shop"),
    (["--dogstatsd-tags", "env:prod,app:shop"], "dogstatsd_tags", "env:prod,app:shop"),
    (["--metrics-bind", "127.0.0.1:9100"], "metrics_bind", "127.0.0.1:9100"),
    (["--enable-backlog-metric"], "enable_backlog_metric", True),
]


@pytest.mark.parametrize(
    ("text", "kind", "where"),
    [
        ("localhost:9125", "tcp", ("localhost", 9125)),
        ("statsd.internal", "tcp", ("statsd.internal", 8125)),  # Gunicorn's default port
        ("[::1]:9125", "tcp", ("::1", 9125)),
        ("unix:/run/statsd.sock", "unix", "/run/statsd.sock"),
        ("unix:///run/statsd.sock", "unix", "/run/statsd.sock"),
        ("unix:8125", "tcp", ("unix", 8125)),  # Gunicorn: the host named "unix"
    ],
)
def test_statsd_address_forms(text: str, kind: str, where: object) -> None:
    address = v.statsd_target(text)
    assert address.kind == kind
    assert (address.path if kind == "unix" else (address.host, address.port)) == where


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--statsd-host", "fd://3"], "--statsd-host: expected an address like HOST:PORT"),
        (["--statsd-host", ":8125"], "--statsd-host: expected an address like HOST:PORT"),
        (["--statsd-host", "host:99999"], "--statsd-host: expected a port number"),
        (["--metrics-bind", "fd://3"], "--metrics-bind: expected HOST:PORT or unix:PATH"),
        (["--metrics-bind", "127.0.0.1:port"], "--metrics-bind: expected a port number"),
    ],
)
def test_malformed_metrics_addresses(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match="^" + re.escape(message)):
        load_config(argv, {}, cwd="/")


def test_bare_proxy_protocol_flag_before_the_app() -> None:
    # Gunicorn's bare flag directly before APP: the word is the app, the mode is auto.
    cfg = load_config(["--proxy-protocol", "myapp:app"], {}, cwd="/")
    assert cfg.proxy_protocol == "auto" and cfg.app_uri == "myapp:app"
    with pytest.raises(UsageError, match="--proxy-protocol: expected one of off, v1, v2, auto"):
        load_config(["--proxy-protocol", "v3", "myapp:app"], {}, cwd="/")


def test_proxy_protocol_boolean_in_a_config_file(tmp_path: Path) -> None:
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text("proxy_protocol = True\nproxy_allow_ips = '*'\n")
    cfg = load_config(["-c", str(conf)], {}, cwd=str(tmp_path))
    assert cfg.proxy_protocol == "auto" and cfg.proxy_allow_ips == ["*"]


@pytest.mark.parametrize(("argv", "name", "expected"), FLAG_CASES)
def test_flag_parses(argv: list[str], name: str, expected: Any) -> None:
    cfg = load_config(argv, {}, cwd="/")
    assert getattr(cfg, name) == expected
    assert cfg.source(name) == "command line"


def test_every_flag_is_covered_by_a_parse_case() -> None:
    used = {arg.split("=")[0] for argv, _, _ in FLAG_CASES for arg in argv if arg.startswith("-")}
    # --config and --chdir need files on disk: they have their own tests.
    all_flags = {f for s in SETTINGS for f in s.flags} - {"-c", "--config", "--chdir"}
    assert all_flags <= used


def test_chdir_flag_resolves_against_cwd(tmp_path: Any) -> None:
    (tmp_path / "site").mkdir()
    cfg = load_config(["--chdir", "site"], {}, cwd=str(tmp_path))
    assert cfg.chdir == str(tmp_path / "site")


def test_chdir_flag_must_exist(tmp_path: Any) -> None:
    with pytest.raises(UsageError, match=r"^--chdir: expected an existing directory, got 'nope'$"):
        load_config(["--chdir", "nope"], {}, cwd=str(tmp_path))


def test_positional_app() -> None:
    cfg = load_config(["-w", "2", "myapp.wsgi:application"], {}, cwd="/")
    assert cfg.app_uri == "myapp.wsgi:application"
    assert cfg.workers == 2


def test_positional_app_must_look_like_a_module_path() -> None:
    with pytest.raises(UsageError, match=r"^APP: expected an application path"):
        load_config(["not a module"], {}, cwd="/")


# ---------------------------------------------------------------------------------------------
# Command-line errors: one line, naming the flag and the value


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "abc"], "--workers: expected an integer >= 1, got 'abc'"),
        (["-w", "0"], "--workers: expected an integer >= 1, got '0'"),
        (["--timeout", "-1"], "--timeout: expected an integer >= 0, got '-1'"),
        (
            ["--limit-request-line", "-1"],
            "--limit-request-line: expected an integer >= 0, got '-1'",
        ),
        (
            ["--limit-request-fields", "32769"],
            "--limit-request-fields: expected an integer from 0 to 32768, got '32769'",
        ),
        (
            ["--log-level", "loud"],
            "--log-level: expected one of debug, info, warning, error, critical, got 'loud'",
        ),
        (["-e", "NOVALUE"], "--env: expected KEY=VALUE, got 'NOVALUE'"),
        (["-e", "=x"], "--env: expected KEY=VALUE, got '=x'"),
        (["-b", "host:99999"], "--bind: expected a port number from 0 to 65535, got 'host:99999'"),
        (
            ["-k", "not a class"],
            "--worker-class: expected a worker class name, dotted path or egg:DIST#NAME, "
            "got 'not a class'",
        ),
        (["--wrokers", "3"], "unrecognized option '--wrokers' (did you mean '--workers'?)"),
        (["--zzzz"], "unrecognized option '--zzzz'"),
        (["--workers"], "--workers: missing value (expected INT)"),
        (["-w"], "--workers: missing value (expected INT)"),
        (["--preload=yes"], "--preload: takes no value, got 'yes'"),
        (["a:app", "b:app"], "unexpected extra argument 'b:app' (only one APP may be given)"),
    ],
)
def test_command_line_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        load_config(argv, {}, cwd="/")
    assert info.value.message == message
    assert "\n" not in info.value.message
    assert info.value.exit_code == 2


def test_abbreviations_are_not_accepted() -> None:
    with pytest.raises(UsageError, match="unrecognized option '--work'"):
        load_config(["--work", "3"], {}, cwd="/")


@pytest.mark.parametrize(
    ("environ", "argv", "expected"),
    [
        ({}, [], True),
        ({"SENDFILE": "1"}, [], True),
        ({"SENDFILE": " Yes "}, [], True),
        ({"SENDFILE": "y"}, [], True),
        ({"SENDFILE": "TRUE"}, [], True),
        ({"SENDFILE": "0"}, [], False),
        ({"SENDFILE": "off"}, [], False),
        ({"SENDFILE": ""}, [], False),
        ({"SENDFILE": "1"}, ["--no-sendfile"], False),
    ],
)
def test_sendfile_follows_the_flag_then_gunicorns_sendfile_variable(
    environ: dict[str, str], argv: list[str], expected: bool
) -> None:
    assert load_config([*argv, "app:app"], environ, cwd="/").sendfile is expected


@pytest.mark.parametrize(
    ("conf", "argv", "expected"),
    [
        ("", ["app:app"], "app:app"),
        ("", ["-n", "shop", "app:app"], "shop"),
        ('default_proc_name = "conf"\n', ["app:app"], "conf"),
        ('default_proc_name = "conf"\n', ["--name", "shop", "app:app"], "shop"),
        ('wsgi_app = "app:app"\n', [], "corral"),
        ('proc_name = "conf"\ndefault_proc_name = "other"\n', ["app:app"], "conf"),
    ],
)
def test_process_name_is_name_then_default_proc_name_then_the_app_argument(
    tmp_path: Path, conf: str, argv: list[str], expected: str
) -> None:
    (tmp_path / "corral.conf.py").write_text(conf)
    assert load_config(argv, {}, cwd=str(tmp_path)).process_name == expected


def test_unsupported_gunicorn_flags_warn_and_are_ignored() -> None:
    cfg = load_config(["--worker-tmp-dir", "/dev/shm", "--spew", "app:app"], {}, cwd="/")
    assert cfg.app_uri == "app:app"
    assert cfg.warnings == [
        "option '--worker-tmp-dir' (Gunicorn setting 'worker_tmp_dir') is not supported by "
        "corral and is ignored: the heartbeat is in shared memory and needs no file",
        "option '--spew' (Gunicorn setting 'spew') is not supported by corral and is "
        "ignored: a debugging trace; nothing else changes",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["--paste", "development.ini"],
        ["--paster", "development.ini"],
    ],
)
def test_unsupported_flags_whose_absence_is_a_hazard_are_refused(argv: list[str]) -> None:
    with pytest.raises(UsageError) as info:
        load_config([*argv, "app:app"], {}, cwd="/")
    assert info.value.exit_code == 2
    assert f"option '{argv[0]}' " in info.value.message
    assert "corral refuses to start rather than ignore it" in info.value.message


def test_user_and_group_are_resolved_to_ids_and_unknown_ones_refused() -> None:
    import grp
    import pwd

    cfg = load_config(["-u", "nobody", "-g", "nogroup", "--umask", "007", "a:app"], {}, cwd="/")
    assert cfg.user == pwd.getpwnam("nobody").pw_uid
    assert cfg.group == grp.getgrnam("nogroup").gr_gid
    assert cfg.umask == 0o7 and cfg.warnings == []
    with pytest.raises(UsageError, match="no such user 'nobody-at-all'"):
        load_config(["-u", "nobody-at-all", "a:app"], {}, cwd="/")
    with pytest.raises(UsageError, match="umask from 0 to 0o777"):
        load_config(["-m", "0o1777", "a:app"], {}, cwd="/")


def test_help_raises_info_exit_with_every_flag() -> None:
    with pytest.raises(InfoExit) as info:
        load_config(["--help"], {}, cwd="/")
    text = info.value.message
    assert info.value.exit_code == 0
    assert text.startswith("usage: corral")
    for setting in SETTINGS:
        for flag in setting.flags:
            assert flag in text, flag
    for section in ("Server Socket", "Worker Processes", "Logging", "Security", "Debugging"):
        assert section in text
    # The default access-log format contains '%', which argparse must not choke on.
    assert "%(h)s" in text


def test_short_help_flag_wins_over_errors_later_in_argv() -> None:
    with pytest.raises(InfoExit):
        load_config(["-h", "--workers", "abc"], {}, cwd="/")


def test_version() -> None:
    with pytest.raises(InfoExit) as info:
        load_config(["--version"], {}, cwd="/")
    assert info.value.message == "corral 0.1.0"


def test_parser_never_exits(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(UsageError):
        parser.error("boom")
    with pytest.raises(UsageError):
        parser.exit(2, "bye")
    assert capsys.readouterr() == ("", "")


# ---------------------------------------------------------------------------------------------
# Validators


@pytest.mark.parametrize(
    ("validator", "bad", "message"),
    [
        (v.integer(1), "abc", "expected an integer >= 1, got 'abc'"),
        (v.integer(1), 0, "expected an integer >= 1, got 0"),
        (v.integer(1), True, "expected an integer >= 1, got True"),
        (v.integer(1), 2.5, "expected an integer >= 1, got 2.5"),
        (v.integer(0, 10), "11", "expected an integer from 0 to 10, got '11'"),
        (v.boolean, "maybe", "expected true or false, got 'maybe'"),
        (v.boolean, 2, "expected true or false, got 2"),
        (v.string, "", "expected a non-empty string, got ''"),
        (v.string, 5, "expected a non-empty string, got 5"),
        (v.optional_string, ["x"], "expected a non-empty string, got ['x']"),
        (v.raw_string, None, "expected a string, got None"),
        (v.choice(("a", "b")), "c", "expected one of a, b, got 'c'"),
        (v.worker_class, 3, "expected a worker class name, dotted path or egg:DIST#NAME, got 3"),
        (v.app_uri, "mod:", "expected an application path MODULE:VARIABLE, got 'mod:'"),
        (v.app_uri, "1mod:app", "expected an application path MODULE:VARIABLE, got '1mod:app'"),
        (v.string_list, 5, "expected a list of strings, got 5"),
        (v.string_list, ["a", ""], "expected a non-empty string, got ''"),
        (v.comma_list, 7, "expected a list of strings, got 7"),
        (v.env_pairs, ["A=1", "B"], "expected KEY=VALUE, got 'B'"),
        (v.env_pairs, [3], "expected KEY=VALUE, got 3"),
        (v.bind_addresses, [], "expected at least one address, got []"),
        (
            v.bind_addresses,
            [80],
            "expected an address like HOST:PORT, [IPv6]:PORT, HOST, unix:PATH or fd://N, got 80",
        ),
        (
            v.ip_networks,
            "10.0.0.0/8, nope",
            "expected '*' or IP addresses / CIDR networks, got 'nope'",
        ),
    ],
)
def test_validator_rejects(validator: Any, bad: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        validator(bad)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("validator", "good", "expected"),
    [
        (v.integer(1), "4", 4),
        (v.integer(1), " 4 ", 4),
        (v.integer(0), 0, 0),
        (v.boolean, "TRUE", True),
        (v.boolean, "no", False),
        (v.boolean, False, False),
        (v.string, "  x ", "x"),
        (v.optional_string, None, None),
        (v.raw_string, " %(h)s ", " %(h)s "),
        (v.choice(("Info", "debug")), "INFO", "Info"),
        (v.worker_class, "sync", "sync"),
        (v.worker_class, int, int),
        (v.app_uri, "pkg.mod:app", "pkg.mod:app"),
        (v.app_uri, "pkg.mod", "pkg.mod"),
        (v.string_list, "one", ["one"]),
        (v.comma_list, "a,,b ,", ["a", "b"]),
        (v.comma_list, ["a", "b"], ["a", "b"]),
        (v.env_pairs, ("A=1", "B="), ["A=1", "B="]),
        (v.bind_addresses, "127.0.0.1:80", ["127.0.0.1:80"]),
        (v.ip_networks, "*", ["*"]),
        (v.ip_networks, ["10.1.2.3/8", "::1"], ["10.0.0.0/8", "::1/128"]),
    ],
)
def test_validator_accepts(validator: Any, good: object, expected: object) -> None:
    assert validator(good) == expected


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("127.0.0.1:8000", v.Address("tcp", host="127.0.0.1", port=8000)),
        ("localhost", v.Address("tcp", host="localhost", port=8000)),
        ("example.com:0", v.Address("tcp", host="example.com", port=0)),
        ("[::1]:9000", v.Address("tcp", host="::1", port=9000)),
        ("[::]", v.Address("tcp", host="::", port=8000)),
        ("::1", v.Address("tcp", host="::1", port=8000)),
        ("tcp://10.0.0.1:65535", v.Address("tcp", host="10.0.0.1", port=65535)),
        (":8080", v.Address("tcp", host="", port=8080)),
        ("unix:/run/app.sock", v.Address("unix", path="/run/app.sock")),
        ("unix:///run/app.sock", v.Address("unix", path="/run/app.sock")),
        ("fd://3", v.Address("fd", fd=3)),
    ],
)
def test_parse_address_accepts(address: str, parsed: v.Address) -> None:
    assert v.parse_address(address) == parsed


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("host:65536", "expected a port number from 0 to 65535"),
        ("host:http", "expected a port number from 0 to 65535"),
        ("host:", "expected a port number from 0 to 65535"),
        ("[::1", "expected an address like"),
        ("[::1]x", "expected an address like"),
        ("[nothex]:80", "expected a valid IPv6 address in brackets"),
        ("1:2:3", "expected an address like"),
        ("unix:", "expected an address like"),
        ("fd://", "expected fd://N"),
        ("fd://-1", "expected fd://N"),
        ("", "expected an address like"),
        ("two words:80", "expected an address like"),
        ("1.2.3:80", "expected an address like"),
        ("bad_-:80", "expected an address like"),
    ],
)
def test_parse_address_rejects(address: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        v.parse_address(address)
    assert str(info.value).startswith(reason)
    assert repr(address) in str(info.value)


def test_hook_validator_checks_arity() -> None:
    validate = v.hook(("server", "worker"))

    def two(server: object, worker: object) -> None: ...

    def flexible(*args: object) -> None: ...

    def one(server: object) -> None: ...

    assert validate(two) is two
    assert validate(flexible) is flexible
    with pytest.raises(ValueError) as info:
        validate(one)
    assert str(info.value) == (
        "expected a callable taking 2 positional arguments (server, worker), got one(server)"
    )
    with pytest.raises(ValueError, match="got 'text'"):
        validate("text")


def test_post_request_hook_accepts_two_to_four_arguments() -> None:
    calls: list[tuple[object, ...]] = []

    def four(w: object, r: object, e: object, s: object) -> None:
        calls.append((w, r, e, s))

    def two(w: object, r: object) -> None:
        calls.append((w, r))

    assert v.post_request_hook(four) is four
    adapted = v.post_request_hook(two)
    adapted(1, 2, 3, 4)
    assert calls == [(1, 2)]
    assert v.describe_callable(adapted).endswith("two")
    with pytest.raises(ValueError, match="taking 2 to 4 positional arguments"):
        v.post_request_hook(lambda w: None)


# ---------------------------------------------------------------------------------------------
# Config object


def test_config_is_read_only() -> None:
    cfg = defaults()
    with pytest.raises(AttributeError):
        cfg.workers = 3
    with pytest.raises(AttributeError):
        _ = cfg.no_such_setting
    # Lists handed out are copies: mutating them does not change the config.
    cfg.bind.append("0.0.0.0:1")
    assert cfg.bind == ["127.0.0.1:8000"]


def test_replace_validates_and_marks_source() -> None:
    cfg = defaults()
    changed = cfg.replace(workers="6", loglevel="ERROR")
    assert (changed.workers, changed.loglevel) == (6, "error")
    assert changed.source("workers") == "override"
    assert cfg.workers == 1
    with pytest.raises(UsageError, match=r"^setting 'workers': expected an integer >= 1, got 0$"):
        cfg.replace(workers=0)
    with pytest.raises(TypeError):
        cfg.replace(wrokers=2)


def test_replace_wsgi_app_changes_app_uri_without_positional() -> None:
    assert defaults().replace(wsgi_app="a:b").app_uri == "a:b"
    positional = load_config(["x:y"], {}, cwd="/")
    assert positional.replace(wsgi_app="a:b").app_uri == "x:y"


def test_to_dict_names_callables() -> None:
    data = defaults().to_dict()
    assert data["post_fork"] == "corral.config.settings.post_fork"
    assert data["workers"] == 1
    assert list(data) == [s.name for s in SETTINGS]


def test_config_pickles() -> None:
    cfg = load_config(["-w", "3", "-b", "unix:/tmp/x", "app:app"], {}, cwd="/")
    copy = pickle.loads(pickle.dumps(cfg))
    assert copy == cfg
    assert copy.workers == 3 and copy.bind == ["unix:/tmp/x"] and copy.app_uri == "app:app"
    assert copy.source("workers") == "command line"


# ---------------------------------------------------------------------------------------------
# Rows that later issues will add: the parser handles every row shape


def _extended_table() -> tuple[Setting, ...]:
    modes = ("off", "auto", "v1", "v2")
    return (
        *SETTINGS,
        Setting(
            name="demo_proxy_protocol",
            section="Server Mechanics",
            doc="Demo of an optional-value flag.",
            validator=v.choice(modes),
            type_doc="str",
            default="off",
            flags=("--demo-proxy-protocol",),
            metavar="MODE",
            nargs="?",
            const="auto",
            choices=modes,
        ),
        Setting(
            name="demo_sendfile",
            section="Server Mechanics",
            doc="Demo of a store_const flag.",
            validator=v.boolean,
            type_doc="bool",
            default=True,
            flags=("--demo-no-sendfile",),
            action="store_const",
            const=False,
        ),
        Setting(
            name="demo_allow_ips",
            section="Server Mechanics",
            doc="Demo of a CIDR list.",
            validator=v.ip_networks,
            type_doc="list[str]",
            default="127.0.0.1,::1",
            flags=("--demo-allow-ips",),
            metavar="STRING",
        ),
    )


def test_parser_handles_optional_value_const_and_cidr_rows() -> None:
    from corral.config.sources import parse_args

    table = _extended_table()
    assert parse_args(["--demo-proxy-protocol"], table).values["demo_proxy_protocol"] == "auto"
    parsed = parse_args(["--demo-proxy-protocol", "V2", "--demo-no-sendfile"], table)
    assert parsed.values == {"demo_proxy_protocol": "v2", "demo_sendfile": False}
    parsed = parse_args(["--demo-allow-ips", "10.0.0.0/8,192.168.1.7"], table)
    assert parsed.values["demo_allow_ips"] == ["10.0.0.0/8", "192.168.1.7/32"]
    with pytest.raises(UsageError) as info:
        parse_args(["--demo-proxy-protocol", "v3"], table)
    assert info.value.message == (
        "--demo-proxy-protocol: expected one of off, auto, v1, v2, got 'v3'"
    )
    with pytest.raises(UsageError, match="did you mean '--demo-allow-ips'"):
        parse_args(["--demo-alow-ips", "x"], table)
    help_text = build_parser(table).format_help()
    assert "--demo-proxy-protocol [MODE]" in help_text
