"""Gunicorn's logging settings on a real server: logging configurations (gunicorn.error and
gunicorn.access are corral's loggers), syslog over real sockets, JSON access lines,
--capture-output, -R, --logger-class; and every bad input as one line at start-up."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from corral_testing import get_body, request, until
from corral_testing.process import FIXTURE_APPS, alive, assert_clean_error, run_corral

# A logging dict as a Gunicorn user writes it in gunicorn.conf.py: the error log to a file
# and the console, the access log to its own file, health checks filtered out.
GUNICORN_STYLE_CONF = """
logconfig_dict = {{
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {{"no_health": {{"()": "loggers.SkipPath", "path": "/health"}}}},
    "formatters": {{
        "plain": {{"format": "%(levelname)s %(name)s %(message)s"}},
        "access": {{"format": "ACCESS %(message)s"}},
    }},
    "handlers": {{
        "console": {{"class": "logging.StreamHandler", "formatter": "plain",
                     "stream": "ext://sys.stderr"}},
        "error_file": {{"class": "logging.FileHandler", "formatter": "plain",
                        "filename": {error!r}, "level": "WARNING"}},
        "access_file": {{"class": "logging.FileHandler", "formatter": "access",
                         "filename": {access!r}, "filters": ["no_health"]}},
    }},
    "loggers": {{
        "gunicorn.error": {{"level": "INFO", "handlers": ["console", "error_file"],
                            "propagate": False}},
        "gunicorn.access": {{"level": "INFO", "handlers": ["access_file"],
                             "propagate": False}},
    }},
}}
"""

ACCESS_LINE = re.compile(
    r"^ACCESS 127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
    r'"GET /hello HTTP/1\.1" 200 5 "-" "-"$'
)


def test_a_gunicorn_logconfig_dict_applies_to_corral_logs(corral, tmp_path):
    error, access = tmp_path / "error.log", tmp_path / "access.log"
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(GUNICORN_STYLE_CONF.format(error=str(error), access=str(access)))
    server = corral("-c", str(conf), "behaviours:app")
    assert get_body(server.host, server.port, "/hello") == b"hello"
    get_body(server.host, server.port, "/health")
    get_body(server.host, server.port, "/raise")
    until(lambda: "boom from the fixture app" in error.read_text(), 30, "the error in the file")
    until(lambda: access.exists() and "/raise" in access.read_text(), 30, "the access lines")
    # The console handler of gunicorn.error (its format, INFO and up) carries the master's lines.
    assert re.search(r"^INFO corral\.error Listening at: http://", server.log, re.M), server.log
    # The file handler is WARNING and up: the request's error, not the start-up lines.
    text = error.read_text()
    assert text.startswith("ERROR corral.error Error handling request /raise"), text
    assert "Listening at" not in text
    # The access file: formatter and filter applied; /health dropped by record.args["U"].
    lines = access.read_text().splitlines()
    assert ACCESS_LINE.match(lines[0]), lines
    assert not any("/health" in line for line in lines), lines
    assert "/raise" in lines[-1] and '" 500 ' in lines[-1]


def test_log_config_ini_file_with_gunicorn_qualnames(corral, tmp_path):
    ini = tmp_path / "logging.ini"
    ini.write_text(
        """
[loggers]
keys = root, gerror, gaccess

[handlers]
keys = console, access_file

[formatters]
keys = plain

[logger_root]
level = WARNING
handlers = console

[logger_gerror]
level = INFO
handlers = console
propagate = 0
qualname = gunicorn.error

[logger_gaccess]
level = INFO
handlers = access_file
propagate = 0
qualname = gunicorn.access

[handler_console]
class = StreamHandler
formatter = plain
args = (sys.stderr,)

[handler_access_file]
class = FileHandler
formatter = plain
args = ('%(here)s/access.log', 'a')

[formatter_plain]
format = INI %(levelname)s %(message)s
"""
    )
    server = corral("--log-config", str(ini), "behaviours:app")
    assert re.search(r"^INI INFO Listening at: http://", server.log, re.M), server.log
    get_body(server.host, server.port, "/hello")
    access = tmp_path / "access.log"
    until(lambda: access.exists() and "GET /hello" in access.read_text(), 30, "the access line")
    line = access.read_text().splitlines()[0]
    assert line.startswith("INI INFO 127.0.0.1 - - [") and '"GET /hello HTTP/1.1" 200 5' in line


def test_log_config_json_file(corral, tmp_path):
    access = tmp_path / "access.log"
    config = {
        "version": 1,
        "formatters": {"f": {"format": "JSONCONF %(message)s"}},
        "handlers": {
            "file": {"class": "logging.FileHandler", "filename": str(access), "formatter": "f"}
        },
        "loggers": {"gunicorn.access": {"handlers": ["file"], "level": "INFO"}},
    }
    path = tmp_path / "logging.json"
    path.write_text(json.dumps(config))
    # The error log is not named: it keeps corral's own handler (stderr, corral's format).
    server = corral("--log-config-json", str(path), "--access-logformat", "%(U)s %(s)s", "echo:app")
    assert re.search(r"\[INFO\] Listening at: http://", server.log)
    get_body(server.host, server.port, "/json-config")
    until(lambda: access.exists() and access.read_text(), 30, "the access line")
    assert access.read_text() == "JSONCONF /json-config 200\n"


def test_a_dict_that_relies_on_gunicorns_default_handlers(corral, tmp_path):
    # No handlers, no formatters: 'console' and 'generic' are the defaults, as in Gunicorn.
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(
        'logconfig_dict = {"loggers": {"fixture": {"level": "DEBUG", "handlers": ["console"],'
        ' "propagate": False}}}\n'
    )
    server = corral("-c", str(conf), "stdio:app")
    assert get_body(server.host, server.port, "/log?defaults") == b"ok"
    log = server.wait_log(r"app says defaults", timeout=30)
    assert re.search(
        r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[DEBUG\] app says defaults$",
        log,
        re.M,
    ), log


# ------------------------------------------------------------------------------------ syslog


def _datagrams(sock: socket.socket, wanted: list[bytes], timeout: float = 30) -> list[bytes]:
    """Read datagrams until every ``wanted`` fragment was seen in one of them."""
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    sock.settimeout(1)
    while not all(any(w in d for d in got) for w in wanted):
        assert time.monotonic() < deadline, f"missing {wanted!r} in {got!r}"
        try:
            got.append(sock.recv(65536))
        except TimeoutError:
            pass
    return got


def _one(got: list[bytes], fragment: bytes) -> bytes:
    return next(d for d in got if fragment in d)


def test_syslog_over_udp_with_facility_and_prefix(corral):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        server = corral(
            "--log-syslog",
            f"--log-syslog-to=udp://127.0.0.1:{port}",
            "--log-syslog-facility=local3",
            "--log-syslog-prefix=shop",
            "behaviours:app",
        )
        get_body(server.host, server.port, "/hello")
        get_body(server.host, server.port, "/raise")
        got = _datagrams(udp, [b"Listening at", b"GET /hello", b"Error handling request"])
    # local3 is facility 19: <PRI> = 19 * 8 + severity (info 6, error 3).
    listening = _one(got, b"Listening at")
    assert re.fullmatch(
        rb"<158>corral\.shop\.error: \[%d\] Listening at: http://127\.0\.0\.1:\d+ \(%d\)\x00"
        % (server.pid, server.pid),
        listening,
    ), listening
    access = _one(got, b"GET /hello")
    assert re.fullmatch(
        rb'<158>corral\.shop\.access: \[\d+\] 127\.0\.0\.1 - - \[[^]]+\] "GET /hello HTTP/1\.1"'
        rb' 200 5 "-" "-"\x00',
        access,
    ), access
    failure = _one(got, b"Error handling request")
    assert re.match(rb"<155>corral\.shop\.error: \[\d+\] Error handling request /raise", failure)
    # The error log is still written where --error-logfile says (stderr here).
    assert "Listening at" in server.log


def test_syslog_over_a_unix_datagram_socket_without_the_access_log(corral, tmp_path):
    path = str(tmp_path / "log.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as unix:
        unix.bind(path)
        server = corral(
            "--log-syslog",
            f"--log-syslog-to=unix://{path}",
            "--disable-redirect-access-to-syslog",
            "--access-logfile=-",
            "behaviours:app",
        )
        get_body(server.host, server.port, "/hello")
        server.wait_log(r'"GET /hello HTTP/1\.1" 200', timeout=30)  # on stdout
        os.kill(server.pid, signal.SIGTERM)
        got = _datagrams(unix, [b"Listening at", b"Shutting down: Master"])
    # The default facility is user (1): info is <14>; the default prefix is the app.
    assert _one(got, b"Listening at").startswith(b"<14>corral.behaviours.app.error: [")
    assert not any(b"GET /hello" in d for d in got), got


# ------------------------------------------------------------------------------- JSON lines


def test_json_access_log_lines_from_a_real_server(corral, tmp_path):
    access = tmp_path / "access.log"
    fmt = "%(h)s %(t)s %(r)s %(s)s %(b)s %(f)s %(a)s %(M)s %(L)s %(p)s %({x-request-id}i)s %(zz)s"
    server = corral(
        "--access-logfile",
        str(access),
        "--access-log-json",
        "--access-logformat",
        fmt,
        "behaviours:app",
    )
    raw = (
        b'GET /hello?q=%22x%22 HTTP/1.1\r\nHost: t\r\nUser-Agent: caf\xc3\xa9 "quoted"\r\n'
        b"X-Request-Id: ab12\r\nConnection: close\r\n\r\n"
    )
    assert request(server.host, server.port, raw).body == b"hello"
    get_body(server.host, server.port, "/nope-404")
    until(lambda: access.exists() and access.read_text().count("\n") >= 2, 30, "two lines")
    first, second = (json.loads(line) for line in access.read_text().splitlines())
    assert list(first) == [
        "remote_addr",
        "time",
        "request",
        "status",
        "response_length",
        "referer",
        "user_agent",
        "request_time_ms",
        "request_time",
        "pid",
        "zz",
        "request_headers",
    ]
    assert first["remote_addr"] == "127.0.0.1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", first["time"])
    assert first["request"] == "GET /hello?q=%22x%22 HTTP/1.1"
    assert first["status"] == 200 and first["response_length"] == 5
    assert first["referer"] is None and first["zz"] is None
    assert first["user_agent"] == 'caf\u00c3\u00a9 "quoted"'  # latin-1 as received
    assert isinstance(first["request_time_ms"], int) and isinstance(first["request_time"], float)
    assert first["pid"] in server.worker_pids()
    assert first["request_headers"] == {"x-request-id": "ab12"}
    assert second["status"] == 404 and second["request_headers"] == {"x-request-id": None}


# ----------------------------------------------------------- stdout, stderr, logger classes


def test_capture_output_sends_the_apps_stdout_and_stderr_to_the_error_log(corral, tmp_path):
    error = tmp_path / "error.log"
    server = corral("--capture-output", "--error-logfile", str(error), "stdio:app", log_file=error)
    assert get_body(server.host, server.port, "/?captured") == b"ok"
    until(lambda: "fd1:captured" in error.read_text(), 30, "the app's output in the error log")
    text = error.read_text()
    assert "stdout:captured" in text and "stderr:captured" in text
    assert "Listening at" in text
    assert "captured" not in server.output  # nothing left on the process's own output


def test_without_capture_output_the_apps_output_stays_on_stdout(corral, tmp_path):
    error = tmp_path / "error.log"
    server = corral("--error-logfile", str(error), "stdio:app", log_file=error)
    get_body(server.host, server.port, "/?free")
    server.wait_log("fd1:free", timeout=30)
    assert "free" not in error.read_text()


def test_enable_stdio_inheritance_keeps_a_daemons_output(tmp_path):
    pidfile, out = tmp_path / "corral.pid", tmp_path / "out.log"
    with out.open("wb") as sink:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "corral",
                "-D",
                "-R",
                "--pid",
                str(pidfile),
                "-b",
                "127.0.0.1:0",
                "stdio:app",
            ],
            cwd=str(FIXTURE_APPS),
            stdout=sink,
            stderr=subprocess.STDOUT,
            timeout=60,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert result.returncode == 0
    until(lambda: pidfile.exists() and pidfile.read_text().strip(), 30, "the pid file")
    pid = int(pidfile.read_text())
    try:
        until(lambda: "Listening at" in out.read_text(), 30, "the daemon's log on our file")
        match = re.search(r"Listening at: http://([\d.]+):(\d+)", out.read_text())
        assert match is not None
        until(lambda: "Booting worker" in out.read_text(), 30, "a worker")
        assert get_body(match.group(1), int(match.group(2)), "/?daemon") == b"ok"
        until(lambda: "fd1:daemon" in out.read_text(), 30, "the app's output on our file")
        assert "stdout:daemon" in out.read_text() and "stderr:daemon" in out.read_text()
    finally:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)
        until(lambda: not alive(pid), 30, "the daemon to stop")


@pytest.mark.parametrize("spelling", ["loggers.TaggedLogs", "loggers:TaggedLogs"])
def test_logger_class_subclass_is_used(corral, spelling):
    server = corral("--logger-class", spelling, "--access-logfile", "-", "behaviours:app")
    get_body(server.host, server.port, "/hello")
    server.wait_log(r"TAGGED GET /hello 200", timeout=30)
    # and the access line, as before (written after the subclass's own line: waited for)
    server.wait_log(r'"GET /hello HTTP/1\.1" 200 5', timeout=30)


def test_gunicorns_default_logger_class_is_corrals(corral):
    server = corral("--logger-class", "gunicorn.glogging.Logger", "behaviours:app")
    assert get_body(server.host, server.port, "/hello") == b"hello"
    assert "Traceback" not in server.log


# ------------------------------------------------------------------------------- bad input


def _one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert_clean_error(result, code, *fragments)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(
    ("conf", "fragments"),
    [
        (
            'logconfig_dict = {"handlers": {"h": {"class": "nosuch.Handler"}},'
            ' "loggers": {"gunicorn.error": {"handlers": ["h"]}}}',
            ["logconfig_dict: Unable to configure handler 'h'", "No module named 'nosuch'"],
        ),
        (
            'logconfig_dict = {"loggers": {"gunicorn.error": {"level": "LOUD"}}}',
            ["logconfig_dict: Unable to configure logger 'gunicorn.error'", "LOUD"],
        ),
        (
            'logconfig_dict = {"loggers": {"gunicorn.error": {}, "corral.error": {}}}',
            ["configures both 'gunicorn.error' and 'corral.error'"],
        ),
        ('logconfig_dict = ["not", "a", "dict"]', ["logconfig_dict", "expected a dict"]),
    ],
)
def test_bad_logconfig_dict(tmp_path, conf, fragments):
    path = tmp_path / "gunicorn.conf.py"
    path.write_text(conf + "\n")
    result = run_corral("-c", str(path), "behaviours:app")
    _one_line_error(result, 1, *fragments)


def test_missing_or_broken_log_config_files(tmp_path):
    missing = tmp_path / "nope.ini"
    _one_line_error(
        run_corral("--log-config", str(missing), "behaviours:app"),
        1,
        f"--log-config '{missing}': no such file",
    )
    bad_ini = tmp_path / "bad.ini"
    bad_ini.write_text("[loggers]\nkeys = root\n")  # no [logger_root], no handlers
    _one_line_error(
        run_corral("--log-config", str(bad_ini), "behaviours:app"),
        1,
        f"--log-config '{bad_ini}': missing 'formatters' (a section or key",
    )
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{'single': 'quotes'}")
    _one_line_error(
        run_corral("--log-config-json", str(bad_json), "behaviours:app"), 1, "not valid JSON"
    )
    _one_line_error(
        run_corral("--log-config-json", str(tmp_path / "none.json"), "behaviours:app"),
        1,
        "cannot read it: No such file or directory",
    )


def test_unreachable_syslog_addresses(tmp_path):
    nowhere = tmp_path / "no-syslogd.sock"
    _one_line_error(
        run_corral("--log-syslog", f"--log-syslog-to=unix://{nowhere}", "behaviours:app"),
        1,
        f"--log-syslog-to 'unix://{nowhere}': cannot reach the syslog daemon",
        "No such file or directory",
    )
    with socket.socket() as closed:  # bound, not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        _one_line_error(
            run_corral("--log-syslog", f"--log-syslog-to=tcp://127.0.0.1:{port}", "behaviours:app"),
            1,
            "cannot reach the syslog daemon: Connection refused",
        )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--log-syslog-to", "smtp://mail"], "--log-syslog-to: expected udp://HOST:PORT"),
        (["--log-syslog-to", "udp://host:99999"], "expected a port from 1 to 65535"),
        (["--log-syslog-facility", "local9"], "--log-syslog-facility: expected one of kern"),
    ],
)
def test_bad_syslog_flags(argv, fragment):
    _one_line_error(run_corral("--log-syslog", *argv, "behaviours:app"), 2, fragment)


@pytest.mark.parametrize(
    ("spelling", "fragment"),
    [
        ("nosuchmodule.Logger", "--logger-class 'nosuchmodule.Logger': cannot load it"),
        ("loggers.Missing", "has no attribute 'Missing'"),
        ("loggers.NotALogger", "not a corral logger class (a subclass of corral.logs.Logs"),
        ("gunicorn.instrument.statsd.Statsd", "cannot load it"),
    ],
)
def test_bad_logger_class(spelling, fragment):
    _one_line_error(run_corral("--logger-class", spelling, "behaviours:app"), 1, fragment)


RELOADABLE_CONF = """
logconfig_dict = {{
    "formatters": {{"plain": {{"format": "%(levelname)s %(message)s"}}}},
    "handlers": {{
        "console": {{"class": "logging.StreamHandler", "formatter": "plain"}},
        "access_file": {{"class": "logging.FileHandler", "filename": {access!r}}},
    }},
    "loggers": {{
        "gunicorn.error": {{"handlers": ["console"]}},
        "gunicorn.access": {{"handlers": ["access_file"]}},
    }},
}}
"""


def test_hup_applies_a_new_logging_configuration_and_survives_a_broken_one(corral, tmp_path):
    first, second = tmp_path / "first.log", tmp_path / "second.log"
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text(RELOADABLE_CONF.format(access=str(first)))
    server = corral("-c", str(conf), "--access-logformat", "%(U)s", "behaviours:app")
    get_body(server.host, server.port, "/one")
    until(lambda: first.exists() and first.read_text() == "/one\n", 30, "/one in first.log")
    conf.write_text(RELOADABLE_CONF.format(access=str(second)))
    os.kill(server.pid, signal.SIGHUP)
    server.wait_log("Reload complete", timeout=60)
    get_body(server.host, server.port, "/two")
    until(lambda: second.exists() and second.read_text() == "/two\n", 30, "/two in second.log")
    # A configuration that no longer applies: the reload fails, nothing changes.
    conf.write_text('logconfig_dict = {"handlers": {"h": {"class": "nosuch.Handler"}}}\n')
    os.kill(server.pid, signal.SIGHUP)
    log = server.wait_log("Reload failed, the running workers go on serving", timeout=60)
    assert "logconfig_dict: Unable to configure handler 'h'" in log
    get_body(server.host, server.port, "/three")
    until(lambda: "/three" in second.read_text(), 30, "/three in second.log")
    assert first.read_text() == "/one\n"
    os.kill(server.pid, signal.SIGHUP)  # the master still logs where the configuration says
    server.wait_log("Reload failed", timeout=60, count=2)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching identity needs root")
def test_user_gets_a_configurations_log_file_and_reopens_it_on_usr1(corral):
    nobody = pwd.getpwnam("nobody")
    public = Path(tempfile.mkdtemp(prefix="corral-logging-"))  # tmp_path is root's only
    try:
        public.chmod(0o755)
        (public / "logs").mkdir()
        os.chown(public / "logs", nobody.pw_uid, -1)  # where the workers reopen the file
        (public / "tiny.py").write_text(
            "def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Length', '2')])\n"
            "    return [b'ok']\n"
        )
        log = public / "logs" / "access.log"
        conf = public / "gunicorn.conf.py"
        handlers = {"f": {"class": "logging.FileHandler", "filename": str(log)}}
        loggers = {"gunicorn.access": {"handlers": ["f"]}}
        conf.write_text(f"logconfig_dict = {{'handlers': {handlers!r}, 'loggers': {loggers!r}}}\n")
        server = corral(
            "-c",
            str(conf),
            "--user",
            "nobody",
            "--access-logformat",
            "%(U)s",
            "tiny:app",
            cwd=public,
        )
        get_body(server.host, server.port, "/before")
        until(lambda: "/before" in log.read_text(), 30, "/before in the log")
        assert log.stat().st_uid == nobody.pw_uid  # handed over with the workers' identity
        log.rename(public / "logs" / "access.log.1")
        os.kill(server.pid, signal.SIGUSR1)
        server.wait_log("reopening log files", timeout=30)

        def after_rotation() -> bool:
            get_body(server.host, server.port, "/after")
            return log.exists() and "/after" in log.read_text()

        until(after_rotation, 30, "/after in the new file")
        assert (public / "logs" / "access.log.1").read_text() == "/before\n"
        assert "cannot reopen" not in server.log
    finally:
        shutil.rmtree(public, ignore_errors=True)
